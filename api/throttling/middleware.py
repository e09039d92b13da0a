"""The rate-limit decision of every request but health, taken before authentication (SPEC §4)."""

import functools
import ipaddress
import logging
import math
import threading
import time
from collections.abc import Callable, Sequence
from typing import Any

from django.conf import settings
from django.core.exceptions import ImproperlyConfigured
from django.core.signals import setting_changed
from django.dispatch import receiver
from django.http import HttpRequest, HttpResponse
from django.shortcuts import render
from django_redis.cache import RedisCache
from redis.exceptions import RedisError, ResponseError

from api import read_ahead
from api.authentication import request_read_ahead_keys
from api.logs import described
from api.problems import problem_response, wants_problem
from api.throttling.decision import Decision, Limit, RateLimitStore
from api.throttling.memory_store import MemoryRateLimitStore
from api.throttling.redis_store import RedisRateLimitStore
from api.throttling.scopes import ALWAYS, applicable_scopes
from api.utils import client_ip, is_api_request, thread_cache

logger = logging.getLogger(__name__)

# One of each per process; which one serves a request follows the cache (REDIS_URL).
memory_store = MemoryRateLimitStore()
redis_store = RedisRateLimitStore()

# Set on the request by process_view: the Decision, or None when nothing was decided.
DECISION_ATTRIBUTE = "rate_limit_decision"
OUTAGE_LOG_INTERVAL = 60.0


def rate_limit_key(request: HttpRequest) -> str:
    """The client a request counts against: its IP address (see `client_ip`), for IPv6 its /64,
    which a single subscriber usually holds whole."""
    return _client_key(client_ip(request))


@functools.lru_cache(maxsize=4096)
def _client_key(ip: str) -> str:
    # Parsing an address is a few µs on every request; clients come back, so keep the recent.
    try:
        address = ipaddress.ip_address(ip)
    except ValueError:
        return ip
    if isinstance(address, ipaddress.IPv6Address):
        if address.ipv4_mapped is not None:
            return str(address.ipv4_mapped)
        return str(ipaddress.IPv6Network((int(address) >> 64 << 64, 64)))
    return str(address)


def limits_for(scopes: Sequence[str]) -> list[Limit]:
    """The configured limit of each scope (settings.RATE_LIMITS)."""
    rates: dict[str, tuple[int, int]] = settings.RATE_LIMITS
    unknown = [scope for scope in scopes if scope not in rates]
    if unknown:
        raise ImproperlyConfigured(
            f"Unknown rate-limit scope(s) {unknown}; RATE_LIMITS defines {sorted(rates)}."
        )
    return [Limit(scope, *rates[scope]) for scope in scopes]


def view_limits(view: Callable[..., Any], method: str, *, api: bool) -> tuple[Limit, ...]:
    """The limits of every scope that applies to a `method` request to `view` (the callable its
    URL resolved to), in `applicable_scopes`'s order; empty for an exempt view.

    They follow from the view's declarations and settings.RATE_LIMITS alone, so each process
    derives them once per view and method, not on every request: reading and checking the
    declarations and building the limits was 45,000 instructions, 3 % of a `GET /api/v1/me/`
    (bench/README.md, finding 27). A change of RATE_LIMITS (a test's settings) forgets them; a
    view's declarations are read once, as its URL patterns are. A misdeclared view or an
    unknown scope raises ImproperlyConfigured on each request, as before.
    """
    if type(view).__hash__ is None:  # a callable that cannot be a key: derived every time
        return _derived_limits(view, method, api)
    return _remembered_limits(view, method, api)


def _derived_limits(view: Callable[..., Any], method: str, api: bool) -> tuple[Limit, ...]:
    return tuple(limits_for(applicable_scopes(view, method, api=api)))


# Bounded: the method is the client's to choose.
_remembered_limits = functools.lru_cache(maxsize=1024)(_derived_limits)


@receiver(setting_changed)
def _forget_limits(*, setting: str, **kwargs: Any) -> None:
    if setting == "RATE_LIMITS":
        _remembered_limits.cache_clear()


def current_store() -> RateLimitStore:
    """Redis whenever the cache is Redis: limits must hold across processes and hosts then."""
    if isinstance(thread_cache("security"), RedisCache):
        return redis_store
    return memory_store


def add_rate_limit_headers(response: HttpResponse, decision: Decision) -> None:
    """The IETF RateLimit fields (draft-ietf-httpapi-ratelimit-headers) of the scope with the
    fewest requests left: its policy (quota, window) and what is left until when."""
    state = decision.most_restrictive
    name, quota, window = state.limit.scope, state.limit.quota, state.limit.window
    response["RateLimit-Policy"] = f'"{name}";q={quota};w={window}'
    response["RateLimit"] = f'"{name}";r={state.remaining};t={math.ceil(state.reset)}'


