"""Cache helpers that survive a cache outage (SPEC §6), and the client IP (api/utils.py)."""

import logging
import threading
import time

import pytest
from django.core.cache import caches, close_caches
from django.core.cache.backends.locmem import LocMemCache
from django.core.signals import request_finished, request_started
from django.db import connection, reset_queries, transaction
from django.test import RequestFactory, override_settings
from django_redis.client import DefaultClient

from api.models import User
from api.utils import (
    cache_delete,
    cache_get,
    cache_set,
    client_ip,
    get_or_set,
    now_and_on_commit,
    reset_queries_only_if_needed,
    tables_of,
    thread_cache,
)
from tests.services import LOCAL_MEMORY_CACHES, closed_port, redis_caches
from tests.subjects.models import DraftPost, PinnedPost, Post, StaffUser


@pytest.fixture(params=["configured", "redis"])
def working_cache(request, settings):
    """The run's configured cache, and the real Redis whatever the run is configured with."""
    if request.param == "redis":
        settings.CACHES = redis_caches(request.getfixturevalue("redis_url"))
        caches["default"].clear()


@pytest.fixture
def broken_cache(settings):
    """A Redis cache whose port has no listener."""
    settings.CACHES = redis_caches(f"redis://127.0.0.1:{closed_port()}/0")


@pytest.mark.usefixtures("working_cache")
class TestWorkingCache:
    def test_set_then_get_round_trips(self):
        assert cache_set("greeting", {"text": "héllo 😀"}, 60) is True
        assert cache_get("greeting") == {"text": "héllo 😀"}

    def test_missing_key_returns_the_default(self):
        assert cache_get("absent") is None
        assert cache_get("absent", "fallback") == "fallback"

    def test_delete_removes_the_key(self):
        cache_set("doomed", 1)
        assert cache_delete("doomed") is True
        assert cache_get("doomed", "gone") == "gone"

    def test_set_and_get_or_set_keep_entries_for_the_caches_timeout_by_default(self, settings):
        # Not forever: Django reads a timeout of None as "never expire".
        settings.CACHES = {
            **settings.CACHES,
            "default": {**settings.CACHES["default"], "TIMEOUT": 1},
        }
        cache_set("brief", "set")
        get_or_set("brief-too", lambda: "computed")
        assert cache_get("brief") == "set"
        assert cache_get("brief-too") == "computed"
        time.sleep(1.2)
        assert cache_get("brief") is None
        assert cache_get("brief-too") is None

    def test_get_or_set_computes_once_then_serves_the_cache(self):
        calls = []

        def compute():
            calls.append(1)
            return len(calls)

        assert get_or_set("counter", compute, 60) == 1
        assert get_or_set("counter", compute, 60) == 1
        assert calls == [1]

    def test_get_or_set_caches_a_none_result(self):
        calls = []
        assert get_or_set("nothing", lambda: calls.append(1), 60) is None
        assert get_or_set("nothing", lambda: calls.append(1), 60) is None
        assert calls == [1]


@pytest.mark.usefixtures("broken_cache")
class TestCacheOutage:
    def test_get_returns_the_default_and_logs(self, caplog):
        with caplog.at_level(logging.WARNING, logger="api.utils"):
            assert cache_get("key", "fallback") == "fallback"
        assert "cache get of 'key' failed, using the default: ConnectionError: " in caplog.text
        # The cause, which redis-py's repr of the error leaves out.
        assert "Connection refused" in caplog.text

    def test_set_and_delete_report_failure_without_raising(self):
        assert cache_set("key", "value") is False
        assert cache_delete("key") is False

    def test_get_or_set_returns_the_computed_value(self):
        assert get_or_set("key", lambda: 42) == 42


@pytest.mark.parametrize(
    ("proxies", "remote", "forwarded", "expected"),
    [
        (0, "198.51.100.1", "", "198.51.100.1"),
        (0, "198.51.100.1", "203.0.113.9", "198.51.100.1"),
        (1, "10.0.0.1", "203.0.113.9", "203.0.113.9"),
        (1, "10.0.0.1", "6.6.6.6, 203.0.113.9", "203.0.113.9"),
        (2, "10.0.0.1", "6.6.6.6, 203.0.113.9, 10.0.0.2", "203.0.113.9"),
        (2, "10.0.0.1", "203.0.113.9", "10.0.0.1"),
        (1, "10.0.0.1", "not-an-ip", "10.0.0.1"),
        (1, "10.0.0.1", "2001:DB8::1", "2001:db8::1"),
        (1, "10.0.0.1", "2001:db8::1:5678", "2001:db8::1:5678"),
    ],
)
def test_client_ip_trusts_exactly_the_configured_proxies(
    settings, proxies, remote, forwarded, expected
):
    settings.TRUSTED_PROXY_COUNT = proxies
    request = RequestFactory().get("/", REMOTE_ADDR=remote, HTTP_X_FORWARDED_FOR=forwarded)
    assert client_ip(request) == expected


