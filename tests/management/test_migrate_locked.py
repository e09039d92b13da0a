"""`manage.py migrate_locked`: migrate under a MySQL named lock; plain migrate on SQLite."""

import re
import sqlite3
import threading
from urllib.parse import urlsplit

import pytest

from tests.databases import mysql_connect, query, scratch_database
from tests.processes import run_manage


@pytest.fixture
def fresh_database(mysql_url):
    with scratch_database(mysql_url, "migrate") as url:
        yield url


def table_names(url: str) -> set[str]:
    return {name for (name,) in query(url, "SHOW TABLES")}


def test_migrates_a_fresh_database_under_the_lock(fresh_database):
    name = urlsplit(fresh_database).path.lstrip("/")
    result = run_manage("migrate_locked", env={"DATABASE_URL": fresh_database})
    assert result.returncode == 0, result.stderr
    assert f"Taking the migration lock 'migrate:{name}'" in result.stdout
    assert "Applying api.0001_initial... OK" in result.stdout
    assert result.stdout.rstrip().endswith("Migration lock released.")
    assert {"django_migrations", "api_user", "api_device"} <= table_names(fresh_database)


def test_gives_up_while_another_process_holds_the_lock(fresh_database):
    name = urlsplit(fresh_database).path.lstrip("/")
    holder = mysql_connect(fresh_database)
    try:
        with holder.cursor() as cursor:
            cursor.execute("SELECT GET_LOCK(%s, 0)", (f"migrate:{name}",))
        result = run_manage(
            "migrate_locked", "--lock-timeout", "1", env={"DATABASE_URL": fresh_database}
        )
    finally:
        holder.close()  # the server releases the lock with the connection
    assert result.returncode == 1
    assert f"Could not take the migration lock 'migrate:{name}' within 1 s" in result.stderr
    assert table_names(fresh_database) == set()

    retried = run_manage("migrate_locked", env={"DATABASE_URL": fresh_database})
    assert retried.returncode == 0, retried.stderr


def test_waits_for_the_lock_past_the_read_timeout_of_the_web(fresh_database):
    """The web's DATABASE_URL may bound each query (README); the lock's wait is not cut by it."""
    name = urlsplit(fresh_database).path.lstrip("/")
    holder = mysql_connect(fresh_database)
    try:
        with holder.cursor() as cursor:
            cursor.execute("SELECT GET_LOCK(%s, 0)", (f"migrate:{name}",))
        release = threading.Timer(3, holder.close)  # the lock goes with the connection
        release.start()
        bounded = f"{fresh_database}?read_timeout=1&write_timeout=1"
        result = run_manage("migrate_locked", env={"DATABASE_URL": bounded})
    finally:
        release.join()
    assert result.returncode == 0, result.stderr
    waited = re.search(r"Migration lock taken after ([\d.]+) s", result.stdout)
    assert waited, result.stdout
    assert float(waited[1]) > 1  # longer than the read timeout
    assert "api_device" in table_names(fresh_database)


def test_runs_the_system_checks_of_migrate(mysql_url):
    with scratch_database(mysql_url, "latin", charset="latin1") as url:
        result = run_manage("migrate_locked", env={"DATABASE_URL": url})
        assert table_names(url) == set()
    assert result.returncode == 1
    assert "api.E001" in result.stderr


def test_sqlite_is_migrated_without_a_lock(tmp_path):
    path = tmp_path / "db.sqlite3"
    result = run_manage("migrate_locked", env={"DATABASE_URL": f"sqlite:///{path}"})
    assert result.returncode == 0, result.stderr
    assert "(sqlite: no lock needed)" in result.stdout
    with sqlite3.connect(path) as connection:
        tables = {row[0] for row in connection.execute("SELECT name FROM sqlite_master")}
    assert "api_device" in tables
