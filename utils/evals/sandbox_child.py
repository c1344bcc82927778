"""The sandbox's first step in the child process: lock it down, then run the untrusted program.

``utils.evals.sandbox`` starts this file as ``python -I -S sandbox_child.py SETUP``, where
SETUP is JSON. It runs with the parent's privileges, before any untrusted code, and:

1. moves into an empty network namespace (no network, not even loopback) when the OS allows;
2. sets resource limits: memory, CPU seconds, processes, file size, no core dumps;
3. forbids gaining privileges again (setuid programs like ``su`` stop working);
4. when started as root, becomes a throwaway user id that owns nothing but the work folder;
5. with Landlock (Linux ≥ 5.13), gives up every file but Python's install, the system's
   libraries and the work folder, TCP (ABI ≥ 4), and signals to outside processes (ABI ≥ 6);
6. with seccomp, refuses every new socket (TCP, UDP or Unix);
7. replaces itself (``os.execv``) with a fresh, isolated interpreter running ``RUNNER``,
   which runs the program; on macOS through ``sandbox-exec`` and a deny-by-default profile.

A step listed in SETUP's ``"require"`` that fails stops everything (exit code 125) rather
than run the program with less protection than the parent planned. With ``"probe": true``
it prints which steps worked, as one JSON line, before starting the program.
Only the standard library is used: ``-S`` keeps site-packages off ``sys.path``.
"""

import ctypes
import json
import os
import sys

try:
    from utils.evals import sandbox_landlock, sandbox_macos, sandbox_seccomp
except ImportError:  # run as a script under -I -S: the modules beside this file
    sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
    import sandbox_landlock
    import sandbox_macos
    import sandbox_seccomp

CLONE_NEWUSER = 0x10000000
CLONE_NEWNET = 0x40000000
PR_SET_NO_NEW_PRIVS = 38
SETUP_FAILED = 125
# Shared libraries the interpreter loads (read and run only); absent ones are skipped.
SYSTEM_LIBRARIES = ("/lib", "/lib64", "/lib32", "/libx32", "/usr/lib", "/usr/lib64",
                    "/usr/lib32", "/usr/libx32", "/usr/local/lib")  # fmt: skip
DEVICES = ("/dev/null", "/dev/zero", "/dev/random", "/dev/urandom")

# The interpreter runs this (``python -I -S -c RUNNER main.py TOKEN_FD VERDICT_FD``). It reads
# the run's token from a pipe and closes it before the program starts, runs the program, and
# only if its last line ran writes the token to the verdict pipe. The token is in no file,
# argument or environment variable of the program, and never on its stdout.
RUNNER = r"""
import os, sys, types
def _run(path, token_fd, verdict_fd):
    token = b""
    while chunk := os.read(token_fd, 64):
        token += chunk
    os.close(token_fd)
    os.set_inheritable(verdict_fd, False)
    module = types.ModuleType("__main__")
    module.__file__ = path
    module.__builtins__ = __builtins__
    sys.modules["__main__"], sys.argv = module, [path]
    try:
        with open(path, "rb") as file:
            code = compile(file.read(), path, "exec")
        exec(code, module.__dict__)
    except SystemExit:
        raise
    except BaseException as error:
        error.__traceback__ = error.__traceback__.tb_next  # start at the program's own frame
        sys.excepthook(type(error), error, error.__traceback__)
        sys.exit(1)
    sys.stdout.flush()
    os.write(verdict_fd, token)
_run(sys.argv[1], int(sys.argv[2]), int(sys.argv[3]))
"""


def leave_network(as_root: bool) -> None:
    """Move into a new, empty network namespace (a non-root user needs a user namespace too)."""
    libc = ctypes.CDLL(None, use_errno=True)
    flags = CLONE_NEWNET if as_root else CLONE_NEWUSER | CLONE_NEWNET
    if libc.unshare(flags) != 0:
        raise OSError(ctypes.get_errno(), os.strerror(ctypes.get_errno()))


def limit_memory(megabytes: int) -> None:
    """Cap the address space (RLIMIT_AS): allocations beyond it raise MemoryError."""
    import resource  # POSIX only: imported here so the parent can import this module anywhere

    memory = megabytes * 1024 * 1024
    resource.setrlimit(resource.RLIMIT_AS, (memory, memory))


