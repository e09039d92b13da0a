"""entrypoint.sh run as a process: it waits for MySQL, migrates once across replicas, serves.

Each test gets its own scratch database; gunicorn binds to loopback through GUNICORN_CMD_ARGS,
which the default command honours like any other gunicorn flag.
"""

import contextlib
import os
import re
import signal
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request
from pathlib import Path
from urllib.parse import urlsplit

import pytest

from core.env import BOOLEAN_WORDS
from tests.databases import mysql_connect, query, scratch_database
from tests.live import free_port
from tests.processes import ROOT, environment
from tests.relay import TcpRelay
from tests.services import closed_port, redis_server_url

ENTRYPOINT = str(ROOT / "entrypoint.sh")


def entrypoint_env(database_url: str, **extra: str) -> dict[str, str]:
    """The test environment (production settings, a Redis as production has one), with this
    interpreter's `python` and `gunicorn` first on PATH."""
    path = f"{Path(sys.executable).parent}{os.pathsep}{os.environ.get('PATH', '')}"
    inherited = environment(None, drop=("RUN_MIGRATIONS", "DB_WAIT_TIMEOUT"))
    return inherited | {
        "DATABASE_URL": database_url,
        "REDIS_URL": redis_server_url(),
        "PATH": path,
        **extra,
    }


def start(*command: str, env: dict[str, str]) -> subprocess.Popen[str]:
    return subprocess.Popen(
        [ENTRYPOINT, *command],
        cwd=ROOT,
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
        start_new_session=True,
    )


def stop(process: subprocess.Popen[str]) -> str:
    if process.poll() is None:
        os.killpg(process.pid, signal.SIGTERM)
    output, _ = process.communicate(timeout=30)
    return output


def wait_until_ready(url: str, process: subprocess.Popen[str], timeout: float = 60) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        assert process.poll() is None, f"the entrypoint exited:\n{stop(process)}"
        try:
            with urllib.request.urlopen(url, timeout=2) as response:
                if response.status == 200:
                    return
        except (urllib.error.URLError, ConnectionError, TimeoutError):
            pass
        time.sleep(0.2)
    raise AssertionError(f"{url} did not answer 200 within {timeout} s:\n{stop(process)}")


@pytest.fixture
def fresh_database(mysql_url):
    with scratch_database(mysql_url, "entry") as url:
        yield url


def test_waits_for_the_database_migrates_then_serves_until_ready(fresh_database):
    # The database answers only once a relay to the real server opens, after the entrypoint's
    # first attempt has failed (however long its start takes on a busy machine).
    server_address = urlsplit(fresh_database)
    relay_port, http_port = closed_port(), free_port()
    credentials = server_address.netloc.rpartition("@")[0]
    late_database = server_address._replace(netloc=f"{credentials}@127.0.0.1:{relay_port}")
    env = entrypoint_env(
        late_database.geturl(),
        RUN_MIGRATIONS="1",
        WEB_CONCURRENCY="1",
        GUNICORN_CMD_ARGS=f"--bind=127.0.0.1:{http_port}",
    )
    refuser = socket.create_server(("127.0.0.1", relay_port))
    refuser.settimeout(60)
    server = start(env=env)
    relay = None
    try:
        first_attempt, _ = refuser.accept()  # hung up on at once: no database there yet
        first_attempt.close()
        refuser.close()
        assert server.poll() is None, stop(server)
        relay = TcpRelay(relay_port, (server_address.hostname or "", server_address.port or 3306))
        wait_until_ready(f"http://127.0.0.1:{http_port}/health/ready/", server)
    finally:
        output = stop(server)
        if relay:
            relay.close()
    target = f"127.0.0.1:{relay_port}{server_address.path}"
    assert f"Waiting up to 60 s for database {target}" in output
    assert f"Database {target} is up (after " in output
    assert "Applying api.0001_initial... OK" in output
    assert f"Listening at: http://127.0.0.1:{http_port}" in output
    assert query(fresh_database, "SELECT COUNT(*) FROM django_migrations")[0][0] > 0


