"""System checks run by `migrate`: refuse a MySQL database whose tables would not be utf8mb4."""

from collections.abc import Iterable
from typing import Any

from django.apps import AppConfig
from django.core.checks import CheckMessage, Error, Tags, register
from django.db import connections


@register(Tags.database)
def check_database_charset(
    app_configs: Iterable[AppConfig] | None, databases: Iterable[str] | None = None, **kwargs: Any
) -> list[CheckMessage]:
    """New tables take the database's default charset; anything but utf8mb4 loses emoji."""
    errors: list[CheckMessage] = []
    for alias in databases or ():
        connection = connections[alias]
        if connection.vendor != "mysql":
            continue
        with connection.cursor() as cursor:
            cursor.execute("SELECT @@character_set_database")
            (charset,) = cursor.fetchone()
        if charset != "utf8mb4":
            name = connection.settings_dict["NAME"]
            errors.append(
                Error(
                    f"Database {name!r} defaults to {charset}; its tables could not store 4-byte "
                    "UTF-8 such as emoji.",
                    hint=(
                        f"ALTER DATABASE `{name}` CHARACTER SET utf8mb4 COLLATE utf8mb4_unicode_ci;"
                    ),
                    id="api.E001",
                )
            )
    return errors
