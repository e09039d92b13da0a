"""The caches' Redis client holds one connection for all its commands (api/redis_client.py): per
thread, through a killed connection, and across fork(). On the real Redis."""

import gc
import os
import threading
from typing import Any

from django.core.cache import caches
from django_redis import get_redis_connection

from api.redis_client import HeldConnectionRedis
from tests.services import redis_caches


def test_a_cache_sends_all_its_commands_on_one_connection(real_redis, monkeypatch):
    cache = caches["default"]
    client = get_redis_connection("default")
    assert isinstance(client, HeldConnectionRedis)
    held, first = client.connection, client.client_id()
    pool = client.connection_pool
    checkouts: list[object] = []
    take = pool.get_connection

    def counted() -> Any:
        checkouts.append(1)
        return take()

    monkeypatch.setattr(pool, "get_connection", counted)

    cache.set("held:a", 1)
    assert cache.get("held:a") == 1
    assert cache.get_many(["held:a", "held:b"]) == {"held:a": 1}
    assert client.connection is held
    assert client.client_id() == first
    assert checkouts == []  # the pool was not asked once


def test_each_thread_has_a_connection_of_its_own(real_redis):
    ids: dict[int, set[int]] = {}
    errors: list[BaseException] = []
    start = threading.Barrier(4)

    def work(index: int) -> None:
        try:
            cache, client = caches["default"], get_redis_connection("default")
            start.wait()
            seen = set()
            for round_ in range(200):  # all four at once, on one pool
                cache.set(f"held:{index}", (index, round_))
                assert cache.get(f"held:{index}") == (index, round_)
                seen.add(client.client_id())
            ids[index] = seen
        except BaseException as error:  # reported below: a thread's assert is not the test's
            errors.append(error)

    threads = [threading.Thread(target=work, args=(index,)) for index in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert errors == []
    assert all(len(seen) == 1 for seen in ids.values())  # one connection per thread
    assert len(set().union(*ids.values())) == 4  # and none shared


def test_a_connection_the_server_closed_is_replaced_on_the_next_command(real_redis):
    cache = caches["default"]
    cache.set("held:kept", "value")
    client = get_redis_connection("default")
    killed = client.client_id()
    assert real_redis.client_kill_filter(_id=killed) == 1  # as a Redis restart or idle timeout

    assert cache.get("held:kept") == "value"
    assert client.client_id() != killed


def test_a_forked_child_does_not_use_its_parents_connection(real_redis):
    cache = caches["default"]
    cache.set("held:fork", "parent")
    client = get_redis_connection("default")
    parent = client.client_id()
    read_end, write_end = os.pipe()
    pid = os.fork()
    if pid == 0:  # pragma: no cover (the child's report is the assertion)
        try:
            report: Any = (client.client_id(), cache.get("held:fork"))
        except BaseException as error:
            report = repr(error)
        os.write(write_end, repr(report).encode())
        os._exit(0)
    os.close(write_end)
    os.waitpid(pid, 0)
    with os.fdopen(read_end, "rb") as reader:
        child_id, child_value = eval(reader.read().decode())  # noqa: S307 (our child's repr)
    assert child_value == "parent"
    assert child_id != parent
    # The parent's connection was left alone: same connection, still in step.
    assert client.client_id() == parent
    assert cache.get("held:fork") == "parent"


def test_a_cache_gives_its_connection_back_when_caches_change(real_redis, settings, redis_url):
    # Django closes this thread's caches, then drops them; the old objects live on (asgiref's
    # storage of this thread), but hold no connection.
    client = get_redis_connection("default")
    pool, held = client.connection_pool, client.connection
    settings.CACHES = redis_caches(redis_url)
    assert held not in pool._in_use_connections
    assert client.connection is None
    assert caches["default"].get("held:none") is None  # the new cache takes one


def test_a_cache_dropped_with_its_thread_gives_its_connection_back_at_once(real_redis):
    # runserver starts a thread a request. Without the cyclic garbage collector, which would
    # otherwise have to find the cache and its client referring to each other.
    held: list[Any] = []

    def request() -> None:
        caches["default"].set("held:thread", 1)
        held.append(get_redis_connection("default").connection)

    pool = get_redis_connection("default").connection_pool
    gc.disable()
    try:
        thread = threading.Thread(target=request)
        thread.start()
        thread.join()
        assert held[0] is not None
        assert held[0] not in pool._in_use_connections
        assert held[0] in pool._available_connections
    finally:
        gc.enable()


def test_a_command_after_close_takes_a_connection_again(real_redis):
    cache = caches["default"]
    cache.set("held:closed", 1)
    cache.close()
    assert get_redis_connection("default").connection is None
    assert cache.get("held:closed") == 1
    assert get_redis_connection("default").connection is not None
