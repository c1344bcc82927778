"""The sandbox against honest, broken and hostile programs (real processes, nothing mocked)."""

import json
import os
import socket
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import pytest

from utils.datasets import load_humaneval
from utils.evals import (
    Limits,
    check_solution,
    describe_sandbox,
    humaneval_program,
    run_code,
    sandbox_features,
    sandbox_landlock,
    sandbox_macos,
    sandbox_seccomp,
)
from utils.evals.sandbox import CHILD, STATUSES, _interpreter, _Run, _verdict
from utils.evals.sandbox_child import SETUP_FAILED
from utils.local_server import process
from utils.settings import world_readable_dotenv

ROOT = Path(__file__).resolve().parents[1]
FEATURES = sandbox_features()
FAKE_KEY = "sk-" + "fa1ce" * 6  # planted where a program might look; must never come back
on_linux_with_seccomp = pytest.mark.skipif(
    not sandbox_seccomp.available(), reason="the fallback is forced with a Linux seccomp filter"
)
needs_own_user = pytest.mark.skipif(
    not FEATURES.own_user, reason="only root can give each run its own user id"
)
needs_no_network = pytest.mark.skipif(
    not FEATURES.no_network, reason="this OS does not allow a private network namespace"
)


@pytest.fixture(scope="module")
def problems():
    return {p["task_id"]: p for p in load_humaneval()}


class _Listeners:
    """A TCP and a UDP port on loopback that record whether anything reached them."""

    def __enter__(self):
        self._tcp, self._udp = socket.socket(), socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
        self._tcp.bind(("127.0.0.1", 0))
        self._tcp.listen()
        self._udp.bind(("127.0.0.1", 0))
        self.tcp, self.udp = self._tcp.getsockname()[1], self._udp.getsockname()[1]
        return self

    def heard(self) -> bool:
        self._tcp.setblocking(False)
        self._udp.setblocking(False)
        try:
            self._tcp.accept()[0].close()
            return True
        except BlockingIOError:
            pass
        try:
            return bool(self._udp.recv(256))
        except BlockingIOError:
            return False

    def __exit__(self, *exc):
        self._tcp.close()
        self._udp.close()


def _live_processes_of(uid: int, patience: float = 5.0) -> list[int]:
    """Pids of live processes of ``uid``, after giving killed ones ``patience`` seconds to die."""
    deadline = time.monotonic() + patience
    while (pids := process.live_pids(uid)) and time.monotonic() < deadline:
        time.sleep(0.05)  # a process with SIGKILL pending can take a moment to exit
    return pids


# --- honest and broken programs -------------------------------------------------------


def test_a_program_that_runs_to_the_end_passes():
    result = run_code("print('hello')")
    assert (result.status, result.passed, result.exit_code) == ("passed", True, 0)
    assert result.stdout == "hello\n"  # the end-of-program token is not shown
    assert result.status in STATUSES and result.duration > 0


def test_an_assertion_is_a_failure_and_other_exceptions_are_errors():
    failed = run_code("assert 1 + 1 == 3, 'arithmetic'")
    assert (failed.status, failed.passed) == ("failed", False)
    assert "AssertionError: arithmetic" in failed.reason
    error = run_code("undefined_name()")
    assert error.status == "error" and "NameError" in error.reason
    assert 'File "main.py", line 1' in error.stderr  # no temporary path in the traceback
    syntax = run_code("def f(:\n    pass")
    assert syntax.status == "error" and "SyntaxError" in syntax.reason


@pytest.mark.parametrize("task_id", [f"HumanEval/{i}" for i in (0, 2, 12, 23, 53, 105, 163)])
def test_canonical_solutions_pass(problems, task_id):
    problem = problems[task_id]
    result = check_solution(problem, problem["canonical_solution"])
    assert result.passed, (result.reason, result.stderr)


