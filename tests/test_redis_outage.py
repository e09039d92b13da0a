"""A Redis that accepts connections but never answers (hung, overloaded, behind a black-holed
route) costs a process one socket timeout, not one per request and per Redis access: the circuit
breaker under both caches (api/redis_circuit_breaker.py), with the production CACHES.

The outage is real: a TCP server on loopback that accepts and reads but never writes. What the
tests assert of it is structural (which connections and bytes reached it), the clocks only a
sanity bound."""

import contextlib
import json
import logging
import os
import socket
import threading
import time
from collections.abc import Iterator
from typing import Any
from urllib.parse import urlsplit

import pytest
from django.core.cache import caches
from django_redis import get_redis_connection
from django_redis.pool import ConnectionFactory
from redis._parsers import _HiredisParser
from redis.exceptions import TimeoutError as RedisTimeoutError
from rest_framework.test import APIClient

from api import redis_circuit_breaker
from api.redis_circuit_breaker import CircuitBreakerConnection, circuit_breaker
from api.redis_client import HeldConnectionRedis
from api.throttling.middleware import redis_store
from tests.asserts import assert_problem
from tests.processes import DJANGO_SETUP, run_python
from tests.relay import TcpRelay
from tests.services import closed_port
from tests.signing import GET_TOKEN, ME, device_signed, open_session

# Short, so that the file runs in seconds; production has 1 s and 3 s.
SOCKET_TIMEOUT = 0.3
COOLDOWN = 1.0


class BlackHole:
    """Accepts every connection on 127.0.0.1 and reads whatever comes, never answering; counts
    the connections it accepted and the bytes it received."""

    def __init__(self, port: int = 0) -> None:
        self.listener = socket.create_server(("127.0.0.1", port))
        self.port: int = self.listener.getsockname()[1]
        self._sockets = [self.listener]
        self._accepted = 0
        self._received = 0
        self._lock = threading.Lock()
        threading.Thread(target=self._accept, daemon=True).start()

    def traffic(self) -> tuple[int, int]:
        """(connections accepted, bytes received) so far."""
        time.sleep(0.05)  # for what is on its way through loopback
        with self._lock:
            return self._accepted, self._received

    def _accept(self) -> None:
        while True:
            try:
                connection, _ = self.listener.accept()
            except OSError:
                return  # closed
            with self._lock:
                self._accepted += 1
                self._sockets.append(connection)
            threading.Thread(target=self._swallow, args=(connection,), daemon=True).start()

    def _swallow(self, connection: socket.socket) -> None:
        with contextlib.suppress(OSError):
            while data := connection.recv(65536):
                with self._lock:
                    self._received += len(data)

    def close(self) -> None:
        """Cut every connection and stop listening: the port is free again."""
        for sock in self._sockets:
            # shutdown() first, as tests/relay.py explains.
            with contextlib.suppress(OSError):
                sock.shutdown(socket.SHUT_RDWR)
            with contextlib.suppress(OSError):
                sock.close()


@pytest.fixture(scope="module")
def production_caches() -> dict[str, dict[str, Any]]:
    """CACHES as core/settings.py builds them when REDIS_URL is set, read in a fresh process."""
    code = DJANGO_SETUP + (
        "import json; from django.conf import settings; print(json.dumps(settings.CACHES))"
    )
    result = run_python(code, env={"REDIS_URL": "redis://127.0.0.1:6379/0"})
    assert result.returncode == 0, result.stderr
    return dict(json.loads(result.stdout.splitlines()[-1]))


def caches_at(production: dict[str, dict[str, Any]], url: str) -> dict[str, dict[str, Any]]:
    """The production CACHES on the Redis at `url`, with this file's short socket timeouts."""
    return {
        alias: {
            **config,
            "LOCATION": url,
            "OPTIONS": {
                **config["OPTIONS"],
                "SOCKET_CONNECT_TIMEOUT": SOCKET_TIMEOUT,
                "SOCKET_TIMEOUT": SOCKET_TIMEOUT,
            },
        }
        for alias, config in production.items()
    }


