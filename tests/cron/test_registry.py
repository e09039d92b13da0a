"""The registry of cron jobs: `@cron_job` and `load_jobs()` (api/cron/registry.py)."""

import pytest
from django.core.exceptions import ImproperlyConfigured

import tests.cron.jobs  # noqa: F401  (registers the test jobs)
from api.cron.registry import cron_job, load_jobs


def test_load_jobs_lists_registered_jobs_by_name():
    jobs = load_jobs()
    assert {"test_succeeds", "test_fails"} <= set(jobs)
    assert list(jobs) == sorted(jobs)
    assert jobs["test_succeeds"].run() == "3 things tidied"
    assert jobs["test_waits_for_release"].lock_timeout == 60


def test_a_second_job_with_the_same_name_is_refused():
    def impostor() -> None:
        pass

    with pytest.raises(ImproperlyConfigured, match="'test_succeeds' is defined twice"):
        cron_job("test_succeeds")(impostor)


@pytest.mark.parametrize("name", ["", "Has-Capitals", "with space", "9starts_with_digit"])
def test_names_that_are_not_identifiers_are_refused(name):
    with pytest.raises(ImproperlyConfigured, match="must match"):
        cron_job(name)


@pytest.mark.parametrize("lock_timeout", [0, -1, 1.5, True])
def test_a_lock_timeout_that_is_not_whole_seconds_is_refused(lock_timeout):
    # 0: on Redis a lock that never lapses, in memory no lock at all.
    with pytest.raises(ImproperlyConfigured, match="lock_timeout must be a whole number"):
        cron_job("tidy", lock_timeout=lock_timeout)
