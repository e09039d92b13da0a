"""One HTTP exchange over the standard library, and the error a non-2xx answer raises."""

import contextlib
import http.client
import json
import socket
import threading
import time
from dataclasses import dataclass, field
from email.message import Message
from typing import Any
from urllib.parse import quote, urlsplit


@dataclass(frozen=True)
class Response:
    status: int
    # Looked up whatever the case the server used (`headers.get("Retry-After")`); a header sent
    # more than once is in `headers.get_all(name)`.
    headers: Message
    body: bytes

    def json(self) -> Any:
        return json.loads(self.body) if self.body else None


@dataclass
class ApiError(Exception):
    """A non-2xx answer: an RFC 9457 problem with a stable `code`."""

    response: Response
    problem: dict[str, Any] = field(default_factory=dict)

    @property
    def status(self) -> int:
        return self.response.status

    @property
    def code(self) -> str | None:
        code = self.problem.get("code")
        return code if isinstance(code, str) else None

    def __str__(self) -> str:
        # A proxy's error page has no code or detail: the status is all there is.
        detail = self.problem.get("detail") or "no problem details in the answer"
        return f"{self.status} {self.code or 'error'}: {detail}"


def check_base_url(base_url: str) -> str:
    """The URL without a trailing slash; only http(s), so no file:// or custom scheme is opened."""
    if not base_url.startswith(("http://", "https://")):
        raise ValueError("base_url must be an http:// or https:// URL")
    return base_url.rstrip("/")


# Printable ASCII but the space: what a request line carries as it is ("%" too, so that escapes
# already in a target stay as they are).
_TARGET_SAFE = "".join(map(chr, range(0x21, 0x7F)))


def ascii_target(target: str) -> str:
    """`target` (path and query) as it goes on the wire: every character that is not printable
    ASCII percent-encoded as UTF-8, as browsers and fetch do, and a #fragment dropped (it is
    never sent)."""
    return quote(target.partition("#")[0], safe=_TARGET_SAFE)


def exchange(
    url: str, method: str, body: bytes, headers: dict[str, str], *, timeout: float
) -> Response:
    """Send one request; return a 2xx answer, raise ApiError for any other (3xx included: the
    API never redirects, and following one would hand the token or the signed request to
    wherever it points). Raise TimeoutError when the whole answer has not come within
    `timeout` seconds."""
    deadline = time.monotonic() + timeout
    parts = urlsplit(url)
    secure = parts.scheme == "https"
    connection_class = http.client.HTTPSConnection if secure else http.client.HTTPConnection
    connection = connection_class(parts.netloc, timeout=timeout)
    target = parts.path + (f"?{parts.query}" if parts.query else "")
    late = f"{method} {target}: no answer within {timeout} s"
    expired = threading.Event()
    try:
        connection.connect()
        # The socket's timeout bounds each read and write, not the exchange: a server sending a
        # byte now and then would hold the caller (and every caller waiting on its renewal) for
        # ever. At the deadline the socket is shut down, which ends whatever waits on it.
        watchdog = threading.Timer(
            deadline - time.monotonic(), _cut_off, (connection.sock, expired)
        )
        watchdog.start()
        try:
            connection.request(method, target, body or None, headers)
            answer = connection.getresponse()
            response = Response(answer.status, answer.msg, answer.read())
        finally:
            watchdog.cancel()
    except (OSError, http.client.HTTPException) as error:
        if expired.is_set() or isinstance(error, TimeoutError):
            raise TimeoutError(late) from error
        raise
    finally:
        connection.close()
    # Cut off, what came may pass for a whole answer: its head cut short, a body up to the close.
    if expired.is_set():
        raise TimeoutError(late)
    if 200 <= response.status < 300:
        return response
    try:
        problem = response.json()
    except ValueError:
        problem = None
    raise ApiError(response, problem if isinstance(problem, dict) else {})


def _cut_off(sock: socket.socket, expired: threading.Event) -> None:
    expired.set()
    # socket.socket's own shutdown, also under TLS: SSLSocket's would drop the TLS state that
    # the blocked read is still using. An OSError: closed already, the exchange has ended.
    with contextlib.suppress(OSError):
        socket.socket.shutdown(sock, socket.SHUT_RDWR)
