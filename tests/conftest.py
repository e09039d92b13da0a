"""Shared fixtures. Tests talk to the services the run is configured with (DATABASE_URL,
REDIS_URL); tests that need a real Redis or MariaDB whatever the run's settings find them on
loopback, and are skipped only where there is none (never in CI: FAIL_ON_SKIP=1 fails the run).
"""

import os

import pytest
from django.core.cache import caches
from rest_framework.test import APIClient

from tests.services import mysql_server_url, reachable, redis_server_url

_skipped: list[str] = []


def pytest_runtest_logreport(report: pytest.TestReport) -> None:
    if report.skipped:
        _skipped.append(report.nodeid)


def pytest_sessionfinish(session: pytest.Session, exitstatus: int) -> None:
    if os.environ.get("FAIL_ON_SKIP") == "1" and _skipped:
        print(f"\nFAIL_ON_SKIP: {len(_skipped)} test(s) skipped: {', '.join(_skipped)}")
        session.exitstatus = pytest.ExitCode.TESTS_FAILED


@pytest.fixture(autouse=True)
def _clean_cache() -> None:
    """Each test starts with an empty cache (on Redis: FLUSHDB of the configured database)."""
    caches["default"].clear()


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
