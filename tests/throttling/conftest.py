"""Fixtures of the rate-limit tests. Semantic tests run against both stores: the real Redis and
the in-process one of the embedded default."""

from collections.abc import Callable

import pytest
from django.core.cache import caches

from api.throttling.middleware import memory_store
from tests.services import LOCAL_MEMORY_CACHES, redis_caches


@pytest.fixture(params=["redis", "memory"])
def store(request, settings) -> str:
    """Limits kept on the real Redis (REDIS_URL set), or in process (the embedded default)."""
    if request.param == "redis":
        settings.CACHES = redis_caches(request.getfixturevalue("redis_url"))
    else:
        settings.CACHES = LOCAL_MEMORY_CACHES
    caches["security"].clear()
    memory_store.clear()
    return str(request.param)


@pytest.fixture
def rates(settings) -> Callable[..., None]:
    """Set scopes' limits for this test: `rates(burst=(3, 2))` is 3 requests per 2 seconds."""

    def set_rates(**limits: tuple[int, int]) -> None:
        settings.RATE_LIMITS = {**settings.RATE_LIMITS, **limits}

    return set_rates
