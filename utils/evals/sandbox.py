"""Run untrusted (model-written) Python in a separate, locked-down process.

``run_code(program)`` returns a ``RunResult`` whose ``status`` is "passed", "failed",
"timeout" or "error" — whatever the program does, however it ends. What protects you:

* a separate process running a fresh, isolated interpreter (``python -I -S``: no user site,
  no ``PYTHON*`` variables, standard library only) in a fresh temporary folder;
* an environment built from scratch (``PATH`` only), so no API key reaches the program;
* a wall-clock timeout, and CPU-time, memory, process-count and file-size limits;
* output read from files with a size cap, so an output flood cannot fill your memory;
* when you are root (Colab, containers, CI): a throwaway user id for each run, so the program
  cannot read or change your files, and every process it leaves behind is killed;
* on Linux, Landlock (``sandbox_landlock.py``): it may open only Python's install, the
  system's libraries and its own folder, so your ``.env``, ``~/.ssh`` and
  ``/proc/<pid>/environ`` are out of reach even when it runs as you; on macOS, the same
  through ``sandbox-exec`` (``sandbox_macos.py``);
* no network: every new socket refused (seccomp, ``sandbox_seccomp.py``), an empty network
  namespace where the OS allows one, and no TCP under Landlock ABI ≥ 4.

``sandbox_features()`` measures which of these this machine enforces, by running a probe
that tries to read a file outside its folder, reach a loopback port and signal its parent
(``describe_sandbox()`` in ``sandbox_description.py`` says it in words). Where a program
would run as you with no file confinement or with the network, ``run_code`` refuses and
says what is missing, unless you pass ``allow_unconfined=True``. The limits are applied by
``sandbox_child.py`` in the child process before the program starts. Benchmark programs are
built in ``code_programs.py``.

"passed" means the program ran to its last line and exited with code 0. The proof is a
random token, new for each run, that the sandbox's runner receives over a pipe before the
program starts and writes to a second pipe only after the program's last line ran: it is in
no file, argument or environment variable the program can read, and printing anything proves
nothing. A program that calls ``sys.exit(0)`` or ``os._exit(0)`` before its tests run has not
passed. (Code written to attack this harness could still fake a pass: the program shares its
interpreter with the runner that vouches for it, so it can find the token there, e.g. in the
runner's frame through ``sys._getframe``. The sandbox protects your machine; it does not make
a benchmark cheat-proof.)
"""

from __future__ import annotations

import contextlib
import ctypes
import functools
import json
import os
import secrets
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass, replace
from pathlib import Path

from utils.evals import sandbox_landlock
from utils.evals.sandbox_child import SETUP_FAILED

CHILD = Path(__file__).with_name("sandbox_child.py")
ENVIRONMENT = {"PATH": "/usr/local/bin:/usr/bin:/bin"}  # nothing else: no keys, no PYTHON*
STATUSES = ("passed", "failed", "timeout", "error")
SHARED_FOLDERS = ("/tmp", "/var/tmp", "/dev/shm")  # world-writable: cleaned after each run
MB = 1024 * 1024


class SandboxUnavailable(RuntimeError):
    """The sandbox cannot confine programs on this machine; the message says what is missing."""


@dataclass(frozen=True)
class Limits:
    """Resource limits for one run (the timeout is an argument of ``run_code``)."""

    memory_mb: int = 512  # address space (RLIMIT_AS)
    max_processes: int = 16  # processes at once, the program included (RLIMIT_NPROC)
    file_size_mb: int = 16  # largest file it may write, its output included (RLIMIT_FSIZE)
    output_chars: int = 4_000  # characters of stdout and of stderr kept in the result


DEFAULT_LIMITS = Limits()


@dataclass(frozen=True)
class RunResult:
    """What happened to one program in the sandbox."""

    status: str  # one of STATUSES
    reason: str  # one line a learner can read: why this status
    stdout: str  # capped at Limits.output_chars
    stderr: str  # capped at Limits.output_chars
    exit_code: int | None  # negative: killed by that signal
    duration: float  # wall-clock seconds

    @property
    def passed(self) -> bool:
        return self.status == "passed"