def test_a_closed_database_port_fails_within_the_wait_timeout_naming_the_database():
    port = closed_port()
    env = entrypoint_env(f"mysql://shop:pa55-not-logged@127.0.0.1:{port}/shop", DB_WAIT_TIMEOUT="3")
    started = time.monotonic()
    result = subprocess.run(
        [ENTRYPOINT], cwd=ROOT, env=env, capture_output=True, text=True, timeout=60, check=False
    )
    elapsed = time.monotonic() - started
    assert result.returncode != 0
    assert elapsed < 3 + 5
    assert f"Database 127.0.0.1:{port}/shop did not accept connections within 3 s" in result.stderr
    assert "pa55-not-logged" not in result.stdout + result.stderr
    assert "Listening at" not in result.stdout + result.stderr  # the server never started


def running_in_group(group: int) -> list[str]:
    """The command lines of the processes of process group `group` that have not exited."""
    listing = subprocess.run(
        ["ps", "-A", "-o", "pgid=,stat=,args="], capture_output=True, text=True, check=True
    ).stdout
    rows = (line.split(None, 2) for line in listing.splitlines())
    return [row[2] for row in rows if int(row[0]) == group and not row[1].startswith("Z")]


def test_sigterm_during_the_wait_for_the_database_ends_it_and_exits_143():
    # A pod deleted (or a container stopped) while the database is down: the shell must pass the
    # signal on to the step it waits for and exit, not sit out DB_WAIT_TIMEOUT.
    env = entrypoint_env(f"mysql://shop@127.0.0.1:{closed_port()}/shop", DB_WAIT_TIMEOUT="60")
    entrypoint = start(env=env)
    try:
        deadline = time.monotonic() + 30
        while not any("wait_for_db" in command for command in running_in_group(entrypoint.pid)):
            assert entrypoint.poll() is None, stop(entrypoint)
            assert time.monotonic() < deadline, "wait_for_db never started"
            time.sleep(0.1)
        signalled = time.monotonic()
        entrypoint.send_signal(signal.SIGTERM)
        returncode = entrypoint.wait(timeout=30)
        elapsed = time.monotonic() - signalled
        left_running = running_in_group(entrypoint.pid)
    finally:
        with contextlib.suppress(ProcessLookupError):
            os.killpg(entrypoint.pid, signal.SIGKILL)  # whatever the shell left behind
        output, _ = entrypoint.communicate(timeout=30)
    assert returncode == 128 + signal.SIGTERM, output
    assert elapsed < 5
    assert left_running == []


def waiting_for_lock(url: str, lock: str) -> int:
    """How many sessions are blocked in GET_LOCK(lock) on the server of `url`."""
    rows = query(
        url,
        "SELECT COUNT(*) FROM information_schema.PROCESSLIST WHERE INFO LIKE %s",
        (f"SELECT GET_LOCK('{lock}'%",),
    )
    return int(rows[0][0])


def test_two_replicas_started_together_both_succeed_and_migrate_once(fresh_database):
    lock = f"migrate:{fresh_database.rsplit('/', 1)[1]}"
    # The test holds the lock until both replicas wait for it, then lets them race for it: a
    # start-up one second apart would otherwise let them migrate one after the other.
    holder = mysql_connect(fresh_database)
    try:
        with holder.cursor() as cursor:
            cursor.execute("SELECT GET_LOCK(%s, 0)", (lock,))
        env = entrypoint_env(fresh_database, RUN_MIGRATIONS="1")
        replicas = [start("python", "-c", "print('app started')", env=env) for _ in range(2)]
        deadline = time.monotonic() + 60
        while waiting_for_lock(fresh_database, lock) < 2:
            assert all(replica.poll() is None for replica in replicas), list(map(stop, replicas))
            assert time.monotonic() < deadline, "the replicas never reached the lock"
            time.sleep(0.1)
    finally:
        holder.close()  # releases the lock
    outputs = [replica.communicate(timeout=120)[0] for replica in replicas]
    assert [replica.returncode for replica in replicas] == [0, 0], "\n".join(outputs)
    assert all(output.rstrip().endswith("app started") for output in outputs)
    assert sum("Applying api.0001_initial... OK" in output for output in outputs) == 1
    assert sum("No migrations to apply." in output for output in outputs) == 1
    applied, distinct = query(
        fresh_database, "SELECT COUNT(*), COUNT(DISTINCT app, name) FROM django_migrations"
    )[0]
    assert applied == distinct > 0


