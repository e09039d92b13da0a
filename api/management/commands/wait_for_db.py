"""`manage.py wait_for_db`: block until the database accepts connections, or fail after a timeout.

The container entrypoint runs it first, so that a web pod started before MySQL waits for it
instead of crashing, and a wrong DATABASE_URL fails fast with a message naming the database.
"""

import math
import time
from typing import Any

from django.conf import settings
from django.core.management.base import BaseCommand, CommandError, CommandParser
from django.db import DEFAULT_DB_ALIAS, DatabaseError, connections

from api.management.database import describe_database

RETRY_INTERVAL = 1.0


class Command(BaseCommand):
    help = "Wait until the database accepts connections (DB_WAIT_TIMEOUT seconds at most)."
    # System checks may need the database: this command must run before it is up.
    requires_system_checks: list[str] = []

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument(
            "--timeout",
            type=float,
            default=None,
            help="Seconds to wait before failing (default: DB_WAIT_TIMEOUT, now "
            f"{settings.DB_WAIT_TIMEOUT}).",
        )
        parser.add_argument("--database", default=DEFAULT_DB_ALIAS, help="Database alias.")

    def handle(self, *args: Any, timeout: float | None, database: str, **options: Any) -> None:
        if timeout is None:
            timeout = float(settings.DB_WAIT_TIMEOUT)
        target = describe_database(database)
        started = time.monotonic()
        deadline = started + timeout
        attempts = 0
        while True:
            attempts += 1
            error = self._try_connecting(database, deadline - time.monotonic())
            if error is None:
                elapsed = time.monotonic() - started
                self.stdout.write(f"Database {target} is up (after {elapsed:.1f} s).")
                return
            remaining = deadline - time.monotonic()
            if remaining <= 0:
                raise CommandError(
                    f"Database {target} did not accept connections within {timeout:g} s "
                    f"({attempts} attempts). Last error: {error}"
                )
            if attempts == 1:
                self.stderr.write(f"Waiting up to {timeout:g} s for database {target}: {error}")
            time.sleep(min(RETRY_INTERVAL, remaining))

    def _try_connecting(self, alias: str, remaining: float) -> DatabaseError | None:
        """None when `SELECT 1` works, else the error (and the connection is closed).

        On MySQL the attempt's connect timeout is cut to the time left (whole seconds, as the
        driver counts them), so that a host that never answers cannot keep the command waiting
        a whole `connect_timeout` past its deadline.
        """
        connection = connections[alias]
        options = connection.settings_dict["OPTIONS"]
        configured = options.get("connect_timeout")
        if connection.vendor == "mysql" and configured:
            options["connect_timeout"] = max(1, min(int(configured), math.ceil(remaining)))
        try:
            connection.ensure_connection()
            with connection.cursor() as cursor:
                cursor.execute("SELECT 1")
                cursor.fetchone()
        except DatabaseError as exc:
            connection.close()
            return exc
        finally:
            if configured:
                options["connect_timeout"] = configured
        return None
