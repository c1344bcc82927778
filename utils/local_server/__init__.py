"""The local model server: llama.cpp's own OpenAI-compatible server, on loopback, in its own process.

It serves the model ``utils.local_model.selected()`` names (SmolLM2-135M-Instruct unless
``COOKBOOK_LOCAL_MODEL`` says otherwise) at ``http://127.0.0.1:PORT/v1``, so every notebook
runs offline with no key. One server is shared by all notebooks and kernels: its pid and port
live in a small state file that ``ensure_running()`` checks before starting another. The
process itself is ``python -m utils.local_server.serve`` (``xllamacpp``, prebuilt wheels:
nothing to compile), which decodes up to ``PARALLEL`` requests together.

From a shell::

    python -m utils.local_server start | status | stop | log
"""

from __future__ import annotations

import contextlib
import importlib.util
import json
import os
import sys
import tempfile
from collections.abc import Iterator
from dataclasses import asdict, dataclass
from pathlib import Path

from utils import local_model
from utils.local_model import INSTALL_HINT, LocalModel, LocalModelError
from utils.local_server import engine_file, process
from utils.local_server.process import SERVE_MODULE
from utils.local_server.serve import EXIT_PORT_BUSY
from utils.paths import cache_dir, server_log_path
from utils.served_models import available_models

PARALLEL = 4  # request slots: 4 concurrent requests ran ×1.5–1.9 faster in aggregate than 1
DEFAULT_PORT = 8765
PORTS_TO_TRY = 20  # DEFAULT_PORT, DEFAULT_PORT + 1, ... when a port is busy


class LocalServerError(LocalModelError):
    """The local model server could not be found, started or reached; the message says why."""


@dataclass(frozen=True)
class ServerInfo:
    pid: int
    port: int
    log_path: str
    alias: str = local_model.BUNDLED.alias

    @property
    def base_url(self) -> str:
        return f"http://127.0.0.1:{self.port}/v1"


def _state_file() -> Path:
    return cache_dir() / "local_server.json"


def log_path() -> Path:
    """Where the shared server writes its output."""
    return server_log_path()


def serving_threads(environ: dict | None = None) -> int:
    """CPU threads for the server: every core on a quiet machine, one core fewer on a busy one.

    llama.cpp's threads wait for each other at every layer, so one thread that another
    program holds stalls them all. Measured on 2 cores with the load average at 14–17:
    2 threads decoded 0.5–1.3 tokens/s, 1 thread 10–16 tokens/s.
    ``COOKBOOK_LOCAL_THREADS`` overrides the choice.
    """
    environ = os.environ if environ is None else environ
    if environ.get("COOKBOOK_LOCAL_THREADS", "").strip().isdigit():
        return max(1, int(environ["COOKBOOK_LOCAL_THREADS"]))
    cores = os.cpu_count() or 1
    load = os.getloadavg()[0] if hasattr(os, "getloadavg") else 0.0
    return cores if load < cores / 2 else max(1, cores - 1)


def server_command(model: Path, alias: str, port: int, context: int) -> list[str]:
    """The command line that starts the server process for ``model`` on ``port``."""
    return [
        sys.executable, "-m", SERVE_MODULE,
        "--model", str(model),
        "--alias", alias,
        "--host", "127.0.0.1",  # loopback only: nothing outside this machine can reach it
        "--port", str(port),
        "--parallel", str(PARALLEL),
        "--context", str(context),
        "--threads", str(serving_threads()),
    ]  # fmt: skip


def _answers(port: int, alias: str, timeout: float = 2.0) -> bool:
    """True if a server on ``port`` lists ``alias`` at ``GET /v1/models``."""
    import openai  # here: the server process, which imports this package, never needs it

    try:
        return alias in available_models(f"http://127.0.0.1:{port}/v1", timeout=timeout)
    except openai.OpenAIError:
        return False


def _is_ours(info: ServerInfo) -> bool:
    """True only if ``info.pid`` is running our server process on ``info.port``.

    A pid can be reused (after a reboot, say) by an unrelated process, even a Jupyter kernel
    that leads its own process group: never signal a pid without this check.
    """
    return process.is_engine(info.pid, info.port)


