"""The room server: keys on disk, a real room engine on loopback, learners, the live view, revoking."""

from __future__ import annotations

import asyncio
import contextlib
import csv
import http.client
import json
import os
import queue
import shutil
import signal
import socket
import ssl
import stat
import subprocess
import sys
import threading
import time
import urllib.error
import urllib.request
from pathlib import Path

import httpx2
import openai
import pytest

from benchmarks.room_load import room_run
from utils.llama_api import parse_metrics
from utils.local_server import process
from utils.room import roster, server, watch
from utils.room.roster import Learner, RoomFiles, RosterError

ROOT = Path(__file__).resolve().parent.parent


def mode(path: Path) -> int:
    return stat.S_IMODE(path.stat().st_mode)


# ---- keys and the handout CSV ---------------------------------------------------------------


def test_new_keys_are_long_random_and_distinct():
    keys = {roster.new_key() for _ in range(200)}
    assert len(keys) == 200
    for key in keys:
        assert key.startswith("room-") and len(key) >= 45
        assert set(key[5:]) <= set("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_")


def test_handout_csv_and_key_files_are_private_even_over_a_readable_file(tmp_path):
    files = RoomFiles(tmp_path / "room")
    files.folder.mkdir(mode=0o755)
    files.learners_csv.write_text("learner,OPENAI_BASE_URL,OPENAI_API_KEY\n")
    files.learners_csv.chmod(0o644)  # left readable by someone
    learners = roster.with_learners([], 3)
    files.save(learners, "http://127.0.0.1:8800/v1")
    assert mode(files.folder) == 0o700
    for path in (files.learners_csv, files.engine_keys, files.instructor_key):
        assert mode(path) == 0o600, path
    rows = files.learners_csv.read_text().splitlines()
    assert rows[0] == "learner,OPENAI_BASE_URL,OPENAI_API_KEY"
    assert rows[1:] == [f"{x.name},http://127.0.0.1:8800/v1,{x.api_key}" for x in learners]
    assert files.learners() == learners
    instructor = files.instructor()
    assert files.engine_keys.read_text().split() == [instructor, *(x.api_key for x in learners)]
    assert instructor not in files.learners_csv.read_text()  # never handed out
    assert not list(files.folder.glob(".*"))  # no temporary file left behind


def test_topping_up_keeps_keys_and_never_reuses_a_revoked_name():
    first = roster.with_learners([], 3)
    assert [x.name for x in first] == ["learner-01", "learner-02", "learner-03"]
    kept = roster.without(first, ["learner-02"])
    more = roster.with_learners(kept, 4)
    assert more[:2] == kept  # same names, same keys
    assert [x.name for x in more[2:]] == ["learner-04", "learner-05"]
    assert roster.with_learners(more, 2) == more  # never removes anyone


def test_revoking_an_unknown_name_lists_the_room():
    learners = roster.with_learners([], 2)
    with pytest.raises(RosterError, match="No learner called 'learner-9'.*learner-01, learner-02"):
        roster.without(learners, ["learner-9"])


@pytest.mark.parametrize(
    "rows, message",
    [
        ("ana,http://x/v1,room-a\nana,http://x/v1,room-b\n", "appears twice"),
        ("ana,http://x/v1,room-a\nbob,http://x/v1,room-a\n", "appears twice"),
        ("ana,http://x/v1,\n", "line 2: every row needs"),
    ],
)
def test_a_broken_csv_says_which_line(tmp_path, rows, message):
    path = tmp_path / "learners.csv"
    path.write_text("learner,OPENAI_BASE_URL,OPENAI_API_KEY\n" + rows)
    with pytest.raises(RosterError, match=message):
        roster.read_learners(path)


def test_a_learner_never_shows_its_key():
    learner = Learner("ana", roster.new_key())
    assert learner.api_key not in repr(learner) and learner.api_key not in str(learner)


# ---- where the room listens -----------------------------------------------------------------


@pytest.mark.parametrize(
    "host, loopback",
    [("127.0.0.1", True), ("127.0.1.1", True), ("localhost", True), ("::1", True),
     ("0.0.0.0", False), ("::", False), ("192.168.1.20", False), ("room.example", False)],
)  # fmt: skip
def test_is_loopback(host, loopback):
    assert server.is_loopback(host) is loopback


