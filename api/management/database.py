"""Database helpers for the management commands that run at container start-up."""

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
