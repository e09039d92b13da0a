"""`manage.py wait_for_db`: waits for the database, gives up after the timeout naming it."""

import socket
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
    # cut to the time left. Timed from the first attempt, not from the process's start-up.
    server = urlsplit(mysql_url)
    port = closed_port()
    relay = TcpRelay(port, (server.hostname or "127.0.0.1", server.port or 3306))
    relay.silence()
    url = server._replace(netloc=f"root@127.0.0.1:{port}").geturl()
    waiting = start_waiting(url, timeout=1)
    try:
        while relay.accepted_connections == 0:
            assert waiting.poll() is None, waiting.communicate()
            time.sleep(0.01)
        started = time.monotonic()
        _, stderr = waiting.communicate(timeout=30)
        elapsed = time.monotonic() - started
    finally:
        waiting.kill()
        relay.close()
    assert waiting.returncode == 1
    assert "did not accept connections within 1 s" in stderr
    # The attempt's 1 s and the exit, not the 5 s the settings give a connect.
    assert elapsed < 3.5


def start_waiting(url: str, *, timeout: int) -> subprocess.Popen[str]:
    return subprocess.Popen(
        [sys.executable, "manage.py", "wait_for_db", "--timeout", str(timeout)],
        cwd=ROOT,
        env=environment({"DATABASE_URL": url}, ()),
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )


def test_waits_until_the_database_comes_up(mysql_url):
    server = urlsplit(mysql_url)
    port = closed_port()
    url = server._replace(netloc=f"{server.netloc.rpartition('@')[0]}@127.0.0.1:{port}").geturl()
    # Its first attempt is hung up on (no database there yet); then the database is there.
    refuser = socket.create_server(("127.0.0.1", port))
    refuser.settimeout(60)
    waiting = start_waiting(url, timeout=30)
    relay = None
    try:
        first_attempt, _ = refuser.accept()
        first_attempt.close()
        refuser.close()
        assert waiting.poll() is None, waiting.communicate()
        relay = TcpRelay(port, (server.hostname or "127.0.0.1", server.port or 3306))
        stdout, stderr = waiting.communicate(timeout=30)
    finally:
        waiting.kill()
        refuser.close()
        if relay is not None:
            relay.close()
    assert waiting.returncode == 0, stderr
    assert f"Waiting up to 30 s for database 127.0.0.1:{port}/" in stderr
    assert "is up (after" in stdout