def test_advertised_host():
    assert server.advertised_host("localhost") == "127.0.0.1"
    assert server.advertised_host("192.168.1.20") == "192.168.1.20"
    wildcard = server.advertised_host("0.0.0.0")
    assert wildcard and wildcard != "0.0.0.0"


def test_binding_beyond_loopback_is_announced_loudly():
    banner = server.exposure_banner("0.0.0.0", 8800, "http://10.0.0.5:8800/v1")
    assert banner.startswith("!!!") and "WARNING" in banner and "0.0.0.0:8800" in banner
    assert "http://10.0.0.5:8800/v1" in banner and "plain HTTP" in banner and "--tls-cert" in banner
    encrypted = server.exposure_banner("0.0.0.0", 8800, "https://10.0.0.5:8800/v1", encrypted=True)
    assert "WARNING" in encrypted and "encrypted (TLS" in encrypted and "plain HTTP" not in encrypted


def test_the_engine_command_carries_no_key(tmp_path):
    command = server.engine_command(
        Path("m.gguf"), "m", "127.0.0.1", 8800, 8, 8192, tmp_path / "engine.keys", 134
    )
    assert command[command.index("--http-threads") + 1] == "134"
    assert server.http_threads(30, 8) == 4 * 31 + 8 + 2  # 4 connections per learner and instructor
    assert command[command.index("--api-keys-file") + 1] == str(tmp_path / "engine.keys")
    assert "--metrics" in command and command[command.index("--host") + 1] == "127.0.0.1"


def test_a_stale_room_record_is_not_a_running_room(tmp_path):
    files = RoomFiles(tmp_path)
    stranger = subprocess.Popen([sys.executable, "-c", "import time; time.sleep(60)"])
    try:
        record = {"room_pid": stranger.pid, "engine_pid": 1, "host": "127.0.0.1", "port": 1,
                  "base_url": "x", "local_url": "x", "alias": "m", "parallel": 1, "log_path": "x"}  # fmt: skip
        files.state.write_text(json.dumps(record))
        assert server.read_info(files) is None  # alive, but not a room: its pid was reused
    finally:
        stranger.kill()
        stranger.wait()
    assert server.read_info(files) is None  # gone


# ---- the live view's arithmetic ------------------------------------------------------------

METRICS = """# HELP llamacpp:tokens_predicted_total Number of generation tokens processed
# TYPE llamacpp:tokens_predicted_total counter
llamacpp:tokens_predicted_total 1200
llamacpp:prompt_tokens_total 300
llamacpp:requests_processing 3
llamacpp:requests_deferred 2
"""


def test_parse_metrics():
    values = parse_metrics(METRICS)
    assert values["llamacpp:tokens_predicted_total"] == 1200
    assert values["llamacpp:requests_deferred"] == 2 and len(values) == 4


def test_view_line_shows_load_rates_and_errors():
    before = watch.Snapshot(10.0, {"llamacpp:tokens_predicted_total": 200, "llamacpp:prompt_tokens_total": 100}, {})
    now = watch.Snapshot(12.0, parse_metrics(METRICS), {"rejected key (401)": 2})
    line = watch.view_line(before, now, slots=8)
    assert "in flight 3/8" in line and "queued 2" in line
    assert "500 tokens/s out, 100 tokens/s prompt" in line  # (1200-200)/2 s, (300-100)/2 s
    assert "errors: rejected key (401) 2" in line
    assert "errors: none" in watch.view_line(None, watch.Snapshot(1.0, {}, {}), slots=8)


def test_the_view_survives_an_engine_that_does_not_answer(tmp_path):
    lines = []
    url = f"http://127.0.0.1:{_free_port()}/v1"  # nothing listens there (an engine restarting)
    watch.watch(url, "key", tmp_path / "engine.log", slots=4, interval=0.01, count=2, say=lines.append)
    assert len(lines) == 4 and all("the engine does not answer" in line for line in lines[2:])


