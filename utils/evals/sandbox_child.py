"""The sandbox's first step in the child process: lock it down, then run the untrusted program.

``utils.evals.sandbox`` starts this file as ``python -I -S sandbox_child.py SETUP``, where
SETUP is JSON. It runs with the parent's privileges, before any untrusted code, and:

1. moves into an empty network namespace (no network, not even loopback) when the OS allows;
2. sets resource limits: memory, CPU seconds, processes, file size, no core dumps;
3. forbids gaining privileges again (setuid programs like ``su`` stop working);
4. when started as root, becomes a throwaway user id that owns nothing but the work folder;
5. replaces itself (``os.execv``) with a fresh, isolated interpreter running the program.

A step listed in SETUP's ``"require"`` that fails stops everything (exit code 125) rather
than run the program with less protection than the parent planned. With ``"probe": true``
it prints which steps worked, as one JSON line, before starting the program.
Only the standard library is used: ``-S`` keeps site-packages off ``sys.path``.
"""

import ctypes
import json
import os
import sys

CLONE_NEWUSER = 0x10000000
CLONE_NEWNET = 0x40000000
PR_SET_NO_NEW_PRIVS = 38
SETUP_FAILED = 125


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


def main() -> None:
    setup = json.loads(sys.argv[1])
    as_root = os.geteuid() == 0
    steps = [
        ("no_network", lambda: leave_network(as_root)),
        ("memory", lambda: limit_memory(setup["limits"]["memory_mb"])),
        ("limits", lambda: set_limits(setup["limits"])),
        ("no_new_privileges", forbid_new_privileges),
    ]
    if setup.get("uid") is not None:
        steps.append(("own_user", lambda: become(setup["uid"])))
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
    python = setup["python"]
    os.execv(python, [python, "-I", "-S", setup["program"]])


if __name__ == "__main__":
    main()
