"""api/middleware.py: request ids and the access log line (with api/logs.py), and freeing a
request's objects once its response is rendered.

For the latter, requests go through Django's WSGI handler as gunicorn calls it (iterate, close),
and then the cyclic garbage collector says what reference counting could not free.
"""

import contextlib
import gc
import io
import json
import logging
import os
import re
import uuid
from collections.abc import Callable, Iterator
from typing import Any

import pytest
from django.conf import settings
from django.core.handlers.wsgi import WSGIHandler
from django.core.signals import request_finished, request_started
from django.db import close_old_connections
from django.http import HttpRequest, HttpResponseBase
from django.test import Client, RequestFactory
from rest_framework.request import Request
from rest_framework.views import APIView

from api.health import run_checks
from api.logs import new_request_id, request_id_var
from tests.asserts import assert_problem
from tests.processes import DJANGO_SETUP, run_python
from tests.signing import ME, get_token, register
from tests.subjects.urls import POSTS

pytestmark = pytest.mark.urls("tests.urls")


@pytest.fixture
def log_output() -> Iterator[io.StringIO]:
    """What the configured stdout handler writes, with its own filter and formatter."""
    handler = next(h for h in logging.getLogger().handlers if isinstance(h, logging.StreamHandler))
    buffer = io.StringIO()
    previous = handler.setStream(buffer)
    yield buffer
    handler.setStream(previous)


@pytest.mark.parametrize("incoming", ["abc-123", "A.b_C-9", "x" * 128])
def test_well_formed_request_id_is_echoed(client, incoming):
    response = client.get("/health/live/", HTTP_X_REQUEST_ID=incoming)
    assert response["X-Request-ID"] == incoming


@pytest.mark.parametrize("incoming", ["", "x" * 129, "has space", "semi;colon", "ünï"])
def test_malformed_request_id_is_replaced_by_a_new_uuid4_hex(client, incoming):
    response = client.get("/health/live/", HTTP_X_REQUEST_ID=incoming)
    assert_uuid4_hex(response["X-Request-ID"])


def assert_uuid4_hex(request_id: str) -> None:
    assert re.fullmatch(r"[0-9a-f]{32}", request_id)
    parsed = uuid.UUID(hex=request_id)
    assert parsed.version == 4
    assert parsed.variant == uuid.RFC_4122


def test_new_request_ids_are_uuid4s_whatever_the_random_bits():
    # The version and variant bits are set on every draw, not left to chance.
    for _ in range(200):
        assert_uuid4_hex(new_request_id())


def test_forked_workers_draw_different_request_ids():
    # gunicorn forks its workers from one process: each must have its own random sequence.
    read_end, write_end = os.pipe()
    pid = os.fork()
    if pid == 0:  # the child
        os.write(write_end, new_request_id().encode())
        os._exit(0)
    os.close(write_end)
    os.waitpid(pid, 0)
    child = os.read(read_end, 64).decode()
    os.close(read_end)
    ours = new_request_id()
    assert_uuid4_hex(child)
    assert child != ours


def test_every_log_line_of_a_request_carries_its_id(client, log_output):
    response = client.get("/api/v1/test/chatty/", HTTP_X_REQUEST_ID="req-42")
    assert response.status_code == 200
    lines = [line for line in log_output.getvalue().splitlines() if line]
    assert any("working on it" in line for line in lines)
    assert len(lines) == 2
    assert all("[req-42]" in line for line in lines)


def test_djangos_own_line_of_a_server_error_carries_the_requests_id(log_output):
    # Django logs it ("django.request") after the middleware, and the id's context, returned.
    client = Client(raise_request_exception=False)
    # A plain Django view: a DRF view's 500 is logged by api.problems, and not by Django again.
    response = client.get("/api/v1/test/explode-plain/", HTTP_X_REQUEST_ID="req-500")
    assert response.status_code == 500
    # The log lines, not the lines of their tracebacks.
    lines = [line for line in log_output.getvalue().splitlines() if re.match(r"\d{4}-", line)]
    assert any("django.request" in line for line in lines)
    assert all("[req-500]" in line for line in lines), lines


def test_what_a_health_check_logs_carries_the_requests_id(log_output):
    token = request_id_var.set("req-health")
    try:
        run_checks({"chatty": lambda: logging.getLogger("tests.checks").warning("checking")})
    finally:
        request_id_var.reset(token)
    assert "[req-health] tests.checks: checking" in log_output.getvalue()