def _log_tail(lines: int = 15, path: Path | None = None) -> str:
    return process.log_tail(path or log_path(), lines)


def _recorded() -> ServerInfo | None:
    """The server the state file names, whether or not it still runs."""
    try:
        return ServerInfo(**json.loads(_state_file().read_text()))
    except (OSError, ValueError, TypeError):
        return None


def status(wait: float = 10.0) -> ServerInfo | None:
    """The recorded server, if it is ours, alive, and answers within ``wait`` seconds."""
    info = _recorded()
    if info is not None and _is_ours(info) and _answers(info.port, info.alias, timeout=wait):
        return info
    return None


def _free_ports(first: int) -> list[int]:
    from utils.local_server.serve import _port_taken

    return [p for p in range(first, first + PORTS_TO_TRY) if not _port_taken("127.0.0.1", p)]


def start(
    port: int | None = None,
    model: LocalModel | None = None,
    timeout: float = 90.0,
    register: bool = True,
    gguf: Path | None = None,
) -> ServerInfo:
    """Start a new server (first free port from ``port``) and wait until it answers.

    It loads ``engine_file.served_path(model)`` (the bundled model re-quantised for speed),
    or the file ``gguf`` names (benchmarks compare formats that way).
    ``register=False`` starts a throwaway server: it is not written to the state file (so
    ``status()``, ``ensure_running()`` and ``stop()`` never see it) and logs to its own file.
    """
    if importlib.util.find_spec("xllamacpp") is None:
        raise LocalServerError(
            f"xllamacpp is not installed, so the local model cannot run. Install it with:\n"
            f"  {INSTALL_HINT}\nor set DASHSCOPE_API_KEY to use Qwen2.5-Max instead."
        )
    model = model or local_model.selected()
    path = Path(gguf) if gguf is not None else engine_file.served_path(model)
    first = port or int(os.environ.get("COOKBOOK_LOCAL_PORT", DEFAULT_PORT))
    candidates = _free_ports(first)
    if not candidates:
        raise LocalServerError(
            f"Ports {first}-{first + PORTS_TO_TRY - 1} are all busy. "
            "Set COOKBOOK_LOCAL_PORT to a free port and try again."
        )
    log_file = log_path() if register else _temporary_log_path()
    for candidate in candidates:  # a port can be taken between our check and the server's bind
        info = _launch(path, model, candidate, log_file, timeout)
        if info is not None:
            if register:
                _state_file().write_text(json.dumps(asdict(info)))
            return info
    raise LocalServerError(
        f"Every free port from {first} was taken before the server could bind it. "
        "Set COOKBOOK_LOCAL_PORT to another port and try again."
    )


def _launch(
    path: Path, model: LocalModel, port: int, log_file: Path, timeout: float
) -> ServerInfo | None:
    """Start the server process on ``port`` and wait for it; None if the port was taken."""
    command = server_command(path, model.alias, port, model.context_window)
    child = process.launch(command, log_file)
    info = ServerInfo(pid=child.pid, port=port, log_path=str(log_file), alias=model.alias)
    try:
        code = process.wait_until(
            child, lambda: _answers(port, model.alias, timeout=1.0), timeout, lambda: _terminate(info)
        )
    except TimeoutError:
        raise LocalServerError(
            f"The local model server did not answer within {timeout:.0f} s. "
            f"Last lines of {info.log_path}:\n{_log_tail(path=log_file)}"
        ) from None
    if code is None:
        return info
    if code == EXIT_PORT_BUSY:
        return None
    raise LocalServerError(
        f"The local model server exited (code {code}) while starting. "
        f"Last lines of {info.log_path}:\n{_log_tail(path=log_file)}"
    )


def _temporary_log_path() -> Path:
    handle, name = tempfile.mkstemp(prefix="temporary_server_", suffix=".log", dir=cache_dir())
    os.close(handle)
    return Path(name)


def _start_lock():
    """Serialise starts across processes, so two kernels never start two servers."""
    return process.start_lock(cache_dir() / "local_server.lock")


