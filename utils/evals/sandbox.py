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
* no network (an empty network namespace) where the OS allows it.

``sandbox_features()`` measures which of these this machine enforces (``describe_sandbox()``
in ``sandbox_description.py`` says it in words). The limits are applied by ``sandbox_child.py``
in the child process before the program starts. Benchmark programs are built in
``code_programs.py``.

"passed" means the program ran to its last line and exited with code 0: a random token,
made for each run, is printed after the last line and must appear. A program that calls
``sys.exit(0)`` or ``os._exit(0)`` before its tests run has not passed. (Code written to
attack this harness could still fake a pass from inside the same interpreter; the sandbox
protects your machine, it does not make a benchmark cheat-proof.)
"""

from __future__ import annotations

import contextlib
import functools
import json
import os
import secrets
import shutil
import signal
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path

from utils.evals.sandbox_child import SETUP_FAILED

CHILD = Path(__file__).with_name("sandbox_child.py")
ENVIRONMENT = {"PATH": "/usr/local/bin:/usr/bin:/bin"}  # nothing else: no keys, no PYTHON*
STATUSES = ("passed", "failed", "timeout", "error")
SHARED_FOLDERS = ("/tmp", "/var/tmp", "/dev/shm")  # world-writable: cleaned after each run
MB = 1024 * 1024


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
    no_network: bool
    memory: bool  # RLIMIT_AS could be set
    limits: bool  # CPU time, processes, file size, core dumps
    no_new_privileges: bool


def run_code(program: str, timeout: float = 10.0, limits: Limits = DEFAULT_LIMITS) -> RunResult:
    """Run ``program`` in the sandbox; "passed" only if it ran to its last line and exited 0."""
    if not isinstance(program, str):
        raise TypeError(f"program must be a string of Python code, not {type(program).__name__}")
    if not timeout > 0:
        raise ValueError(f"timeout must be a positive number of seconds, not {timeout!r}")
    features = sandbox_features()
    if features.as_root and not features.own_user:
        raise RuntimeError(
            "The sandbox will not run untrusted code as root, and it could not switch to an "
            "unprivileged user here. Run Python as a normal user, or make a Python interpreter "
            "readable by other users. describe_sandbox() shows what was tried."
        )
    token = secrets.token_hex(16)  # printed after the last line: proof the program got there
    run = _run_in_sandbox(
        f"{program}\n\nprint({token!r}, flush=True)\n",
        python=features.python,
        uid=_throwaway_uid() if features.own_user else None,
        timeout=timeout,
        limits=limits,
        require=[name for name in _STEPS if getattr(features, name)],
    )
    finished = token in run.stdout_tail
    status, reason = _verdict(run, finished, timeout, limits)
    token_line = f"{token}\n"
    stdout_size = run.stdout_size - (len(token_line) if finished else 0)
    return RunResult(
        status=status,
        reason=reason,
        stdout=_capped(run.stdout.replace(token_line, ""), stdout_size, limits.output_chars),
        stderr=_capped(run.stderr, run.stderr_size, limits.output_chars),
        exit_code=None if run.timed_out else run.exit_code,
        duration=round(run.duration, 3),
    )


_STEPS = ("no_network", "memory", "limits", "no_new_privileges", "own_user")


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
        worked, version = _probe(python, _throwaway_uid() if as_root else None)
        if version and (worked.get("own_user") or not as_root):
            break
    return SandboxFeatures(
        platform=sys.platform,
        as_root=as_root,
        python=python,
        python_version=version or "?",
        own_user=bool(worked.get("own_user")) and bool(version),
        no_network=bool(worked.get("no_network")),
        memory=bool(worked.get("memory")),
        limits=bool(worked.get("limits")),
        no_new_privileges=bool(worked.get("no_new_privileges")),
    )


def _probe(python: str, uid: int | None) -> tuple[dict, str | None]:
    """Start the child in probe mode; return which steps worked and the Python version run."""
    run = _run_in_sandbox(
        "import json, math, re, sys\nprint(sys.version.split()[0])\n",
        python=python,
        uid=uid,
        timeout=30,
        limits=DEFAULT_LIMITS,
        require=[],
        probe=True,
    )
    lines = run.stdout.splitlines()
    worked = json.loads(lines[0]) if lines and lines[0].startswith("{") else {}
    version = lines[1] if run.exit_code == 0 and len(lines) > 1 else None
    return worked, version


@dataclass(frozen=True)
class _Run:
    """How a sandboxed process ended and what it wrote."""

    exit_code: int
    timed_out: bool
    duration: float
    stdout: str  # capped
    stdout_tail: str  # its last 4 KB
    stdout_size: int  # bytes written in all
    stderr: str  # capped
    stderr_tail: str
    stderr_size: int


def _run_in_sandbox(
    script: str,
    *,
    python: str,
    uid: int | None,
    timeout: float,
    limits: Limits,
    require: list[str],
    probe: bool = False,
) -> _Run:
    """Write ``script`` to a fresh folder, run it through ``sandbox_child.py``, clean up after."""
    with (
        tempfile.TemporaryDirectory(prefix="sandbox-", ignore_cleanup_errors=True) as workdir,
        tempfile.TemporaryFile() as stdout_file,  # nameless files: the program cannot reopen them
        tempfile.TemporaryFile() as stderr_file,
    ):
        path = Path(workdir) / "main.py"
        path.write_text(script, encoding="utf-8")
        if uid is not None:  # the throwaway user owns its folder and nothing else
            os.chown(workdir, uid, uid)
            os.chown(path, uid, uid)
        setup = {
            "python": python,
            "program": path.name,
            "uid": uid,
            "limits": {
                "cpu_seconds": int(timeout) + 1,
                "memory_mb": limits.memory_mb,
                "max_processes": limits.max_processes,
                "file_size_mb": limits.file_size_mb,
            },
            "require": require,
            "probe": probe,
        }
        started = time.monotonic()
        process = subprocess.Popen(
            [sys.executable, "-I", "-S", str(CHILD), json.dumps(setup)],
            cwd=workdir,
            env=ENVIRONMENT,
            stdin=subprocess.DEVNULL,
            stdout=stdout_file,
            stderr=stderr_file,
            start_new_session=True,  # its own process group, so we can kill all of it
        )
        try:
            process.wait(timeout=timeout)
            timed_out = False
        except subprocess.TimeoutExpired:
            timed_out = True
        _kill_everything(process, uid, python)
        duration = time.monotonic() - started
        stdout, stdout_tail, stdout_size = _read_capped(stdout_file, limits.output_chars)
        stderr, stderr_tail, stderr_size = _read_capped(stderr_file, limits.output_chars)
    if uid is not None:
        _remove_leftovers(uid)
    return _Run(
        exit_code=process.returncode,
        timed_out=timed_out,
        duration=duration,
        stdout=stdout,
        stdout_tail=stdout_tail,
        stdout_size=stdout_size,
        stderr=stderr.replace(f"{workdir}{os.sep}", ""),  # tracebacks say "main.py"
        stderr_tail=stderr_tail,
        stderr_size=stderr_size,
    )


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


def _verdict(run: _Run, finished: bool, timeout: float, limits: Limits) -> tuple[str, str]:
    """Status and reason from how the process ended; ``finished``: its last line ran."""
    tail = run.stderr_tail.strip()
    last_line = tail.splitlines()[-1] if tail else ""
    if run.timed_out:
        return "timeout", f"still running after {timeout:g} s (wall clock); killed"
    if run.exit_code == -signal.SIGXCPU:
        return "timeout", f"used its {int(timeout) + 1} s of CPU time; killed"
    if run.exit_code == SETUP_FAILED and last_line.startswith("sandbox setup failed"):
        return "error", last_line
    if finished and run.exit_code == 0:
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