def test_wrong_and_missing_solutions_fail(problems):
    problem = problems["HumanEval/53"]  # add(x, y)
    assert check_solution(problem, "    return x - y\n").status == "failed"
    assert check_solution(problem, "").status == "failed"  # returns None
    assert check_solution(problem, "    return x +\n").status == "error"


def test_humaneval_program_layout(problems):
    problem = problems["HumanEval/53"]
    program = humaneval_program(problem, "    return x + y\n")
    assert program.startswith(problem["prompt"] + "    return x + y\n")
    assert program.rstrip().endswith("check(add)")
    with pytest.raises(KeyError, match="entry_point"):
        humaneval_program({"prompt": "", "test": ""}, "")


@pytest.mark.parametrize("number", [15, 34, 40, 64])  # SIGTERM, the real-time range's ends and middle
def test_any_signal_that_ends_the_program_is_a_verdict(number):
    result = run_code(f"import os\nos.kill(os.getpid(), {number})")  # issue 14: 40 used to raise
    assert (result.status, result.exit_code) == ("error", -number)
    assert result.reason.startswith("killed by ") and str(number) in result.reason


def test_every_exit_status_gives_a_status_and_a_reason():
    for code in range(-64, 256):
        for finished in (False, True):
            run = _Run(code, False, 0.1, finished, "", 0, "", "", 0)
            status, reason = _verdict(run, timeout=1.0, limits=Limits())
            assert status in STATUSES and reason
            assert (status == "passed") == (finished and code == 0)


def test_bad_arguments_say_what_to_do():
    with pytest.raises(ValueError, match="positive number of seconds"):
        run_code("pass", timeout=0)
    with pytest.raises(TypeError, match="string of Python code"):
        run_code(b"print(1)")


# --- hostile programs ------------------------------------------------------------------


def test_infinite_loop_is_cut_off():
    result = run_code("while True:\n    pass", timeout=1)
    assert result.status == "timeout" and result.exit_code is None
    assert "wall clock" in result.reason


def test_sleeping_forever_is_cut_off():
    assert run_code("import time\ntime.sleep(3600)", timeout=1).status == "timeout"


@pytest.mark.parametrize(
    "program",
    ["data = bytearray(8 * 1024**3)", "hog = []\nwhile True:\n    hog.append(' ' * 10**7)"],
    ids=["one-huge-block", "growing-list"],
)
def test_memory_bomb_hits_the_memory_limit(program):
    result = run_code(program, timeout=5)
    assert result.status == "error" and "MemoryError" in result.reason


def test_limits_are_in_place_inside_the_sandbox():
    program = (
        "import resource, json\n"
        "names = ['RLIMIT_CPU', 'RLIMIT_AS', 'RLIMIT_NPROC', 'RLIMIT_FSIZE', 'RLIMIT_CORE']\n"
        "print(json.dumps({n: resource.getrlimit(getattr(resource, n)) for n in names}))"
    )
    limits = Limits(memory_mb=300, max_processes=7, file_size_mb=2)
    result = run_code(program, timeout=3, limits=limits)
    assert result.passed, result.stderr
    seen = json.loads(result.stdout)
    assert seen["RLIMIT_CPU"] == [4, 5]  # timeout + 1 s, then SIGKILL a second later
    assert seen["RLIMIT_AS"] == [300 * 2**20] * 2
    assert seen["RLIMIT_NPROC"] == [7, 7]
    assert seen["RLIMIT_FSIZE"] == [2 * 2**20] * 2
    assert seen["RLIMIT_CORE"] == [0, 0]


@needs_own_user
def test_process_count_is_capped():
    program = (
        "import os, time\n"
        "started = 0\n"
        "for _ in range(50):\n"
        "    try:\n"
        "        pid = os.fork()\n"
        "    except OSError:\n"
        "        break\n"
        "    if pid == 0:\n"
        "        time.sleep(30)\n"
        "        os._exit(0)\n"
        "    started += 1\n"
        "print(started)"
    )
    result = run_code(program, timeout=5, limits=Limits(max_processes=6))
    assert result.passed, result.stderr
    assert int(result.stdout) == 5  # 6 processes at once, the program included


