"""The server process: llama.cpp's own OpenAI-compatible HTTP server, run by ``xllamacpp``.

``utils.local_server`` starts this module as its own process and talks to it over HTTP::

    python -m utils.local_server.serve --model FILE.gguf --alias NAME --port 8765

It serves ``/v1/chat/completions``, ``/v1/models``, ``/tokenize``, ``/apply-template``,
``/completion`` and ``/health`` until it receives SIGTERM or SIGINT. Several requests are
decoded together in ``--parallel`` slots, each with ``--context`` tokens of its own.
API keys, when wanted, come from a file (``--api-keys-file``), never from the command line,
which other users of the machine can read.
"""

from __future__ import annotations

import argparse
import signal
import socket
import sys
import threading
from pathlib import Path

EXIT_PORT_BUSY = 98  # EADDRINUSE: the manager moves on to the next port


def _port_taken(host: str, port: int) -> bool:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            sock.bind((host, port))
        except OSError:
            return True
    return False


def read_api_keys(path: str | None) -> list[str]:
    """Keys from a file with one key per line (blank lines and ``#`` comments ignored)."""
    if not path:
        return []
    lines = Path(path).read_text().splitlines()
    return [line.strip() for line in lines if line.strip() and not line.lstrip().startswith("#")]


def params(args: argparse.Namespace):
    """The ``xllamacpp.CommonParams`` for ``args``."""
    import xllamacpp

    p = xllamacpp.CommonParams()
    p.model.path = args.model
    p.model_alias = [args.alias]  # a list: a plain string would be read as a set of letters
    p.hostnames = [args.host]
    p.port = args.port
    p.n_parallel = args.parallel
    p.n_ctx = args.context * args.parallel  # split evenly: every slot gets `context` tokens
    if args.threads:
        p.cpuparams.n_threads = args.threads
        p.cpuparams_batch.n_threads = args.threads
    if args.http_threads:
        p.n_threads_http = args.http_threads
    keys = read_api_keys(args.api_keys_file)
    if keys:
        p.api_keys = keys
    p.endpoint_metrics = args.metrics
    return p


def parse(argv: list[str] | None = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(prog="python -m utils.local_server.serve")
    parser.add_argument("--model", required=True, help="GGUF file to serve")
    parser.add_argument("--alias", required=True, help="model name that requests use")
    parser.add_argument("--port", type=int, required=True)
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--parallel", type=int, default=4, help="requests decoded together")
    parser.add_argument("--context", type=int, default=8192, help="tokens per request slot")
    parser.add_argument("--threads", type=int, default=0, help="CPU threads (0: llama.cpp's choice)")
    parser.add_argument("--http-threads", type=int, default=0,
                        help="connections served at once (0: llama.cpp's choice, parallel + 2); "
                             "an idle kept-alive connection holds one for 5 s")  # fmt: skip
    parser.add_argument("--api-keys-file", default=None, help="one accepted API key per line")
    parser.add_argument("--metrics", action="store_true", help="serve Prometheus /metrics")
    return parser.parse_args(argv)


def main(argv: list[str] | None = None) -> int:
    args = parse(argv)
    stop = threading.Event()
    for stop_signal in (signal.SIGTERM, signal.SIGINT):
        signal.signal(stop_signal, lambda number, frame: stop.set())
    import xllamacpp

    try:
        server = xllamacpp.Server(params(args))
    except RuntimeError as error:
        if _port_taken(args.host, args.port):
            print(f"port {args.port} is taken: {error}", file=sys.stderr, flush=True)
            return EXIT_PORT_BUSY
        print(f"the server did not start: {error}", file=sys.stderr, flush=True)
        return 1
    threads = args.threads or "llama.cpp's choice of"
    print(f"serving {args.alias} at {server.listening_address} with {threads} threads", file=sys.stderr, flush=True)
    while not stop.wait(timeout=1.0):  # a timeout keeps the wait interruptible everywhere
        pass
    print("stopping", file=sys.stderr, flush=True)
    del server  # joins llama.cpp's threads: in-flight requests end, the port is released
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
