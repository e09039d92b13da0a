"""A circuit breaker per Redis server under every connection of the caches: once a server has
not answered in time, calls to it fail at once for a while instead of each waiting out its
socket timeout, so a hung Redis costs the API no more than a stopped one (SPEC §4).
redis-py and django-redis have no such thing (their retries make a hung server cost more), and
a general breaker library would still need these hooks into redis-py's connection."""

import logging
import os
import threading
import time
from typing import Any

from django.core.exceptions import ImproperlyConfigured
from redis.connection import (
    AbstractConnection,
    Connection,
    ConnectionPool,
    SSLConnection,
    UnixDomainSocketConnection,
)
from redis.exceptions import ConnectionError as RedisConnectionError
from redis.exceptions import ResponseError
from redis.exceptions import TimeoutError as RedisTimeoutError
from redis.utils import SENTINEL

logger = logging.getLogger(__name__)

# How long calls to a server that failed fail fast before one call, the trial, may try it
# again. Each trial that finds it still hung costs its request a socket timeout (1 s), so a
# process spends at most that every COOLDOWN_SECONDS on a dead Redis (with 4 threads, a
# twelfth of its time at 3 s, half of it at 0.5 s), and sees it back at most this long after
# it recovered: signed endpoints answer 503 and limits are off until then, so not much longer
# than the 5 s of Retry-After those 503s carry.
COOLDOWN_SECONDS = 3.0


class CircuitBreaker:
    """What this process knows of one Redis server: closed (`open_until` 0.0, calls go
    through) or open until `open_until` (time.monotonic()), when the next call makes the trial,
    the only one let through until it has an answer or the cooldown, re-armed for it, is over.
    """

    def __init__(self, address: str) -> None:
        self.address = address
        # Read without the lock on every command: closed is a float's truth test.
        self.open_until = 0.0
        self._trial: AbstractConnection | None = None
        self._failure = ""
        self._lock = threading.Lock()

    def admit(self, connection: AbstractConnection) -> bool:
        """Whether `connection` has just been made the trial; raises redis's ConnectionError,
        which every user of the caches already handles, while the breaker refuses calls."""
        with self._lock:
            if not self.open_until or connection is self._trial:
                return False
            now = time.monotonic()
            if now < self.open_until:
                raise RedisConnectionError(
                    f"Redis at {self.address} failed ({self._failure}): calls to it fail fast "
                    f"for {self.open_until - now:.1f} s more."
                )
            self.open_until = now + COOLDOWN_SECONDS
            self._trial = connection
            return True

    def trip(self, error: Exception) -> None:
        """Open (again) for a cooldown from now: `error` says the server did not answer."""
        with self._lock:
            was_closed = not self.open_until
            self.open_until = time.monotonic() + COOLDOWN_SECONDS
            # Not repr(): redis-py's leaves the message out.
            self._trial, self._failure = None, f"{type(error).__name__}: {error}"
            failure = self._failure
        if was_closed:
            logger.error(
                "Redis at %s failed (%s): calls to it fail fast for %g s, then one tries it "
                "again, and so on until it answers.",
                self.address,
                failure,
                COOLDOWN_SECONDS,
            )

    def close(self) -> None:
        """The server answered: calls go through again."""
        with self._lock:
            if not self.open_until:
                return
            self.open_until, self._trial = 0.0, None
        logger.warning("Redis at %s answers again.", self.address)

    def _forget_after_fork(self) -> None:
        # The parent's lock may have been held by one of its threads, which the child has not.
        self._lock = threading.Lock()
        self.open_until, self._trial = 0.0, None


_breakers: dict[str, CircuitBreaker] = {}
_breakers_lock = threading.Lock()


def circuit_breaker(address: str) -> CircuitBreaker:
    """This process's breaker of the Redis server at `address` ("host:port", or a socket's
    path): one for every connection to it, of whichever pool, cache or database."""
    with _breakers_lock:
        found = _breakers.get(address)
        if found is None:
            found = _breakers[address] = CircuitBreaker(address)
        return found


def _forget_breakers_after_fork() -> None:
    global _breakers_lock
    _breakers_lock = threading.Lock()
    for breaker in _breakers.values():
        breaker._forget_after_fork()


# A gunicorn worker starts closed, whatever its parent knew.
os.register_at_fork(after_in_child=_forget_breakers_after_fork)