@needs_own_user
def test_fork_bomb_is_contained_and_every_process_is_killed():
    program = (
        "import os, sys\n"
        "print(os.getuid(), flush=True)\n"
        "while True:\n"
        "    try:\n"
        "        os.fork()\n"
        "    except OSError:\n"
        "        pass"
    )
    result = run_code(program, timeout=2)
    assert result.status == "timeout"
    uid = int(result.stdout.split()[0])
    assert uid != os.getuid()
    assert _live_processes_of(uid) == []


@needs_own_user
def test_escaped_background_process_is_killed_and_tmp_files_removed():
    program = (
        "import os, sys, time\n"
        "try:\n"
        "    open(f'/tmp/sandbox-leftover-{os.getuid()}', 'w').write('x')\n"
        "except PermissionError:  # file confinement: only its own folder is writable\n"
        "    print('refused', end=' ')\n"
        "if os.fork() == 0:\n"
        "    os.setsid()  # leave the process group\n"
        "    time.sleep(300)\n"
        "    os._exit(0)\n"
        "print(os.getuid())"
    )
    result = run_code(program, timeout=5)
    assert result.passed, result.stderr
    *refused, uid = result.stdout.split()
    assert bool(refused) == FEATURES.files_confined
    assert _live_processes_of(int(uid)) == []
    assert not Path(f"/tmp/sandbox-leftover-{uid}").exists()


def test_no_secret_reaches_the_program(monkeypatch):
    fake_key = "sk-" + "ab" * 10
    monkeypatch.setenv("DASHSCOPE_API_KEY", fake_key)
    monkeypatch.setenv("OPENAI_API_KEY", fake_key)
    monkeypatch.setenv("PYTHONPATH", "/somewhere")
    result = run_code("import os, sys\nprint(dict(os.environ))\nprint(sys.flags.isolated)")
    assert result.passed
    assert fake_key not in result.stdout and "PYTHONPATH" not in result.stdout
    environment, isolated = result.stdout.splitlines()
    assert set(eval(environment)) <= {"PATH", "LC_CTYPE"}  # LC_CTYPE: Python's UTF-8 locale
    assert isolated == "1"


@pytest.mark.skipif(not Path("/proc/self/environ").exists(), reason="this OS has no /proc")
def test_the_parents_environment_cannot_be_read_through_proc(monkeypatch):
    monkeypatch.setenv("DEMO_API_KEY", FAKE_KEY)
    result = run_code("import os\nprint(open(f'/proc/{os.getppid()}/environ').read())")
    assert result.status == "error" and "PermissionError" in result.reason
    assert FAKE_KEY not in result.stdout


@pytest.mark.skipif(
    not (FEATURES.own_user or FEATURES.files_confined), reason="the program runs as you, unconfined"
)
def test_writing_outside_its_folder_is_refused():
    with tempfile.TemporaryDirectory() as folder:
        os.chmod(folder, 0o755)  # others may look in, as in most folders
        precious = Path(folder) / "precious.txt"
        precious.write_text("original")
        precious.chmod(0o644)  # world-readable, writable by its owner only
        result = run_code(
            f"print(open({str(precious)!r}).read())\n"
            f"open({str(precious)!r}, 'w').write('overwritten')"
        )
        if FEATURES.files_confined:  # Landlock or sandbox-exec: not even readable
            assert result.stdout == "" and "PermissionError" in result.reason
        else:  # a throwaway user reads what every user may read
            assert result.stdout == "original\n"
        assert result.status == "error" and "PermissionError" in result.reason
        assert precious.read_text() == "original"


