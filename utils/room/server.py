"""One engine for the whole room: llama.cpp's server with parallel slots and a key per learner.

The room runs the same server process as a learner's own local model
(``python -m utils.local_server.serve``), with three differences: it accepts only the keys
in the room's key file, it serves Prometheus ``/metrics`` (the instructor's live view reads
them), and it may listen beyond loopback when the instructor asks for it with ``--host``
(over HTTPS with ``--tls-cert`` and ``--tls-key``: ``tls.py``). Keys are written to the
handout file only, and printed only when asked (``--show-keys``).
The engine reads its keys once, at start: revoking a key means restarting it, which
``run()`` does by itself when ``learners.csv`` changes.
"""

from __future__ import annotations

import ipaddress
import json
import os
import signal
import socket
import ssl
import subprocess
import sys
import time
from collections.abc import Callable
from dataclasses import asdict, dataclass
from pathlib import Path

from utils import local_model
from utils.llama_api import LlamaAPI
from utils.local_server import engine_file
from utils.local_server.process import SERVE_MODULE, launch, log_tail, runs, terminate, wait_until
from utils.local_server.serve import EXIT_PORT_BUSY
from utils.room.roster import Learner, RoomFiles, RosterError, with_learners
from utils.room.tls import TLSFront, server_context

DEFAULT_PORT = 8800
DEFAULT_PARALLEL = 8  # request slots; chosen by benchmarks/room_load.py (docs/workshop.md)
LOOPBACK = "127.0.0.1"
RESTART_GRACE = 1.0  # s; requests in flight are cut anyway, and learners wait while it restarts
CONNECTIONS_PER_LEARNER = 4  # a notebook's evaluation runner sends up to 4 requests at once


class RoomError(RuntimeError):
    """The room server could not start or keep running; the message says what to do."""


@dataclass(frozen=True)
class RoomInfo:
    """A running room, as ``room.json`` records it (no keys)."""

    room_pid: int  # the `python -m utils.room start` process
    engine_pid: int
    host: str  # the address the engine listens on
    port: int
    base_url: str  # what learners set as OPENAI_BASE_URL
    local_url: str  # the same server as this machine reaches it (for the live view)
    alias: str
    parallel: int
    log_path: str


def is_loopback(host: str) -> bool:
    """True if ``host`` is reachable only from this machine (127.x, ::1, localhost)."""
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


def advertised_host(host: str) -> str:
    """The address learners use for a server listening on ``host``.

    For a wildcard (``0.0.0.0``, ``::``) it is this machine's address on its default route,
    found without sending anything.
    """
    if is_loopback(host):
        return LOOPBACK
    if host not in ("0.0.0.0", "::"):
        return host
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as probe:
        try:
            probe.connect(("10.255.255.255", 9))  # UDP connect picks a route; nothing is sent
            return probe.getsockname()[0]
        except OSError:
            return socket.gethostname()


def url_host(host: str) -> str:
    return f"[{host}]" if ":" in host else host


def exposure_banner(host: str, port: int, base_url: str, encrypted: bool = False) -> str:
    """The loud warning printed when the room listens beyond loopback."""
    lines = [
        f"WARNING: the room server listens on {host}:{port}, beyond this machine.",
        f"Anyone on the network who can reach {base_url} and holds a key can use it.",
    ]
    if encrypted:
        lines += ["Keys and answers travel encrypted (TLS, your certificate). Ctrl-C stops it."]
    else:
        lines += [
            "Keys and answers travel as plain HTTP: use a network you trust (the room's own",
            "Wi-Fi, a VPN), never the open internet, or add --tls-cert and --tls-key",
            "(docs/workshop.md). Ctrl-C stops the server.",
        ]
    width = max(map(len, lines))
    rule = "!" * (width + 4)
    return "\n".join([rule, *(f"! {line:<{width}} !" for line in lines), rule])


def settings_lines(learners: list[Learner], base_url: str) -> list[str]:
    """What each learner puts in the course's ``.env`` (or exports): two lines per learner."""
    lines = []
    for learner in learners:
        lines += [f"# {learner.name}", f"OPENAI_BASE_URL={base_url}", f"OPENAI_API_KEY={learner.api_key}"]
    return lines