class _CircuitBreakerMixin(AbstractConnection):
    """A redis-py connection that asks its server's breaker before it connects or sends, and
    tells it how the server answered. Timeouts trip it, and any error while connecting; a
    connection error on an established socket does not (an idle connection the server closed,
    or one of a restarted Redis): the reconnection that follows tests the server."""

    _breaker: CircuitBreaker

    # The methods it wraps are called as AbstractConnection's, which the transports inherit:
    # through super(), each of the two calls of a command cost ~1,000 instructions more.
    def __init_subclass__(cls, **kwargs: Any) -> None:
        super().__init_subclass__(**kwargs)
        for name in ("connect_check_health", "send_packed_command", "read_response"):
            if getattr(super(), name) is not getattr(AbstractConnection, name):
                raise TypeError(f"{cls.__name__}'s transport has its own {name}: wrap that one")

    def __init__(self, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        if isinstance(self, UnixDomainSocketConnection):
            self._breaker = circuit_breaker(self.path)
        else:
            self._breaker = circuit_breaker(f"{self.host}:{getattr(self, 'port', '')}")

    def _ask_breaker(self) -> None:
        try:
            trial = self._breaker.admit(self)
        except RedisConnectionError:
            # A socket that lived through the outage may be dead: never reuse one.
            self.disconnect()  # type: ignore[no-untyped-call]
            raise
        if trial:
            # The trial tests the whole way: connection, handshake, command.
            self.disconnect()  # type: ignore[no-untyped-call]

    def connect_check_health(
        self, check_health: bool = True, retry_socket_connect: bool = True
    ) -> None:
        if self._sock:
            return
        if self._breaker.open_until:
            self._ask_breaker()
        try:
            AbstractConnection.connect_check_health(self, check_health, retry_socket_connect)
        except (RedisConnectionError, RedisTimeoutError) as error:
            self._breaker.trip(error)
            raise

    def send_packed_command(self, command: Any, check_health: bool = True) -> None:
        if self._breaker.open_until:
            self._ask_breaker()
        try:
            AbstractConnection.send_packed_command(self, command, check_health)  # type: ignore[no-untyped-call]
        except RedisTimeoutError as error:
            self._breaker.trip(error)
            raise

    def read_response(
        self,
        disable_decoding: bool = False,
        *,
        timeout: float | object = SENTINEL,
        disconnect_on_error: bool = True,
        push_request: bool = False,
    ) -> Any:
        try:
            response = AbstractConnection.read_response(
                self,
                disable_decoding,
                timeout=timeout,
                disconnect_on_error=disconnect_on_error,
                push_request=push_request,
            )
        except RedisTimeoutError as error:
            self._breaker.trip(error)
            raise
        except ResponseError:
            # An error reply (NOSCRIPT, WRONGTYPE...) is an answer all the same.
            if self._breaker.open_until:
                self._breaker.close()
            raise
        if self._breaker.open_until:
            self._breaker.close()
        return response


class CircuitBreakerConnection(_CircuitBreakerMixin, Connection):
    """TCP (redis://)."""


class CircuitBreakerSSLConnection(_CircuitBreakerMixin, SSLConnection):
    """TLS (rediss://)."""


class CircuitBreakerUnixDomainSocketConnection(_CircuitBreakerMixin, UnixDomainSocketConnection):
    """A Unix socket (unix://)."""


_Transport = Connection | UnixDomainSocketConnection
_WITH_BREAKER: dict[type[_Transport], type[_Transport]] = {
    Connection: CircuitBreakerConnection,
    SSLConnection: CircuitBreakerSSLConnection,
    UnixDomainSocketConnection: CircuitBreakerUnixDomainSocketConnection,
}


class CircuitBreakerConnectionPool(ConnectionPool):
    """redis-py's pool, its connections of the kind the URL names, each behind its server's
    breaker. django-redis's CONNECTION_POOL_CLASS (core/settings.py); the rate limiter's
    connection is one of the security cache's pool (api.throttling.redis_store)."""

    def __init__(self, connection_class: type[AbstractConnection] = Connection, **kwargs: Any):
        if not issubclass(connection_class, _CircuitBreakerMixin):
            if connection_class not in _WITH_BREAKER:
                raise ImproperlyConfigured(
                    f"{connection_class.__name__} has no circuit breaker: connect by "
                    "redis://, rediss:// or unix:// (api/redis_circuit_breaker.py)."
                )
            connection_class = _WITH_BREAKER[connection_class]
        super().__init__(connection_class=connection_class, **kwargs)