@pytest.mark.skipif(not FEATURES.files_confined, reason="no file confinement on this machine")
def test_it_runs_no_other_program_and_lists_nothing_outside_its_folder():
    result = run_code(
        "import os, subprocess\n"
        "for action in (lambda: subprocess.run(['/bin/sh', '-c', 'true']), lambda: os.listdir('/'),\n"
        "               lambda: os.listdir(os.path.expanduser('~'))):\n"
        "    try:\n"
        "        action()\n"
        "        print('allowed')\n"
        "    except (OSError, KeyError):\n"
        "        print('refused')"
    )
    assert result.passed, result.stderr
    assert result.stdout.split() == ["refused"] * 3
    executable, install = _interpreter(FEATURES.python)
    assert install[0] == executable and os.path.dirname(executable) not in install  # not all of bin/


def test_the_program_works_in_a_fresh_empty_folder():
    result = run_code("import os\nopen('notes.txt', 'w').write('x')\nprint(sorted(os.listdir()))")
    assert result.stdout == "['main.py', 'notes.txt']\n"
    again = run_code("import os\nprint(sorted(os.listdir()))")
    assert again.stdout == "['main.py']\n"  # the last run's file is gone


@pytest.mark.parametrize(
    "completion",
    [
        "    import sys\n    sys.exit(0)\n",  # inside the function, when the tests call it
        "    import os\n    os._exit(0)\n",
        "    raise SystemExit(0)\n",
        "    return x + y\nimport sys\nsys.exit(0)\n",  # at import time, before the tests run
        "    return x + y\nimport os\nos._exit(0)\n",
    ],
)
def test_exiting_early_with_code_zero_is_not_a_pass(problems, completion):
    result = check_solution(problems["HumanEval/53"], completion)
    assert result.exit_code == 0
    assert result.status == "failed" and not result.passed
    assert "before its last line" in result.reason


def test_output_flood_is_capped():
    result = run_code("while True:\n    print('x' * 1000)", timeout=10)
    assert result.status in ("error", "timeout")
    assert len(result.stdout) < 5_000 and "cut:" in result.stdout
    assert "output flood" in result.reason


def test_long_but_finite_output_is_kept_in_part():
    result = run_code("print('y' * 100_000)", limits=Limits(output_chars=500))
    assert result.passed
    assert result.stdout.startswith("y" * 500) and "100,001 bytes" in result.stdout


@needs_no_network
def test_no_network_not_even_loopback():
    with _Listeners() as ears:
        tcp = run_code(f"import socket\nsocket.create_connection(('127.0.0.1', {ears.tcp}), 2)")
        udp = run_code(
            "import socket\n"
            f"socket.socket(socket.AF_INET, socket.SOCK_DGRAM).sendto(b'x', ('127.0.0.1', {ears.udp}))"
        )
        assert not ears.heard()
    for result in (tcp, udp):
        assert result.status == "error" and "Error" in result.reason


def test_the_child_refuses_to_run_if_a_required_step_fails(tmp_path):
    (tmp_path / "main.py").write_text("print('should not run')")
    setup = {
        "python": sys.executable,
        "program": "main.py",
        "uid": 2**32 - 1,  # not a valid user id: becoming it fails
        "limits": {"cpu_seconds": 5, "memory_mb": 512, "max_processes": 16, "file_size_mb": 1},
        "require": ["own_user"],
    }
    result = subprocess.run(
        [sys.executable, "-I", "-S", str(CHILD), json.dumps(setup)],
        cwd=tmp_path,
        capture_output=True,
        text=True,
        timeout=30,
    )
    assert result.returncode == SETUP_FAILED
    assert "sandbox setup failed: own_user" in result.stderr
    assert "should not run" not in result.stdout