@pytest.fixture(autouse=True)
def _own_pools() -> Iterator[None]:
    """django-redis keeps one pool per URL for the process, built with the options of the first
    cache that used it: for the real Redis, another test's (tests.services.redis_caches, without
    the breaker). The tests here use pools of their own, and leave them to nobody."""
    kept = dict(ConnectionFactory._pools)
    ConnectionFactory._pools.clear()
    yield
    for pool in ConnectionFactory._pools.values():
        pool.disconnect()
    ConnectionFactory._pools.clear()
    ConnectionFactory._pools.update(kept)


def point_caches(settings, production: dict[str, dict[str, Any]], url: str) -> None:
    """Both caches on the Redis at `url`, as production configures them, on a new pool."""
    stale = ConnectionFactory._pools.pop(url, None)
    if stale is not None:
        stale.disconnect()
    settings.CACHES = caches_at(production, url)


@pytest.fixture
def on_redis(settings, production_caches, redis_url) -> Any:
    """Both caches on the real Redis (emptied), as production configures them."""
    point_caches(settings, production_caches, redis_url)
    for alias in ("default", "security"):
        caches[alias].clear()
    return settings


@pytest.fixture
def short_cooldown(monkeypatch) -> None:
    monkeypatch.setattr(redis_circuit_breaker, "COOLDOWN_SECONDS", COOLDOWN)


@pytest.fixture
def black_hole(short_cooldown) -> Iterator[BlackHole]:
    hole = BlackHole()
    yield hole
    hole.close()
    circuit_breaker(f"127.0.0.1:{hole.port}").close()  # the next user of the port starts afresh


def moved_to(redis_url: str, port: int) -> str:
    """`redis_url` (its database) on 127.0.0.1:`port`."""
    return urlsplit(redis_url)._replace(netloc=f"127.0.0.1:{port}").geturl()


def hang(on_redis, production_caches, redis_url: str, hole: BlackHole) -> None:
    point_caches(on_redis, production_caches, moved_to(redis_url, hole.port))


def used_redis(response: Any) -> bool:
    """Whether the rate limiter decided the request, on Redis: it fails open otherwise, and
    its response has no RateLimit fields."""
    return "RateLimit" in response


def breaker_records(caplog) -> list[logging.LogRecord]:
    return [record for record in caplog.records if record.name == redis_circuit_breaker.__name__]


def test_the_caches_and_the_rate_limiter_connect_through_the_breaker(on_redis):
    for alias in ("default", "security"):
        pool = get_redis_connection(alias).connection_pool
        assert pool.connection_class is CircuitBreakerConnection
        assert pool.connection_kwargs["parser_class"] is _HiredisParser
        assert isinstance(get_redis_connection(alias), HeldConnectionRedis)
    assert isinstance(redis_store._client().connection, CircuitBreakerConnection)


def test_a_warm_me_still_costs_one_round_trip_through_the_breaker(
    client, db, redis_round_trips, on_redis
):
    session = open_session(client)
    assert session.get(ME).status_code == 200  # fills the snapshots
    redis_round_trips.clear()
    response = session.get(ME)
    assert response.status_code == 200
    assert used_redis(response)
    assert redis_round_trips == [["EVALSHA"]]
    assert isinstance(redis_store._client().connection, CircuitBreakerConnection)


def test_a_hung_redis_costs_one_socket_timeout_then_requests_fail_fast(
    client, db, on_redis, production_caches, redis_url, black_hole, caplog
):
    session = open_session(client)
    hang(on_redis, production_caches, redis_url, black_hole)

    with caplog.at_level(logging.ERROR, logger="api.redis_circuit_breaker"):
        started = time.monotonic()
        response = session.get(ME)
        first = time.monotonic() - started
    # Limits fail open, the auth state and the snapshots are read from the database.
    assert response.status_code == 200
    assert response.json()["user"]["id"] == session.user_id
    assert not used_redis(response)
    # One connection (the rate limiter's), one timeout: the auth state and the snapshots, which
    # waited a timeout each before, did not try.
    assert black_hole.traffic()[0] == 1
    assert first < 3 * SOCKET_TIMEOUT, first  # 4 timeouts before
    (record,) = breaker_records(caplog)
    assert record.levelname == "ERROR"
    assert f"127.0.0.1:{black_hole.port}" in record.getMessage()

    traffic = black_hole.traffic()
    started = time.monotonic()
    responses = [session.get(ME) for _ in range(3)]
    unauthenticated = client.get(ME)
    signed = device_signed(client, session.device, GET_TOKEN, {})
    elapsed = time.monotonic() - started
    assert elapsed < COOLDOWN, "too slow a machine for this test's cooldown"

    assert [response.status_code for response in responses] == [200, 200, 200]
    assert not any(used_redis(response) for response in responses)
    assert_problem(unauthenticated, 401, "not_authenticated")
    # The nonce store fails closed.
    problem = assert_problem(signed, 503, "service_unavailable")
    assert signed["Retry-After"] == "5"
    assert "access" not in problem
    # Nothing reached the hung Redis: no connection, not a byte.
    assert black_hole.traffic() == traffic