@dataclass(frozen=True)
class SandboxFeatures:
    """Which protections work on this machine (measured once by ``sandbox_features()``)."""

    platform: str
    as_root: bool
    python: str  # the interpreter that runs programs
    python_version: str
    own_user: bool  # each run gets a throwaway user id
    no_network: bool  # measured: the probe reached no loopback port, by TCP or UDP
    memory: bool  # RLIMIT_AS could be set
    limits: bool  # CPU time, processes, file size, core dumps
    no_new_privileges: bool
    network_namespace: bool = False  # its own empty network namespace
    no_sockets: bool = False  # seccomp: socket() refused
    landlock: bool = False  # Landlock confines it (files; TCP from ABI 4; signals from ABI 6)
    landlock_abi: int = 0  # the kernel's Landlock ABI version (0: none)
    landlock_note: str = ""  # why there is no Landlock, if there is none
    seatbelt: bool = False  # macOS: sandbox-exec with a deny-by-default profile
    files_confined: bool = False  # measured: / and a world-readable file elsewhere unreadable
    signals_confined: bool = False  # measured: it could not signal the process that started it
    memory_confined: bool = False  # measured: it could not read that process's memory
    refusal: str | None = None  # why run_code refuses to run programs here; None: it runs them


def run_code(
    program: str,
    timeout: float = 10.0,
    limits: Limits = DEFAULT_LIMITS,
    allow_unconfined: bool = False,
) -> RunResult:
    """Run ``program`` in the sandbox; "passed" only if it ran to its last line and exited 0.

    Raises ``SandboxUnavailable`` where the sandbox cannot keep the program from your files
    or the network (``describe_sandbox()`` says why); ``allow_unconfined=True`` runs it anyway,
    with the protections that do hold. As root it never runs a program without a throwaway user.
    """
    if not isinstance(program, str):
        raise TypeError(f"program must be a string of Python code, not {type(program).__name__}")
    if not timeout > 0:
        raise ValueError(f"timeout must be a positive number of seconds, not {timeout!r}")
    features = sandbox_features()
    if features.refusal and (features.as_root or not allow_unconfined):
        raise SandboxUnavailable(features.refusal)
    run = _run_in_sandbox(
        program,
        python=features.python,
        uid=_throwaway_uid() if features.own_user else None,
        timeout=timeout,
        limits=limits,
        require=[name for name in _STEPS if getattr(features, name)],
        confine=features.landlock or features.seatbelt,
    )
    status, reason = _verdict(run, timeout, limits)
    return RunResult(
        status=status,
        reason=reason,
        stdout=_capped(run.stdout, run.stdout_size, limits.output_chars),
        stderr=_capped(run.stderr, run.stderr_size, limits.output_chars),
        exit_code=None if run.timed_out else run.exit_code,
        duration=round(run.duration, 3),
    )


# Steps of sandbox_child.py: one that worked in the probe must work in every run.
_STEPS = ("network_namespace", "memory", "limits", "no_new_privileges", "own_user", "landlock",
          "no_sockets", "seatbelt")  # fmt: skip