@pytest.mark.parametrize(
    ("path", "escaped"),
    [
        ("/api/v1/x%0Aforged-line/", "\\x0a"),
        ("/cms/x%0D%0Aforged-line/", "\\x0d\\x0a"),
        # Line breaks beyond ASCII, which splitlines() and some log viewers break lines at too.
        ("/api/v1/x%C2%85forged-line/", "\\x85"),
        ("/api/v1/x%E2%80%A8forged-line/", "\\u2028"),
        ("/api/v1/x%E2%80%A9forged-line/", "\\u2029"),
    ],
)
def test_a_path_cannot_forge_a_log_line(client, log_output, path, escaped):
    client.get(path)
    lines = log_output.getvalue().splitlines()
    assert not [line for line in lines if line.startswith("forged-line")]
    assert any(f"{escaped}forged-line" in line for line in lines)


def test_one_access_line_per_request_with_method_path_status_duration_and_ip(client, log_output):
    client.get("/api/v1/nothing-here/", REMOTE_ADDR="203.0.113.7")
    access = [line for line in log_output.getvalue().splitlines() if "api.access" in line]
    assert len(access) == 1
    assert re.search(r"GET /api/v1/nothing-here/ 404 \d+\.\dms 203\.0\.113\.7$", access[0])


def test_a_host_outside_allowed_hosts_is_a_400_and_one_warning_without_traceback(
    client, log_output
):
    # Scanners send these all day: an ERROR with a traceback would page people and fill Sentry.
    response = client.get(ME, HTTP_HOST="evil.example")
    assert_problem(response, 400, "bad_request")
    lines = log_output.getvalue().splitlines()
    security = [line for line in lines if "django.security.DisallowedHost" in line]
    assert len(security) == 1
    assert "WARNING" in security[0]
    assert "'evil.example'" in security[0]
    assert "ALLOWED_HOSTS" in security[0]
    assert not [line for line in lines if "Traceback" in line]


def test_too_many_fields_on_a_page_is_a_warning_without_traceback(client, caplog):
    # Anybody can send it, to any page: an ERROR with a traceback would page people.
    query = "&".join(f"a{index}=" for index in range(1001))
    with caplog.at_level(logging.INFO):
        response = client.get(f"/cms/login/?{query}")
    assert response.status_code == 400
    security = [r for r in caplog.records if r.name == "django.security.TooManyFieldsSent"]
    assert [(r.levelno, r.exc_info) for r in security] == [(logging.WARNING, None)]
    assert not [r for r in caplog.records if r.levelno >= logging.ERROR]


@pytest.mark.django_db
@pytest.mark.parametrize("path", ["/health/live/", "/api/v1/me/", "/api/v1/nowhere/"])
def test_a_head_request_gets_the_headers_of_a_get_and_no_body(path):
    # Through Django's WSGI handler as gunicorn calls it (the test client drops HEAD bodies).
    def answer(method: str) -> tuple[str, dict[str, str], bytes]:
        answered: list[tuple[str, dict[str, str]]] = []

        def start_response(status: str, headers: list[tuple[str, str]], exc_info: Any = None):
            answered.append((status, dict(headers)))
            return lambda data: None

        environ = RequestFactory().generic(method, path).environ
        with connections_kept():
            response = WSGIHandler()(environ, start_response)
            body = b"".join(response)
            response.close()
        return answered[0][0], answered[0][1], body

    get_status, get_headers, get_body = answer("GET")
    head_status, head_headers, head_body = answer("HEAD")
    assert get_body
    assert head_body == b""
    assert head_status == get_status
    # What the GET says of its length, if anything (the probes' answers come before Django's
    # CommonMiddleware, which sets it).
    assert head_headers.get("Content-Length") == get_headers.get("Content-Length")
    assert head_headers["Content-Type"] == get_headers["Content-Type"]


def test_log_lines_outside_a_request_have_no_id(log_output):
    logging.getLogger("tests").warning("between requests")
    assert "[-] tests: between requests" in log_output.getvalue()


def test_json_log_format_writes_one_object_per_line():
    result = run_python(
        DJANGO_SETUP
        + "from django.test import Client\n"
        + "Client().get('/api/v1/nowhere/', HTTP_X_REQUEST_ID='json-req-1', "
        + "HTTP_USER_AGENT='MyApp/2.1 (iOS 18)')\n",
        {"LOG_FORMAT": "json"},
    )
    assert result.returncode == 0, result.stderr
    records = [json.loads(line) for line in result.stdout.splitlines() if line.strip()]
    access = [record for record in records if record["logger"] == "api.access"]
    assert len(access) == 1
    assert access[0]["request_id"] == "json-req-1"
    assert access[0]["status"] == 404
    assert access[0]["method"] == "GET"
    assert access[0]["path"] == "/api/v1/nowhere/"
    assert access[0]["client_ip"] == "127.0.0.1"
    assert access[0]["user_agent"] == "MyApp/2.1 (iOS 18)"
    assert isinstance(access[0]["duration_ms"], float)
    assert access[0]["level"] == "INFO"
    assert access[0]["time"].endswith("+00:00")


