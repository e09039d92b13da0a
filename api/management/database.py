"""Database helpers for the management commands that run at container start-up."""

from collections.abc import Iterator
from contextlib import contextmanager

from django.db import connections


def describe_database(alias: str) -> str:
    """Where a database is, for messages: `host:port/name` (a file path on SQLite).

    Never the user or the password: these messages end up in logs.
    """
    connection = connections[alias]
    settings = connection.settings_dict
    if connection.vendor == "sqlite":
        return str(settings["NAME"])
    host = settings.get("HOST") or "localhost"
    port = settings.get("PORT") or "default port"
    return f"{host}:{port}/{settings['NAME']}"


# The driver's per-query bounds (seconds), which the README has users set on the web's
# DATABASE_URL so that a hung database cannot hold a request's thread for ever.
QUERY_BOUNDS = ("read_timeout", "write_timeout")


@contextmanager
def unbounded_queries() -> Iterator[None]:
    """Connect without DATABASE_URL's per-query bounds while this lasts (every alias).

    For one-off work that may rightly wait long: a migration waits up to ten minutes for
    another replica's lock and may run an `ALTER TABLE` for longer, and a cron job's batch is
    not a request. The bounds are back, on fresh connections, afterwards.
    """
    removed = {}
    for alias in connections:
        options = connections[alias].settings_dict["OPTIONS"]
        bounds = {key: options.pop(key) for key in QUERY_BOUNDS if key in options}
        if bounds:
            connections[alias].close()
            removed[alias] = bounds
    try:
        yield
    finally:
        for alias, bounds in removed.items():
            connections[alias].close()
            connections[alias].settings_dict["OPTIONS"].update(bounds)
