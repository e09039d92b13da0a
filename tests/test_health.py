"""Health probes (SPEC §5): answered whatever the Host, never redirected, bounded in time."""

import json
import logging
import select
import subprocess
import sys
import threading
import time
import urllib.request
from collections.abc import Callable, Iterator
from typing import Any
from urllib.parse import urlsplit

import pytest

from api.health import run_checks
from tests.asserts import assert_problem
from tests.processes import DJANGO_SETUP, ROOT, environment, run_python
from tests.relay import TcpRelay
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


def test_cache_down_is_reported_quickly_and_other_probes_still_pass(client, settings, caplog):
    settings.CACHES = redis_caches(f"redis://127.0.0.1:{closed_port()}/0")
    started = time.monotonic()
    with caplog.at_level(logging.INFO):
        response = client.get("/health/")
    # One WARNING naming the failed check, not Django's ERROR for a 503 on every probe.
    warnings = [(r.name, r.getMessage()) for r in caplog.records if r.levelno >= logging.WARNING]
    assert warnings == [("api.health", "Unhealthy: cache: ConnectionError")]
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


def test_a_failed_check_reports_its_own_duration_not_the_probes_wait():
    def refused() -> None:
        raise ConnectionRefusedError

    results = run_checks({"slow": lambda: time.sleep(0.6), "refused": refused}, timeout=2)
    assert results["slow"] == {"status": "ok", "latency_ms": pytest.approx(600, abs=200)}
    assert results["refused"]["error"] == "ConnectionRefusedError"
    # It failed at once; the probe only read its result once the slow check was done.
    assert results["refused"]["latency_ms"] < 100


def test_a_check_cut_off_at_the_deadline_reports_the_deadline():
    results = run_checks({"slow": lambda: time.sleep(1)}, timeout=0.2)
    assert results["slow"]["latency_ms"] == 200.0


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


def test_a_check_still_running_from_an_earlier_probe_holds_up_no_later_one():
    release = threading.Event()

    def stuck() -> None:
        release.wait(10)

    try:
        for _ in range(8):  # more probes than a small pool would have threads for
            results = run_checks({"stuck": stuck}, timeout=0.1)
            assert results["stuck"]["error"] == "no answer within 0.1 s"
        results = run_checks({"stuck": stuck, "fast": lambda: None}, timeout=1)
        assert results["fast"]["status"] == "ok"
        # However many probes asked for it, one run of the stuck check holds one thread.
        names = [thread.name for thread in threading.enumerate()]
        assert names.count("health-check:stuck") == 1
    finally:
        release.set()


# Short, so that a silent database fails a probe in a second: MySQL's client timeouts count
# whole seconds, so one is the least that bounds them.
TEST_CHECK_TIMEOUT = 1.0

# The app in a process of its own, on the database behind a relay (this process's is another
# one). One JSON line answers each command line: `get <path> <n>` (n probes at once),
# `query` (SELECT 1 on the app's persistent connection, as a request leaves it), `checks`
# (the health checks running).
APP = (
    DJANGO_SETUP
    + """
import json, sys, threading
from concurrent.futures import ThreadPoolExecutor
from django.db import connection
from django.test import Client
import api.health

api.health.CHECK_TIMEOUT = float(sys.argv[1])

def get(path):
    response = Client().get(path)
    return {"status": response.status_code, "body": response.json()}

for line in sys.stdin:
    command, *arguments = line.split()
    if command == "get":
        path, count = arguments[0], int(arguments[1])
        with ThreadPoolExecutor(count) as probes:
            answer = list(probes.map(get, [path] * count))
    elif command == "query":
        with connection.cursor() as cursor:
            cursor.execute("SELECT 1")
            answer = cursor.fetchone()
    else:
        answer = [t.name for t in threading.enumerate() if t.name.startswith("health-check")]
    print(json.dumps(answer), flush=True)
"""
)