def test_describe_sandbox_matches_what_was_measured():
    text = describe_sandbox()
    assert f"Python {FEATURES.python_version}" in text
    assert ("✔ no network" in text) == FEATURES.no_network
    assert ("✔ runs as a throwaway user id" in text) == FEATURES.own_user
    assert ("✘ runs as you" in text) == (not FEATURES.own_user)
    assert ("✔ opens only Python's standard library" in text) == FEATURES.files_confined
    assert ("✔ cannot signal your processes or read their memory" in text) == (
        FEATURES.signals_confined and FEATURES.memory_confined
    )
    assert ("run_code will not run programs" in text) == bool(FEATURES.refusal)
    if FEATURES.landlock:
        assert f"Landlock ABI {FEATURES.landlock_abi}" in text
    if FEATURES.as_root:
        assert FEATURES.own_user, "as root the sandbox must find an unprivileged way to run"


def test_a_dotenv_readable_by_everyone_is_flagged(monkeypatch):
    with tempfile.TemporaryDirectory() as folder:
        project = Path(folder)
        nested = project / "notebooks"
        nested.mkdir()
        dotenv = project / ".env"
        dotenv.write_text("DASHSCOPE_API_KEY=not-a-real-key\n")
        project.chmod(0o755)
        nested.chmod(0o755)
        dotenv.chmod(0o644)
        assert world_readable_dotenv(nested) == dotenv.resolve()  # found from a subfolder
        monkeypatch.chdir(nested)
        flagged = f"chmod 600 {dotenv.resolve()}" in describe_sandbox()
        # only a throwaway user without file confinement could read it (as you: see "runs as you")
        assert flagged == (FEATURES.own_user and not FEATURES.files_confined)
        dotenv.chmod(0o600)
        assert world_readable_dotenv(nested) is None
        dotenv.chmod(0o644)
        project.chmod(0o700)  # others cannot enter the folder
        assert world_readable_dotenv(nested) is None


@pytest.mark.skipif(
    os.environ.get("COOKBOOK_SANDBOX_TEST_USER") != "unprivileged",
    reason="set COOKBOOK_SANDBOX_TEST_USER=unprivileged when running these tests as a normal user",
)
def test_this_run_is_the_unprivileged_one_it_claims_to_be():
    """CI runs this file a second time as an unprivileged user (a learner's laptop): make sure,
    and make sure that run cannot skip the fallback-path tests (they need a seccomp filter)."""
    assert os.geteuid() != 0 and not FEATURES.as_root and not FEATURES.own_user
    if sys.platform == "linux":
        assert sandbox_seccomp.available(), "the fallback-path tests would be skipped here"


# --- the verdict cannot be forged ---------------------------------------------------------

FORGERIES = {
    # the token used to be the program file's last line: read it, print it, leave with code 0
    "reads its own file": (
        "import os, re\n"
        "for token in re.findall(r'[0-9a-f]{32}', open(__file__).read()):\n"
        "    print(token, flush=True)\n"
        "os._exit(0)\n"
    ),
    "prints guessed tokens": "import os, secrets\nfor _ in range(2000):\n    print(secrets.token_hex(16))\nos._exit(0)\n",
    "reads its arguments and environment": (
        "import os, sys\n"
        "print(sys.argv, dict(os.environ), flush=True)\n"
        "for name in ('cmdline', 'environ'):\n"
        "    try:\n"
        "        print(open(f'/proc/self/{name}', 'rb').read(), flush=True)\n"
        "    except OSError:\n"
        "        pass\n"
        "os._exit(0)\n"
    ),
    "writes guesses to every descriptor": (
        "import os, secrets\n"
        "seen = b''\n"
        "for fd in range(3, 64):\n"
        "    try:\n"
        "        seen += os.read(fd, 64)\n"
        "    except OSError:\n"
        "        pass\n"
        "for fd in range(3, 64):\n"
        "    try:\n"
        "        os.write(fd, seen or secrets.token_hex(16).encode())\n"
        "    except OSError:\n"
        "        pass\n"
        "os._exit(0)\n"
    ),
}


