"""Request-scoped logging: the request id travels in a context variable onto every log line."""

import logging
import random
import re
import uuid
from contextvars import ContextVar
from typing import TypeVar

from django.http import HttpResponseBase

from api.validators import CONTROL_CHARACTERS

Response = TypeVar("Response", bound=HttpResponseBase)

request_id_var: ContextVar[str] = ContextVar("request_id", default="-")

REQUEST_ID_PATTERN = re.compile(r"[A-Za-z0-9._-]{1,128}")


def new_request_id() -> str:
    """A UUID4 as 32 hex digits (SPEC §2). An id for correlating logs, not a secret: its random
    bits come from `random` (as OpenTelemetry's trace ids do), not from os.urandom as
    uuid.uuid4()'s do, whose system call made threads of a gthread worker give up the GIL and
    queue to get it back on every request (bench/README.md). `random` is reseeded in every
    forked worker."""
    return uuid.UUID(int=random.getrandbits(128), version=4).hex


def request_id_for(incoming: str | None) -> str:
    """The id of a request that sent `incoming` as X-Request-ID: that one if well formed, else a
    new one (SPEC §2). Used by the app's middleware and by gunicorn's access line alike."""
    return incoming if incoming and REQUEST_ID_PATTERN.fullmatch(incoming) else new_request_id()


def described(error: BaseException) -> str:
    """An error for a log line: its class and its words. Not its repr: redis-py's is only its
    kind (`network:ConnectionError`), without the host or the cause."""
    return f"{type(error).__name__}: {error}"


def printable(text: str) -> str:
    """`text` with its control characters and line separators escaped (a line feed as \\x0a,
    U+2028 as \\u2028), for log messages: a path a client chose cannot end the line and forge
    the next one in the console format (the JSON one escapes them itself)."""
    return CONTROL_CHARACTERS.sub(_escape, text)


def _escape(match: re.Match[str]) -> str:
    code = ord(match[0])
    return f"\\x{code:02x}" if code < 0x100 else f"\\u{code:04x}"


class RequestIdFilter(logging.Filter):
    """Adds `request_id` to every record: the id of the request being served, or "-"."""

    def filter(self, record: logging.LogRecord) -> bool:
        # Django logs a 4xx or 5xx ("django.request") once the middleware, and the request's
        # context with it, has returned; the request itself rides along on that record.
        request_id = getattr(getattr(record, "request", None), "request_id", None)
        record.request_id = request_id or request_id_var.get()
        return True


class SuspiciousRequestAsWarning(logging.Filter):
    """Django logs a suspicious request (settings.SUSPICIOUS_REQUEST_LOGGERS) as an ERROR with its
    traceback: scanners send them all day, and ERROR lines page people and become Sentry
    events. This makes the record a WARNING without the traceback; its message still says what
    was wrong ("Invalid HTTP_HOST header: ... You may need to add ... to ALLOWED_HOSTS")."""

    def filter(self, record: logging.LogRecord) -> bool:
        record.levelno, record.levelname = logging.WARNING, "WARNING"
        record.exc_info = record.exc_text = None
        return True


def logged_already(response: Response) -> Response:
    """Mark `response` as one whose error the app has logged in its own words, so that Django
    does not log it again ("Internal Server Error: /path" or "Service Unavailable: /path" on
    `django.request`, an ERROR each). This is the attribute Django's own `log_response` sets
    and reads; if a release renamed it, the only cost would be the second line again, which
    `tests/test_problems.py` and `tests/test_health.py` would notice."""
    response._has_been_logged = True  # type: ignore[attr-defined]
    return response