def throttled_response(request: HttpRequest, decision: Decision) -> HttpResponse:
    """429 `throttled`, with `Retry-After`: when every scope that denied has room again."""
    wait = decision.retry_after
    if not wants_problem(request):
        # The admin and the CMS are pages for people: an HTML page, like their other errors.
        response = render(request, "429.html", {"retry_after": wait}, status=429)
        response["Retry-After"] = str(wait)
        return response
    limit = decision.most_restrictive.limit
    detail = (
        f"Too many requests: the {limit.scope} limit is {limit.quota} per {limit.window} s. "
        f"Retry in {wait} s."
    )
    return problem_response(request, 429, "throttled", detail, headers={"Retry-After": str(wait)})


class OutageLog:
    """Logs that the store is unreachable at most once per interval, with how many requests
    passed unlimited meanwhile: an outage must not flood the logs."""

    def __init__(self, interval: float = OUTAGE_LOG_INTERVAL) -> None:
        self._interval = interval
        self._lock = threading.Lock()
        self._next_report = -math.inf
        self._unlimited = 0

    def report(self, error: Exception) -> None:
        with self._lock:
            self._unlimited += 1
            now = time.monotonic()
            if now < self._next_report:
                return
            self._next_report = now + self._interval
            unlimited, self._unlimited = self._unlimited, 0
        # An error reply is no outage but a Redis that refuses the script (an ACL without
        # scripting, a full memory): it lasts until someone acts.
        verb = (
            "refuses the limiter's script"
            if isinstance(error, ResponseError)
            else "does not answer"
        )
        # Without redis-py's own full stop ("Connection refused."), which the message adds.
        cause = f"{verb}: {described(error).rstrip('.')}"
        logger.error(
            "Rate limiting is failing open, its Redis %s. %d request(s) passed unlimited since "
            "the last report.",
            cause,
            unlimited,
        )


class RateLimitMiddleware:
    """Decides each request's limits in `process_view`: after URL resolution, which names the
    view and so its scopes, and before the view, so before CSRF checks and DRF authentication.

    Requests under /api/ that resolve to no view count against burst and sustained too. Health
    probes never get here (HealthCheckMiddleware answers them first). If Redis is unreachable,
    requests pass (fail open) and the outage is logged once a minute.
    """

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response
        self.outage_log = OutageLog()

    def __call__(self, request: HttpRequest) -> HttpResponse:
        response = self.get_response(request)
        if hasattr(request, DECISION_ATTRIBUTE):
            decision = getattr(request, DECISION_ATTRIBUTE)
        elif self._unrouted_api_request(request, response):
            # No view, so nothing ran that a limit protects: deciding now is as good as before.
            decision = self._decide(request, limits_for(ALWAYS), None)
            if decision is not None and not decision.admitted:
                response = throttled_response(request, decision)
        else:
            decision = None
        if decision is not None:
            add_rate_limit_headers(response, decision)
        return response

    def process_view(
        self,
        request: HttpRequest,
        view_func: Callable[..., Any],
        view_args: tuple[Any, ...],
        view_kwargs: dict[str, Any],
    ) -> HttpResponse | None:
        decision = None
        if settings.RATE_LIMIT_ENABLED:
            limits = view_limits(view_func, request.method or "GET", api=is_api_request(request))
            decision = self._decide(request, limits, view_func) if limits else None
        setattr(request, DECISION_ATTRIBUTE, decision)
        if decision is not None and not decision.admitted:
            return throttled_response(request, decision)
        return None

    def _decide(
        self,
        request: HttpRequest,
        limits: Sequence[Limit],
        view_func: Callable[..., Any] | None,
    ) -> Decision | None:
        """The store's decision, or None: limiting is off, or its store is unreachable.

        On Redis, what authentication and the view will read is read in the same round trip
        (api.read_ahead): for a bearer request, limiting and the revocation check cost one
        round trip together, not two.
        """
        if not settings.RATE_LIMIT_ENABLED:
            return None
        store = current_store()
        try:
            if isinstance(store, RedisRateLimitStore) and (
                keys := request_read_ahead_keys(request, view_func)
            ):
                decision, values = store.decide_and_read(rate_limit_key(request), limits, keys)
                read_ahead.keep(request, keys, values)
                return decision
            return store.decide(rate_limit_key(request), limits)
        except RedisError as error:
            self.outage_log.report(error)
            return None

    @staticmethod
    def _unrouted_api_request(request: HttpRequest, response: HttpResponse) -> bool:
        return (
            response.status_code == 404
            and request.resolver_match is None
            and is_api_request(request)
        )
