"""`manage.py check_production`: in production (DEBUG off), `check --deploy`, stopping on its
errors; with DEBUG on, nothing.

The container entrypoint runs it first: gunicorn runs no system checks, and without this a
container missing REDIS_URL (api.E003) would start and pass its probes while each worker kept
its own nonces, revocations and rate limits. DEBUG is the settings' own, read from the
environment and ENV_FILE alike, which a shell test of the variable would not be.
"""

from typing import Any

from django.conf import settings
from django.core.management import call_command
from django.core.management.base import BaseCommand


class Command(BaseCommand):
    help = "With DEBUG off, run `check --deploy` and fail on its errors (its warnings are shown)."
    # Those are the checks this runs, once, itself.
    requires_system_checks: list[str] = []

    def handle(self, *args: Any, **options: Any) -> None:
        if settings.DEBUG:
            return
        call_command("check", deploy=True, fail_level="ERROR")