def test_the_view_survives_a_metrics_page_that_does_not_parse(tmp_path):
    from utils.loopback import JSONResponse, LoopbackAPI

    class Garbled(LoopbackAPI):
        def respond(self, request):
            return JSONResponse(200, b"slots{state= not prometheus text\n")

    lines = []
    with Garbled() as engine:
        watch.watch(engine.base_url, "key", tmp_path / "engine.log", slots=4, interval=0.01, count=2, say=lines.append)
    assert len(lines) == 4 and all("the engine does not answer" in line for line in lines[2:])


def test_log_counter_reads_only_new_complete_lines(tmp_path):
    log = tmp_path / "engine.log"
    log.write_text(  # the engine's own wording, copied from a real log
        "0.07.231.275 W srv    operator(): unauthorized: Invalid API Key\n"
        "0.21.029.129 E srv    send_error: task id = 2, error: request (9031 tokens) exceeds the "
        "available context size (8192 tokens), try increasing it\n"
        "0.21.029.951 W srv          stop: cancel task, id_task = 2\n"
        "0.22.000.000 W srv    operator(): unauth"  # still being written
    )
    counter = watch.LogCounter(log)
    assert counter.update() == {
        "rejected key (401)": 1,
        "prompt over the context limit": 1,
        "request dropped unfinished": 1,
    }
    with open(log, "a") as file:
        file.write("orized: Invalid API Key\n")
    assert counter.update()["rejected key (401)"] == 2


# ---- a real room on loopback ----------------------------------------------------------------


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


class RoomProcess:
    """``python -m utils.room start`` run for real, its output read line by line."""

    def __init__(self, folder: Path, *args: str, **popen):
        self.folder = folder
        self.process = subprocess.Popen(
            [sys.executable, "-m", "utils.room", "--dir", str(folder), "start", *args],
            cwd=ROOT, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True, **popen,
        )  # fmt: skip
        self.lines: queue.Queue[str] = queue.Queue()
        self.output: list[str] = []
        threading.Thread(target=self._read, daemon=True).start()

    def _read(self) -> None:
        for line in self.process.stdout:
            self.lines.put(line.rstrip("\n"))

    def wait_for(self, text: str, timeout: float = 300.0) -> list[str]:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            try:
                line = self.lines.get(timeout=1.0)
            except queue.Empty:
                if self.process.poll() is not None:
                    break
                continue
            self.output.append(line)
            if text in line:
                return self.output
        raise AssertionError(f"{text!r} never came; the room said:\n" + "\n".join(self.output))

    def stop(self) -> int:
        if self.process.poll() is None:
            self.process.send_signal(signal.SIGINT)  # Ctrl-C
        return self.process.wait(timeout=60)


@contextlib.contextmanager
def _running_room(folder: Path, learners: int = 7, parallel: int = 4):
    process = RoomProcess(
        folder, "--learners", str(learners), "--parallel", str(parallel), "--port", str(_free_port())
    )
    try:
        process.wait_for("Live view:")
        process.info = json.loads((folder / "room.json").read_text())
        process.files = RoomFiles(folder)
        yield process
    finally:
        process.stop()


@pytest.fixture(scope="module")
def room(tmp_path_factory):
    """One room the read-only tests share; a test that revokes or stops a room starts its own."""
    with _running_room(tmp_path_factory.mktemp("room")) as process:
        yield process


@pytest.fixture
def own_room(tmp_path):
    with _running_room(tmp_path, learners=3, parallel=1) as process:
        yield process


def _settings(output: list[str]) -> dict[str, dict[str, str]]:
    """Each learner's printed settings: ``{name: {"OPENAI_BASE_URL": ..., "OPENAI_API_KEY": ...}}``."""
    found, name = {}, None
    for line in output:
        if line.startswith("# learner-"):
            name = line[2:]
            found[name] = {}
        elif name and line.startswith("OPENAI_"):
            key, _, value = line.partition("=")
            found[name][key] = value
    return found


def _get(url: str, key: str | None = None) -> tuple[int, str]:
    request = urllib.request.Request(url, headers={"Authorization": f"Bearer {key}"} if key else {})
    try:
        with urllib.request.urlopen(request, timeout=60) as response:
            return response.status, response.read().decode()
    except urllib.error.HTTPError as error:
        return error.code, error.read().decode()


