"""Health probes for Kubernetes and load balancers (SPEC §5).

A middleware at the top of the stack answers them, so that they work whatever the `Host`
header (probes use the pod IP), never redirect to HTTPS, and skip auth and rate limits.
Each check runs in a thread of its own and gives up after `CHECK_TIMEOUT` seconds.
"""

import contextvars
import logging
import threading
import time
from collections.abc import Callable
from concurrent.futures import Future
from concurrent.futures import TimeoutError as FutureTimeout
from typing import Any

from django.db import DEFAULT_DB_ALIAS, connections
from django.db.backends.base.base import BaseDatabaseWrapper
from django.db.utils import load_backend
from django.http import HttpRequest, HttpResponse, JsonResponse

from api.logs import logged_already
from api.problems import problem_response
from api.utils import thread_cache

logger = logging.getLogger(__name__)

CHECK_TIMEOUT = 2.0

# What a run of a check comes to: its duration in milliseconds, and its error's class name or None.
Outcome = tuple[float, str | None]

# The run of each check in flight, shared by the probes that arrive while it runs: a flood of
# probes (they skip the rate limits) opens one database connection at a time per process, not
# one per probe, and a slow check never piles up threads.
_running: dict[Callable[[], None], Future[Outcome]] = {}
_running_lock = threading.Lock()


def check_database() -> None:
    """`SELECT 1` on a new connection to the default database, closed afterwards."""
    # Not this thread's persistent connection: a query on one whose server went silent has no
    # read timeout and waits for TCP to give up (~15 min), and the probe would keep failing
    # after the database came back. A new connection costs about a millisecond on MariaDB.
    connection = _new_connection(timeout=CHECK_TIMEOUT)
    try:
        with connection.cursor() as cursor:
            cursor.execute("SELECT 1")
            cursor.fetchone()
    finally:
        connection.close()


def _new_connection(timeout: float) -> BaseDatabaseWrapper:
    """A connection of its own to the default database (opened on first use) whose every wait
    gives up after `timeout`, set up as the app's are (init command, isolation level)."""
    settings_dict = {**connections.settings[DEFAULT_DB_ALIAS]}
    connection: BaseDatabaseWrapper = load_backend(settings_dict["ENGINE"]).DatabaseWrapper(
        settings_dict, DEFAULT_DB_ALIAS
    )
    limits: dict[str, float] = {}  # other vendors: unbounded, the probe answers in time anyway
    if connection.vendor == "mysql":
        # Each wait of mysqlclient (and PyMySQL) on the network: connecting, the handshake,
        # every read and write. The driver counts whole seconds; no more than the check's.
        seconds = max(1, int(timeout))
        limits = {"connect_timeout": seconds, "read_timeout": seconds, "write_timeout": seconds}
    elif connection.vendor == "sqlite":
        limits = {"timeout": timeout}  # the wait for another writer's lock
    settings_dict["OPTIONS"] = {**settings_dict["OPTIONS"], **limits}
    return connection


def check_cache() -> None:
    """A write and a read through the default cache."""
    # Bounded by the cache's own timeouts: on Redis, settings give each connect and each
    # command 1 s (SOCKET_CONNECT_TIMEOUT, SOCKET_TIMEOUT), under CHECK_TIMEOUT.
    cache = thread_cache("default")
    cache.set("health:probe", "ok", 10)
    if cache.get("health:probe") != "ok":
        raise RuntimeError("the cache did not return what was written")


def _timed(check: Callable[[], None]) -> Outcome:
    """How long `check` took, in milliseconds, and the class name of its error if it failed:
    a failure reports its own duration (a refused connection is quick, a timeout is not), not
    how long the probe waited for the other checks."""
    started = time.perf_counter()
    error = None
    try:
        check()
    except Exception as exc:
        # The class name only: exception text may carry hosts or credentials.
        error = type(exc).__name__
    return round((time.perf_counter() - started) * 1000, 1), error


def _run(check: Callable[[], None], future: Future[Outcome], context: contextvars.Context) -> None:
    try:
        future.set_result(context.run(_timed, check))
    finally:
        with _running_lock:
            del _running[check]


def _started(name: str, check: Callable[[], None]) -> Future[Outcome]:
    """The run of `check` in flight, else a new one.

    A thread per run, not a pool: a run still going from an earlier probe never holds a
    thread that the next probe's checks wait for, and a daemon thread never delays the
    worker's exit.
    """
    with _running_lock:
        future = _running.get(check)
        if future is None:
            future = _running[check] = Future()
            # In a copy of this context, so that what a check logs carries the request's id.
            arguments = (check, future, contextvars.copy_context())
            threading.Thread(
                target=_run, args=arguments, name=f"health-check:{name}", daemon=True
            ).start()
        return future


def run_checks(
    checks: dict[str, Callable[[], None]], timeout: float | None = None
) -> dict[str, dict[str, Any]]:
    """Run the checks concurrently under one deadline (`CHECK_TIMEOUT` unless given).

    Each result is {"status": "ok"|"unhealthy", "latency_ms": float} plus "error" when unhealthy.
    """
    if timeout is None:
        timeout = CHECK_TIMEOUT
    started = time.perf_counter()
    futures = {name: _started(name, check) for name, check in checks.items()}
    results: dict[str, dict[str, Any]] = {}
    for name, future in futures.items():
        remaining = max(0.0, started + timeout - time.perf_counter())
        try:
            latency_ms, error = future.result(timeout=remaining)
        except FutureTimeout:
            latency_ms, error = round(timeout * 1000, 1), f"no answer within {timeout:g} s"
        if error is None:
            results[name] = {"status": "ok", "latency_ms": latency_ms}
        else:
            results[name] = {"status": "unhealthy", "latency_ms": latency_ms, "error": error}
    return results


def _report(status: int, body: dict[str, Any]) -> HttpResponse:
    response = JsonResponse(body, status=status)
    response["Cache-Control"] = "no-store"
    return response


def live(request: HttpRequest) -> HttpResponse:
    """The process is up. Touches nothing."""
    return _report(200, {"status": "ok"})


def _checked(checks: dict[str, Callable[[], None]]) -> HttpResponse:
    results = run_checks(checks)
    failed = {name: result["error"] for name, result in results.items() if "error" in result}
    body = {"status": "unhealthy" if failed else "ok", "checks": results}
    if not failed:
        return _report(200, body)
    # A WARNING naming what failed, not Django's ERROR for a 503 (which names nothing): a probe
    # asks every few seconds, and an outage should not page people or fill Sentry once a probe.
    logger.warning("Unhealthy: %s", ", ".join(f"{name}: {error}" for name, error in failed.items()))
    return logged_already(_report(503, body))


def ready(request: HttpRequest) -> HttpResponse:
    """Ready for traffic: the database answers."""
    return _checked({"database": check_database})


def full(request: HttpRequest) -> HttpResponse:
    """Every dependency: the database and the cache."""
    return _checked({"database": check_database, "cache": check_cache})


HEALTH_VIEWS: dict[str, Callable[[HttpRequest], HttpResponse]] = {
    "/health/": full,
    "/health/ready/": ready,
    "/health/live/": live,
}


class HealthCheckMiddleware:
    """Answers the health paths before host validation, HTTPS redirects, auth and limits."""

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        view = HEALTH_VIEWS.get(request.path_info)
        if view is None:
            return self.get_response(request)
        if request.method not in ("GET", "HEAD"):
            return problem_response(request, 405, headers={"Allow": "GET, HEAD"})
        return view(request)
