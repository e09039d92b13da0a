"""Shared by features and by the cache machinery: the client's IP and API paths; cache helpers
that survive a cache outage (`cache_get` and co., never for security state); `thread_cache`,
each thread's cache objects at hand; invalidation after writes (`now_and_on_commit`,
`tables_of`); `save_fields`."""

import ipaddress
import logging
import threading
from collections.abc import Callable
from typing import Any, TypeVar

from django.conf import settings
from django.core.cache import BaseCache, caches, close_caches
from django.core.cache.backends.base import DEFAULT_TIMEOUT
from django.core.signals import request_finished, request_started, setting_changed
from django.db import DatabaseError, IntegrityError, reset_queries, transaction
from django.db.models import Model
from django.dispatch import receiver
from django.http import Http404, HttpRequest
from django.utils.module_loading import import_string
from django_redis.cache import RedisCache
from django_redis.client import DefaultClient

from api.logs import described
from api.redis_client import CacheClient

logger = logging.getLogger(__name__)

T = TypeVar("T")

# Headers of responses that carry a secret or a token: no cache may keep them.
NO_STORE = {"Cache-Control": "no-store"}

# Where the API lives: no session or staff middleware there (api.cms.middleware), problem+json
# errors, and rate limits even on paths that resolve to no view. core/settings.py refuses an
# ADMIN_URL or API_DOCS_PATH under it (it cannot import this module: see the import-linter
# contracts).
API_PREFIX = "/api/"


def is_api_request(request: HttpRequest) -> bool:
    return request.path_info.startswith(API_PREFIX)


def client_ip(request: HttpRequest) -> str:
    """The client's IP address, as far as it can be trusted.

    With `TRUSTED_PROXY_COUNT=0` (the default) it is the socket address: `X-Forwarded-For` is
    ignored, since any client can send one. With N > 0 proxies in front of the app, each
    appending the address it saw, it is the N-th address from the right of that header, with
    or without a port ("203.0.113.9:5678", "[2001:db8::1]:5678", "[2001:db8::1]"); a header
    shorter than that, or not an address, falls back to the socket address.
    """
    # A placeholder address (not a bind) for servers that pass no socket address.
    remote = request.META.get("REMOTE_ADDR", "") or "0.0.0.0"  # noqa: S104
    proxies = settings.TRUSTED_PROXY_COUNT
    if proxies <= 0:
        return remote
    forwarded = [part.strip() for part in request.META.get("HTTP_X_FORWARDED_FOR", "").split(",")]
    if len(forwarded) < proxies:
        return remote
    candidate = forwarded[-proxies]
    try:
        return str(ipaddress.ip_address(candidate))
    except ValueError:
        pass
    # Some proxies add the port: Azure Application Gateway writes "203.0.113.9:5678" and
    # "[2001:db8::1]:5678". Parsed only now, so a bare address costs nothing more.
    try:
        return str(_address_with_port(candidate))
    except ValueError:
        return remote


def _address_with_port(entry: str) -> ipaddress.IPv4Address | ipaddress.IPv6Address:
    """The address of "203.0.113.9:5678", "[2001:db8::1]:5678" or "[2001:db8::1]"; ValueError
    for anything else."""
    if entry.startswith("["):
        host, bracket, port = entry[1:].partition("]")
        if bracket and (not port or (port.startswith(":") and _is_port(port[1:]))):
            return ipaddress.IPv6Address(host)
    else:
        host, colon, port = entry.partition(":")
        if colon and _is_port(port):
            return ipaddress.IPv4Address(host)
    raise ValueError(f"not an address with a port: {entry!r}")


def _is_port(text: str) -> bool:
    return text.isascii() and text.isdigit() and int(text) <= 65535


class _ThreadCaches(threading.local):
    def __init__(self) -> None:
        self.generation = -1
        self.by_alias: dict[str, BaseCache] = {}


_thread_caches = _ThreadCaches()
_caches_generation = 0


def thread_cache(alias: str) -> BaseCache:
    """`caches[alias]`: the same object, kept at hand. Django keeps one cache object per alias
    and thread, until CACHES changes (a test's override_settings), but finds it through
    asgiref's Local on every lookup: the six of a `GET /api/v1/me/` were 6 % of its
    instructions (bench/README.md). This remembers them per thread, and forgets them when
    CACHES changes."""
    memo = _thread_caches
    if memo.generation != _caches_generation:
        memo.by_alias = {}
        memo.generation = _caches_generation
    found = memo.by_alias.get(alias)
    if found is None:
        found = memo.by_alias[alias] = caches[alias]
    return found


def _closing_does_nothing(config: dict[str, Any]) -> bool:
    """Whether `close()` of a cache so configured need not follow each request: it does nothing
    (Django's base: local memory, database, file, dummy; django-redis's default client, which
    keeps its pool open unless told to close it), or it gives back the connection our client
    keeps for its thread's next request (api.redis_client.CacheClient), which only matters
    when the cache is dropped: Django closes caches then."""
    backend = import_string(config["BACKEND"])
    if backend.close is BaseCache.close:
        return True
    options = config.get("OPTIONS", {})
    client = import_string(options.get("CLIENT_CLASS", "django_redis.client.DefaultClient"))
    return (
        backend.close is RedisCache.close
        and (client.close is DefaultClient.close or issubclass(client, CacheClient))
        and not options.get(
            "CLOSE_CONNECTION", getattr(settings, "DJANGO_REDIS_CLOSE_CONNECTION", False)
        )
    )


