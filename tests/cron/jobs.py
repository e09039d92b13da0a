"""Cron jobs that exist only in the tests: importing this module registers them.

`test_waits_for_release` coordinates through files in $CRON_TEST_DIR, so that a test can hold
it running, in a thread or in another process: it appends a line to `runs`, then waits until
`release` exists.
"""

import os
import time
from pathlib import Path

from django.db import connection

from api.cron.registry import cron_job


@cron_job("test_succeeds")
def succeeds() -> str:
    return "3 things tidied"


@cron_job("test_fails")
def fails() -> None:
    raise RuntimeError("the job broke")


@cron_job("test_queries_for")
def queries_for() -> str:
    """A query of $CRON_TEST_QUERY_SECONDS (0 by default) on MySQL; nothing on SQLite."""
    seconds = float(os.environ.get("CRON_TEST_QUERY_SECONDS", "0"))
    if connection.vendor == "mysql":
        with connection.cursor() as cursor:
            cursor.execute("SELECT SLEEP(%s)", [seconds])
    return f"queried for {seconds} s"


@cron_job("test_waits_for_release", lock_timeout=60)
def waits_for_release() -> None:
    directory = Path(os.environ["CRON_TEST_DIR"])
    with (directory / "runs").open("a") as runs:
        runs.write("run\n")
    deadline = time.monotonic() + 30
    while not (directory / "release").exists():
        if time.monotonic() > deadline:
            raise TimeoutError("the test never released the job")
        time.sleep(0.05)


def runs(directory: Path) -> int:
    """How many times `test_waits_for_release` started with this directory."""
    path = directory / "runs"
    return len(path.read_text().splitlines()) if path.exists() else 0


def wait_for_runs(directory: Path, count: int, timeout: float = 20) -> None:
    deadline = time.monotonic() + timeout
    while runs(directory) < count:
        assert time.monotonic() < deadline, f"fewer than {count} runs after {timeout} s"
        time.sleep(0.05)