@pytest.mark.parametrize(
    ("forwarded", "expected"),
    [
        ("203.0.113.9:5678", "203.0.113.9"),
        ("6.6.6.6, 203.0.113.9:5678", "203.0.113.9"),
        ("[2001:DB8::1]:5678", "2001:db8::1"),
        ("[2001:db8::1]", "2001:db8::1"),
    ],
)
def test_client_ip_takes_the_address_of_an_entry_with_a_port(settings, forwarded, expected):
    # As Azure Application Gateway writes them: the gateway's own address instead would put
    # every client in one rate-limit bucket.
    settings.TRUSTED_PROXY_COUNT = 1
    request = RequestFactory().get("/", REMOTE_ADDR="10.0.0.1", HTTP_X_FORWARDED_FOR=forwarded)
    assert client_ip(request) == expected


@pytest.mark.parametrize(
    "forwarded",
    [
        "203.0.113.9:",
        "203.0.113.9:http",
        "203.0.113.9:99999",
        "203.0.113.9:5678:1",
        "203.0.113.9:\N{SUPERSCRIPT TWO}",
        "proxy.example:5678",
        "[203.0.113.9]:5678",
        "[2001:db8::1",
        "[2001:db8::1]5678",
        "[2001:db8::1]:",
        "2001:db8::1]:5678",
    ],
)
def test_client_ip_falls_back_for_any_other_entry_with_a_colon_or_brackets(settings, forwarded):
    settings.TRUSTED_PROXY_COUNT = 1
    request = RequestFactory().get("/", REMOTE_ADDR="10.0.0.1", HTTP_X_FORWARDED_FOR=forwarded)
    assert client_ip(request) == "10.0.0.1"


@pytest.mark.django_db(transaction=True)
def test_now_and_on_commit_runs_once_outside_a_transaction_and_twice_inside():
    runs: list[str] = []
    now_and_on_commit(lambda: runs.append("outside"))
    assert runs == ["outside"]
    with transaction.atomic():
        now_and_on_commit(lambda: runs.append("inside"))
        assert runs == ["outside", "inside"]
    assert runs == ["outside", "inside", "inside"]


def test_thread_cache_is_the_object_django_gives_this_thread():
    assert thread_cache("security") is caches["security"]
    assert thread_cache("default") is caches["default"]
    seen: dict[str, object] = {}

    def in_another_thread() -> None:
        seen["ours"], seen["djangos"] = thread_cache("security"), caches["security"]

    worker = threading.Thread(target=in_another_thread)
    worker.start()
    worker.join()
    assert seen["ours"] is seen["djangos"]
    assert seen["ours"] is not caches["security"]  # Django's are per thread too


def test_thread_cache_follows_a_change_of_caches(settings, redis_url):
    before = thread_cache("security")
    settings.CACHES = redis_caches(redis_url)
    after = thread_cache("security")
    assert after is caches["security"]
    assert after is not before
    assert after.__class__.__name__ == "RedisCache"


closed_by_django: list[str] = []


class ClosingCache(LocMemCache):
    """A cache whose close() does something, as memcached's does: it records the call."""

    def close(self, **kwargs):
        closed_by_django.append("closed")


class ClosingClient(DefaultClient):  # type: ignore[misc]  # django-redis has no types
    """A django-redis client class with a close() of its own."""

    def close(self) -> None:
        closed_by_django.append("client closed")


def closes_caches_after_requests() -> bool:
    """Whether Django's close_caches listens to request_finished (disconnect says so)."""
    connected = request_finished.disconnect(close_caches)
    if connected:
        request_finished.connect(close_caches)
    return connected


@pytest.mark.parametrize("configuration", ["configured", "redis", "memory"])
def test_caches_whose_close_does_nothing_are_not_closed_after_requests(
    configuration, settings, redis_url, client
):
    if configuration == "redis":
        settings.CACHES = redis_caches(redis_url)
    elif configuration == "memory":
        settings.CACHES = LOCAL_MEMORY_CACHES
    assert not closes_caches_after_requests()
    assert client.get("/health/live/").status_code == 200


