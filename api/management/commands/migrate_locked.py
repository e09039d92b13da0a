"""`manage.py migrate_locked`: `migrate` under a MySQL named lock, so replicas migrate once.

Several containers started together with RUN_MIGRATIONS=1 would otherwise run the same
migrations at the same time, and all but one would fail on tables that already exist. With the
lock the first one migrates while the others wait, then find nothing left to do.
"""

import time
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

from django.core.management import call_command
from django.core.management.base import BaseCommand, CommandError, CommandParser
from django.db import DEFAULT_DB_ALIAS, connections
from django.db.backends.base.base import BaseDatabaseWrapper

from api.management.database import describe_database, unbounded_queries

DEFAULT_LOCK_TIMEOUT = 600
# MySQL's limit on lock names.
MAX_LOCK_NAME = 64


def migration_lock_name(connection: BaseDatabaseWrapper) -> str:
    """One lock per database: named locks are server-wide, and one server may host several."""
    return f"migrate:{connection.settings_dict['NAME']}"[:MAX_LOCK_NAME]


@contextmanager
def named_lock(connection: BaseDatabaseWrapper, name: str, timeout: int) -> Iterator[None]:
    """Hold MySQL's GET_LOCK(name) on this connection; CommandError if not had within timeout.

    The server releases the lock if the connection drops, so a killed migration never leaves
    it behind.
    """
    with connection.cursor() as cursor:
        cursor.execute("SELECT GET_LOCK(%s, %s)", [name, timeout])
        (acquired,) = cursor.fetchone()
    if acquired != 1:
        raise CommandError(
            f"Could not take the migration lock {name!r} within {timeout} s: another process "
            "is still migrating this database."
        )
    try:
        yield
    finally:
        with connection.cursor() as cursor:
            cursor.execute("SELECT RELEASE_LOCK(%s)", [name])


class Command(BaseCommand):
    help = "Run `migrate` under a MySQL named lock (GET_LOCK) so that replicas do not race."
    # `migrate` below runs every check, the database ones included.
    requires_system_checks: list[str] = []

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--database", default=DEFAULT_DB_ALIAS, help="Database alias.")
        parser.add_argument(
            "--lock-timeout",
            type=int,
            default=DEFAULT_LOCK_TIMEOUT,
            help=f"Seconds to wait for another migration (default {DEFAULT_LOCK_TIMEOUT}).",
        )

    def handle(self, *args: Any, database: str, lock_timeout: int, **options: Any) -> None:
        # The web's DATABASE_URL may bound each query (README, "MySQL"): the wait for the lock
        # and a long ALTER TABLE must not be cut by it.
        with unbounded_queries():
            self._handle(database, lock_timeout, options["verbosity"])

    def _handle(self, database: str, lock_timeout: int, verbosity: int) -> None:
        connection = connections[database]
        target = describe_database(database)
        if connection.vendor != "mysql":
            # SQLite serialises writers itself, and is never shared between replicas.
            self.stdout.write(f"Migrating {target} ({connection.vendor}: no lock needed).")
            self._migrate(database, verbosity)
            return
        name = migration_lock_name(connection)
        self.stdout.write(f"Taking the migration lock {name!r} (waiting up to {lock_timeout} s).")
        started = time.monotonic()
        with named_lock(connection, name, lock_timeout):
            waited = time.monotonic() - started
            self.stdout.write(f"Migration lock taken after {waited:.1f} s; migrating {target}.")
            self._migrate(database, verbosity)
        self.stdout.write("Migration lock released.")

    def _migrate(self, database: str, verbosity: int) -> None:
        # call_command skips system checks unless told not to; migrate's own include the
        # utf8mb4 check of api.checks.
        call_command(
            "migrate",
            database=database,
            interactive=False,
            skip_checks=False,
            verbosity=verbosity,
        )