def close_caches_only_if_needed() -> None:
    """Django closes every cache it has opened after each request (its `close_caches`, on
    request_finished). With the caches configured here that closes nothing, yet finding them
    through asgiref's Local was 94,000 instructions, 6.5 % of a `GET /api/v1/me/`
    (bench/README.md, finding 18). This keeps Django's receiver connected only while a
    configured cache's `close()` does something (memcached, or django-redis with
    CLOSE_CONNECTION)."""
    if all(_closing_does_nothing(config) for config in settings.CACHES.values()):
        request_finished.disconnect(close_caches)
    else:
        request_finished.connect(close_caches)


@receiver(setting_changed)
def _follow_caches_setting(*, setting: str, **kwargs: Any) -> None:
    global _caches_generation
    if setting == "CACHES":
        _caches_generation += 1
    if setting in ("CACHES", "DJANGO_REDIS_CLOSE_CONNECTION"):
        close_caches_only_if_needed()


def reset_queries_only_if_needed() -> None:
    """Django empties every open database connection's query log as each request starts (its
    `reset_queries`, on request_started). A connection logs its queries only with DEBUG on, or
    when something sets its `force_debug_cursor` (Django's assertNumQueries, `test --debug-sql`),
    so in production the log it empties is always empty, yet finding the thread's connections
    through asgiref's Local costs 40,000 instructions, 3 % of a `GET /api/v1/me/`
    (bench/README.md, finding 26). This keeps Django's receiver connected only while DEBUG is
    on. With DEBUG off, a connection told to log anyway keeps its last 9,000 queries (the log's
    own bound) rather than one request's; assertNumQueries connects the receiver again as it
    ends, as it always does, so tests that count queries see Django's behaviour."""
    if settings.DEBUG:
        request_started.connect(reset_queries)
    else:
        request_started.disconnect(reset_queries)


@receiver(setting_changed)
def _follow_debug_setting(*, setting: str, **kwargs: Any) -> None:
    if setting == "DEBUG":
        reset_queries_only_if_needed()


# Cache helpers (SPEC §6). The cache is an optimisation: when it fails, log and carry on with
# the fallback rather than fail the request. Security state (nonces, limits, revocations) must
# NOT use these: it needs errors to surface.


def cache_get(key: str, default: T | None = None, *, alias: str = "default") -> Any:
    """Return the cached value of `key`, or `default` when it is missing or the cache fails."""
    try:
        return thread_cache(alias).get(key, default)
    except Exception as exc:
        logger.warning("cache get of %r failed, using the default: %s", key, described(exc))
        return default


def cache_set(
    key: str, value: Any, timeout: float | None = DEFAULT_TIMEOUT, *, alias: str = "default"
) -> bool:
    """Store `value` under `key` for `timeout` seconds: by default the cache's TIMEOUT; None
    keeps it until evicted, as in Django.

    Returns False, after logging, when the cache fails.
    """
    try:
        thread_cache(alias).set(key, value, timeout)
    except Exception as exc:
        logger.warning("cache set of %r failed: %s", key, described(exc))
        return False
    return True


def cache_delete(key: str, *, alias: str = "default") -> bool:
    """Remove `key`. Returns False, after logging, when the cache fails."""
    try:
        thread_cache(alias).delete(key)
    except Exception as exc:
        logger.warning("cache delete of %r failed: %s", key, described(exc))
        return False
    return True


_MISSING = object()


def get_or_set(
    key: str,
    compute: Callable[[], T],
    timeout: float | None = DEFAULT_TIMEOUT,
    *,
    alias: str = "default",
) -> T:
    """Return the cached value of `key`, else compute it, store it (for `timeout` seconds, as
    `cache_set`) and return it.

    When the cache fails the value is computed and returned all the same; `compute` runs at
    most once per call.
    """
    cached = cache_get(key, _MISSING, alias=alias)
    if cached is not _MISSING:
        return cached  # type: ignore[no-any-return]
    value = compute()
    cache_set(key, value, timeout, alias=alias)
    return value


def now_and_on_commit(action: Callable[[], None], using: str | None = None) -> None:
    """Run `action` now and, inside a transaction (on database `using`), again once it commits.

    For invalidating a cache after a write: now, so that code in the same transaction (and
    a test, which never commits) reads its own writes; again at commit, because a reader in
    another transaction may have refilled the cache from the old rows in between.
    """
    if transaction.get_connection(using).in_atomic_block:
        action()
    transaction.on_commit(action, using=using)


def table_model(model: type[Model]) -> type[Model]:
    """The model whose table holds `model`'s rows: itself, or the model a proxy stands for."""
    return model._meta.concrete_model or model


def tables_of(model: type[Model]) -> set[type[Model]]:
    """The models whose tables hold a row saved through `model`: its concrete model (itself, or
    the model a proxy stands for) and, under multi-table inheritance, each parent.

    A model signal's sender is the class the row was saved through, and a receiver connected
    with `sender=User` never hears of a save through a proxy of User (an admin of staff only,
    say). Receivers that follow a table's rows listen to every sender and ask this instead."""
    return {table_model(model), *model._meta.get_parent_list()}


def save_fields(instance: Model, fields: list[str]) -> None:
    """`instance.save(update_fields=fields)` in its own savepoint, a row deleted meanwhile (by a
    concurrent DELETE) being the 404 it would have been a moment earlier instead of a 500.
    IntegrityError is the caller's to answer: it knows which constraint the change can break."""
    try:
        with transaction.atomic():
            instance.save(update_fields=fields)
    except IntegrityError:
        raise
    except DatabaseError as exc:
        # How Django 5.2 says the UPDATE found no row (Django 6 raises Model.NotUpdated, a
        # DatabaseError too); any other database error is not ours to answer.
        if "did not affect any rows" not in str(exc):
            raise
        raise Http404 from exc