def http_threads(learners: int, parallel: int) -> int:
    """Connections the engine serves at once: enough for every learner's client.

    A client keeps its connection open after a request, and llama.cpp's server holds a thread
    for it for 5 s; with its default pool (slots + 2 threads) a room of learners waits for
    each other's idle connections before its requests even reach the queue.
    """
    return CONNECTIONS_PER_LEARNER * (learners + 1) + parallel + 2  # +1: the instructor


def engine_command(model: Path, alias: str, host: str, port: int, parallel: int,
                   context: int, keys_file: Path, connections: int, threads: int = 0) -> list[str]:  # fmt: skip
    """The command line of the room's engine (keys come from ``keys_file``, never from here)."""
    return [
        sys.executable, "-m", SERVE_MODULE,
        "--model", str(model),
        "--alias", alias,
        "--host", host,
        "--port", str(port),
        "--parallel", str(parallel),
        "--context", str(context),
        "--http-threads", str(connections),  # 0: llama.cpp's own choice
        "--threads", str(threads),  # CPU threads; 0: llama.cpp's own choice
        "--api-keys-file", str(keys_file),
        "--metrics",
    ]  # fmt: skip


def start_engine(files: RoomFiles, host: str, port: int, parallel: int,
                 model: local_model.LocalModel, timeout: float = 120.0,
                 connections: int | None = None, threads: int = 0) -> subprocess.Popen:  # fmt: skip
    """Start the engine with the keys in ``files.engine_keys``; return once it answers.

    ``connections``: served at once, by default ``http_threads()`` for the roster;
    ``threads``: CPU threads that decode (0: llama.cpp's choice, one per core).
    """
    if connections is None:
        connections = http_threads(len(files.learners()), parallel)
    command = engine_command(
        engine_file.served_path(model), model.alias, host, port, parallel,
        model.context_window, files.engine_keys, connections, threads,
    )  # fmt: skip
    # one log across restarts: the live view counts errors in it
    process = launch(command, files.log, append=True)
    local = f"http://{url_host(LOOPBACK if host in ('0.0.0.0', '::') else host)}:{port}"
    try:
        engine = LlamaAPI(local)
        code = wait_until(process, lambda: engine.health() == 200, timeout, lambda: stop_engine(process))
    except TimeoutError:
        raise RoomError(f"The room's engine did not answer within {timeout:.0f} s. See {files.log}.") from None
    if code is not None:
        raise RoomError(_exit_message(code, port, files.log))
    return process


def _exit_message(code: int, port: int, log: Path) -> str:
    if code == EXIT_PORT_BUSY:
        return f"Port {port} is taken. Start the room on another one: --port {port + 1}."
    tail = log_tail(log, lines=10)
    return f"The room's engine exited (code {code}) while starting. Last lines of {log}:\n{tail}"


def stop_engine(process: subprocess.Popen, grace: float = 5.0) -> None:
    """Stop the engine: SIGTERM, then SIGKILL after ``grace`` seconds. Requests in flight are cut."""
    terminate(process.pid, lambda: process.poll() is None, grace)


def read_info(files: RoomFiles) -> RoomInfo | None:
    """The running room recorded in ``room.json``, if its process is still alive."""
    try:
        info = RoomInfo(**json.loads(files.state.read_text()))
    except (OSError, ValueError, TypeError):
        return None
    return info if runs(info.room_pid, "utils.room") else None  # else gone, or the pid reused


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind((LOOPBACK, 0))
        return probe.getsockname()[1]


