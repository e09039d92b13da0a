"""Running a cron job (api/cron/runner.py): the lock keeps concurrent runs out, and each run
is timed and logged. On the run's configured cache and on the real Redis."""

import logging
import re
import threading
import time
from collections.abc import Iterator
from dataclasses import replace
from urllib.parse import urlsplit

import pytest
from django.core.cache import caches
from django_redis import get_redis_connection

from api.cron import runner
from api.cron.registry import load_jobs
from api.cron.runner import Outcome, job_lock, run_job
from api.redis_circuit_breaker import circuit_breaker
from tests.cron.jobs import runs, wait_for_runs
from tests.relay import TcpRelay
from tests.services import LOCAL_MEMORY_CACHES, closed_port, redis_caches


@pytest.fixture(params=["memory", "redis"])
def lock_cache(request, settings):
    """Each kind of lock, whatever the run's cache: the cache's own (local memory) and Redis's."""
    if request.param == "redis":
        settings.CACHES = redis_caches(request.getfixturevalue("redis_url"))
        caches["default"].clear()
    else:
        settings.CACHES = LOCAL_MEMORY_CACHES
    return request.param


@pytest.fixture
def cron_dir(tmp_path, monkeypatch):
    monkeypatch.setenv("CRON_TEST_DIR", str(tmp_path))
    return tmp_path


@pytest.mark.usefixtures("lock_cache")
class TestLock:
    def test_a_held_lock_keeps_a_second_holder_out_until_released(self):
        first, second = job_lock("tidy", 60), job_lock("tidy", 60)
        assert first.acquire() is True
        assert second.acquire() is False
        assert first.release() is True
        assert second.acquire() is True
        assert second.release() is True

    def test_a_lapsed_lock_frees_the_job_and_its_late_release_spares_the_next_holder(self):
        late, next_holder, third = job_lock("tidy", 1), job_lock("tidy", 60), job_lock("tidy", 60)
        assert late.acquire() is True
        time.sleep(1.2)
        assert next_holder.acquire() is True
        assert late.release() is False
        assert third.acquire() is False  # the next holder's lock survived the late release
        assert next_holder.release() is True

    def test_locks_of_different_jobs_are_independent(self):
        assert job_lock("tidy", 60).acquire() is True
        assert job_lock("sweep", 60).acquire() is True


@pytest.mark.usefixtures("lock_cache")
def test_a_second_run_is_skipped_while_the_first_holds_the_lock(cron_dir, caplog):
    job = load_jobs()["test_waits_for_release"]
    outcomes = []
    first = threading.Thread(target=lambda: outcomes.append(run_job(job)))
    with caplog.at_level(logging.INFO, logger="api.cron"):
        first.start()
        wait_for_runs(cron_dir, 1)
        assert run_job(job) is Outcome.SKIPPED
        (cron_dir / "release").touch()
        first.join(timeout=20)
        assert outcomes == [Outcome.SUCCEEDED]
        assert runs(cron_dir) == 1
        # Released: the next run goes ahead.
        assert run_job(job) is Outcome.SUCCEEDED
    assert runs(cron_dir) == 2
    assert "Cron job test_waits_for_release skipped: another run holds its lock." in caplog.text


def test_a_successful_run_logs_its_duration_and_result(caplog):
    # A run that takes a while: its duration is at least what it slept, in the field and the
    # message alike.
    def tidy() -> str:
        time.sleep(0.2)
        return "3 things tidied"

    job = replace(load_jobs()["test_succeeds"], run=tidy)
    with caplog.at_level(logging.INFO, logger="api.cron"):
        assert run_job(job) is Outcome.SUCCEEDED
    finished = caplog.records[-1]
    message = re.fullmatch(
        r"Cron job test_succeeds succeeded in ([0-9.]+) s: 3 things tidied", finished.getMessage()
    )
    assert message is not None, finished.getMessage()
    assert finished.outcome == "succeeded"
    assert finished.duration_ms >= 200
    assert abs(finished.duration_ms - float(message[1]) * 1000) <= 100