def test_the_shell_reads_a_switch_with_the_settings_words():
    # RUN_MIGRATIONS is read by entrypoint.sh, the others by core/env.py: one set of words.
    source = Path(ENTRYPOINT).read_text()
    cases = re.findall(r"^\s*([^()\n]+)\) echo ([01]) ;;$", source, re.MULTILINE)
    words = {
        word.strip(): value == "1"
        for pattern, value in cases
        for word in pattern.split("|")
        if word.strip() != '""'
    }
    assert words == BOOLEAN_WORDS


@pytest.mark.parametrize("switch", ["true", "ON", "Yes"])
def test_on_sqlite_it_migrates_and_runs_the_given_command(tmp_path, switch):
    env = entrypoint_env(f"sqlite:///{tmp_path / 'db.sqlite3'}", RUN_MIGRATIONS=switch)
    result = subprocess.run(
        [ENTRYPOINT, "python", "manage.py", "showmigrations", "api"],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert result.returncode == 0, result.stderr
    assert "(sqlite: no lock needed)" in result.stdout
    assert " [X] 0001_initial" in result.stdout


def run_before_an_unanswering_database(**extra: str) -> subprocess.CompletedProcess[str]:
    """The entrypoint with a database that never answers: a refusal that came after the wait
    would take DB_WAIT_TIMEOUT (60 s)."""
    env = entrypoint_env(f"mysql://root@127.0.0.1:{closed_port()}/app", DB_WAIT_TIMEOUT="60")
    started = time.monotonic()
    result = subprocess.run(
        [ENTRYPOINT, "true"],
        cwd=ROOT,
        env={**env, **extra},
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert "Waiting up to" not in result.stderr
    assert time.monotonic() - started < 30
    return result


def test_a_misspelt_run_migrations_is_refused_before_waiting_for_the_database():
    result = run_before_an_unanswering_database(RUN_MIGRATIONS="sure")
    assert result.returncode == 64
    assert "RUN_MIGRATIONS must be 1/true/yes/on or 0/false/no/off, not 'sure'" in result.stderr


def test_production_without_redis_is_refused_before_waiting_for_the_database():
    # Each gunicorn worker would keep its own nonces, revocations and rate limits.
    result = run_before_an_unanswering_database(REDIS_URL="")
    assert result.returncode != 0
    assert "api.E003" in result.stderr
    assert "REDIS_URL is not set" in result.stderr


@pytest.mark.parametrize("where", ["environment", "env file"])
def test_with_debug_on_the_deploy_checks_are_not_run(tmp_path, where):
    # A developer's container (docker-compose's DEBUG=true), or the entrypoint run outside one
    # with DEBUG=true in .env: warnings like "DEBUG is on" would only be noise, and a missing
    # REDIS_URL is the embedded default's. It then waits for the database as ever.
    env_file = tmp_path / ".env"
    env_file.write_text("DEBUG=true\n" if where == "env file" else "")
    env = entrypoint_env(
        f"mysql://root@127.0.0.1:{closed_port()}/app",
        REDIS_URL="",
        DB_WAIT_TIMEOUT="1",
        ENV_FILE=str(env_file),
    )
    env.pop("DEBUG", None)
    if where == "environment":
        env["DEBUG"] = "true"
    result = subprocess.run(
        [ENTRYPOINT, "true"], cwd=ROOT, env=env, capture_output=True, text=True, timeout=60
    )
    assert result.returncode == 1
    assert "api.E003" not in result.stderr
    assert "W018" not in result.stderr
    assert "did not accept connections within 1 s" in result.stderr