class App:
    """The app in its own process, on the database at `database_url`."""

    def __init__(self, database_url: str) -> None:
        self.process = subprocess.Popen(
            [sys.executable, "-c", APP, str(TEST_CHECK_TIMEOUT)],
            cwd=ROOT,
            env=environment({"DATABASE_URL": database_url, "LOG_LEVEL": "CRITICAL"}, ()),
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
        )

    def _ask(self, command: str) -> Any:
        assert self.process.stdin is not None
        assert self.process.stdout is not None
        self.process.stdin.write(command + "\n")
        self.process.stdin.flush()
        ready, _, _ = select.select([self.process.stdout], [], [], 30)
        line = self.process.stdout.readline() if ready else ""
        assert line, f"the app did not answer {command!r}: {self.stop()}"
        return json.loads(line)

    def get(self, path: str, *, at_once: int = 1) -> list[dict[str, Any]]:
        """The status and body of each of `at_once` concurrent GETs of `path`."""
        return list(self._ask(f"get {path} {at_once}"))

    def query(self) -> None:
        assert self._ask("query") == [1]

    def running_checks(self) -> list[str]:
        return list(self._ask("checks"))

    def stop(self) -> str:
        self.process.kill()
        return self.process.communicate()[1]


def eventually(condition: Callable[[], bool], within: float = 5) -> bool:
    deadline = time.monotonic() + within
    while not condition():
        if time.monotonic() > deadline:
            return False
        time.sleep(0.05)
    return True


@pytest.fixture
def database_behind_relay(mysql_url) -> Iterator[tuple[TcpRelay, App]]:
    """The real MySQL server behind a relay, and the app in its own process on it."""
    server = urlsplit(mysql_url)
    port = closed_port()
    relay = TcpRelay(port, (server.hostname or "127.0.0.1", server.port or 3306))
    credentials = server.netloc.rpartition("@")[0]
    app = App(server._replace(netloc=f"{credentials}@127.0.0.1:{port}").geturl())
    try:
        yield relay, app
    finally:
        app.stop()
        relay.close()


def test_a_database_that_accepts_but_never_answers_fails_ready_in_time_holding_nothing(
    database_behind_relay,
):
    relay, app = database_behind_relay
    relay.silence()
    started = time.monotonic()
    [response] = app.get("/health/ready/")
    assert time.monotonic() - started < TEST_CHECK_TIMEOUT + 3  # a sanity bound, not the budget
    assert response["status"] == 503
    assert response["body"]["status"] == "unhealthy"
    database = response["body"]["checks"]["database"]
    assert database["status"] == "unhealthy"
    # The check's own timeout, or the probe's deadline, whichever came first.
    assert database["error"] in ("OperationalError", "no answer within 1 s")
    # The check gave up by itself: it hung up on the silent server and its thread is gone.
    assert relay.accepted_connections == 1
    assert eventually(lambda: relay.open_connections == 0)
    assert eventually(lambda: app.running_checks() == [])


def test_the_next_probe_is_ready_once_a_silent_database_answers_again(database_behind_relay):
    relay, app = database_behind_relay
    app.query()
    assert app.get("/health/ready/")[0]["status"] == 200
    # The app's own connection stays open; the probe closed its own.
    assert eventually(lambda: relay.open_connections == 1)
    # The app's own connection goes silent, the server still answers new ones: ready.
    relay.silence(new_connections=False)
    assert app.get("/health/ready/")[0]["status"] == 200
    relay.silence()
    assert app.get("/health/ready/")[0]["status"] == 503
    assert eventually(lambda: app.running_checks() == [])
    relay.answer_new_connections()
    [response] = app.get("/health/")
    assert response["status"] == 200
    assert response["body"]["status"] == "ok"
    assert {check["status"] for check in response["body"]["checks"].values()} == {"ok"}


def test_a_stuck_database_check_does_not_make_the_cache_unhealthy(database_behind_relay):
    relay, app = database_behind_relay
    relay.silence()
    # More probes at once than a small pool of threads could serve while database checks hang.
    for response in app.get("/health/", at_once=6):
        assert response["status"] == 503
        checks = response["body"]["checks"]
        assert checks["database"]["status"] == "unhealthy"
        assert checks["cache"]["status"] == "ok"
        assert "error" not in checks["cache"]
    # Six probes, one check of the database: one connection to the silent server.
    assert relay.accepted_connections == 1
    # And at once another, while that check may still be waiting.
    [response] = app.get("/health/")
    assert response["body"]["checks"]["cache"]["status"] == "ok"
