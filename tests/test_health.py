"""Health probes (SPEC §5): answered whatever the Host, never redirected, bounded in time."""

import json
import time
import urllib.request

import pytest

from api.health import run_checks
from tests.asserts import assert_problem
from tests.processes import DJANGO_SETUP, run_python
from tests.services import closed_port, redis_caches

pytestmark = pytest.mark.django_db

PROBES = ["/health/", "/health/ready/", "/health/live/"]


def test_live_answers_ok(client):
    response = client.get("/health/live/")
    assert response.status_code == 200
    assert response.json() == {"status": "ok"}
    assert response["Cache-Control"] == "no-store"


def test_ready_checks_the_database(client):
    response = client.get("/health/ready/")
    assert response.status_code == 200
    body = response.json()
    assert body["status"] == "ok"
    assert body["checks"]["database"]["status"] == "ok"
    assert body["checks"]["database"]["latency_ms"] >= 0


def test_full_report_checks_database_and_cache(client):
    response = client.get("/health/")
    assert response.status_code == 200
    body = response.json()
    assert body["status"] == "ok"
    assert set(body["checks"]) == {"database", "cache"}
    assert all(check["status"] == "ok" for check in body["checks"].values())


def test_full_report_on_the_real_redis(client, settings, redis_url):
    settings.CACHES = redis_caches(redis_url)
    response = client.get("/health/")
    assert response.status_code == 200
    assert response.json()["checks"]["cache"]["status"] == "ok"


@pytest.mark.parametrize("path", PROBES)
def test_probes_answer_any_host(client, path):
    response = client.get(path, HTTP_HOST="10.1.2.3")
    assert response.status_code == 200


@pytest.mark.parametrize("path", PROBES)
def test_probes_are_not_redirected_to_https(client, settings, path):
    settings.SECURE_SSL_REDIRECT = True
    assert client.get("/api/v1/anything/").status_code == 301
    assert client.get(path).status_code == 200


@pytest.mark.parametrize("path", PROBES)
def test_probes_accept_only_get_and_head(client, path):
    assert client.head(path).status_code == 200
    assert_problem(client.post(path), 405, "method_not_allowed")


def test_cache_down_is_reported_quickly_and_other_probes_still_pass(client, settings):
    settings.CACHES = redis_caches(f"redis://127.0.0.1:{closed_port()}/0")
    started = time.monotonic()
    response = client.get("/health/")
    assert time.monotonic() - started < 3
    assert response.status_code == 503
    body = response.json()
    assert response["Content-Type"] == "application/json"
    assert body["status"] == "unhealthy"
    assert body["checks"]["cache"]["status"] == "unhealthy"
    assert body["checks"]["cache"]["error"] == "ConnectionError"
    assert body["checks"]["database"]["status"] == "ok"
    assert client.get("/health/live/").status_code == 200
    assert client.get("/health/ready/").status_code == 200


def test_a_check_that_hangs_is_cut_off_at_the_deadline():
    started = time.monotonic()
    results = run_checks({"slow": lambda: time.sleep(5), "fast": lambda: None}, timeout=0.5)
    assert time.monotonic() - started < 1.5
    assert results["slow"]["status"] == "unhealthy"
    assert results["slow"]["error"] == "no answer within 0.5 s"
    assert results["fast"]["status"] == "ok"


def test_database_down_fails_ready_but_not_live():
    code = (
        DJANGO_SETUP
        + "from django.test import Client\n"
        + "c = Client()\n"
        + "print(c.get('/health/ready/').status_code, c.get('/health/live/').status_code)\n"
        + "print(c.get('/health/').json()['checks']['database']['status'])\n"
    )
    database = f"mysql://root@127.0.0.1:{closed_port()}/nowhere"
    result = run_python(code, {"DATABASE_URL": database, "LOG_LEVEL": "CRITICAL"})
    assert result.returncode == 0, result.stderr
    assert result.stdout.split() == ["503", "200", "unhealthy"]


def test_probes_answer_on_a_multi_process_server(live_server_factory):
    server = live_server_factory()
    for path in PROBES:
        request = urllib.request.Request(server.url + path, headers={"Host": "10.1.2.3"})
        with urllib.request.urlopen(request, timeout=5) as response:
            assert response.status == 200
            assert json.loads(response.read())["status"] == "ok"
