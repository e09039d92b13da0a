"""Small real HTTP servers on loopback for the client tests: something other than the API on the
way (a redirecting host, a proxy with its own answers, a server that trickles its answer), where
a live server cannot say it."""

import contextlib
import http.client
import json
import socket
import threading
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import urlsplit


@dataclass(frozen=True)
class Received:
    method: str
    path: str
    headers: dict[str, str]
    body: bytes


@dataclass(frozen=True)
class Answer:
    status: int
    headers: dict[str, str] = field(default_factory=dict)
    body: bytes = b""


def problem(status: int, **members: object) -> Answer:
    """An RFC 9457 problem document, as the API (or something posing as it) answers."""
    body = json.dumps({"status": status, **members}).encode()
    return Answer(status, {"Content-Type": "application/problem+json"}, body)


@dataclass
class LocalServer:
    url: str
    received: list[Received]


@contextmanager
def serve(answer: Callable[[Received], Answer]) -> Iterator[LocalServer]:
    """A threaded HTTP server on a free loopback port that records every request it receives
    (in order of arrival) and answers each with `answer(request)`."""
    received: list[Received] = []

    class Handler(BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"

        def handle_one_request(self) -> None:
            self.raw_requestline = self.rfile.readline(65537)
            if not self.raw_requestline or not self.parse_request():
                self.close_connection = True
                return
            length = int(self.headers.get("Content-Length") or 0)
            request = Received(
                self.command, self.path, dict(self.headers.items()), self.rfile.read(length)
            )
            received.append(request)
            reply = answer(request)
            self.send_response(reply.status)
            for name, value in reply.headers.items():
                self.send_header(name, value)
            self.send_header("Content-Length", str(len(reply.body)))
            self.end_headers()
            self.wfile.write(reply.body)
            self.wfile.flush()

        def log_message(self, format: str, *args: object) -> None:
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    server.daemon_threads = True
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield LocalServer(f"http://127.0.0.1:{server.server_address[1]}", received)
    finally:
        server.shutdown()
        server.server_close()
        thread.join()


@contextmanager
def serve_raw(reply: Callable[[socket.socket], None]) -> Iterator[str]:
    """A loopback server that reads each request and hands its socket to `reply`, which writes
    whatever bytes it likes, as fast or as slowly as it likes; yields its URL."""
    listener = socket.create_server(("127.0.0.1", 0))

    def answer(connection: socket.socket) -> None:
        with connection:
            connection.recv(65536)  # the whole of a client's small request, on loopback
            with contextlib.suppress(OSError):  # the client has gone
                reply(connection)

    def accept() -> None:
        while True:
            try:
                connection, _ = listener.accept()
            except OSError:
                return  # closed
            threading.Thread(target=answer, args=(connection,), daemon=True).start()

    thread = threading.Thread(target=accept, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{listener.getsockname()[1]}"
    finally:
        listener.shutdown(socket.SHUT_RDWR)
        listener.close()
        thread.join()


HOP_BY_HOP = frozenset({"connection", "keep-alive", "transfer-encoding", "content-length", "host"})


def forward(upstream: str, request: Received) -> Answer:
    """`request` sent on to `upstream` as it came, and its answer as it came back."""
    parts = urlsplit(upstream)
    connection = http.client.HTTPConnection(parts.hostname or "", parts.port, timeout=30)
    try:
        headers = {k: v for k, v in request.headers.items() if k.lower() not in HOP_BY_HOP}
        connection.request(request.method, request.path, request.body or None, headers)
        response = connection.getresponse()
        body = response.read()
        kept = {k: v for k, v in response.getheaders() if k.lower() not in HOP_BY_HOP}
        return Answer(response.status, kept, body)
    finally:
        connection.close()
