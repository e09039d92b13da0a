"""The registry of cron jobs, filled by the `@cron_job("name")` decorator.

`load_jobs()` imports the modules that define the app's jobs (JOB_MODULES); any other module
can register more by being imported first (the tests register their own this way).
"""

import importlib
import re
from collections.abc import Callable
from dataclasses import dataclass
from typing import TypeVar

from django.core.exceptions import ImproperlyConfigured

# Modules whose import registers the app's jobs.
JOB_MODULES = ("api.cron.jobs",)
# Long enough for any run of a job: the lock lapses after this even if the run goes on.
DEFAULT_LOCK_TIMEOUT = 15 * 60
JOB_NAME = re.compile(r"[a-z][a-z0-9_]{0,63}")

JobFunction = TypeVar("JobFunction", bound=Callable[[], object])


@dataclass(frozen=True)
class CronJob:
    name: str
    # Takes no arguments; whatever it returns (a count, a summary) is logged.
    run: Callable[[], object]
    # Seconds the lock is held at most; must exceed the job's longest run.
    lock_timeout: int


_jobs: dict[str, CronJob] = {}


def _origin(function: Callable[[], object]) -> str:
    return f"{function.__module__}.{function.__qualname__}"


def cron_job(
    name: str, *, lock_timeout: int = DEFAULT_LOCK_TIMEOUT
) -> Callable[[JobFunction], JobFunction]:
    """Register the decorated function as the cron job `name` (lowercase, digits, `_`)."""
    if not JOB_NAME.fullmatch(name):
        raise ImproperlyConfigured(f"Cron job name {name!r} must match {JOB_NAME.pattern}.")
    # 0 would be a lock that never lapses on Redis (no expiry), and none at all in memory.
    if type(lock_timeout) is not int or lock_timeout < 1:
        raise ImproperlyConfigured(
            f"Cron job {name!r}: lock_timeout must be a whole number of seconds, at least 1, "
            f"not {lock_timeout!r}."
        )

    def register(function: JobFunction) -> JobFunction:
        existing = _jobs.get(name)
        # Importing the same module again re-registers the same function: not a clash.
        if existing is not None and _origin(existing.run) != _origin(function):
            raise ImproperlyConfigured(
                f"Cron job {name!r} is defined twice: {_origin(existing.run)} and "
                f"{_origin(function)}."
            )
        _jobs[name] = CronJob(name=name, run=function, lock_timeout=lock_timeout)
        return function

    return register


def load_jobs() -> dict[str, CronJob]:
    """Every registered job by name, sorted, once the app's job modules are imported."""
    for module in JOB_MODULES:
        importlib.import_module(module)
    return dict(sorted(_jobs.items()))