def run(files: RoomFiles, learners: int, host: str, port: int, parallel: int, threads: int = 0,
        show_keys: bool = False, say: Callable[[str], None] | None = None, poll: float = 1.0,
        tls: tuple[Path, Path] | None = None) -> int:  # fmt: skip
    """Serve the room until Ctrl-C or SIGTERM; restart the engine when ``learners.csv`` changes.

    Keys go to ``learners.csv`` (mode 600) only; ``show_keys`` prints them too. With ``tls``
    (certificate, key), learners reach the room over HTTPS through a ``TLSFront`` on
    ``host:port``, and the engine listens on loopback only.
    """
    say = say or _say
    context = None
    if tls:
        try:
            context = server_context(*tls)
        except (OSError, ssl.SSLError) as error:
            raise RoomError(
                f"Cannot serve TLS with certificate {tls[0]} and key {tls[1]}: {error}. Give a "
                "PEM certificate and its unencrypted private key (docs/workshop.md)."
            ) from error
    if read_info(files) is not None:
        raise RoomError(
            f"A room already runs from {files.folder} (see {files.state}). Stop it with Ctrl-C "
            "in its terminal, or give this one its own folder with --dir."
        )
    model = local_model.selected()
    base_url = f"{'https' if tls else 'http'}://{url_host(advertised_host(host))}:{port}/v1"
    engine_host, engine_port = (LOOPBACK, _free_port()) if tls else (host, port)
    roster = with_learners(files.learners(), learners)
    files.save(roster, base_url)
    written = files.learners_csv.read_text()
    files.log.write_text("")  # a fresh log per room: the live view counts its errors from the start
    if not is_loopback(host):
        say(exposure_banner(host, port, base_url, encrypted=bool(tls)))
    say(f"Starting the room's engine: {model.name}, {parallel} parallel slots, port {port} ...")
    started = time.monotonic()
    engine = start_engine(files, engine_host, engine_port, parallel, model, threads=threads)
    front = None
    if context is not None:
        front = TLSFront(host, port, engine_port, context)
        try:
            front.start()
        except OSError as error:
            stop_engine(engine)
            front.close()
            raise RoomError(f"Cannot listen on {host}:{port} ({error}). Start the room on "
                            f"another port: --port {port + 1}.") from error  # fmt: skip
    reach = LOOPBACK if engine_host in ("0.0.0.0", "::") else engine_host
    local = f"http://{url_host(reach)}:{engine_port}/v1"
    info = RoomInfo(os.getpid(), engine.pid, host, port, base_url, local, model.alias, parallel,
                    str(files.log))  # fmt: skip
    files.state.write_text(json.dumps(asdict(info)))
    say(f"Serving {model.name} for {len(roster)} learners at {base_url} "
        f"(ready in {time.monotonic() - started:.1f} s).")  # fmt: skip
    say(f"Each learner's OPENAI_BASE_URL and OPENAI_API_KEY are in {files.learners_csv} "
        "(mode 600): give each learner their own row, privately.")  # fmt: skip
    if show_keys:
        say("Each learner sets these two lines in the course's .env (or exports them):")
        say("\n".join(settings_lines(roster, base_url)))
    if tls:
        say(f"Learners trust a self-signed certificate with  export SSL_CERT_FILE=<a copy of "
            f"{tls[0]}>  before starting Jupyter.")  # fmt: skip
    signal.signal(signal.SIGTERM, _raise_interrupt)
    # Ctrl-C stops the room even when it was started with SIGINT ignored (a shell's `&` does
    # that, and Python then never turns SIGINT into KeyboardInterrupt)
    signal.signal(signal.SIGINT, signal.default_int_handler)
    try:  # the last line says the room is ready: a Ctrl-C from then on stops it in order
        say("Live view: python -m utils.room watch    Revoke: python -m utils.room revoke NAME")
        while True:
            time.sleep(poll)
            if engine.poll() is not None:
                raise RoomError(
                    f"The room's engine stopped unexpectedly (code {engine.returncode}). "
                    f"See {files.log}, then start the room again."
                )
            text = files.learners_csv.read_text() if files.learners_csv.exists() else ""
            if text == written:
                continue
            try:
                changed = files.learners()
            except RosterError as error:
                say(f"learners.csv changed but cannot be read, so nothing changed: {error}")
                written = text
                continue
            gone = sorted({x.name for x in roster} - {x.name for x in changed})
            new = sorted({x.name for x in changed} - {x.name for x in roster})
            files.save(changed, base_url)
            written, roster = files.learners_csv.read_text(), changed
            restart = time.monotonic()
            stop_engine(engine, grace=RESTART_GRACE)
            engine = start_engine(files, engine_host, engine_port, parallel, model, threads=threads)
            info = RoomInfo(**{**asdict(info), "engine_pid": engine.pid})
            files.state.write_text(json.dumps(asdict(info)))
            say(f"Keys changed (revoked: {', '.join(gone) or 'none'}; added: "
                f"{', '.join(new) or 'none'}); engine restarted in "
                f"{time.monotonic() - restart:.1f} s.")  # fmt: skip
    except KeyboardInterrupt:
        say("Stopping the room.")
        return 0
    finally:
        stop_engine(engine)
        if front is not None:
            front.close()
        files.state.unlink(missing_ok=True)
        files.engine_keys.unlink(missing_ok=True)


def _say(line: str) -> None:
    print(line, flush=True)  # at once, even into a pipe: the instructor (or a test) reads it live


def _raise_interrupt(number, frame):
    raise KeyboardInterrupt