def test_a_cache_whose_close_does_something_is_closed_after_each_request(settings, client):
    settings.CACHES = {
        "default": {"BACKEND": "tests.test_utils.ClosingCache"},
        "security": {"BACKEND": "django.core.cache.backends.locmem.LocMemCache"},
    }
    closed_by_django.clear()
    caches["default"].get("opened")  # Django closes the caches this thread has opened
    assert client.get("/health/live/").status_code == 200
    assert closed_by_django == ["closed"]
    assert client.get("/health/live/").status_code == 200
    assert closed_by_django == ["closed", "closed"]


def test_django_redis_told_to_close_its_connections_is_closed_after_requests(settings, redis_url):
    settings.CACHES = redis_caches(redis_url)
    settings.DJANGO_REDIS_CLOSE_CONNECTION = True
    assert closes_caches_after_requests()
    settings.DJANGO_REDIS_CLOSE_CONNECTION = False
    assert not closes_caches_after_requests()
    closing = redis_caches(redis_url)
    closing["security"] = {
        **closing["security"],
        "OPTIONS": {**closing["security"]["OPTIONS"], "CLOSE_CONNECTION": True},  # type: ignore[dict-item]
    }
    settings.CACHES = closing
    assert closes_caches_after_requests()


@pytest.mark.parametrize(
    ("client_class", "closes"),
    [
        ("django_redis.client.HerdClient", False),  # inherits the default client's close()
        # Gives back the connection it keeps for its thread: for a cache being dropped only.
        ("api.redis_client.CacheClient", False),
        ("django_redis.client.DefaultClient", False),
        ("tests.test_utils.ClosingClient", True),
    ],
)
def test_a_django_redis_client_class_is_judged_by_its_close(
    client_class, closes, settings, redis_url
):
    configured = redis_caches(redis_url)
    configured["default"] = {
        **configured["default"],
        "OPTIONS": {**configured["default"]["OPTIONS"], "CLIENT_CLASS": client_class},  # type: ignore[dict-item]
    }
    settings.CACHES = configured
    assert closes_caches_after_requests() is closes


def test_the_receiver_follows_the_setting_back():
    with override_settings(CACHES={"default": {"BACKEND": "tests.test_utils.ClosingCache"}}):
        assert closes_caches_after_requests()
    assert not closes_caches_after_requests()


def resets_queries_as_requests_start() -> bool:
    """Whether Django's reset_queries listens to request_started (disconnect says so)."""
    connected = request_started.disconnect(reset_queries)
    if connected:
        request_started.connect(reset_queries)
    return connected


@pytest.mark.django_db
def test_query_logs_are_left_alone_while_debug_is_off(settings):
    settings.DEBUG = False
    reset_queries_only_if_needed()  # assertNumQueries, in another test, connects it as it ends
    assert not resets_queries_as_requests_start()
    # Nothing to empty: with DEBUG off, a connection logs no query unless told to.
    assert not connection.queries_logged
    with connection.cursor() as cursor:
        cursor.execute("SELECT 1")
    assert len(connection.queries_log) == 0


def test_query_logs_are_emptied_as_requests_start_while_debug_is_on():
    with override_settings(DEBUG=True):
        assert resets_queries_as_requests_start()
        connection.queries_log.append({"sql": "SELECT 1", "time": "0.000"})
        reset_queries()  # what the receiver does
        assert len(connection.queries_log) == 0
    assert not resets_queries_as_requests_start()


@pytest.mark.django_db
def test_counting_queries_still_works_around_requests(client, django_assert_num_queries):
    """assertNumQueries takes the receiver off while it counts and puts it back as it ends."""
    with django_assert_num_queries(0):
        assert client.get("/health/live/").status_code == 200
    assert resets_queries_as_requests_start()  # Django's own state after it
    reset_queries_only_if_needed()
    assert not resets_queries_as_requests_start()


def test_a_rows_tables_are_its_concrete_models_and_its_parents():
    assert tables_of(Post) == {Post}
    assert tables_of(DraftPost) == {Post}  # a proxy
    assert tables_of(StaffUser) == {User}
    assert tables_of(PinnedPost) == {PinnedPost, Post}  # multi-table inheritance
