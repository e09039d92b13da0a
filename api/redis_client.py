"""The caches' Redis client: each cache object keeps one connection for all its commands.

redis-py's client takes a connection from its pool and gives it back around every command,
checking each time that it has nothing left to read (a system call) and looking up redis-py 8's
metrics (switched off): about 20 µs of CPU a command, 6 % of a get-token's instructions
(bench/README.md, finding 25). Django keeps one cache object per alias and thread, and
django-redis one redis-py client per cache object, so a client is only ever used by one thread
at a time: it may as well keep one connection (redis-py's `single_connection_client`).

Kept, a connection must go back to the pool when its cache object goes: at the end of its
thread (runserver starts one per request), or when a test changes CACHES (`CacheClient`).
"""

import os
import weakref
from typing import Any

from django.core.cache.backends.base import BaseCache
from django_redis.client import DefaultClient
from redis import Redis
from redis.exceptions import ConnectionError as RedisConnectionError

# os.getpid() is a system call: this process's id, kept up to date in forked children.
_process_id = os.getpid()


def _forked() -> None:
    global _process_id
    _process_id = os.getpid()


os.register_at_fork(after_in_child=_forked)


class HeldConnectionRedis(Redis):
    """redis-py's client with `single_connection_client`, made as safe as its pool:

    - a connection the server closed while it sat idle (a restart, its idle timeout, a proxy's)
      is replaced: the pool checks for that before handing a connection out, a held one finds
      out as its next command fails, which is then sent once more on a new connection. (A
      command the server ran just before it closed the connection would run twice: a nonce
      then reads as used, `nonce_reused`, and the client signs again with a new one, as the
      reference clients do; the limiter's script finds its request already admitted.)
    - a forked child's copy holds its parent's socket, so the child takes a connection of its
      own before its first command (the pool, which starts afresh in a child, gives it one).

    `close()` (redis-py's) gives the connection back to the pool, as does dropping the client;
    a command after `close()` takes one again.

    Not thread-safe, as no single connection is: use a client only on the thread that got it
    (Django gives each thread its own cache objects, and `api.utils.thread_cache` keeps them
    per thread). `get_redis_connection()` returns this client too; pub/sub and blocking
    commands need a client of their own, `Redis(connection_pool=client.connection_pool)`.
    """

    def __init__(self, **kwargs: Any) -> None:
        kwargs["single_connection_client"] = True
        super().__init__(**kwargs)

    def execute_command(self, *args: Any, **options: Any) -> Any:
        held = self.connection
        if held is not None and held.pid == _process_id:
            carried_over = held.is_connected
        else:
            # After close(), or in a forked child (not disconnect(): that would shut down the
            # socket its parent still uses). The pool checks what it hands out.
            self.connection = self.connection_pool.get_connection()
            carried_over = False
        try:
            return self._execute_command(*args, **options)  # type: ignore[no-untyped-call]
        except RedisConnectionError:
            # A timeout is not retried: a hung server must cost one (api/redis_circuit_breaker).
            if not carried_over:
                raise
            return self._execute_command(*args, **options)  # type: ignore[no-untyped-call]


class CacheClient(DefaultClient):  # type: ignore[misc]  # generic in django-redis's stubs
    """django-redis's client (CLIENT_CLASS) on `HeldConnectionRedis`.

    `close()` gives the connection back. Django closes a thread's caches before it drops them
    when CACHES changes (a test's settings), not when a thread ends: for that, the client holds
    its cache weakly (it reads the cache's key prefix, version and default timeout), so that
    nothing refers back and a cache, its client and its connection go together the moment the
    cache is dropped. After a request there is nothing to close: the connection stays with the
    thread for its next one (api.utils.close_caches_only_if_needed).
    """

    def __init__(self, server: Any, params: dict[str, Any], backend: BaseCache) -> None:
        options = {**params.get("OPTIONS", {}), "REDIS_CLIENT_CLASS": _HELD_CONNECTION_REDIS}
        super().__init__(server, {**params, "OPTIONS": options}, weakref.proxy(backend))

    def close(self) -> None:
        for client in self._clients:
            if client is not None:
                client.close()
        super().close()  # django-redis's: with CLOSE_CONNECTION, disconnects the pool


_HELD_CONNECTION_REDIS = f"{HeldConnectionRedis.__module__}.{HeldConnectionRedis.__qualname__}"