def test_after_the_cooldown_one_request_tries_again_and_only_one(
    client, on_redis, production_caches, redis_url, black_hole
):
    hang(on_redis, production_caches, redis_url, black_hole)
    assert_problem(client.get(ME), 401, "not_authenticated")
    assert black_hole.traffic()[0] == 1
    time.sleep(COOLDOWN)

    # The trial waits for its socket timeout in another thread; meanwhile, requests fail fast.
    trial = threading.Thread(target=APIClient().get, args=(ME,))
    trial.start()
    deadline = time.monotonic() + SOCKET_TIMEOUT
    while black_hole.traffic()[0] < 2 and time.monotonic() < deadline:
        pass
    assert black_hole.traffic()[0] == 2, "the trial did not connect"
    responses = [client.get(ME) for _ in range(3)]
    trial.join()
    responses.append(client.get(ME))  # and after it failed
    assert [response.status_code for response in responses] == [401] * 4
    assert not any(used_redis(response) for response in responses)
    assert black_hole.traffic()[0] == 2


def test_once_redis_answers_again_the_breaker_closes(
    client, db, on_redis, production_caches, redis_url, black_hole, caplog
):
    session = open_session(client)
    hang(on_redis, production_caches, redis_url, black_hole)
    assert not used_redis(session.get(ME))

    # The same address, now relayed to the real Redis: the server came back.
    black_hole.close()
    redis = urlsplit(redis_url)
    relay = TcpRelay(black_hole.port, (redis.hostname or "127.0.0.1", redis.port or 6379))
    try:
        assert not used_redis(session.get(ME))  # still within the cooldown
        time.sleep(COOLDOWN)
        caplog.clear()
        with caplog.at_level(logging.WARNING, logger="api.redis_circuit_breaker"):
            response = session.get(ME)
        assert response.status_code == 200
        assert used_redis(response)
        (record,) = breaker_records(caplog)
        assert record.levelname == "WARNING"
        assert "answers again" in record.getMessage()
        # Every user of Redis is back: the nonce store too.
        assert device_signed(client, session.device, GET_TOKEN, {}).status_code == 200
        assert used_redis(session.get(ME))
    finally:
        relay.close()


def test_a_hung_redis_does_not_hold_up_another(
    client, db, on_redis, production_caches, redis_url, black_hole
):
    session = open_session(client)
    hang(on_redis, production_caches, redis_url, black_hole)
    assert not used_redis(session.get(ME))

    point_caches(on_redis, production_caches, redis_url)
    assert used_redis(session.get(ME))


def test_a_forked_worker_starts_with_its_breakers_closed():
    breaker = circuit_breaker(f"127.0.0.1:{closed_port()}")
    breaker.trip(RedisTimeoutError("Timeout reading from socket"))
    try:
        reader, writer = os.pipe()
        child = os.fork()
        if child == 0:  # pragma: no cover (the child's report is the assertion)
            try:
                os.write(writer, b"closed" if not breaker.open_until else b"open")
            finally:
                os._exit(0)
        os.close(writer)
        with os.fdopen(reader, "rb") as report:
            assert report.read() == b"closed"
        os.waitpid(child, 0)
        assert breaker.open_until  # the parent's stays open
    finally:
        breaker.close()
