"""utils.loopback: the one loopback server the course's fakes are built on."""

import time

import httpx2
import openai
import pytest

from utils.loopback import HangUp, JSONResponse, LoopbackAPI, Request, sse
from utils.loopback.static import StaticSite


class Echo(LoopbackAPI):
    """JSON for /json, bytes for /file, a stream for /stream, a cut stream for /cut."""

    def respond(self, request: Request):
        if request.path.endswith("/json"):
            body = {"got": request.body, "type": request.headers.get("content-type")}
            return JSONResponse(201, body, {"x-seen": "yes"})
        if request.path.endswith("/file"):
            return JSONResponse(200, b"raw bytes\n")
        if request.path.endswith("/stream"):
            return iter([sse({"n": 1}), sse({"n": 2}), sse("[DONE]")])
        return self._cut()

    def _cut(self):
        yield sse({"n": 1})
        raise HangUp


def test_json_bytes_and_a_record_of_what_arrived():
    with Echo() as api:
        root = api.base_url
        reply = httpx2.post(f"{root}/json", json={"a": 1})
        assert reply.status_code == 201 and reply.headers["x-seen"] == "yes"
        assert reply.json() == {"got": {"a": 1}, "type": "application/json"}  # names lower-cased
        assert httpx2.get(f"{root}/file").content == b"raw bytes\n"
        assert api.hits == 2 and api.requests == [{"a": 1}, {}]
        assert api.paths == ["POST /v1/json", "GET /v1/file"]
        assert api.arrivals == sorted(api.arrivals) and api.max_in_flight == 1


def test_a_stream_ends_cleanly_and_a_hang_up_cuts_it():
    with Echo() as api:
        with httpx2.stream("GET", f"{api.base_url}/stream") as reply:
            assert reply.read() == b'data: {"n": 1}\n\ndata: {"n": 2}\n\ndata: [DONE]\n\n'
        with pytest.raises(httpx2.HTTPError), httpx2.stream("GET", f"{api.base_url}/cut") as reply:
            reply.read()  # the connection closes mid-body, as when a server crashes


def test_the_sdk_clients_reach_it_and_the_delay_holds_each_answer():
    class Canned(LoopbackAPI):
        def respond(self, request):
            return JSONResponse(500, {"error": {"message": "boom"}})

    with Canned(delay=0.2) as api:
        with pytest.raises(openai.InternalServerError):
            api.sync_client().models.list()
        assert api.hits == 1  # no retries: one request, one hit
        assert api.arrivals[0] > 0


def test_no_answer_defined_is_a_501_and_a_fake_that_raises_is_a_500():
    class Broken(LoopbackAPI):
        def respond(self, request):
            raise KeyError("model")

    with LoopbackAPI() as api:
        reply = httpx2.get(f"{api.base_url}/anything")
    assert reply.status_code == 501 and "does not answer GET /v1/anything" in reply.text
    with Broken() as api:
        reply = httpx2.post(f"{api.base_url}/chat/completions", json={})
    assert reply.status_code == 500 and reply.json()["error"]["message"] == "KeyError: 'model'"


def test_a_client_that_resets_the_connection_prints_no_traceback(capfd):
    """Review (02-solutions c9): a reset connection left a socketserver traceback on stderr."""
    import socket
    import struct
    from urllib.parse import urlsplit

    with Echo() as server:
        address = urlsplit(server.base_url)
        with socket.create_connection((address.hostname, address.port)) as sock:
            sock.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
            sock.sendall(b"GET /v1/json HTTP/1.1\r\nHost: x\r\n\r\n")  # keep-alive, then RST
            sock.recv(4096)  # the answer came; the server now waits for the next request
        time.sleep(0.3)  # the handler thread reads the reset
    assert "Traceback" not in capfd.readouterr().err


def test_a_static_site_serves_a_folders_files(tmp_path):
    (tmp_path / "index.html").write_text("<p>home</p>")
    with StaticSite(tmp_path) as site:
        assert site.base_url == site.url
        page = httpx2.get(f"{site.url}/")
        assert page.status_code == 200 and page.text == "<p>home</p>"
        assert page.headers["content-type"] == "text/html"
        assert httpx2.head(f"{site.url}/index.html").headers["content-length"] == "11"
        assert httpx2.get(f"{site.url}/missing.html").status_code == 404


def test_a_request_repr_leaves_out_its_headers():
    request = Request("POST", "/v1/chat", {"authorization": "Bearer sk-secret"}, b"{}")
    assert "sk-secret" not in repr(request) and request.headers["authorization"].endswith("secret")