@pytest.mark.slow  # starts a room and its engine: `make test` runs it, `make check` not
def test_room_prints_no_key_by_default_and_listens_on_loopback_only(room):
    csv_keys = {x.name: x.api_key for x in room.files.learners()}
    assert sorted(csv_keys) == [f"learner-{n:02d}" for n in range(1, 8)]
    printed = "\n".join(room.output)
    assert not any(key in printed for key in [*csv_keys.values(), room.files.instructor()])
    assert _settings(room.output) == {} and str(room.files.learners_csv) in printed
    assert not any("WARNING" in line for line in room.output)
    assert room.info["host"] == "127.0.0.1"
    command = process.command_line(room.info["engine_pid"])
    assert command[command.index("--host") + 1] == "127.0.0.1"
    assert not any(key in " ".join(command) for key in csv_keys.values())  # keys: file only
    assert mode(room.files.learners_csv) == 0o600 and mode(room.files.engine_keys) == 0o600


@pytest.mark.slow  # starts a room and its engine: `make test` runs it, `make check` not
def test_a_wrong_or_missing_key_gets_401_and_nothing_else(room):
    url = room.info["base_url"]
    for key in ("room-" + "x" * 43, "", None):
        status, text = _get(f"{url}/models", key)
        assert status == 401 and json.loads(text)["error"]["message"] == "Invalid API Key"
    client = openai.OpenAI(base_url=url, api_key="room-wrong", max_retries=0)
    with pytest.raises(openai.AuthenticationError, match="Invalid API Key"):
        client.chat.completions.create(
            model=room.info["alias"], messages=[{"role": "user", "content": "Hi"}], max_tokens=4
        )
    root = url.removesuffix("/v1")
    assert _get(f"{root}/health") == (200, '{"status":"ok"}')  # public, and says nothing else
    assert _get(f"{root}/metrics")[0] == 401
    status, text = _get(f"{root}/metrics", room.files.instructor())
    assert status == 200 and "llamacpp:requests_processing" in text


def _handout_row(files: RoomFiles, name: str) -> dict[str, str]:
    """A learner's row of the handout CSV: their OPENAI_BASE_URL and OPENAI_API_KEY."""
    with open(files.learners_csv, newline="") as file:
        row = next(r for r in csv.DictReader(file) if r["learner"] == name)
    return {"OPENAI_BASE_URL": row["OPENAI_BASE_URL"], "OPENAI_API_KEY": row["OPENAI_API_KEY"]}


def _learner_session(folder: Path, row: dict[str, str], extra_env: dict | None = None):
    """A learner's kernel: the handout row in its .env, then load_settings() and one call."""
    folder.mkdir(exist_ok=True)
    (folder / ".env").write_text("".join(f"{k}={v}\n" for k, v in row.items()))
    env = {k: v for k, v in os.environ.items()
           if k not in ("COOKBOOK_PROVIDER", "DASHSCOPE_API_KEY") and not k.startswith("OPENAI_")}  # fmt: skip
    env["PYTHONPATH"] = str(ROOT)
    return subprocess.run(
        [sys.executable, "-c",
         "from utils import load_settings, get_client\n"
         "s = load_settings()\n"
         "r = get_client(s).chat.completions.create(model=s.model, max_tokens=8,"
         " messages=[{'role': 'user', 'content': 'Hi'}])\n"
         "print(s.provider, s.base_url, s.model, r.usage.completion_tokens > 0, repr(s))"],
        cwd=folder, env={**env, **(extra_env or {})}, capture_output=True, text=True, timeout=300,
    )  # fmt: skip


@pytest.mark.slow  # starts a room and its engine: `make test` runs it, `make check` not
def test_a_handout_row_makes_a_learners_load_settings_resolve_to_the_room(room, tmp_path):
    mine = _handout_row(room.files, "learner-03")
    learner = _learner_session(tmp_path, mine)
    assert learner.returncode == 0, learner.stderr
    provider, base_url, model, answered = learner.stdout.split()[:4]
    assert (provider, base_url, model, answered) == (
        "openai-compatible", room.info["base_url"], room.info["alias"], "True"
    )
    assert mine["OPENAI_API_KEY"] not in learner.stdout + learner.stderr


