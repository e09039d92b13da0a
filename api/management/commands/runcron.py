"""`manage.py runcron <job>`: run one registered cron job (api/cron), for a scheduler to call.

Exit status: 0 when the job succeeded or was skipped because another run holds its lock,
1 when it failed or is unknown, so that the scheduler's own alerting sees failures; 143 when
stopped by SIGTERM (Kubernetes, a deploy), after giving the job's lock back.
"""

import signal
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from types import FrameType
from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser

from api.cron.registry import load_jobs
from api.cron.runner import Outcome, run_job
from api.management.database import unbounded_queries

# 128 + SIGTERM, as a shell reports a process the signal ended.
STOPPED_BY_SIGTERM = 128 + signal.SIGTERM


def _stop(signum: int, frame: FrameType | None) -> None:
    # Python's default for SIGTERM ends the process at once, skipping every `finally`: the
    # job's lock would stay held until it lapses, and the scheduler's retry would be skipped.
    # A second SIGTERM must not cut that cleanup short: stopping is under way.
    signal.signal(signal.SIGTERM, signal.SIG_IGN)
    raise SystemExit(STOPPED_BY_SIGTERM)


@contextmanager
def _sigterm_stops_the_job() -> Iterator[None]:
    """SIGTERM ends the run through `_stop` while it lasts; the previous handler is back after.

    Only the main thread may set a handler: run from another (call_command in a worker
    thread), the process's own handling stays, as does whoever installed it."""
    if threading.current_thread() is not threading.main_thread():
        yield
        return
    previous = signal.signal(signal.SIGTERM, _stop)
    try:
        yield
    finally:
        # None: the handler was not set from Python; the default is what it did.
        signal.signal(signal.SIGTERM, signal.SIG_DFL if previous is None else previous)


class Command(BaseCommand):
    help = "Run a cron job once (one replica at a time). --list shows the jobs."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("job", nargs="?", help="Name of the job to run.")
        parser.add_argument(
            "--list", action="store_true", dest="list_jobs", help="List the jobs and exit."
        )
        parser.add_argument(
            "--all", action="store_true", dest="all_jobs", help="Run every job, one by one."
        )

    def handle(
        self, *args: Any, job: str | None, list_jobs: bool, all_jobs: bool, **options: Any
    ) -> None:
        # A job is a batch, not a request: the web's per-query bounds (README, "MySQL") are off.
        with _sigterm_stops_the_job(), unbounded_queries():
            self._run(job, list_jobs=list_jobs, all_jobs=all_jobs)

    def _run(self, job: str | None, *, list_jobs: bool, all_jobs: bool) -> None:
        jobs = load_jobs()
        if list_jobs:
            for name in jobs:
                self.stdout.write(name)
            return
        if all_jobs == (job is not None):
            raise CommandError("Name one job, or use --all (or --list to see them).")
        names = list(jobs) if all_jobs else [str(job)]
        for name in names:
            if name not in jobs:
                known = ", ".join(jobs) or "none"
                raise CommandError(f"Unknown cron job {name!r}. Known jobs: {known}.")
        failed = [name for name in names if run_job(jobs[name]) is Outcome.FAILED]
        if failed:
            raise CommandError(f"Cron job failed: {', '.join(failed)} (see the log above).")
