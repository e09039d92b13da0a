"""Scratch MySQL databases for code that runs in another process (manage.py, the entrypoint).

Their names derive from the run's database (`<name>_<purpose>_<random>`), so that a run never
touches a database it does not own.
"""

import secrets
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any
from urllib.parse import unquote, urlsplit


def mysql_connect(url: str, *, database: str | None = None) -> Any:
    """A DB-API connection (autocommit) to the server of a mysql:// URL."""
    try:
        import MySQLdb as driver
    except ImportError:
        import pymysql as driver
    parts = urlsplit(url)
    options: dict[str, Any] = {
        "host": parts.hostname or "127.0.0.1",
        "port": parts.port or 3306,
        "user": unquote(parts.username or "root"),
        "password": unquote(parts.password or ""),
        "charset": "utf8mb4",
        "autocommit": True,
    }
    if database:
        options["database"] = database
    return driver.connect(**options)


def query(url: str, sql: str, params: tuple[Any, ...] = ()) -> list[tuple[Any, ...]]:
    """Rows of one statement run against the database of a mysql:// URL."""
    connection = mysql_connect(url, database=urlsplit(url).path.lstrip("/"))
    try:
        with connection.cursor() as cursor:
            cursor.execute(sql, params)
            return list(cursor.fetchall())
    finally:
        connection.close()


@contextmanager
def scratch_database(server_url: str, purpose: str, *, charset: str = "utf8mb4") -> Iterator[str]:
    """Create an empty database next to `server_url`'s, yield its URL, then drop it."""
    parts = urlsplit(server_url)
    base = parts.path.lstrip("/") or "test"
    name = f"{base}_{purpose}_{secrets.token_hex(4)}"
    admin = mysql_connect(server_url)
    try:
        with admin.cursor() as cursor:
            cursor.execute(f"CREATE DATABASE `{name}` CHARACTER SET {charset}")
        yield parts._replace(path=f"/{name}").geturl()
    finally:
        with admin.cursor() as cursor:
            cursor.execute(f"DROP DATABASE IF EXISTS `{name}`")
        admin.close()