@functools.cache
def sandbox_features() -> SandboxFeatures:
    """Measure once which protections this machine allows (runs a tiny program as a probe)."""
    if not hasattr(os, "geteuid") or sys.platform == "win32":
        raise RuntimeError("The sandbox needs Linux or macOS. On Windows, use WSL.")
    as_root = os.geteuid() == 0
    candidates = [sys.executable]
    if as_root:  # the throwaway user may not be allowed to read our interpreter (e.g. in /root)
        candidates.append(shutil.which("python3", path=ENVIRONMENT["PATH"]))
    for python in dict.fromkeys(p for p in candidates if p):
        uid = _throwaway_uid() if as_root else None
        steps, seen = _probe(python, uid, confine=True)
        if not seen:  # Python did not start confined: measure what holds without confinement
            steps, seen = _probe(python, uid, confine=False)
        if seen and (steps.get("own_user") or not as_root):
            break
    abi, note = sandbox_landlock.abi()
    features = SandboxFeatures(
        platform=sys.platform,
        as_root=as_root,
        python=python,
        python_version=seen.get("version", "?"),
        own_user=bool(steps.get("own_user")) and bool(seen),
        no_network=bool(seen.get("no_network")),
        memory=bool(steps.get("memory")),
        limits=bool(steps.get("limits")),
        no_new_privileges=bool(steps.get("no_new_privileges")),
        network_namespace=bool(steps.get("network_namespace")),
        no_sockets=bool(steps.get("no_sockets")),
        landlock=bool(steps.get("landlock")),
        landlock_abi=abi,
        landlock_note=note or ("" if steps.get("landlock") else _NOT_STARTED),
        seatbelt=bool(steps.get("seatbelt")),
        files_confined=bool(seen.get("files")),
        signals_confined=bool(seen.get("signals")),
        memory_confined=bool(seen.get("memory")),
    )
    return _with_refusal(features)


_NOT_STARTED = "Python did not start under Landlock with the paths the sandbox allows"
_HOW = {
    "linux": (
        "Get it with a Linux kernel 5.13 or newer with Landlock enabled (current distributions "
        "have it), or run Python as root in a container, a VM or Colab, where every run gets a "
        "throwaway user id."
    ),
    "darwin": (
        "macOS's sandbox-exec did not run Python with the sandbox's profile here; run the "
        "course on Linux or Colab instead."
    ),
}


def _with_refusal(f: SandboxFeatures) -> SandboxFeatures:
    """``f`` with ``refusal`` set where programs would run as you, unconfined, or as root."""
    if f.as_root:
        if f.own_user:
            return f
        return replace(f, refusal=(
            "The sandbox will not run untrusted code as root, and it could not switch to an "
            "unprivileged user here. Run Python as a normal user, or make a Python interpreter "
            "readable by other users. describe_sandbox() shows what was tried."
        ))  # fmt: skip
    missing = []
    if not f.files_confined:
        why = f.landlock_note if f.platform == "linux" else "sandbox-exec did not confine it"
        missing.append(f"nothing keeps them from your files ({why})")
    if not f.no_network:
        missing.append("nothing keeps them off the network (no seccomp filter, network "
                       "namespace or Landlock TCP rule could be set)")  # fmt: skip
    if not missing:
        return f
    return replace(f, refusal=(
        f"run_code will not run programs as you here: {'; '.join(missing)}. "
        f"{_HOW.get(f.platform, _HOW['linux'])} describe_sandbox() lists what does hold; "
        "run_code(program, allow_unconfined=True) runs a program anyway with only that."
    ))  # fmt: skip


_PROBE = """
import json, os, socket, sys

def refused(action):
    try:
        action()
    except (OSError, AttributeError):  # AttributeError: no such call on this OS
        return True
    return False

def tcp():
    socket.create_connection(("127.0.0.1", {tcp}), timeout=5).close()

def udp():
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as sock:
        sock.sendto(b"probe", ("127.0.0.1", {udp}))

def read_memory():  # 16 bytes of the parent's memory, as a debugger would read them
    import ctypes
    class Span(ctypes.Structure):
        _fields_ = [("base", ctypes.c_void_p), ("size", ctypes.c_size_t)]
    buffer = ctypes.create_string_buffer(16)
    here, there = Span(ctypes.addressof(buffer), 16), Span({address}, 16)
    libc = ctypes.CDLL(None, use_errno=True)
    if libc.process_vm_readv(os.getppid(), ctypes.byref(here), 1, ctypes.byref(there), 1, 0) != 16:
        raise OSError(ctypes.get_errno(), "process_vm_readv")
    if buffer.raw != bytes.fromhex({marker!r}):
        raise OSError("read something else")

print(json.dumps({{
    "version": sys.version.split()[0],
    "files": refused(lambda: open({canary!r}).read()) and refused(lambda: os.listdir("/")),
    "tcp": refused(tcp),
    "udp": refused(udp),
    "signals": refused(lambda: os.kill(os.getppid(), 0)),
    "memory": refused(read_memory),
}}))
"""


