"""`manage.py runcron`: runs one job in its own process, exit status for the scheduler."""

import io
import json
import os
import signal
import subprocess
import sys
import threading
import time
from typing import Any

import pytest
from django.core.management import call_command

from tests.cron.jobs import runs, wait_for_runs
from tests.processes import DJANGO_SETUP, ROOT, environment, run_manage, run_python

TEST_JOBS = ["test_fails", "test_queries_for", "test_succeeds", "test_waits_for_release"]
APP_JOBS = ["deactivate_stale_devices", "purge_auth_state"]


def runcron_code(*args: str) -> str:
    """manage.py runcron `args`, with the test jobs registered first."""
    return (
        DJANGO_SETUP
        + "import tests.cron.jobs\n"
        + "from django.core.management import execute_from_command_line\n"
        + f"execute_from_command_line(['manage.py', 'runcron', *{list(args)!r}])\n"
    )


def runcron(*args: str, env: dict[str, str] | None = None) -> subprocess.CompletedProcess[str]:
    return run_python(runcron_code(*args), env=env)


def json_logs(output: str) -> list[dict[str, Any]]:
    return [json.loads(line) for line in output.splitlines() if line.startswith("{")]


def test_list_names_every_job():
    result = runcron("--list")
    assert result.returncode == 0, result.stderr
    assert result.stdout.split() == sorted(APP_JOBS + TEST_JOBS)


def test_the_app_alone_lists_its_own_jobs_only():
    result = run_manage("runcron", "--list")
    assert result.returncode == 0, result.stderr
    assert result.stdout.split() == APP_JOBS


def test_an_unknown_job_exits_non_zero_naming_the_known_ones():
    result = runcron("no_such_job")
    assert result.returncode == 1
    known = ", ".join(APP_JOBS + TEST_JOBS)
    assert f"CommandError: Unknown cron job 'no_such_job'. Known jobs: {known}." in result.stderr


@pytest.mark.parametrize("args", [(), ("--all", "test_succeeds")])
def test_one_job_or_all_must_be_asked_for(args):
    result = runcron(*args)
    assert result.returncode == 1
    assert "Name one job, or use --all" in result.stderr


def test_a_successful_run_exits_zero_and_logs_its_duration():
    result = runcron("test_succeeds", env={"LOG_FORMAT": "json"})
    assert result.returncode == 0, result.stderr
    started, finished = json_logs(result.stdout)
    assert started["message"] == "Cron job test_succeeds started."
    assert finished["message"].startswith("Cron job test_succeeds succeeded in ")
    assert finished["level"] == "INFO"
    assert finished["logger"] == "api.cron"
    assert finished["job"] == "test_succeeds"
    assert finished["outcome"] == "succeeded"
    assert isinstance(finished["duration_ms"], int)


def test_a_failing_run_exits_non_zero_with_the_traceback_in_the_log():
    result = runcron("test_fails", env={"LOG_FORMAT": "json"})
    assert result.returncode == 1
    failed = json_logs(result.stdout)[-1]
    assert failed["level"] == "ERROR"
    assert failed["outcome"] == "failed"
    assert "RuntimeError: the job broke" in failed["exc_info"]
    assert "CommandError: Cron job failed: test_fails (see the log above)." in result.stderr


def test_all_runs_every_job_and_fails_if_one_did(tmp_path, live_database):
    (tmp_path / "release").touch()
    # The app's jobs need a migrated database: the one the live servers use.
    env = {"CRON_TEST_DIR": str(tmp_path), "DATABASE_URL": live_database}
    result = runcron("--all", env=env)
    assert result.returncode == 1
    for job in ("deactivate_stale_devices", "purge_auth_state", "test_succeeds"):
        assert f"Cron job {job} succeeded" in result.stdout
    assert runs(tmp_path) == 1
    assert "Cron job failed: test_fails (see the log above)." in result.stderr


def test_a_job_query_is_not_cut_by_the_read_timeout_of_the_web(mysql_url):
    """The web's DATABASE_URL may bound each query (README); a job is a batch, not a request."""
    env = {"DATABASE_URL": f"{mysql_url}?read_timeout=1", "CRON_TEST_QUERY_SECONDS": "2"}
    result = runcron("test_queries_for", env=env)
    assert result.returncode == 0, result.stderr
    assert "Cron job test_queries_for succeeded" in result.stdout


