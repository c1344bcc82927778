"""TLS for a room beyond loopback: HTTPS on the room's address, the engine behind it on loopback.

The ``xllamacpp`` wheel's llama.cpp server is built without SSL support (it refuses
``ssl_file_cert`` with "the server is built without SSL support"), so ``TLSFront`` is the
room's reverse proxy: it accepts TLS connections with the instructor's certificate and key
and passes the bytes, unchanged, to the engine on ``127.0.0.1``. Keys and answers then cross
the room's network encrypted. Only the standard library is used (``ssl``, ``asyncio``).
"""

from __future__ import annotations

import asyncio
import contextlib
import ssl
import threading
from pathlib import Path

CHUNK = 64 * 1024


def server_context(cert: Path, key: Path) -> ssl.SSLContext:
    """A TLS 1.2+ server context for ``cert`` (PEM, the chain if any) and its private ``key``."""
    context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    context.minimum_version = ssl.TLSVersion.TLSv1_2
    context.load_cert_chain(cert, key)
    return context


async def _pump(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
    """Copy ``reader`` to ``writer`` until either side ends; then close ``writer``."""
    try:
        while data := await reader.read(CHUNK):
            writer.write(data)
            await writer.drain()
    except (OSError, ssl.SSLError):  # a client gone mid-request is not the room's problem
        pass
    finally:
        with contextlib.suppress(OSError, ssl.SSLError, RuntimeError):
            writer.close()


class TLSFront:
    """HTTPS on ``host:port``, forwarded to ``127.0.0.1:upstream_port``, in a thread of its own."""

    def __init__(self, host: str, port: int, upstream_port: int, context: ssl.SSLContext):
        self.host, self.port, self.upstream_port, self._context = host, port, upstream_port, context
        self._loop = asyncio.new_event_loop()
        self._loop.set_exception_handler(lambda loop, details: None)  # failed handshakes: quiet
        self._server: asyncio.base_events.Server | None = None
        self._thread: threading.Thread | None = None

    def start(self) -> None:
        """Listen (an ``OSError`` if the port is taken), then serve in the background."""
        self._server = self._loop.run_until_complete(
            asyncio.start_server(self._connect, self.host, self.port, ssl=self._context,
                                 reuse_address=True, ssl_handshake_timeout=30)  # fmt: skip
        )
        self._thread = threading.Thread(target=self._loop.run_forever, daemon=True)
        self._thread.start()

    async def _connect(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        try:
            engine_reader, engine_writer = await asyncio.open_connection("127.0.0.1", self.upstream_port)
        except OSError:  # the engine is restarting (a revoked key): the client retries
            writer.close()
            return
        await asyncio.gather(_pump(reader, engine_writer), _pump(engine_reader, writer))

    def close(self) -> None:
        """Stop listening and end the thread (connections still open are dropped)."""
        if self._thread is None:
            self._loop.close()
            return

        async def shut() -> None:
            self._server.close()
            self._loop.stop()

        asyncio.run_coroutine_threadsafe(shut(), self._loop)
        self._thread.join(timeout=10)
        self._thread = None
        self._loop.close()