@pytest.mark.slow  # starts a room and its engine: `make test` runs it, `make check` not
def test_a_small_room_load_has_no_errors(room):
    learners = room.files.learners()[:6]
    results, _ = asyncio.run(
        room_run(room.info["base_url"], room.info["alias"], learners, steps=3, max_tokens=16)
    )
    assert len(results) == 18
    assert [r.error for r in results if not r.ok] == []
    assert all(r.ttft is not None for r in results if r.step == "stream")


# ---- the engine option the room needs ------------------------------------------------------


def test_serve_takes_a_number_of_http_threads():
    from utils.local_server import serve

    base = ["--model", "m.gguf", "--alias", "m", "--port", "1"]
    assert serve.params(serve.parse(base)).n_threads_http == -1  # llama.cpp's choice
    assert serve.params(serve.parse([*base, "--http-threads", "40"])).n_threads_http == 40


@pytest.mark.slow  # starts a room and its engine: `make test` runs it, `make check` not
def test_kept_alive_connections_do_not_make_new_learners_wait(room):
    """Every learner's client keeps its connection open after a request; with llama.cpp's
    default pool (slots + 2 threads) a new request then waited for a kept-alive one to time
    out (4.6 s measured with 8 such connections and 2 slots)."""
    url = room.info["base_url"].removesuffix("/v1").removeprefix("http://")
    host, port = url.split(":")
    idle = []
    try:
        for _ in range(3 * room.info["parallel"]):  # more than slots + 2
            connection = socket.create_connection((host, int(port)))
            connection.sendall(b"GET /health HTTP/1.1\r\nHost: room\r\n\r\n")  # then keep-alive
            idle.append(connection)
        time.sleep(0.5)
        started = time.monotonic()
        assert _get(f"http://{url}/health") == (200, '{"status":"ok"}')
        # waiting for a kept-alive connection lasts its timeout (5 s in llama.cpp's HTTP
        # library); a busy machine can slow a /health round trip, but not to 4 s
        assert time.monotonic() - started < 4.0
    finally:
        for connection in idle:
            connection.close()

@pytest.mark.slow  # starts a room and its engine: `make test` runs it, `make check` not
def test_the_live_view_reads_the_room(room):
    url = room.info["base_url"]
    key = room.files.learners()[0].api_key
    _get(f"{url}/models", "room-wrong")  # one 401
    with pytest.raises(openai.BadRequestError, match="exceeds the available context size"):
        openai.OpenAI(base_url=url, api_key=key, max_retries=0).chat.completions.create(
            model=room.info["alias"], max_tokens=4,
            messages=[{"role": "user", "content": "word " * 9000}],
        )  # fmt: skip
    view = subprocess.run(
        [sys.executable, "-m", "utils.room", "--dir", str(room.folder), "watch", "--count", "2", "--interval", "0.5"],
        cwd=ROOT, capture_output=True, text=True, timeout=120,
    )  # fmt: skip
    assert view.returncode == 0, view.stderr
    lines = view.stdout.splitlines()
    assert lines[0].startswith("Errors per key are not available")
    assert "in flight" in lines[-1] and "/4 · queued" in lines[-1] and "tokens/s out" in lines[-1]
    assert "rejected key (401)" in lines[-1] and "prompt over the context limit" in lines[-1]


@pytest.mark.slow  # starts a room and its engine: `make test` runs it, `make check` not
def test_a_second_room_in_the_same_folder_is_refused(room):
    second = subprocess.run(
        [sys.executable, "-m", "utils.room", "--dir", str(room.folder), "start"],
        cwd=ROOT, capture_output=True, text=True, timeout=60,
    )  # fmt: skip
    assert second.returncode == 1 and "A room already runs from" in second.stderr