def test_a_second_process_is_kept_out_while_the_first_runs(tmp_path, redis_url):
    env = {"CRON_TEST_DIR": str(tmp_path), "REDIS_URL": redis_url}
    first = subprocess.Popen(
        [sys.executable, "-c", runcron_code("test_waits_for_release")],
        cwd=ROOT,
        env=environment(env, ()),
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )
    try:
        wait_for_runs(tmp_path, 1)
        second = runcron("test_waits_for_release", env=env)
        (tmp_path / "release").touch()
        first_output, _ = first.communicate(timeout=30)
    finally:
        first.kill()
    assert second.returncode == 0, second.stderr
    assert "Cron job test_waits_for_release skipped: another run holds its lock." in second.stdout
    assert first.returncode == 0, first_output
    assert "Cron job test_waits_for_release succeeded" in first_output
    assert runs(tmp_path) == 1


def test_a_run_stopped_by_sigterm_gives_its_lock_back_so_the_retry_runs(tmp_path, redis_url):
    env = {"CRON_TEST_DIR": str(tmp_path), "REDIS_URL": redis_url, "LOG_FORMAT": "json"}
    first = subprocess.Popen(
        [sys.executable, "-c", runcron_code("test_waits_for_release")],
        cwd=ROOT,
        env=environment(env, ()),
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )
    try:
        wait_for_runs(tmp_path, 1)
        first.send_signal(signal.SIGTERM)
        first_output, _ = first.communicate(timeout=30)
    finally:
        first.kill()
    assert first.returncode == 143, first_output
    stopped = json_logs(first_output)[-1]
    assert stopped["message"].startswith("Cron job test_waits_for_release stopped after ")
    assert stopped["outcome"] == "stopped"
    # The scheduler's retry, at once: it runs, where it was skipped for the lock's 60 s.
    (tmp_path / "release").touch()
    retry = runcron("test_waits_for_release", env=env)
    assert retry.returncode == 0, retry.stdout
    assert "Cron job test_waits_for_release succeeded" in retry.stdout
    assert runs(tmp_path) == 2


def test_run_in_process_it_gives_back_the_sigterm_handler_it_found():
    def ours(signum: int, frame: object) -> None:
        pass

    previous = signal.signal(signal.SIGTERM, ours)
    try:
        call_command("runcron", "--list", stdout=io.StringIO())
        assert signal.getsignal(signal.SIGTERM) is ours
    finally:
        signal.signal(signal.SIGTERM, previous)


def test_once_stopping_a_second_sigterm_is_ignored_until_the_handler_found_is_back():
    from api.management.commands import runcron as command

    def ours(signum: int, frame: object) -> None:
        pass

    previous = signal.signal(signal.SIGTERM, ours)
    try:
        with command._sigterm_stops_the_job():
            assert signal.getsignal(signal.SIGTERM) is command._stop
            with pytest.raises(SystemExit) as stopped:
                command._stop(signal.SIGTERM, None)
            assert stopped.value.code == 143
            # The cleanup that follows (the job's lock given back) is not cut short.
            assert signal.getsignal(signal.SIGTERM) is signal.SIG_IGN
        assert signal.getsignal(signal.SIGTERM) is ours
    finally:
        signal.signal(signal.SIGTERM, previous)


def test_it_runs_from_a_thread_other_than_the_main_one():
    # Where Python refuses to set a signal handler (ValueError).
    out = io.StringIO()
    errors: list[BaseException] = []

    def list_jobs() -> None:
        try:
            call_command("runcron", "--list", stdout=out)
        except BaseException as error:
            errors.append(error)

    thread = threading.Thread(target=list_jobs)
    thread.start()
    thread.join(30)
    assert errors == []
    assert set(APP_JOBS) <= set(out.getvalue().split())


