"""api/read_ahead.py: values read in the limiter's round trip decode as the cache's reads do."""

from typing import Any, cast

import pytest
from django.core.cache import BaseCache, caches

from api import read_ahead
from tests.services import redis_caches

VALUES = {
    "dict": {"user_id": 7, "active": True, "token_chain": "c" * 32},
    "int": 42,
    "negative": -3,
    "bool": True,
    "text": "ünïcode",
    "float": 1.5,
}


def read_raw(cache: BaseCache, keys: list[str]) -> dict[str, bytes | None]:
    """The raw values of `keys`, as the limiter's script reads them (an MGET)."""
    redis_keys = read_ahead.redis_keys(keys)
    raw = cast(Any, cache).client.get_client().mget(redis_keys)
    return dict(zip(redis_keys, raw, strict=True))


@pytest.mark.parametrize(
    "options",
    [
        {},  # django-redis's defaults: pickle, no compression
        {"PICKLE_VERSION": 1},  # a pickle without PROTO: decoded by django-redis
        {"COMPRESSOR": "django_redis.compressors.zlib.ZlibCompressor"},
        {"SERIALIZER": "django_redis.serializers.json.JSONSerializer"},
    ],
    ids=["default", "pickle-1", "zlib", "json"],
)
def test_entries_decode_as_the_caches_own_reads(settings, redis_url, options):
    settings.CACHES = redis_caches(redis_url)
    settings.CACHES["security"]["OPTIONS"] = {**settings.CACHES["security"]["OPTIONS"], **options}
    cache = caches["security"]
    cache.clear()
    values = VALUES | {"long": "x" * 5000}  # above the compressors' minimum length
    cache.set_many(values)
    keys = [*values, "absent"]
    read = read_raw(cache, keys)

    found = read_ahead.entries(cache, read, [*keys, "not-read-ahead"])

    assert found == cache.get_many(keys) | {"absent": None}
    assert found["dict"] == VALUES["dict"]
    assert (found["int"], found["bool"], found["text"]) == (42, True, "ünïcode")


def test_a_pickle_skips_django_redis_decode(settings, redis_url, monkeypatch):
    settings.CACHES = redis_caches(redis_url)
    cache = caches["security"]
    cache.set_many(VALUES)
    read = read_raw(cache, list(VALUES))
    client = cast(Any, cache).client
    decode, decoded = client.decode, []

    def recording_decode(raw: bytes) -> Any:
        decoded.append(raw)
        return decode(raw)

    monkeypatch.setattr(client, "decode", recording_decode)

    found = read_ahead.entries(cache, read, list(VALUES))

    assert found == VALUES
    assert decoded == [b"42", b"-3"]  # ints are stored as their digits, not pickled
