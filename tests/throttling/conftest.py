"""Fixtures of the rate-limit tests. Semantic tests run against both stores: the real Redis and
the in-process one of the embedded default."""

from collections.abc import Callable

import pytest
from django.core.cache import caches

from api.throttling.middleware import memory_store

LOCAL_MEMORY_CACHE = {"default": {"BACKEND": "django.core.cache.backends.locmem.LocMemCache"}}


def redis_cache(url: str) -> dict[str, dict[str, object]]:
    return {
        "default": {
            "BACKEND": "django_redis.cache.RedisCache",
            "LOCATION": url,
            "OPTIONS": {"SOCKET_CONNECT_TIMEOUT": 1.0, "SOCKET_TIMEOUT": 1.0},
        }
    }


@pytest.fixture(params=["redis", "memory"])
def store(request, settings) -> str:
    """Limits kept on the real Redis (REDIS_URL set), or in process (the embedded default)."""
    if request.param == "redis":
        settings.CACHES = redis_cache(request.getfixturevalue("redis_url"))
    else:
        settings.CACHES = LOCAL_MEMORY_CACHE
    caches["default"].clear()
    memory_store.clear()
    return str(request.param)


@pytest.fixture
def rates(settings) -> Callable[..., None]:
    """Set scopes' limits for this test: `rates(burst=(3, 2))` is 3 requests per 2 seconds."""

    def set_rates(**limits: tuple[int, int]) -> None:
        settings.RATE_LIMITS = {**settings.RATE_LIMITS, **limits}

    return set_rates
