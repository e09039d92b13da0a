"""Request ids and the access log line (api/middleware.py, api/logs.py)."""

import io
import json
import logging
import os
import re
from collections.abc import Iterator

import pytest

from api.middleware import new_request_id
from tests.processes import DJANGO_SETUP, run_python

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
def test_malformed_request_id_is_replaced_by_a_random_one(client, incoming):
    response = client.get("/health/live/", HTTP_X_REQUEST_ID=incoming)
    assert re.fullmatch(r"[0-9a-f]{32}", response["X-Request-ID"])


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
    assert re.fullmatch(r"[0-9a-f]{32}", child)
    assert child != ours


def test_every_log_line_of_a_request_carries_its_id(client, log_output):
    response = client.get("/api/v1/test/chatty/", HTTP_X_REQUEST_ID="req-42")
    assert response.status_code == 200
    lines = [line for line in log_output.getvalue().splitlines() if line]
    assert any("working on it" in line for line in lines)
    assert len(lines) == 2
    assert all("[req-42]" in line for line in lines)


def test_one_access_line_per_request_with_method_path_status_duration_and_ip(client, log_output):
    client.get("/api/v1/nothing-here/", REMOTE_ADDR="203.0.113.7")
    access = [line for line in log_output.getvalue().splitlines() if "api.access" in line]
    assert len(access) == 1
    assert re.search(r"GET /api/v1/nothing-here/ 404 \d+\.\dms 203\.0\.113\.7$", access[0])


def test_log_lines_outside_a_request_have_no_id(log_output):
    logging.getLogger("tests").warning("between requests")
    assert "[-] tests: between requests" in log_output.getvalue()


def test_json_log_format_writes_one_object_per_line():
    result = run_python(
        DJANGO_SETUP
        + "from django.test import Client\n"
        + "Client().get('/api/v1/nowhere/', HTTP_X_REQUEST_ID='json-req-1')\n",
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