def _probe(python: str, uid: int | None, confine: bool) -> tuple[dict, dict]:
    """Run the probe; return which steps worked and what it measured ({} if it did not run)."""
    marker = secrets.token_bytes(16)
    memory = ctypes.create_string_buffer(marker, 16)  # what the probe must not be able to read
    with (
        tempfile.TemporaryDirectory(prefix="sandbox-probe-") as folder,
        socket.socket() as tcp,
        socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as udp,
    ):
        os.chmod(folder, 0o755)  # a file any user may read, outside the program's folder
        canary = Path(folder) / "canary.txt"
        canary.write_text("outside\n")
        canary.chmod(0o644)
        tcp.bind(("127.0.0.1", 0))
        tcp.listen()
        udp.bind(("127.0.0.1", 0))
        script = _PROBE.format(canary=str(canary), tcp=tcp.getsockname()[1],
                               udp=udp.getsockname()[1], address=ctypes.addressof(memory),
                               marker=marker.hex())  # fmt: skip
        run = _run_in_sandbox(script, python=python, uid=uid, timeout=30, limits=DEFAULT_LIMITS,
                              require=[], probe=True, confine=confine)  # fmt: skip
        reached = _received(tcp, udp)
    lines = run.stdout.splitlines()
    steps = json.loads(lines[0]) if lines and lines[0].startswith("{") else {}
    if not (run.finished and run.exit_code == 0 and len(lines) > 1):
        return steps, {}
    seen = json.loads(lines[1])
    seen["no_network"] = seen.pop("tcp") and seen.pop("udp") and not reached
    return steps, seen


def _received(tcp: socket.socket, udp: socket.socket) -> bool:
    """True if the probe got through to either listening socket."""
    for sock in (tcp, udp):
        sock.setblocking(False)
    try:
        tcp.accept()[0].close()
        return True
    except BlockingIOError:
        pass
    try:
        return bool(udp.recv(64))
    except BlockingIOError:
        return False


# Run by the interpreter that will run programs: the paths of its install, and the folders of
# the shared libraries it loads for the standard library's C modules (Nix, conda, Homebrew
# keep them outside the system's folders).
_INSTALL = """
import json, os, sys, sysconfig
paths = [sysconfig.get_path("stdlib"), sysconfig.get_path("platstdlib"),
         sysconfig.get_config_var("LIBDIR")]
if sys.platform == "darwin":
    paths.append(sys.base_prefix)
if os.path.exists("/proc/self/maps"):
    for name in ("_ctypes", "_decimal", "_hashlib", "_json", "_socket", "_sqlite3", "_ssl",
                 "math", "pyexpat", "select", "zlib", "_bz2", "_lzma"):
        try:
            __import__(name)
        except ImportError:
            pass
    with open("/proc/self/maps") as maps:
        for line in maps:
            fields = line.split(maxsplit=5)  # address, mode, offset, device, inode, path
            path = fields[5].strip() if len(fields) == 6 else ""
            if path.startswith("/") and path != os.path.realpath(sys.executable) and not path.endswith("(deleted)"):
                paths.append(os.path.dirname(path))
print(json.dumps([os.path.realpath(sys.executable)] + [p for p in paths if p]))
"""


@functools.cache
def _interpreter(python: str) -> tuple[str, list[str]]:
    """The real executable of ``python`` and the paths of its install the program may read."""
    try:
        out = subprocess.run([python, "-I", "-S", "-c", _INSTALL], capture_output=True, text=True,
                             env=ENVIRONMENT, timeout=60, check=True)  # fmt: skip
        executable, *install = json.loads(out.stdout)
    except (OSError, subprocess.SubprocessError, ValueError):
        return python, []  # the probe will fail to start it, and say so
    paths = [os.path.realpath(p) for p in install]
    return executable, [executable, *dict.fromkeys(paths)]