@pytest.mark.slow  # starts a room and its engine: `make test` runs it, `make check` not
def test_revoking_a_key_while_the_room_runs(own_room):
    room = own_room
    url, alias = room.info["base_url"], room.info["alias"]
    keys = {x.name: x.api_key for x in room.files.learners()}
    revoke = subprocess.run(
        [sys.executable, "-m", "utils.room", "--dir", str(room.folder), "revoke", "learner-02"],
        cwd=ROOT, capture_output=True, text=True, timeout=60,
    )  # fmt: skip
    assert revoke.returncode == 0 and "Revoked learner-02" in revoke.stdout
    room.wait_for("Keys changed (revoked: learner-02; added: none)")
    assert _get(f"{url}/models", keys["learner-02"])[0] == 401
    client = openai.OpenAI(base_url=url, api_key=keys["learner-01"], max_retries=0)
    answer = client.chat.completions.create(
        model=alias, messages=[{"role": "user", "content": "Hi"}], max_tokens=4
    )
    assert answer.usage.completion_tokens > 0
    assert "learner-02" not in room.files.learners_csv.read_text()


@pytest.mark.slow  # starts a room and its engine: `make test` runs it, `make check` not
def test_ctrl_c_stops_the_room_and_its_engine(own_room):
    room = own_room
    engine = json.loads((room.folder / "room.json").read_text())["engine_pid"]
    assert room.stop() == 0
    assert not (room.folder / "room.json").exists() and not room.files.engine_keys.exists()
    assert room.files.learners_csv.exists()  # the handout survives for the next start
    deadline = time.monotonic() + 30  # a loaded machine may take a moment to reap it
    while process.command_line(engine) is not None and time.monotonic() < deadline:
        time.sleep(0.1)
    assert process.command_line(engine) is None


@pytest.mark.slow  # starts a room and its engine: `make test` runs it, `make check` not
def test_ctrl_c_stops_a_room_started_with_sigint_ignored(tmp_path):
    # a shell's `cmd &` starts it so; Python then never raises KeyboardInterrupt by itself
    ignore = lambda: signal.signal(signal.SIGINT, signal.SIG_IGN)  # noqa: E731
    room = RoomProcess(tmp_path, "--learners", "1", "--parallel", "1", "--port", str(_free_port()),
                       "--show-keys", preexec_fn=ignore)  # fmt: skip
    try:
        room.wait_for("Live view:")
        shown = _settings(room.output)  # asked for: the keys are printed, as in the handout
        assert shown == {"learner-01": _handout_row(RoomFiles(tmp_path), "learner-01")}
        assert room.stop() == 0
    finally:
        if room.process.poll() is None:
            room.process.kill()
            room.process.wait()


def test_a_busy_port_says_which_to_use(tmp_path):
    with socket.socket() as blocker:
        blocker.bind(("127.0.0.1", 0))
        blocker.listen()
        port = blocker.getsockname()[1]
        started = subprocess.run(
            [sys.executable, "-m", "utils.room", "--dir", str(tmp_path), "start", "--learners", "1",
             "--port", str(port)],
            cwd=ROOT, capture_output=True, text=True, timeout=300,
        )  # fmt: skip
    assert started.returncode == 1
    assert f"Port {port} is taken. Start the room on another one: --port {port + 1}" in started.stderr


# ---- TLS for a room beyond loopback ------------------------------------------------------------


def test_the_engine_wheel_has_no_tls_so_the_room_brings_its_own(tmp_path):
    """Why utils.room.tls exists: the xllamacpp wheel's server refuses ssl_file_cert."""
    import xllamacpp

    assert hasattr(xllamacpp.CommonParams(), "ssl_file_cert")  # the option is there...
    probe = subprocess.run(
        [sys.executable, "-c",
         "import xllamacpp\n"
         "from utils import local_model\n"
         "p = xllamacpp.CommonParams()\n"
         "p.model.path = str(local_model.bundled_path())\n"
         "p.hostnames, p.port, p.n_ctx = ['127.0.0.1'], 1, 256\n"
         "p.ssl_file_cert, p.ssl_file_key = 'cert.pem', 'key.pem'\n"
         "xllamacpp.Server(p)"],
        cwd=ROOT, capture_output=True, text=True, timeout=120,
    )  # fmt: skip
    assert probe.returncode != 0 and "built without SSL support" in probe.stderr  # ...not the code


