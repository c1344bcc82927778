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

from utils.datasets import load_humaneval, load_mbpp
from utils.evals import (
    Limits,
    check_solution,
    describe_sandbox,
    humaneval_program,
    mbpp_program,
    run_code,
    sandbox_features,
)
from utils.evals.sandbox import CHILD, STATUSES, _Run, _verdict
from utils.evals.sandbox_child import SETUP_FAILED
from utils.settings import world_readable_dotenv

FEATURES = sandbox_features()
needs_own_user = pytest.mark.skipif(
    not FEATURES.own_user, reason="only root can give each run its own user id"
)
needs_no_network = pytest.mark.skipif(
    not FEATURES.no_network, reason="this OS does not allow a private network namespace"
)


@pytest.fixture(scope="module")
def problems():
    return {p["task_id"]: p for p in load_humaneval()}


def _live_processes_of(uid: int, patience: float = 5.0) -> list[int]:
    """Pids of live processes of ``uid``, after giving killed ones ``patience`` seconds to die."""
    deadline = time.monotonic() + patience
    while (pids := _processes_of(uid)) and time.monotonic() < deadline:
        time.sleep(0.05)  # a process with SIGKILL pending can take a moment to exit
    return pids


def _processes_of(uid: int) -> list[int]:
    """Pids of processes (zombies excluded) whose real uid is ``uid``."""
    pids = []
    for status in Path("/proc").glob("[0-9]*/status"):
        try:
            fields = dict(line.split(":", 1) for line in status.read_text().splitlines())
        except (OSError, ValueError):
            continue
        if int(fields["Uid"].split()[0]) == uid and not fields["State"].strip().startswith("Z"):
            pids.append(int(status.parent.name))
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


def test_mbpp_reference_code_passes_and_wrong_code_fails():
    mbpp = load_mbpp()
    for problem in mbpp[:5] + [p for p in mbpp if p["test_imports"]][:2]:
        result = run_code(mbpp_program(problem, problem["code"]))
        assert result.passed, (problem["task_id"], result.reason)
    problem = mbpp[0]
    assert run_code(mbpp_program(problem, "def similar_elements(a, b):\n    return ()")).status == (
        "failed"
    )
    with pytest.raises(KeyError, match="test_list"):
        mbpp_program({"prompt": "x"}, "")


@pytest.mark.parametrize("number", [15, 34, 40, 64])  # SIGTERM, the real-time range's ends and middle
def test_any_signal_that_ends_the_program_is_a_verdict(number):
    result = run_code(f"import os\nos.kill(os.getpid(), {number})")  # issue 14: 40 used to raise
    assert (result.status, result.exit_code) == ("error", -number)
    assert result.reason.startswith("killed by ") and str(number) in result.reason


def test_every_exit_status_gives_a_status_and_a_reason():
    for code in range(-64, 256):
        run = _Run(code, False, 0.1, "", "", 0, "", "", 0)
        status, reason = _verdict(run, finished=False, timeout=1.0, limits=Limits())
        assert status in STATUSES and reason


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
        "open(f'/tmp/sandbox-leftover-{os.getuid()}', 'w').write('x')\n"
        "if os.fork() == 0:\n"
        "    os.setsid()  # leave the process group\n"
        "    time.sleep(300)\n"
        "    os._exit(0)\n"
        "print(os.getuid())"
    )
    result = run_code(program, timeout=5)
    assert result.passed, result.stderr
    uid = int(result.stdout)
    assert _live_processes_of(uid) == []
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


@needs_own_user
def test_the_parents_environment_cannot_be_read_through_proc():
    result = run_code("import os\nprint(open(f'/proc/{os.getppid()}/environ').read())")
    assert result.status == "error" and "PermissionError" in result.reason


@needs_own_user
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
        assert result.stdout == "original\n"  # readable, like any world-readable file
        assert result.status == "error" and "PermissionError" in result.reason
        assert precious.read_text() == "original"


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
    with socket.socket() as server:
        server.bind(("127.0.0.1", 0))
        server.listen()
        port = server.getsockname()[1]
        result = run_code(f"import socket\nsocket.create_connection(('127.0.0.1', {port}), 2)")
    assert result.status == "error" and "OSError" in result.reason


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
        if FEATURES.own_user:
            monkeypatch.chdir(nested)
            assert f"chmod 600 {dotenv.resolve()}" in describe_sandbox()
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
    """CI runs this file a second time as an unprivileged user (a learner's laptop): make sure."""
    assert os.geteuid() != 0 and not FEATURES.as_root and not FEATURES.own_user