def test_the_cron_loop_passes_sigterm_to_the_running_job_and_exits_143(tmp_path, redis_url):
    # deploy/cron-loop.sh calls `python manage.py runcron --all`: here that `python` runs the
    # test job that waits, so that the signal comes while a job holds its lock.
    shim = tmp_path / "bin" / "python"
    shim.parent.mkdir()
    job = runcron_code("test_waits_for_release")
    shim.write_text(
        f"#!{sys.executable}\n"
        "import os, sys\n"
        "assert sys.argv[1:] == ['manage.py', 'runcron', '--all'], sys.argv\n"
        f"os.execv(sys.executable, [sys.executable, '-c', {job!r}])\n"
    )
    shim.chmod(0o755)
    env = {
        "CRON_TEST_DIR": str(tmp_path),
        "REDIS_URL": redis_url,
        "PATH": f"{shim.parent}:{os.environ['PATH']}",
    }
    loop = subprocess.Popen(
        ["sh", "deploy/cron-loop.sh", "3600"],
        cwd=ROOT,
        env=environment(env, ()),
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )
    try:
        wait_for_runs(tmp_path, 1)
        loop.send_signal(signal.SIGTERM)
        output, _ = loop.communicate(timeout=30)
    finally:
        (tmp_path / "release").touch()  # lets a job the loop left behind finish
        loop.kill()
    assert loop.returncode == 143, output
    # The job stopped and gave its lock back: the next run goes ahead at once.
    assert "Cron job test_waits_for_release stopped after " in output
    retry = runcron("test_waits_for_release", env=env)
    assert "Cron job test_waits_for_release succeeded" in retry.stdout, retry.stdout


def test_a_signal_while_the_cron_loop_stops_its_job_changes_nothing(tmp_path):
    # A job that takes a moment to wind down after SIGTERM, counting the ones it gets.
    shim = tmp_path / "bin" / "python"
    shim.parent.mkdir()
    shim.write_text(
        f"#!{sys.executable}\n"
        "import pathlib, signal, sys, time\n"
        f"marks = pathlib.Path({str(tmp_path)!r})\n"
        "def stop(signum, frame):\n"
        "    with (marks / 'terms').open('a') as terms:\n"
        "        terms.write('TERM\\n')\n"
        "    time.sleep(1)\n"
        "    sys.exit(143)\n"
        "signal.signal(signal.SIGTERM, stop)\n"
        "(marks / 'started').touch()\n"
        "time.sleep(60)\n"
    )
    shim.chmod(0o755)
    loop = subprocess.Popen(
        ["sh", "deploy/cron-loop.sh", "3600"],
        cwd=ROOT,
        env=environment({"PATH": f"{shim.parent}:{os.environ['PATH']}"}, ()),
    )
    try:
        wait_for(lambda: (tmp_path / "started").exists())
        loop.send_signal(signal.SIGTERM)
        wait_for(lambda: (tmp_path / "terms").exists())
        loop.send_signal(signal.SIGINT)  # docker stop, then a Ctrl-C
        loop.wait(timeout=30)
    finally:
        loop.kill()
    assert loop.returncode == 143
    assert (tmp_path / "terms").read_text() == "TERM\n"


def wait_for(condition: Any, timeout: float = 30) -> None:
    deadline = time.monotonic() + timeout
    while not condition():
        assert time.monotonic() < deadline, "timed out"
        time.sleep(0.02)


@pytest.mark.parametrize("interval", ["1h", "abc", "-5", "0", "2.5"])
def test_the_cron_loop_refuses_an_interval_that_is_not_whole_seconds(tmp_path, interval):
    # `sleep 1h` fails at once here: the loop would run every job back to back for ever.
    shim = tmp_path / "bin" / "python"
    shim.parent.mkdir()
    shim.write_text(f"#!/bin/sh\necho run >> {tmp_path / 'runs'}\n")
    shim.chmod(0o755)
    result = subprocess.run(
        ["sh", "deploy/cron-loop.sh", interval],
        cwd=ROOT,
        env=environment({"PATH": f"{shim.parent}:{os.environ['PATH']}"}, ()),
        capture_output=True,
        text=True,
        timeout=10,
    )
    assert result.returncode == 64
    assert f"must be a whole number of at least 1, not '{interval}'" in result.stderr
    assert not (tmp_path / "runs").exists()
