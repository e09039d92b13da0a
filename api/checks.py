"""System checks: a security cache that raises and, in production, is shared (Redis); public API
docs at a path of their own; and (run by `migrate`) a utf8mb4 MySQL database."""

from collections.abc import Iterable
from typing import Any

from django.apps import AppConfig
from django.conf import settings
from django.core.cache import caches
from django.core.checks import CheckMessage, Error, Tags, Warning, register
from django.db import connections
from django_redis.cache import RedisCache


@register(Tags.caches)
def check_security_cache_raises(
    app_configs: Iterable[AppConfig] | None, **kwargs: Any
) -> list[CheckMessage]:
    """Nonces and revocations must fail loudly: a cache that swallows errors would let replays
    and revoked tokens through while Redis is down."""
    options = settings.CACHES.get("security", {}).get("OPTIONS", {})
    ignores = options.get("IGNORE_EXCEPTIONS")
    if ignores or getattr(settings, "DJANGO_REDIS_IGNORE_EXCEPTIONS", False):
        return [
            Error(
                "The security cache is configured to ignore errors.",
                hint="Remove IGNORE_EXCEPTIONS / DJANGO_REDIS_IGNORE_EXCEPTIONS; use the "
                "api.utils cache helpers where an outage should be tolerated.",
                id="api.E002",
            )
        ]
    return []


# The paths a scanner tries first for API docs, `.env.example`'s among them.
GUESSABLE_DOCS_PATHS = frozenset(
    {"docs", "doc", "docs-dev", "dev-docs", "api-docs", "apidocs", "swagger"}
    | {"swagger-ui", "redoc", "openapi", "schema", "documentation", "developer", "developers"}
)


@register(Tags.security, deploy=True)
def check_public_docs_path_is_not_guessable(
    app_configs: Iterable[AppConfig] | None, **kwargs: Any
) -> list[CheckMessage]:
    """`check --deploy`: docs open to everyone (SPEC §7) are kept from scanners only by their
    obfuscated path; under one that scanners try, they map the whole API for anyone."""
    path = settings.API_DOCS_PATH
    if not path or settings.API_DOCS_STAFF_ONLY or path.lower() not in GUESSABLE_DOCS_PATHS:
        return []
    return [
        Warning(
            f"The API docs are open to everyone at /{path}/, a path scanners try.",
            hint="Set API_DOCS_PATH to an unguessable segment such as docs-7f3a9c1e, or "
            "API_DOCS_STAFF_ONLY=true.",
            id="api.W001",
        )
    ]


@register(Tags.caches, deploy=True)
def check_security_cache_is_shared(
    app_configs: Iterable[AppConfig] | None, **kwargs: Any
) -> list[CheckMessage]:
    """`check --deploy`: production keeps nonces, revocations and rate limits in Redis. In the
    embedded per-process cache each gunicorn worker has its own: a replayed signed request or a
    revoked token passes in another worker, and every worker counts its own share of a limit."""
    backend = settings.CACHES.get("security", {}).get("BACKEND", "")
    if backend.rsplit(".", 1)[-1] in ("LocMemCache", "DummyCache"):
        return [
            Error(
                "The security cache is per process: REDIS_URL is not set.",
                hint="Set REDIS_URL: nonces, revocations and rate limits must be shared by "
                "every worker and host (SPEC §3, §4).",
                id="api.E003",
            )
        ]
    if not isinstance(caches["security"], RedisCache):
        # Nonces and revocations would be shared, but the limiter runs its script on
        # django-redis only, and counts in each process's memory on anything else.
        return [
            Error(
                f"The security cache is {backend}, not django-redis: rate limits would be "
                "counted per process.",
                hint="Keep the BACKEND that REDIS_URL sets, django_redis.cache.RedisCache.",
                id="api.E004",
            )
        ]
    return []


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
