"""Shared fixtures. Tests talk to the services the run is configured with (DATABASE_URL,
REDIS_URL); tests that need a real Redis or MariaDB whatever the run's settings find them on
loopback, and are skipped only where there is none (never in CI: FAIL_ON_SKIP=1 fails the run).
"""

import os
from collections.abc import Callable, Iterator
from pathlib import Path
from urllib.parse import urlsplit

import pytest
from django.core.cache import caches
from django.db import connections
from rest_framework.test import APIClient

from api import auth_state
from api.throttling.middleware import memory_store
from tests.live import LiveServer, start_server
from tests.processes import run_manage
from tests.services import mysql_server_url, reachable, redis_server_url

_skipped: list[str] = []


def pytest_runtest_logreport(report: pytest.TestReport) -> None:
    if report.skipped:
        _skipped.append(report.nodeid)


def pytest_sessionfinish(session: pytest.Session, exitstatus: int) -> None:
    if os.environ.get("FAIL_ON_SKIP") == "1" and _skipped:
        print(f"\nFAIL_ON_SKIP: {len(_skipped)} test(s) skipped: {', '.join(_skipped)}")
        session.exitstatus = pytest.ExitCode.TESTS_FAILED


@pytest.fixture(scope="session", autouse=True)
def _processes_run_the_projects_settings() -> None:
    """The suite runs tests.settings: the project's, plus the tests' own models (tests/subjects).
    A process it starts (gunicorn, manage.py, the entrypoint) inherits its environment, and runs
    the project's settings alone, as production does. This process's settings are loaded by now
    and stay as they are."""
    os.environ["DJANGO_SETTINGS_MODULE"] = "core.settings"


@pytest.fixture(autouse=True)
def _clean_cache() -> None:
    """Each test starts with empty caches (on Redis: FLUSHDB of the configured database, rate
    limits included; in memory, both aliases: SQLite reuses the ids of rolled-back rows, which
    another test's entries would name) and with no request counted by the in-process limiter."""
    for alias in ("default", "security"):
        caches[alias].clear()
    memory_store.clear()
    # Nor with entries another test's Redis outage left to publish again (api.auth_state).
    auth_state.forget_unsure()