@dataclass(frozen=True)
class _Run:
    """How a sandboxed process ended and what it wrote."""

    exit_code: int
    timed_out: bool
    duration: float
    finished: bool  # the runner wrote this run's token: the program's last line ran
    stdout: str  # capped
    stdout_size: int  # bytes written in all
    stderr: str  # capped
    stderr_tail: str  # its last 4 KB
    stderr_size: int


def _run_in_sandbox(
    program: str,
    *,
    python: str,
    uid: int | None,
    timeout: float,
    limits: Limits,
    require: list[str],
    probe: bool = False,
    confine: bool = True,
) -> _Run:
    """Write ``program`` to a fresh folder, run it through ``sandbox_child.py``, clean up after."""
    executable, install = _interpreter(python)
    token = secrets.token_hex(16).encode()
    with (
        tempfile.TemporaryDirectory(prefix="sandbox-", ignore_cleanup_errors=True) as workdir,
        tempfile.TemporaryFile() as stdout_file,  # nameless files: the program cannot reopen them
        tempfile.TemporaryFile() as stderr_file,
    ):
        path = Path(workdir) / "main.py"
        path.write_text(program, encoding="utf-8")
        if uid is not None:  # the throwaway user owns its folder and nothing else
            os.chown(workdir, uid, uid)
            os.chown(path, uid, uid)
        token_read, token_write = os.pipe()  # the token goes in here, and nowhere else
        verdict_read, verdict_write = os.pipe()  # it comes back here after the last line
        os.write(token_write, token)
        os.close(token_write)
        setup = {
            "python": executable,
            "program": path.name,
            "install": install,
            "work": os.path.realpath(workdir),
            "uid": uid,
            "limits": {
                "cpu_seconds": int(timeout) + 1,
                "memory_mb": limits.memory_mb,
                "max_processes": limits.max_processes,
                "file_size_mb": limits.file_size_mb,
            },
            "require": require,
            "probe": probe,
            "confine": confine,
            "token_fd": token_read,
            "verdict_fd": verdict_write,
        }
        started = time.monotonic()
        try:
            process = subprocess.Popen(
                [sys.executable, "-I", "-S", str(CHILD), json.dumps(setup)],
                cwd=workdir,
                env=ENVIRONMENT,
                stdin=subprocess.DEVNULL,
                stdout=stdout_file,
                stderr=stderr_file,
                pass_fds=(token_read, verdict_write),
                start_new_session=True,  # its own process group, so we can kill all of it
            )
        finally:
            os.close(token_read)
            os.close(verdict_write)
        try:
            process.wait(timeout=timeout)
            timed_out = False
        except subprocess.TimeoutExpired:
            timed_out = True
        _kill_everything(process, uid, executable)
        duration = time.monotonic() - started
        verdict = _read_verdict(verdict_read)
        stdout, _, stdout_size = _read_capped(stdout_file, limits.output_chars)
        stderr, stderr_tail, stderr_size = _read_capped(stderr_file, limits.output_chars)
    if uid is not None:
        _remove_leftovers(uid)
    return _Run(
        exit_code=process.returncode,
        timed_out=timed_out,
        duration=duration,
        finished=secrets.compare_digest(verdict, token),
        stdout=stdout,
        stdout_size=stdout_size,
        stderr=stderr.replace(f"{workdir}{os.sep}", ""),  # tracebacks say "main.py"
        stderr_tail=stderr_tail,
        stderr_size=stderr_size,
    )


def _read_verdict(fd: int) -> bytes:
    """What the runner wrote to the verdict pipe (never blocks: a leftover may hold it open)."""
    os.set_blocking(fd, False)
    try:
        return os.read(fd, 256)
    except BlockingIOError:
        return b""
    finally:
        os.close(fd)


def _throwaway_uid() -> int:
    """A random user id that no account has, so one run's processes and files are its own."""
    return 1_000_000_000 + secrets.randbelow(1_000_000_000)