@pytest.mark.parametrize("forgery", list(FORGERIES))
def test_a_program_that_forges_a_pass_gets_no_pass(forgery):
    result = run_code(FORGERIES[forgery] + "assert False, 'never reached'\n")
    assert result.exit_code == 0  # it did leave with "success"
    assert result.status == "failed" and not result.passed, result.stdout[:200]


def test_the_program_file_holds_only_the_program():
    program = "print(open(__file__).read(), end='')"
    result = run_code(program)
    assert result.passed and result.stdout == program  # no token, no harness code appended


# --- where user namespaces are unavailable (Docker's default profile, Ubuntu ≥ 23.10) --------

_IN_A_PROCESS = """
import ctypes, dataclasses, json, sys
spec = json.loads(sys.argv[1])
from utils.evals import sandbox_seccomp
sandbox_seccomp.refuse_user_namespaces()
if spec["no_landlock"]:
    sandbox_seccomp.deny({"landlock_create_ruleset": 38})  # ENOSYS: as on a kernel without it
from utils.evals import SandboxUnavailable, describe_sandbox, run_code, sandbox_features
memory = ctypes.create_string_buffer(spec["key"].encode())  # the key, in this process's memory
results = {}
for name, program in spec["programs"].items():
    program = program.replace("ADDRESS", str(ctypes.addressof(memory)))
    try:
        results[name] = dataclasses.asdict(
            run_code(program, timeout=10, allow_unconfined=spec["allow_unconfined"])
        )
    except SandboxUnavailable as error:
        results[name] = {"refused": str(error)}
features = dataclasses.asdict(sandbox_features())
print(json.dumps({"features": features, "description": describe_sandbox(), "results": results}))
"""

_READ_MEMORY = """
import ctypes, os
class Span(ctypes.Structure):
    _fields_ = [("base", ctypes.c_void_p), ("size", ctypes.c_size_t)]
buffer = ctypes.create_string_buffer(KEY_LENGTH)
here, there = Span(ctypes.addressof(buffer), KEY_LENGTH), Span(ADDRESS, KEY_LENGTH)
libc = ctypes.CDLL(None, use_errno=True)
got = libc.process_vm_readv(os.getppid(), ctypes.byref(here), 1, ctypes.byref(there), 1, 0)
if got < 0:
    raise PermissionError(ctypes.get_errno(), os.strerror(ctypes.get_errno()))
print(buffer.raw.decode(errors="replace"))
"""


@pytest.fixture(scope="module")
def planted():
    """A course folder with a world-readable .env, and a home with ~/.ssh, both holding FAKE_KEY
    (in /tmp, so that every user may reach them, as in a home folder of mode 755)."""
    with tempfile.TemporaryDirectory(prefix="planted-") as folder:
        yield _plant(Path(folder))


def _plant(base: Path) -> tuple[Path, Path]:
    course, home = base / "course", base / "home"
    (course / "notebooks").mkdir(parents=True)
    (course / ".env").write_text(f"DASHSCOPE_API_KEY={FAKE_KEY}\n")
    (home / ".ssh").mkdir(parents=True)
    (home / ".ssh" / "id_ed25519").write_text(f"-----BEGIN OPENSSH PRIVATE KEY-----\n{FAKE_KEY}\n")
    for folder in (base, course, course / "notebooks", home):
        folder.chmod(0o755)
    (course / ".env").chmod(0o644)  # as `cp .env.example .env` leaves it
    (home / ".ssh").chmod(0o700)
    (home / ".ssh" / "id_ed25519").chmod(0o600)
    return course, home


