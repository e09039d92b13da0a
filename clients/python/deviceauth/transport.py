"""One HTTP exchange over the standard library, and the error a non-2xx answer raises."""

import json
import urllib.error
import urllib.request
from dataclasses import dataclass, field
from email.message import Message
from typing import IO, Any
from urllib.parse import quote


@dataclass(frozen=True)
class Response:
    status: int
    headers: dict[str, str]
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
        return f"{self.status} {self.code}: {self.problem.get('detail')}"


def check_base_url(base_url: str) -> str:
    """The URL without a trailing slash; only http(s), so no file:// or custom scheme is opened."""
    if not base_url.startswith(("http://", "https://")):
        raise ValueError("base_url must be an http:// or https:// URL")
    return base_url.rstrip("/")


class _NoRedirects(urllib.request.HTTPRedirectHandler):
    """The API never redirects, so a 3xx is not followed: it raises ApiError like any other
    non-2xx answer. Following it would hand the bearer token (or a signed request, turned into
    a GET) to wherever the Location header points."""

    def redirect_request(
        self,
        req: urllib.request.Request,
        fp: IO[bytes],
        code: int,
        msg: str,
        headers: Message,
        newurl: str,
    ) -> None:
        return None


# Printable ASCII but the space: what a request line carries as it is ("%" too, so that escapes
# already in a target stay as they are).
_TARGET_SAFE = "".join(map(chr, range(0x21, 0x7F)))


def ascii_target(target: str) -> str:
    """`target` (path and query) as it goes on the wire: every character that is not printable
    ASCII percent-encoded as UTF-8, as browsers and fetch do. urllib sends the request line as
    ASCII and would raise UnicodeEncodeError instead."""
    return quote(target, safe=_TARGET_SAFE)


# urlopen's handlers (proxies from the environment, HTTPS, errors) with _NoRedirects in place
# of the one that follows redirects.
_opener = urllib.request.build_opener(_NoRedirects)


def exchange(
    url: str, method: str, body: bytes, headers: dict[str, str], *, timeout: float
) -> Response:
    """Send one request; return a 2xx answer, raise ApiError for any other (3xx included)."""
    # Callers pass URLs built on a base checked by check_base_url.
    request = urllib.request.Request(  # noqa: S310
        url, data=body or None, method=method, headers=headers
    )
    try:
        with _opener.open(request, timeout=timeout) as answer:
            return Response(answer.status, dict(answer.headers), answer.read())
    except urllib.error.HTTPError as error:
        response = Response(error.code, dict(error.headers), error.read())
        try:
            problem = response.json()
        except ValueError:
            problem = None
        raise ApiError(response, problem if isinstance(problem, dict) else {}) from None