@pytest.fixture(scope="module")
def certificate(tmp_path_factory):
    """A self-signed certificate for 127.0.0.1, made here with the openssl command."""
    if shutil.which("openssl") is None:
        pytest.skip("the openssl command makes the test certificate")
    folder = tmp_path_factory.mktemp("tls")
    cert, key = folder / "room.crt", folder / "room.key"
    subprocess.run(
        ["openssl", "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-days", "1",
         "-subj", "/CN=cookbook room", "-addext", "subjectAltName=IP:127.0.0.1",
         "-keyout", str(key), "-out", str(cert)],
        check=True, capture_output=True, timeout=60,
    )  # fmt: skip
    return cert, key


@pytest.mark.slow  # starts a room and its engine: `make test` runs it, `make check` not
def test_a_room_over_tls_serves_https_and_keeps_its_engine_on_loopback(tmp_path, certificate):
    cert, key = certificate
    port = _free_port()
    room = RoomProcess(tmp_path, "--learners", "2", "--parallel", "1", "--port", str(port),
                       "--tls-cert", str(cert), "--tls-key", str(key))  # fmt: skip
    try:
        output = "\n".join(room.wait_for("Live view:"))
        info = json.loads((tmp_path / "room.json").read_text())
        files = RoomFiles(tmp_path)
        mine = _handout_row(files, "learner-01")
        assert info["base_url"] == mine["OPENAI_BASE_URL"] == f"https://127.0.0.1:{port}/v1"
        assert "SSL_CERT_FILE" in output and mine["OPENAI_API_KEY"] not in output
        trusted = ssl.create_default_context(cafile=str(cert))
        with urllib.request.urlopen(f"https://127.0.0.1:{port}/health", context=trusted, timeout=60) as r:
            assert (r.status, r.read()) == (200, b'{"status":"ok"}')
        learner = _learner_session(tmp_path / "learner", mine, {"SSL_CERT_FILE": str(cert)})
        assert learner.returncode == 0, learner.stderr  # the recipe: .env lines + SSL_CERT_FILE
        assert learner.stdout.split()[:4] == ["openai-compatible", info["base_url"], info["alias"], "True"]
        with pytest.raises(openai.AuthenticationError):  # keys still count behind TLS
            openai.OpenAI(base_url=info["base_url"], api_key="room-wrong", max_retries=0,
                          http_client=httpx2.Client(verify=trusted)).models.list()  # fmt: skip
        with pytest.raises(urllib.error.URLError, match="CERTIFICATE_VERIFY_FAILED"):
            urllib.request.urlopen(f"https://127.0.0.1:{port}/health", timeout=30)  # not trusted
        with pytest.raises((urllib.error.URLError, ConnectionError, http.client.HTTPException)):
            urllib.request.urlopen(f"http://127.0.0.1:{port}/health", timeout=30)  # no plain HTTP
        command = process.command_line(info["engine_pid"])
        assert command[command.index("--host") + 1] == "127.0.0.1"  # behind the TLS front only
        assert command[command.index("--port") + 1] != str(port)
        assert room.stop() == 0
    finally:
        if room.process.poll() is None:
            room.process.kill()
            room.process.wait()


@pytest.mark.slow  # 18-52 s in `make check` (issue 22): `make test` runs it
def test_tls_needs_both_files_and_says_when_they_do_not_fit(tmp_path, certificate):
    cert, _ = certificate
    half = subprocess.run(
        [sys.executable, "-m", "utils.room", "--dir", str(tmp_path), "start", "--tls-cert", str(cert)],
        cwd=ROOT, capture_output=True, text=True, timeout=60,
    )  # fmt: skip
    assert half.returncode == 2 and "--tls-cert and --tls-key go together" in half.stderr
    wrong = subprocess.run(
        [sys.executable, "-m", "utils.room", "--dir", str(tmp_path), "start",
         "--tls-cert", str(cert), "--tls-key", str(cert)],  # a certificate is not a key
        cwd=ROOT, capture_output=True, text=True, timeout=60,
    )  # fmt: skip
    assert wrong.returncode == 1 and "Cannot serve TLS with certificate" in wrong.stderr