def test_a_failing_run_logs_the_traceback_and_releases_the_lock(caplog):
    job = load_jobs()["test_fails"]
    with caplog.at_level(logging.INFO, logger="api.cron"):
        assert run_job(job) is Outcome.FAILED
    failed = caplog.records[-1]
    assert failed.levelno == logging.ERROR
    assert failed.getMessage().startswith("Cron job test_fails failed after ")
    assert "RuntimeError: the job broke" in caplog.text
    assert job_lock("test_fails", 60).acquire() is True


@pytest.mark.usefixtures("lock_cache")
def test_a_run_that_outlives_its_lock_is_reported(caplog):
    slow = replace(load_jobs()["test_succeeds"], run=lambda: time.sleep(1.2), lock_timeout=1)
    with caplog.at_level(logging.INFO, logger="api.cron"):
        assert run_job(slow) is Outcome.SUCCEEDED
    assert caplog.records[-1].levelno == logging.ERROR
    assert "Cron job test_succeeds ran past its lock timeout (1 s)" in caplog.text


def test_a_cache_down_when_the_lock_is_taken_fails_the_run_with_a_log_line(
    settings, monkeypatch, caplog
):
    settings.CACHES = redis_caches(f"redis://127.0.0.1:{closed_port()}/0")
    monkeypatch.setattr(runner, "GIVE_BACK_SECONDS", 0.6)  # the lock would have gone back
    with caplog.at_level(logging.INFO, logger="api.cron"):
        assert run_job(load_jobs()["test_succeeds"]) is Outcome.FAILED
    failed = next(record for record in caplog.records if record.levelno == logging.ERROR)
    assert failed.getMessage().startswith(
        "Cron job test_succeeds failed: could not take its lock: ConnectionError: "
    )
    assert failed.outcome == "failed"
    assert "started" not in caplog.text


@pytest.fixture
def relayed_redis(settings, redis_url, real_redis) -> Iterator[TcpRelay]:
    """The caches on the real Redis through a relay the test can cut or make drop replies."""
    target = urlsplit(redis_url)
    port = closed_port()
    relay = TcpRelay(port, (target.hostname or "127.0.0.1", target.port or 6379))
    settings.CACHES = redis_caches(f"redis://127.0.0.1:{port}{target.path}")
    yield relay
    relay.close()
    circuit_breaker(f"127.0.0.1:{port}").close()  # the next user of the port starts afresh


def test_a_lock_set_after_its_reply_timed_out_is_given_back(relayed_redis, real_redis, caplog):
    # Redis runs the lock's SET, but its reply never comes back within the client's 1 s socket
    # timeout (a stall, a lost packet). Kept, the lock would make the scheduler's retry a
    # "skipped" (exit 0) for the whole lock timeout.
    # Connected first: only the SET's reply goes missing, not the connection's handshake.
    assert get_redis_connection("default").ping()
    relayed_redis.drop_replies()
    # The replies come back once the timeout has tripped the circuit breaker, whose cooldown
    # the give-back waits out.
    threading.Timer(1.5, relayed_redis.forward_replies).start()
    with caplog.at_level(logging.INFO, logger="api.cron"):
        assert run_job(load_jobs()["test_succeeds"]) is Outcome.FAILED
    assert "could not take its lock: TimeoutError: " in caplog.text
    assert real_redis.keys("cron:lock:*") == []


def test_a_cache_lost_while_the_lock_is_given_back_keeps_the_jobs_outcome(
    relayed_redis, real_redis, caplog
):
    # The job cuts the cache's connections as it ends: Redis is gone when the lock goes back.
    job = replace(load_jobs()["test_succeeds"], run=relayed_redis.close)
    with caplog.at_level(logging.INFO, logger="api.cron"):
        assert run_job(job) is Outcome.SUCCEEDED
    assert "Cron job test_succeeds succeeded in " in caplog.text
    assert "Cron job test_succeeds could not give back its lock, which lapses within 900 s: " in (
        caplog.text
    )
    assert real_redis.delete("cron:lock:test_succeeds") == 1  # held, until it lapses