@pytest.fixture(scope="session")
def _empty_static_root(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return tmp_path_factory.mktemp("staticfiles")


@pytest.fixture(autouse=True)
def _static_files_without_collectstatic(settings, _empty_static_root) -> None:
    """Pages render without a collectstatic run: plain static URLs, not the hashed manifest,
    and an existing (empty) STATIC_ROOT so that WhiteNoise does not warn about a missing one."""
    settings.STATIC_ROOT = _empty_static_root
    settings.STORAGES = {
        **settings.STORAGES,
        "staticfiles": {"BACKEND": "django.contrib.staticfiles.storage.StaticFilesStorage"},
    }


@pytest.fixture
def client() -> APIClient:
    """An HTTP test client that returns 500 responses instead of raising."""
    return APIClient(raise_request_exception=False)


@pytest.fixture
def redis_url() -> str:
    """URL of a real Redis server (REDIS_URL, else the one on loopback)."""
    url = redis_server_url()
    if not reachable(url):
        if os.environ.get("REDIS_URL"):
            pytest.fail(f"REDIS_URL is set but {url} does not answer")
        pytest.skip(f"needs a Redis server at {url}")
    return url


@pytest.fixture
def mysql_url() -> str:
    """URL of a real MySQL/MariaDB database (DATABASE_URL if MySQL, else the one on loopback)."""
    url = mysql_server_url()
    if not reachable(url):
        if os.environ.get("DATABASE_URL", "").startswith("mysql"):
            pytest.fail(f"DATABASE_URL is set but {url} does not answer")
        pytest.skip(f"needs a MySQL server at {url}")
    return url


@pytest.fixture(scope="session")
def live_database(tmp_path_factory, django_db_setup, django_db_blocker) -> Iterator[str]:
    """URL of a migrated database for live servers, next to the test database.

    The test database is no use to another process: each test runs in a transaction it
    cannot see. On SQLite this is a file, on MySQL a database `<test database>_live`.
    """
    connection = connections["default"]
    if connection.vendor == "mysql":
        name = f"{connection.settings_dict['NAME']}_live"
        with django_db_blocker.unblock(), connection.cursor() as cursor:
            cursor.execute(f"DROP DATABASE IF EXISTS `{name}`")
            cursor.execute(f"CREATE DATABASE `{name}` CHARACTER SET utf8mb4")
        url = urlsplit(mysql_server_url())._replace(path=f"/{name}").geturl()
    else:
        name = ""
        url = f"sqlite:///{tmp_path_factory.mktemp('live') / 'live.sqlite3'}"
    migrated = run_manage("migrate", "--noinput", env={"DATABASE_URL": url})
    assert migrated.returncode == 0, migrated.stderr
    yield url
    if name:
        with django_db_blocker.unblock(), connection.cursor() as cursor:
            cursor.execute(f"DROP DATABASE IF EXISTS `{name}`")


@pytest.fixture(scope="session")
def live_static_root(tmp_path_factory) -> str:
    """Static files collected for live servers, as the image's build step collects them."""
    root = tmp_path_factory.mktemp("static")
    collected = run_manage("collectstatic", "--noinput", env={"STATIC_ROOT": str(root)})
    assert collected.returncode == 0, collected.stderr
    return str(root)


@pytest.fixture(scope="session")
def live_server_factory(
    live_database, live_static_root, tmp_path_factory
) -> Iterator[Callable[..., LiveServer]]:
    """Start (once per distinct environment) a multi-worker gunicorn on the real Redis."""
    redis = redis_server_url()
    if not reachable(redis):
        pytest.skip(f"needs a Redis server at {redis}")
    servers: dict[tuple[tuple[str, str], ...], LiveServer] = {}

    def start(workers: int = 4, **env: str) -> LiveServer:
        key = (("workers", str(workers)), *sorted(env.items()))
        if key not in servers:
            log = tmp_path_factory.mktemp("gunicorn") / "server.log"
            servers[key] = start_server(
                database_url=live_database,
                redis_url=redis,
                log=log,
                workers=workers,
                env={"STATIC_ROOT": live_static_root, **env},
            )
        return servers[key]

    yield start
    for server in servers.values():
        server.stop()


@pytest.fixture
def session(client, db):
    """A signed-in device of an ordinary user."""
    from tests.signing import open_session

    return open_session(client)


@pytest.fixture
def staff_session(client, db):
    """A signed-in device of a staff user."""
    from tests.signing import open_session

    return open_session(client, staff=True)


@pytest.fixture
def real_redis(settings, redis_url):
    """Both caches on the real Redis, emptied; a client of its own to look at the server or act
    on it."""
    from redis import Redis

    from tests.services import redis_caches

    settings.CACHES = redis_caches(redis_url)
    caches["default"].clear()  # both aliases share the database: FLUSHDB
    return Redis.from_url(redis_url)


@pytest.fixture
def redis_round_trips(settings, redis_url, monkeypatch) -> list[list[str]]:
    """Both caches on the real Redis; then every round trip this process makes to Redis, as the
    names of the commands it sent (a pipeline is one round trip of several)."""
    from redis.connection import AbstractConnection

    from tests.services import command_names, redis_caches

    settings.CACHES = redis_caches(redis_url)
    caches["security"].clear()
    round_trips: list[list[str]] = []
    send = AbstractConnection.send_packed_command

    def counting(connection, command, check_health=True):
        chunks = [command] if isinstance(command, (bytes, str)) else command
        packed = b"".join(c.encode() if isinstance(c, str) else bytes(c) for c in chunks)
        round_trips.append(command_names(packed))
        return send(connection, command, check_health)

    monkeypatch.setattr(AbstractConnection, "send_packed_command", counting)
    return round_trips