def ensure_running(model: LocalModel | None = None) -> str:
    """Base URL of a local server of ours, started only if none is running.

    With no ``model``, a running server of ours is kept whatever it serves (a learner's
    Qwen2.5 server stays), and one is started for ``local_model.selected()`` only if none
    runs. A server that serves another model than an explicit ``model`` is replaced.
    """
    with _start_lock():
        info = _recorded()
        if info is None or not _is_ours(info):
            return start(model=model).base_url
        if model is not None and info.alias != model.alias:
            stop()
            return start(model=model).base_url
        # Ours and alive: a server busy generating on a loaded machine can be slow to answer,
        # and starting a second one would orphan it. Wait for it instead.
        if _answers(info.port, info.alias, timeout=30.0):
            return info.base_url
    raise LocalServerError(
        f"The local model server (pid {info.pid}, port {info.port}) is running but does not "
        "answer. Restart it: python -m utils.local_server stop, then run the set-up cell "
        f"again. Last lines of {info.log_path}:\n{_log_tail()}"
    )


def _signal(info: ServerInfo, number: int) -> None:
    """Send ``number`` to the server's process group (it leads its own), if it is still ours."""
    if _is_ours(info):
        process.signal_group(info.pid, number)


def _terminate(info: ServerInfo, grace: float = 10.0) -> None:
    process.terminate(info.pid, lambda: _is_ours(info), grace)


def stop() -> bool:
    """Stop the server recorded in the state file; True only if a server of ours was stopped."""
    info = _recorded()
    if info is None:
        return False
    ours = _is_ours(info)
    if ours:
        _terminate(info)
    _state_file().unlink(missing_ok=True)
    return ours


@contextlib.contextmanager
def temporary_server(
    port: int | None = None, timeout: float = 90.0, gguf: Path | None = None
) -> Iterator[ServerInfo]:
    """A second, throwaway server for one demo or test; stopped (and its log removed) on exit.

    ``gguf``: serve that file instead of the usual one (a benchmark compares formats so).

    It never touches the shared server's state file or log, so killing it is harmless::

        with local_server.temporary_server() as spare:
            ...  # talk to spare.base_url; local_server.kill(spare) to simulate a crash
    """
    with _start_lock():  # never pick the same free port as a shared server starting now
        info = start(port, timeout=timeout, register=False, gguf=gguf)
    try:
        yield info
    finally:
        if info.pid in process.children:
            _terminate(info)
        Path(info.log_path).unlink(missing_ok=True)


def kill(info: ServerInfo) -> None:
    """Kill a server this process started, at once (SIGKILL), as a crash would: answers cut."""
    child = process.children.get(info.pid)
    if child is None:
        raise LocalServerError(
            "kill() stops only a server this Python process started (for example with "
            "temporary_server()). To stop the shared server, use stop()."
        )
    _signal(info, process.KILL)
    child.wait(timeout=10)  # reap it, so it is not left as a zombie
    process.children.pop(info.pid, None)


def is_alive(info: ServerInfo) -> bool:
    """True while the server process of ``info`` is running (answering or not)."""
    return _is_ours(info)


def main(argv: list[str] | None = None) -> int:
    """Command line: ``python -m utils.local_server start|status|stop|log``."""
    args = sys.argv[1:] if argv is None else argv
    command = args[0] if args else "status"
    try:
        if command == "start":
            url = ensure_running(local_model.selected())
            print(f"{local_model.selected().name} is serving at {url} (log: {log_path()})")
        elif command == "status":
            info = status()
            if info is None:
                print(
                    "The local model server is not running. Start it: python -m utils.local_server start"
                )
                return 1
            print(f"{info.alias} is serving at {info.base_url} (pid {info.pid}, log: {info.log_path})")
        elif command == "stop":
            print(
                "Stopped the local model server."
                if stop()
                else "No local model server of this course was running."
            )
        elif command == "log":
            print(_log_tail(lines=200))
        else:
            print("usage: python -m utils.local_server start|status|stop|log", file=sys.stderr)
            return 2
    except LocalModelError as error:
        print(f"error: {error}", file=sys.stderr)
        return 1
    return 0
