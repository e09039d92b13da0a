"""Running a cron job: one run at a time across replicas (a lock in the cache), timed, logged.

On Redis the lock is redis-py's Lock: SET NX PX with a random token, released by a Lua
compare-and-delete, so a run whose lock lapsed never deletes the lock of the run after it.
On any other cache it is the cache's atomic `add` with a token; with the embedded local-memory
cache that only excludes runs within one process, so replicas need REDIS_URL.
"""

import enum
import logging
import time
import uuid
from typing import Protocol

from django_redis import get_redis_connection
from django_redis.cache import RedisCache
from redis.exceptions import LockNotOwnedError

from api.cron.registry import CronJob
from api.logs import described
from api.redis_circuit_breaker import COOLDOWN_SECONDS
from api.utils import thread_cache

logger = logging.getLogger("api.cron")

# How long a run whose lock may be set without its reply having come (a stalled Redis) tries to
# give it back: past the cooldown in which the circuit breaker fails every call to a Redis that
# timed out, plus a socket timeout for the trial. Kept, the lock would make the scheduler's
# retry a "skipped" run (exit 0) until it lapses.
GIVE_BACK_SECONDS = COOLDOWN_SECONDS + 2.0
GIVE_BACK_INTERVAL = 0.5


class Outcome(enum.Enum):
    SUCCEEDED = "succeeded"
    FAILED = "failed"
    SKIPPED = "skipped"  # another run held the lock


class JobLock(Protocol):
    def acquire(self) -> bool:
        """True if this run now holds the lock; never waits."""

    def release(self) -> bool:
        """Give the lock up; False if it had lapsed (and may belong to another run now)."""


class RedisJobLock:
    def __init__(self, key: str, timeout: int) -> None:
        self._lock = get_redis_connection("default").lock(key, timeout=timeout, blocking=False)
        # Ours, not the Lock's: a release must work after an acquire whose reply never came
        # (the Lock only keeps a token once the reply says it was set).
        self._token = uuid.uuid4().hex.encode()

    def acquire(self) -> bool:
        return bool(self._lock.acquire(token=self._token))

    def release(self) -> bool:
        try:
            self._lock.do_release(self._token)  # redis-py's compare-and-delete
        except LockNotOwnedError:
            return False
        return True


class CacheJobLock:
    def __init__(self, key: str, timeout: int) -> None:
        self.key = key
        self.timeout = timeout
        self.token = uuid.uuid4().hex

    def acquire(self) -> bool:
        return bool(thread_cache("default").add(self.key, self.token, self.timeout))

    def release(self) -> bool:
        cache = thread_cache("default")
        # Not atomic as on Redis; good enough for the in-process cache this is used with.
        if cache.get(self.key) != self.token:
            return False
        cache.delete(self.key)
        return True


def job_lock(name: str, timeout: int) -> JobLock:
    """The lock of the job `name`, lapsing after `timeout` seconds."""
    key = f"cron:lock:{name}"
    if isinstance(thread_cache("default"), RedisCache):
        return RedisJobLock(key, timeout)
    return CacheJobLock(key, timeout)


def run_job(job: CronJob) -> Outcome:
    """Run `job` unless another run holds its lock; log the outcome and the duration.

    The lock is given back however the run ends, a stop included (SystemExit from `runcron`'s
    SIGTERM, KeyboardInterrupt), even one while it was being taken: the scheduler's retry can
    run at once, rather than be skipped until the lock lapses. A cache that fails while the
    lock is taken fails the run; while it is given back, the job's own outcome stands."""
    extra: dict[str, object] = {"job": job.name}
    try:
        lock = job_lock(job.name, job.lock_timeout)  # connects, on Redis
    except Exception as error:
        return _not_locked(job, extra, error)
    try:
        acquired = lock.acquire()
    except BaseException as error:
        # The lock may have been set all the same (the reply lost to a stall or a stop).
        _give_back(lock, job, extra, patience=GIVE_BACK_SECONDS)
        if not isinstance(error, Exception):
            raise
        return _not_locked(job, extra, error)
    if not acquired:
        logger.warning(
            "Cron job %s skipped: another run holds its lock.",
            job.name,
            extra=extra | {"outcome": Outcome.SKIPPED.value},
        )
        return Outcome.SKIPPED
    logger.info("Cron job %s started.", job.name, extra=extra)
    started = time.perf_counter()
    try:
        return _run(job, started, extra)
    except BaseException:
        seconds = time.perf_counter() - started
        logger.warning(
            "Cron job %s stopped after %.3f s.",
            job.name,
            seconds,
            extra=extra | {"outcome": "stopped", "duration_ms": round(seconds * 1000)},
        )
        raise
    finally:
        if _give_back(lock, job, extra) is False:
            logger.error(
                "Cron job %s ran past its lock timeout (%d s): another run may have overlapped. "
                "Raise lock_timeout in its @cron_job.",
                job.name,
                job.lock_timeout,
                extra=extra,
            )


def _not_locked(job: CronJob, extra: dict[str, object], error: Exception) -> Outcome:
    logger.error(
        "Cron job %s failed: could not take its lock: %s",
        job.name,
        described(error),
        extra=extra | {"outcome": Outcome.FAILED.value},
    )
    return Outcome.FAILED


def _give_back(
    lock: JobLock, job: CronJob, extra: dict[str, object], *, patience: float = 0.0
) -> bool | None:
    """`lock.release()`, tried again for `patience` seconds while the cache fails; None if it
    never answered: then the lock lapses in its own time."""
    deadline = time.monotonic() + patience
    while True:
        try:
            return lock.release()
        except Exception as error:
            if time.monotonic() < deadline:
                time.sleep(GIVE_BACK_INTERVAL)
                continue
            logger.error(
                "Cron job %s could not give back its lock, which lapses within %d s: %s",
                job.name,
                job.lock_timeout,
                described(error),
                extra=extra,
            )
            return None


def _run(job: CronJob, started: float, extra: dict[str, object]) -> Outcome:
    try:
        result = job.run()
    except Exception:
        seconds = time.perf_counter() - started
        logger.exception(
            "Cron job %s failed after %.3f s.",
            job.name,
            seconds,
            extra=extra | {"outcome": Outcome.FAILED.value, "duration_ms": round(seconds * 1000)},
        )
        return Outcome.FAILED
    seconds = time.perf_counter() - started
    logger.info(
        "Cron job %s succeeded in %.3f s%s",
        job.name,
        seconds,
        "." if result is None else f": {result}",
        extra=extra | {"outcome": Outcome.SUCCEEDED.value, "duration_ms": round(seconds * 1000)},
    )
    return Outcome.SUCCEEDED