_KILL_ALL = """
import os
for _ in range(100):
    try:
        os.kill(-1, 9)  # every process this user id may signal: all of its own
    except ProcessLookupError:
        break
"""


def _kill_everything(process: subprocess.Popen, uid: int | None, python: str) -> None:
    """Kill the program's process group and, with a throwaway uid, every process of that uid."""
    with contextlib.suppress(ProcessLookupError, PermissionError):  # already gone
        os.killpg(process.pid, signal.SIGKILL)
    process.wait()
    if uid is None:
        return
    # Processes that left the group (setsid) still carry the uid: kill them as that uid.
    # If this uid cannot run ``python`` (a probe), nothing can have run as it: skip.
    with contextlib.suppress(PermissionError, FileNotFoundError):
        subprocess.run(
            [python, "-I", "-S", "-c", _KILL_ALL],
            user=uid,
            group=uid,
            extra_groups=[],
            env={},
            stdin=subprocess.DEVNULL,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
            timeout=30,
        )


def _remove_leftovers(uid: int) -> None:
    """Delete what the throwaway user left in the world-writable folders."""
    for folder in SHARED_FOLDERS:
        try:
            entries = list(os.scandir(folder))
        except OSError:
            continue
        for entry in entries:
            try:
                if entry.stat(follow_symlinks=False).st_uid != uid:
                    continue
                if entry.is_dir(follow_symlinks=False):
                    shutil.rmtree(entry.path, ignore_errors=True)
                else:
                    os.unlink(entry.path)
            except OSError:
                pass


def _read_capped(file, chars: int) -> tuple[str, str, int]:
    """At most the first ``chars`` characters of a file, its last 4 KB, and its size in bytes."""
    size = file.seek(0, os.SEEK_END)
    file.seek(0)
    head = file.read(chars * 4).decode("utf-8", errors="replace")  # ≤ 4 bytes per character
    file.seek(max(0, size - 4096))
    tail = file.read().decode("utf-8", errors="replace")
    return head[: chars + 100], tail, size  # a little spare: the caller may remove a line


def _capped(text: str, size: int, chars: int) -> str:
    """``text`` cut to ``chars`` characters, saying so when the stream (``size`` bytes) was longer."""
    if len(text) <= chars and size <= chars * 4:  # _read_capped read it all
        return text
    return text[:chars] + f"\n… [cut: {size:,} bytes in all]"


def _signal_name(number: int) -> str:
    """"SIGTERM (signal 15)"; numbers outside Python's enum too: "signal 40 (Real-time signal 6)"."""
    try:
        return f"{signal.Signals(number).name} (signal {number})"
    except ValueError:  # real-time signals 35-63 are not in the enum: the verdict must not crash
        description = signal.strsignal(number) if hasattr(signal, "strsignal") else None
        return f"signal {number}" + (f" ({description})" if description else "")


def _verdict(run: _Run, timeout: float, limits: Limits) -> tuple[str, str]:
    """Status and reason from how the process ended (``run.finished``: its last line ran)."""
    tail = run.stderr_tail.strip()
    last_line = tail.splitlines()[-1] if tail else ""
    if run.timed_out:
        return "timeout", f"still running after {timeout:g} s (wall clock); killed"
    if run.exit_code == -signal.SIGXCPU:
        return "timeout", f"used its {int(timeout) + 1} s of CPU time; killed"
    if run.exit_code == SETUP_FAILED and last_line.startswith("sandbox setup failed"):
        return "error", last_line
    if run.finished and run.exit_code == 0:
        return "passed", "ran to the end"
    if run.stdout_size >= limits.file_size_mb * MB:
        return "error", f"output flood: stopped at the {limits.file_size_mb} MB file-size limit"
    if run.exit_code == 0:
        return "failed", "exited with code 0 before its last line ran (sys.exit or os._exit?)"
    if last_line.startswith("AssertionError"):
        return "failed", f"a test failed: {last_line}"
    if run.exit_code < 0:
        return "error", f"killed by {_signal_name(-run.exit_code)}"
    return "error", last_line or f"exit code {run.exit_code}"
