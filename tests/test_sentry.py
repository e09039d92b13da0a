"""Error reports to Sentry (SPEC §9): sent when SENTRY_DSN is set, the SDK untouched when not.

A real HTTP server on loopback stands in for Sentry and a real Django process reports to it.
"""

import gzip
import json
import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import pytest

from tests.processes import run_python

# The API's failing test views (tests/urls.py): DRF's and a plain Django one.
FAILING_PATHS = ("/api/v1/test/explode/", "/api/v1/test/explode-plain/")

REQUEST_FAILING_VIEWS = f"""
import django
django.setup()
import sentry_sdk
from django.core.handlers.wsgi import WSGIHandler
from django.test import override_settings
from wsgiref.util import setup_testing_defaults

# Through Django's WSGI handler, as gunicorn calls it: Sentry's integration hooks in there.
application = WSGIHandler()
responses = []
with override_settings(ROOT_URLCONF="tests.urls"):
    for path in {FAILING_PATHS!r}:
        environ = {{
            "PATH_INFO": path,
            "HTTP_X_SIGNATURE": "f" * 64,
            "HTTP_AUTHORIZATION": "Bearer a-token",
        }}
        setup_testing_defaults(environ)
        started = []
        b"".join(application(environ, lambda status, headers: started.append((status, headers))))
        status, headers = started[0]
        responses.append((int(status.split()[0]), dict(headers)["Content-Type"]))
sentry_sdk.flush(timeout=2)
print(responses)
"""


class SentryStandIn(ThreadingHTTPServer):
    """Keeps the envelopes POSTed to it, decompressed."""

    def __init__(self) -> None:
        super().__init__(("127.0.0.1", 0), EnvelopeHandler)
        self.envelopes: list[tuple[str, dict[str, str], bytes]] = []


class EnvelopeHandler(BaseHTTPRequestHandler):
    server: SentryStandIn

    def do_POST(self) -> None:
        body = self.rfile.read(int(self.headers["Content-Length"]))
        if self.headers.get("Content-Encoding") == "gzip":
            body = gzip.decompress(body)
        self.server.envelopes.append((self.path, dict(self.headers), body))
        self.send_response(200)
        self.send_header("Content-Type", "application/json")
        self.end_headers()
        self.wfile.write(b"{}")

    def log_message(self, format: str, *args: Any) -> None:
        pass


@pytest.fixture
def sentry() -> Iterator[SentryStandIn]:
    server = SentryStandIn()
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield server
    server.shutdown()
    server.server_close()


def envelope_items(body: bytes) -> list[tuple[dict[str, Any], bytes]]:
    """The (item header, payload) pairs of a Sentry envelope; its first line is its own header."""
    items = []
    rest = body.split(b"\n", 1)[1]
    while rest.strip():
        header_line, rest = rest.split(b"\n", 1)
        header = json.loads(header_line)
        if "length" in header:
            payload, rest = rest[: header["length"]], rest[header["length"] + 1 :]
        else:
            payload, _, rest = rest.partition(b"\n")
        items.append((header, payload))
    return items


def events(server: SentryStandIn) -> list[dict[str, Any]]:
    return [
        json.loads(payload)
        for _, _, body in server.envelopes
        for header, payload in envelope_items(body)
        if header["type"] == "event"
    ]


def test_an_unhandled_exception_is_reported_and_the_client_still_gets_a_500_problem(sentry):
    port = sentry.server_address[1]
    env = {"SENTRY_DSN": f"http://publickey@127.0.0.1:{port}/1", "SENTRY_ENVIRONMENT": "ci"}

    result = run_python(REQUEST_FAILING_VIEWS, env, timeout=30)

    assert result.returncode == 0, result.stderr
    answered = result.stdout.strip().splitlines()[-1]
    assert answered == str([(500, "application/problem+json")] * len(FAILING_PATHS))
    for path, headers, _ in sentry.envelopes:
        assert path == "/api/1/envelope/"
        assert "sentry_key=publickey" in headers["X-Sentry-Auth"]
    reported = events(sentry)
    for path in FAILING_PATHS:
        [event] = [event for event in reported if event["transaction"] == path]
        [exception] = event["exception"]["values"]
        assert exception["type"] == "RuntimeError"
        assert event["environment"] == "ci"
        # No PII, no request body, no local variables (core/settings.py).
        assert "ip_address" not in event.get("user", {})
        assert not event["request"].get("data")
        assert not any("vars" in frame for frame in exception["stacktrace"]["frames"])
        # Nothing that would let its reader send the request again.
        headers = event["request"]["headers"]
        assert headers["X-Signature"] == headers["Authorization"] == "[Filtered]"


@pytest.mark.parametrize("dsn", [None, ""], ids=["unset", "empty"])
def test_without_a_dsn_the_sentry_sdk_is_neither_imported_nor_active(dsn):
    code = (
        "import sys, django\n"
        "django.setup()\n"
        "print('sentry_sdk' in sys.modules)\n"
        "import sentry_sdk\n"
        "print(sentry_sdk.get_client().is_active())\n"
    )
    env = None if dsn is None else {"SENTRY_DSN": dsn}

    result = run_python(code, env, drop=("SENTRY_DSN",) if dsn is None else ())

    assert result.returncode == 0, result.stderr
    assert result.stdout.split()[-2:] == ["False", "False"]