def test_json_log_lines_carry_tracebacks_and_extras_of_any_type():
    result = run_python(
        DJANGO_SETUP
        + "import logging, uuid\n"
        + "try:\n"
        + "    1 / 0\n"
        + "except ZeroDivisionError:\n"
        + "    logging.getLogger('tests').exception('caf\\u00e9 failed', extra={\n"
        + "        'device_id': uuid.UUID(int=7), 'thing': object()})\n",
        {"LOG_FORMAT": "json"},
    )
    assert result.returncode == 0, result.stderr
    [record] = [json.loads(line) for line in result.stdout.splitlines() if line.strip()]
    assert record["message"] == "caf\u00e9 failed"
    assert record["level"] == "ERROR"
    assert "ZeroDivisionError" in record["exc_info"]
    assert record["device_id"] == "00000000-0000-0000-0000-000000000007"
    assert record["thing"].startswith("<object object at")


RELEASE = "api.middleware.ReleaseViewMiddleware"
REQUEST_OBJECTS = (APIView, Request, HttpRequest, HttpResponseBase)


@contextlib.contextmanager
def connections_kept() -> Iterator[None]:
    """Requests sent to Django's WSGI handler leave the database connections alone, as Django's
    test client does: the test's database transaction must survive them."""
    request_started.disconnect(close_old_connections)
    request_finished.disconnect(close_old_connections)
    try:
        yield
    finally:
        request_started.connect(close_old_connections)
        request_finished.connect(close_old_connections)


def left_to_the_collector(environ: dict[str, object], status: int) -> list[str]:
    """The views, requests and responses one request, answered with `status`, left in
    reference cycles, by type."""
    application = WSGIHandler()
    statuses = []

    def start_response(
        status: str, headers: list[tuple[str, str]], exc_info: Any = None
    ) -> Callable[[bytes], object]:
        statuses.append(status)
        return lambda data: None

    gc.collect()
    gc.set_debug(gc.DEBUG_SAVEALL)  # keep what it collects in gc.garbage, to look at
    try:
        with connections_kept():
            response = application(environ, start_response)
            b"".join(response)
            response.close()
            del response
        gc.collect()
        found = [type(o).__name__ for o in gc.garbage if isinstance(o, REQUEST_OBJECTS)]
    finally:
        gc.set_debug(0)
        gc.garbage.clear()
    assert [int(answered.split()[0]) for answered in statuses] == [status]
    return found


@pytest.fixture
def access(client, db) -> str:
    return str(get_token(client, register(client))["access"])


# name: (method, path, body, with a bearer token, the status expected)
REQUESTS: dict[str, tuple[str, str, bytes, bool, int]] = {
    "GET /me/": ("GET", ME, b"", True, 200),
    "PATCH /me/ (a parsed body)": ("PATCH", ME, b'{"profile": {"locale": "fr-FR"}}', True, 200),
    "a page of posts": ("GET", POSTS, b"", True, 200),
    "an error DRF renders": ("GET", ME, b"", False, 401),
    "an invalid body": ("PATCH", ME, b"{", True, 400),
}


def left_by(name: str, access: str) -> list[str]:
    """What the request named in REQUESTS left to the collector."""
    method, path, body, bearer, status = REQUESTS[name]
    headers = {"Authorization": f"Bearer {access}"} if bearer else {}
    request = RequestFactory().generic(
        method, path, body, content_type="application/json", headers=headers
    )
    return left_to_the_collector(request.environ, status)


@pytest.mark.urls("tests.subjects.urls")  # the project's routes and the list of posts
@pytest.mark.parametrize("name", REQUESTS)
def test_an_api_request_leaves_nothing_to_the_cyclic_collector(access, name):
    assert left_by(name, access) == []


@pytest.mark.parametrize("name", ["GET /me/", "an error DRF renders"])
def test_without_the_middleware_drf_leaves_its_request_in_cycles(settings, access, name):
    # What the middleware is for, and proof that the test above can fail.
    settings.MIDDLEWARE = [m for m in settings.MIDDLEWARE if m != RELEASE]
    assert {"MeView", "Request", "WSGIRequest", "Response"} <= set(left_by(name, access))


def test_the_middleware_is_innermost():
    # Django renders a DRF response before the innermost middleware gets it; an outer one
    # could see a response another middleware replaced, and miss the DRF one.
    assert settings.MIDDLEWARE[-1] == RELEASE


def test_the_release_leaves_what_clients_and_tests_read(client, access):
    response = client.get(ME, HTTP_AUTHORIZATION=f"Bearer {access}")
    assert response.status_code == 200
    assert response.data["user"]["id"] == response.json()["user"]["id"]
    assert response["Content-Type"] == "application/json"
    assert response.renderer_context == {}
