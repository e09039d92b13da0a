"""Running a cron job (api/cron/helper.py): the lock keeps concurrent runs out, and each run
is timed and logged. On the run's configured cache and on the real Redis."""

import logging
import threading
import time
from dataclasses import replace

import pytest
from django.core.cache import caches

from api.cron.helper import Outcome, job_lock, run_job
from api.cron.registry import load_jobs
from tests.cron.jobs import runs, wait_for_runs


@pytest.fixture(params=["configured", "redis"])
def lock_cache(request, settings):
    """The run's cache (Redis or local memory), and the real Redis whatever the run uses."""
    if request.param == "redis":
        settings.CACHES = {
            "default": {
                "BACKEND": "django_redis.cache.RedisCache",
                "LOCATION": request.getfixturevalue("redis_url"),
            }
        }
        caches["default"].clear()
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
    with caplog.at_level(logging.INFO, logger="api.cron"):
        assert run_job(load_jobs()["test_succeeds"]) is Outcome.SUCCEEDED
    finished = caplog.records[-1]
    assert finished.getMessage().startswith("Cron job test_succeeds succeeded in 0.")
    assert finished.getMessage().endswith(" s: 3 things tidied")
    assert finished.outcome == "succeeded"
    assert finished.duration_ms >= 0


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
