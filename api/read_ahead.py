"""Security-cache entries read ahead, in the rate limiter's Redis round trip.

The limiter makes one round trip to Redis for every request it decides. Entries the request
will read anyway ride along, read by the limiter's script as it decides: the auth state that
authentication checks (api.authentication.request_read_ahead_keys) and what the view names in
its `read_ahead` hook (GET /api/v1/me/ names the caller's snapshots, api.snapshots; a list its
count's generation, api.counts). The raw values are kept on the request; their readers decode
them here instead of asking Redis again.

A view's hook, for a feature that reads security-cache entries of its own on every request:

    @staticmethod
    def read_ahead(request: HttpRequest, claims: TokenClaims) -> list[str]:
        return redis_keys([...]) if request.method == "GET" else []

It returns full Redis keys (`redis_keys`) and checks the method itself; it is called only for a
request with a valid bearer token, before the view runs. `counts.list_read_ahead(Model)` writes
one for a list of a `@counts.tracked` model. Readers must work when `values(request)` is None
(no Redis, limits off, a view exempt from limits) and for any key it lacks: then they read the
cache themselves. A hook is an optimisation only: without one, every read still works.
"""

import pickle
from collections.abc import Iterable, Mapping
from typing import Any, cast

from django.core.cache import BaseCache
from django.http import HttpRequest
from django_redis.compressors.identity import IdentityCompressor
from django_redis.serializers.pickle import PickleSerializer

from api.utils import thread_cache

_ATTRIBUTE = "_read_ahead_values"


def redis_keys(keys: Iterable[str]) -> list[str]:
    """The full Redis keys of security-cache `keys`: what a read-ahead names."""
    cache = thread_cache("security")
    return [cache.make_key(key) for key in keys]


def keep(request: HttpRequest, keys: list[str], values: list[bytes | None]) -> None:
    """Remember the raw values read for `keys` (full Redis keys) for the rest of the request."""
    setattr(request, _ATTRIBUTE, dict(zip(keys, values, strict=True)))


def values(request: HttpRequest) -> Mapping[str, bytes | None] | None:
    """The raw values read ahead for this request, by full Redis key; None if nothing was."""
    return getattr(request, _ATTRIBUTE, None)


def entries(
    cache: BaseCache, read: Mapping[str, bytes | None] | None, keys: Iterable[str]
) -> dict[str, Any]:
    """The entries of `keys` (the cache's own keys, unprefixed) that were read ahead, decoded as
    the cache's own reads would; a key read ahead and absent maps to None, a key not read ahead
    is left out."""
    if not read:
        return {}
    # Raw values come only from Redis, so the cache is django-redis's and its client decodes.
    # With its default serializer and no compression, a pickle goes straight to pickle.loads:
    # its `decode` tries `int()` on every value first and catches the ValueError, five times
    # the cost (3 µs an entry). A pickle (protocol 2 or later) starts with PROTO, 0x80; an int
    # (stored as its digits) or an older protocol's pickle still goes through `decode`.
    client = cast(Any, cache).client
    pickles = (
        type(client._serializer) is PickleSerializer
        and type(client._compressor) is IdentityCompressor
    )
    found: dict[str, Any] = {}
    for key in keys:
        redis_key = cache.make_key(key)
        if redis_key in read:
            raw = read[redis_key]
            if raw is None:
                found[key] = None
            elif pickles and raw[:1] == b"\x80":
                found[key] = pickle.loads(raw)  # noqa: S301 (our own cache, as django-redis does)
            else:
                found[key] = client.decode(raw)
    return found


def read_many(
    cache: BaseCache, read: Mapping[str, bytes | None] | None, keys: list[str]
) -> dict[str, Any]:
    """The entries of `keys`, each present (None where absent): those read ahead from `read`,
    the others from the cache, together in one round trip."""
    found = entries(cache, read, keys)
    if missing := [key for key in keys if key not in found]:
        found.update(dict.fromkeys(missing) | cache.get_many(missing))
    return found