def _hostile_programs(course: Path, home: Path, ears: _Listeners) -> dict[str, str]:
    ssh = home / ".ssh"
    return {
        "honest": "print('hello')",
        "environ": "import os\nprint(open(f'/proc/{os.getppid()}/environ').read())",
        "dotenv": f"print(open({str(course / '.env')!r}).read())",
        "ssh": f"import os\nprint(os.listdir({str(ssh)!r}))\nprint(open({str(ssh / 'id_ed25519')!r}).read())",
        "memory": _READ_MEMORY.replace("KEY_LENGTH", str(len(FAKE_KEY))),
        "tcp": f"import socket\nsocket.create_connection(('127.0.0.1', {ears.tcp}), 2).sendall(b'stolen')",
        "udp": "import socket\n"
        f"socket.socket(socket.AF_INET, socket.SOCK_DGRAM).sendto(b'stolen', ('127.0.0.1', {ears.udp}))",
        "signal": "import os\nos.kill(os.getppid(), 0)",
        "forge": FORGERIES["reads its own file"] + "assert False\n",
    }


def _run_without_user_namespaces(course, home, ears, no_landlock=False, allow_unconfined=False):
    """Run the hostile programs from a process that cannot make user namespaces (a seccomp
    filter refuses them, as Docker's default profile does), with the key in its environment."""
    spec = {
        "programs": _hostile_programs(course, home, ears),
        "key": FAKE_KEY,
        "no_landlock": no_landlock,
        "allow_unconfined": allow_unconfined,
    }
    environment = {
        **os.environ,
        "DASHSCOPE_API_KEY": FAKE_KEY,
        "HOME": str(home),
        "PYTHONPATH": os.pathsep.join([str(ROOT), os.environ.get("PYTHONPATH", "")]),
    }
    done = subprocess.run(
        [sys.executable, "-c", _IN_A_PROCESS, json.dumps(spec)],
        cwd=course / "notebooks",  # where a learner's kernel runs, beside the course's .env
        env=environment,
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert done.returncode == 0, done.stderr[-2000:]
    report = json.loads(done.stdout)
    assert not report["features"]["network_namespace"], "the fallback was not forced"
    return report


def _got_nothing(result: dict) -> bool:
    """True if the run was refused, or it ran and neither stream holds the key."""
    return "refused" in result or FAKE_KEY not in result["stdout"] + result["stderr"]


@on_linux_with_seccomp
def test_without_user_namespaces_hostile_programs_get_nothing(planted):
    course, home = planted
    with _Listeners() as ears:
        report = _run_without_user_namespaces(course, home, ears)
        heard = ears.heard()
    results = report["results"]
    assert not heard, "a program reached a port on loopback"
    for name in ("environ", "dotenv", "ssh", "memory", "tcp", "udp", "signal", "forge"):
        result = results[name]
        assert _got_nothing(result), (name, result)
        if "refused" not in result:
            assert result["status"] in ("error", "failed"), name
    if "refused" not in results["honest"]:  # where the sandbox runs at all, it still works
        assert results["honest"]["status"] == "passed"
        assert results["signal"]["status"] == "error", results["signal"]
    features, text = report["features"], report["description"]
    if features["landlock"] or features["own_user"]:  # nothing refused: it was kept from all of it
        assert not any("refused" in result for result in results.values())
    if features["landlock"]:  # what describe_sandbox() says there is what these programs met
        assert features["files_confined"] and "✔ opens only Python's standard library" in text
        assert "✔ no network, not even loopback" in text and "network namespace" not in text
        assert "run_code will not run programs" not in text


@on_linux_with_seccomp
def test_without_user_namespaces_or_landlock_a_learner_is_refused(planted):
    course, home = planted
    with _Listeners() as ears:
        report = _run_without_user_namespaces(course, home, ears, no_landlock=True)
        assert not ears.heard()
    features, results = report["features"], report["results"]
    assert features["landlock_abi"] == 0 and not features["files_confined"]
    if features["as_root"]:  # a throwaway user still keeps it from your private files
        assert "refused" not in results["honest"] and results["honest"]["status"] == "passed"
        for name in ("environ", "ssh", "memory", "signal", "tcp", "udp", "forge"):
            assert _got_nothing(results[name]), (name, results[name])
        # but not from what every user may read: the world-readable .env is flagged
        assert f"chmod 600 {(course / '.env').resolve()}" in report["description"]
    else:
        for name, result in results.items():
            assert "refused" in result, (name, result)
            assert "Landlock" in result["refused"] and "allow_unconfined=True" in result["refused"]
        assert "✘ run_code will not run programs as you here" in report["description"]


@on_linux_with_seccomp
@pytest.mark.skipif(FEATURES.as_root, reason="as root the sandbox never runs a program unconfined")
def test_allow_unconfined_runs_anyway_and_describe_sandbox_says_what_is_open(planted):
    course, home = planted
    with _Listeners() as ears:
        report = _run_without_user_namespaces(
            course, home, ears, no_landlock=True, allow_unconfined=True
        )
        assert not ears.heard()  # seccomp still keeps it off the network
    results, text = report["results"], report["description"]
    assert results["honest"]["status"] == "passed"
    assert FAKE_KEY in results["dotenv"]["stdout"]  # what "files NOT confined" means
    assert "✘ files NOT confined" in text and "✔ no network" in text
    assert results["forge"]["status"] == "failed"  # the verdict holds even so


# --- the pieces, on their own -------------------------------------------------------------


@on_linux_with_seccomp
def test_landlock_abi_says_why_when_the_kernel_hides_it():
    code = (
        "from utils.evals import sandbox_landlock, sandbox_seccomp\n"
        "sandbox_seccomp.deny({'landlock_create_ruleset': 38})\n"
        "print(sandbox_landlock.abi())"
    )
    environment = {**os.environ, "PYTHONPATH": os.pathsep.join([str(ROOT), os.environ.get("PYTHONPATH", "")])}
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                         env=environment, check=True, timeout=60).stdout  # fmt: skip
    assert out.startswith("(0, ") and "no Landlock" in out and "5.13" in out
    version, note = sandbox_landlock.abi()
    assert (version >= 1) == FEATURES.landlock and (note == "") == (version >= 1)


