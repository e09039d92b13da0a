"""`manage.py wait_for_db`: waits for the database, gives up after the timeout naming it."""

import subprocess
import sys
import time
from io import StringIO
from urllib.parse import urlsplit

import pytest
from django.core.management import call_command

from tests.processes import ROOT, environment, run_manage
from tests.relay import TcpRelay
from tests.services import closed_port


@pytest.mark.django_db
def test_returns_at_once_when_the_database_answers():
    out, err = StringIO(), StringIO()
    call_command("wait_for_db", "--timeout", "5", stdout=out, stderr=err)
    # Up at the first attempt: no waiting announced, no retry.
    assert "is up" in out.getvalue()
    assert "Waiting" not in out.getvalue() + err.getvalue()


def test_gives_up_after_db_wait_timeout_naming_the_database_but_not_the_password():
    port = closed_port()
    started = time.monotonic()
    result = run_manage(
        "wait_for_db",
        env={
            "DATABASE_URL": f"mysql://shop:pa55-not-logged@127.0.0.1:{port}/shop",
            "DB_WAIT_TIMEOUT": "2",
        },
    )
    elapsed = time.monotonic() - started
    assert result.returncode == 1
    assert 2 <= elapsed < 2 + 5
    assert (
        f"CommandError: Database 127.0.0.1:{port}/shop did not accept connections within 2 s"
        in result.stderr
    )
    assert f"Waiting up to 2 s for database 127.0.0.1:{port}/shop" in result.stderr
    assert "pa55-not-logged" not in result.stdout + result.stderr


def test_the_timeout_option_wins_over_the_setting():
    started = time.monotonic()
    result = run_manage(
        "wait_for_db",
        "--timeout",
        "1",
        env={
            "DATABASE_URL": f"mysql://root@127.0.0.1:{closed_port()}/shop",
            "DB_WAIT_TIMEOUT": "60",
        },
    )
    assert result.returncode == 1
    assert "within 1 s" in result.stderr
    assert time.monotonic() - started < 1 + 5


def test_a_database_that_accepts_but_never_answers_is_given_up_on_time(mysql_url):
    # Connections are accepted and then nothing: a hung server, or a route that drops packets.
    # Each attempt waits for the server's greeting up to its connect timeout (5 s in settings),
    # cut to the time left.
    server = urlsplit(mysql_url)
    port = closed_port()
    relay = TcpRelay(port, (server.hostname or "127.0.0.1", server.port or 3306))
    relay.silence()
    url = server._replace(netloc=f"root@127.0.0.1:{port}").geturl()
    started = time.monotonic()
    try:
        result = run_manage("wait_for_db", "--timeout", "1", env={"DATABASE_URL": url})
    finally:
        relay.close()
    assert result.returncode == 1
    assert "did not accept connections within 1 s" in result.stderr
    assert time.monotonic() - started < 1 + 2.5
    assert relay.accepted_connections >= 1


def test_waits_until_the_database_comes_up(mysql_url):
    server = urlsplit(mysql_url)
    port = closed_port()
    url = server._replace(netloc=f"{server.netloc.rpartition('@')[0]}@127.0.0.1:{port}").geturl()
    waiting = subprocess.Popen(
        [sys.executable, "manage.py", "wait_for_db", "--timeout", "30"],
        cwd=ROOT,
        env=environment({"DATABASE_URL": url}, ()),
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    time.sleep(2)
    assert waiting.poll() is None, waiting.communicate()
    relay = TcpRelay(port, (server.hostname or "127.0.0.1", server.port or 3306))
    try:
        stdout, stderr = waiting.communicate(timeout=20)
    finally:
        waiting.kill()
        relay.close()
    assert waiting.returncode == 0, stderr
    assert f"Waiting up to 30 s for database 127.0.0.1:{port}/" in stderr
    assert "is up (after" in stdout
