"""Where the real services are, and whether they answer."""

import os
import socket
from urllib.parse import urlsplit

# The tests flush the Redis database they use: never a local Redis's database 0, where a
# developer's own data is likeliest to be.
DEFAULT_REDIS_URL = "redis://127.0.0.1:6379/13"
DEFAULT_MYSQL_URL = "mysql://root@127.0.0.1:3306/test"


def redis_server_url() -> str:
    """The run's Redis, else TEST_REDIS_URL, else the default one on loopback."""
    return os.environ.get("REDIS_URL") or os.environ.get("TEST_REDIS_URL") or DEFAULT_REDIS_URL


def mysql_server_url() -> str:
    """The run's MySQL database, else TEST_MYSQL_URL, else the default one on loopback."""
    url = os.environ.get("DATABASE_URL", "")
    if url.startswith("mysql"):
        return url
    return os.environ.get("TEST_MYSQL_URL") or DEFAULT_MYSQL_URL


def reachable(url: str) -> bool:
    parts = urlsplit(url)
    try:
        with socket.create_connection((parts.hostname or "127.0.0.1", parts.port or 0), 1):
            return True
    except OSError:
        return False


def closed_port() -> int:
    """A loopback TCP port with no listener."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def redis_caches(url: str) -> dict[str, dict[str, object]]:
    """CACHES with both aliases on the Redis at `url`, as settings build them for REDIS_URL."""
    cache: dict[str, object] = {
        "BACKEND": "django_redis.cache.RedisCache",
        "LOCATION": url,
        "OPTIONS": {
            "SOCKET_CONNECT_TIMEOUT": 1.0,
            "SOCKET_TIMEOUT": 1.0,
            "CLIENT_CLASS": "api.redis_client.CacheClient",
        },
    }
    return {"default": cache, "security": {**cache, "KEY_PREFIX": "sec"}}


# CACHES of the embedded default: both aliases in process memory.
LOCAL_MEMORY_CACHES: dict[str, dict[str, object]] = {
    "default": {"BACKEND": "django.core.cache.backends.locmem.LocMemCache"},
    "security": {
        "BACKEND": "django.core.cache.backends.locmem.LocMemCache",
        "LOCATION": "security",
    },
}


def command_names(packed: bytes) -> list[str]:
    """The command names in what redis-py wrote to a socket (RESP arrays of bulk strings)."""
    names, position = [], 0
    while position < len(packed):
        header_end = packed.index(b"\r\n", position)
        count = int(packed[position + 1 : header_end])  # "*<count>"
        position = header_end + 2
        for index in range(count):
            length_end = packed.index(b"\r\n", position)
            length = int(packed[position + 1 : length_end])  # "$<length>"
            if index == 0:
                names.append(packed[length_end + 2 : length_end + 2 + length].decode())
            position = length_end + 2 + length + 2
    return names