@on_linux_with_seccomp
def test_seccomp_filter_checks_the_architecture_and_knows_its_calls():
    code = sandbox_seccomp.program({"socket": 1})
    assert code[0] == (sandbox_seccomp.LD_W_ABS, 0, 0, sandbox_seccomp.ARCH_OFFSET)
    assert code[2][3] == sandbox_seccomp.RET_KILL_PROCESS  # another architecture's calls
    assert code[-1][3] == sandbox_seccomp.RET_ALLOW
    assert (sandbox_seccomp.RET_K, 0, 0, sandbox_seccomp.RET_ERRNO | 1) in code
    with pytest.raises(ValueError, match="no system call number"):
        sandbox_seccomp.program({"not_a_call": 1})


def test_macos_profile_denies_by_default_and_allows_no_network(tmp_path):
    install = [str(Path(sys.executable).resolve()), str(Path(os.__file__).parent)]
    profile = sandbox_macos.profile(install, str(tmp_path))
    assert profile.splitlines()[:2] == ["(version 1)", "(deny default)"]
    assert "network" not in profile  # nothing allows it
    assert f'(subpath "{os.path.realpath(tmp_path)}")' in profile
    writes = [line for line in profile.splitlines() if line.startswith("(allow file-write")]
    assert writes == [f'(allow file-write* (subpath "{os.path.realpath(tmp_path)}") (literal "/dev/null"))']
    command = sandbox_macos.command(install, str(tmp_path), ["python3", "-c", "pass"])
    assert command[:2] == [sandbox_macos.SANDBOX_EXEC, "-p"] and command[3:] == ["python3", "-c", "pass"]


@pytest.mark.skipif(sys.platform != "darwin", reason="sandbox-exec exists only on macOS")
def test_on_macos_sandbox_exec_confines_the_program():
    assert FEATURES.seatbelt and FEATURES.files_confined and FEATURES.no_network
