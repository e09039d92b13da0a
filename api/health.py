"""Health probes for Kubernetes and load balancers (SPEC §5).

A middleware at the top of the stack answers them, so that they work whatever the `Host`
header (probes use the pod IP), never redirect to HTTPS, and skip auth and rate limits.
Each check runs in a worker thread and gives up after `CHECK_TIMEOUT` seconds.
"""

import contextvars
import time
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from concurrent.futures import TimeoutError as FutureTimeout
from typing import Any

from django.db import connections
from django.http import HttpRequest, HttpResponse, JsonResponse

from api.exceptions import problem_response
from api.utils import thread_cache

CHECK_TIMEOUT = 2.0
# A check stuck past its timeout keeps its thread; a few spares keep later probes answering.
_executor = ThreadPoolExecutor(max_workers=4, thread_name_prefix="health-check")


def check_database() -> None:
    """`SELECT 1` on the default database."""
    connection = connections["default"]
    # Worker threads keep their connection between probes; drop it when stale or broken.
    connection.close_if_unusable_or_obsolete()
    with connection.cursor() as cursor:
        cursor.execute("SELECT 1")
        cursor.fetchone()


def check_cache() -> None:
    """A write and a read through the default cache."""
    cache = thread_cache("default")
    cache.set("health:probe", "ok", 10)
    if cache.get("health:probe") != "ok":
        raise RuntimeError("the cache did not return what was written")


def _timed(check: Callable[[], None]) -> float:
    started = time.perf_counter()
    check()
    return round((time.perf_counter() - started) * 1000, 1)


def run_checks(
    checks: dict[str, Callable[[], None]], timeout: float = CHECK_TIMEOUT
) -> dict[str, dict[str, Any]]:
    """Run the checks concurrently under one deadline.

    Each result is {"status": "ok"|"unhealthy", "latency_ms": float} plus "error" when unhealthy.
    """
    started = time.perf_counter()
    # Each in a copy of this context, so that what a check logs carries the request's id.
    futures = {
        name: _executor.submit(contextvars.copy_context().run, _timed, check)
        for name, check in checks.items()
    }
    results: dict[str, dict[str, Any]] = {}
    for name, future in futures.items():
        remaining = max(0.0, started + timeout - time.perf_counter())
        try:
            results[name] = {"status": "ok", "latency_ms": future.result(timeout=remaining)}
            continue
        except FutureTimeout:
            future.cancel()  # still queued behind stuck checks: drop it
            error = f"no answer within {timeout:g} s"
        except Exception as exc:
            # The class name only: exception text may carry hosts or credentials.
            error = type(exc).__name__
        elapsed = round((time.perf_counter() - started) * 1000, 1)
        results[name] = {"status": "unhealthy", "latency_ms": elapsed, "error": error}
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
    healthy = all(result["status"] == "ok" for result in results.values())
    body = {"status": "ok" if healthy else "unhealthy", "checks": results}
    return _report(200 if healthy else 503, body)


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