def set_limits(limits: dict) -> None:
    """Limit CPU time, processes and file size, and forbid core dumps (hard limits stay put)."""
    import resource

    cpu = limits["cpu_seconds"]
    resource.setrlimit(resource.RLIMIT_CPU, (cpu, cpu + 1))  # SIGXCPU at cpu, SIGKILL at +1
    processes = limits["max_processes"]
    resource.setrlimit(resource.RLIMIT_NPROC, (processes, processes))
    size = limits["file_size_mb"] * 1024 * 1024
    resource.setrlimit(resource.RLIMIT_FSIZE, (size, size))
    resource.setrlimit(resource.RLIMIT_CORE, (0, 0))


def forbid_new_privileges() -> None:
    """prctl(PR_SET_NO_NEW_PRIVS): exec can never grant more privileges (setuid bits ignored)."""
    libc = ctypes.CDLL(None, use_errno=True)
    if libc.prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) != 0:
        raise OSError(ctypes.get_errno(), os.strerror(ctypes.get_errno()))


def become(uid: int) -> None:
    """Drop root for good: no supplementary groups, then group and user ``uid``."""
    os.setgroups([])
    os.setgid(uid)
    os.setuid(uid)


def landlock_rules(install: list[str], work: str, version: int) -> list[tuple[str, int]]:
    """What the program may open: Python's install and the system's libraries (read, run),
    ``ld.so``'s cache and a few devices, and its work folder (anything but run)."""
    ll = sandbox_landlock
    rules = [(path, ll.READ_EXECUTE) for path in (*install, *SYSTEM_LIBRARIES)]
    rules.append(("/etc/ld.so.cache", ll.READ_FILE))
    rules += [(device, ll.READ_FILE | ll.WRITE_FILE | ll.TRUNCATE) for device in DEVICES]
    rules.append((work, ll.fs_rights(version) & ~ll.EXECUTE))
    return rules


def confine_files(setup: dict) -> None:
    """Landlock: files beyond ``landlock_rules``, TCP and outside processes are out of reach."""
    if not setup.get("confine", True):
        raise OSError(1, "not asked for")
    version, reason = sandbox_landlock.abi()
    if not version:
        raise OSError(38, reason)
    sandbox_landlock.confine(landlock_rules(setup["install"], setup["work"], version), version)


def program_command(setup: dict) -> tuple[str, list[str]]:
    """The executable and argv that run the program (through ``sandbox-exec`` on macOS)."""
    python = setup["python"]
    argv = [python, "-I", "-S", "-c", RUNNER, setup["program"],
            str(setup["token_fd"]), str(setup["verdict_fd"])]  # fmt: skip
    if setup.get("seatbelt"):
        argv = sandbox_macos.command(setup["install"], setup["work"], argv)
    return argv[0], argv


def _seatbelt(setup: dict) -> None:
    if not setup.get("confine", True):
        raise OSError(1, "not asked for")
    if sys.platform != "darwin" or not os.access(sandbox_macos.SANDBOX_EXEC, os.X_OK):
        raise OSError(2, f"{sandbox_macos.SANDBOX_EXEC} is not available")


def main() -> None:
    setup = json.loads(sys.argv[1])
    as_root = os.geteuid() == 0
    steps = [
        ("network_namespace", lambda: leave_network(as_root)),
        ("memory", lambda: limit_memory(setup["limits"]["memory_mb"])),
        ("limits", lambda: set_limits(setup["limits"])),
        ("no_new_privileges", forbid_new_privileges),
    ]
    if setup.get("uid") is not None:
        steps.append(("own_user", lambda: become(setup["uid"])))
    steps += [
        ("landlock", lambda: confine_files(setup)),
        ("no_sockets", sandbox_seccomp.refuse_sockets),
        ("seatbelt", lambda: _seatbelt(setup)),
    ]
    worked = {}
    for name, step in steps:
        try:
            step()
            worked[name] = True
        except (OSError, ValueError, AttributeError) as error:
            worked[name] = False
            if name in setup["require"]:
                print(f"sandbox setup failed: {name}: {error}", file=sys.stderr, flush=True)
                os._exit(SETUP_FAILED)
    if setup.get("probe"):
        print(json.dumps(worked), flush=True)
    setup["seatbelt"] = worked["seatbelt"]
    executable, argv = program_command(setup)
    os.execv(executable, argv)


if __name__ == "__main__":
    main()
