"""The data model: users get a profile, text round-trips 4-byte UTF-8, MySQL is utf8mb4 + strict."""

import json
import uuid
from urllib.parse import urlsplit

import pytest

from api.models import Device, User, UserProfile
from tests.factories import DeviceFactory, UserFactory
from tests.processes import DJANGO_SETUP, run_manage, run_python

EMOJI = "Pixel 😀 Ünïcode 𝄞 🇳🇱"


@pytest.mark.django_db
def test_a_new_user_gets_a_profile():
    user = User.objects.create_user("ada", "ada@example.com", "pw-0123456789")
    assert UserProfile.objects.get(user=user).display_name == ""


@pytest.mark.django_db
def test_saving_an_existing_user_does_not_create_a_second_profile():
    user = UserFactory()
    user.first_name = "Ada"
    user.save()
    assert UserProfile.objects.filter(user=user).count() == 1


@pytest.mark.django_db
def test_a_new_instance_saved_with_an_existing_users_id_keeps_their_one_profile():
    user = UserFactory()
    User(pk=user.pk, username=user.username, first_name="Ada").save()
    assert User.objects.get(pk=user.pk).first_name == "Ada"
    assert UserProfile.objects.filter(user=user).count() == 1


@pytest.mark.django_db
def test_a_new_user_given_an_unused_id_gets_a_profile():
    User(pk=4242, username="given-an-id").save()
    assert UserProfile.objects.filter(user_id=4242).count() == 1


@pytest.mark.django_db
def test_device_ids_are_uuid4_chosen_by_the_server():
    device = DeviceFactory()
    assert isinstance(device.id, uuid.UUID)
    assert device.id.version == 4
    assert device.is_active is True


@pytest.mark.django_db
def test_four_byte_utf8_round_trips_byte_identical():
    device = DeviceFactory(device_model=EMOJI[:64])
    profile = device.user.profile
    profile.bio = EMOJI * 10
    profile.display_name = EMOJI
    profile.save()
    device.refresh_from_db()
    profile.refresh_from_db()
    assert device.device_model.encode() == EMOJI[:64].encode()
    assert profile.bio.encode() == (EMOJI * 10).encode()
    assert profile.display_name.encode() == EMOJI.encode()


SESSION_QUERY = DJANGO_SETUP + (
    "import json\n"
    "from django.db import connection\n"
    "with connection.cursor() as cursor:\n"
    "    cursor.execute('SELECT @@character_set_connection, @@sql_mode')\n"
    "    row = list(cursor.fetchone())\n"
    # MariaDB names it tx_isolation, MySQL 8 transaction_isolation.
    '    cursor.execute("SHOW SESSION VARIABLES WHERE Variable_name IN "\n'
    "                   \"('tx_isolation', 'transaction_isolation')\")\n"
    "    row.append(cursor.fetchone()[1])\n"
    "import MySQLdb\n"
    "print(json.dumps([*row, MySQLdb.__name__]))\n"
)


def test_mysql_sessions_are_utf8mb4_strict_and_read_committed(mysql_url):
    result = run_python(SESSION_QUERY, {"DATABASE_URL": mysql_url, "LOG_LEVEL": "CRITICAL"})
    assert result.returncode == 0, result.stderr
    charset, sql_mode, isolation, _driver = json.loads(result.stdout)
    assert charset == "utf8mb4"
    assert "STRICT_TRANS_TABLES" in sql_mode
    assert isolation == "READ-COMMITTED"


BLOCK_MYSQLCLIENT = (
    "import sys\n"
    "class NoMysqlclient:\n"
    "    def find_spec(self, name, path=None, target=None):\n"
    "        if name == 'MySQLdb':\n"
    "            raise ImportError('mysqlclient is not installed')\n"
    "sys.meta_path.insert(0, NoMysqlclient())\n"
)


def test_pymysql_stands_in_when_mysqlclient_is_missing(mysql_url):
    result = run_python(
        BLOCK_MYSQLCLIENT + SESSION_QUERY, {"DATABASE_URL": mysql_url, "LOG_LEVEL": "CRITICAL"}
    )
    assert result.returncode == 0, result.stderr
    charset, sql_mode, _isolation, driver = json.loads(result.stdout)
    assert driver == "pymysql"
    assert charset == "utf8mb4"
    assert "STRICT_TRANS_TABLES" in sql_mode


def test_migrate_refuses_a_mysql_database_that_is_not_utf8mb4(mysql_url):
    name = f"latin1_{uuid.uuid4().hex[:8]}"
    admin = DJANGO_SETUP + (
        "from django.db import connection\n"
        "with connection.cursor() as cursor:\n"
        "    cursor.execute(SQL)\n"
    )
    server = {"DATABASE_URL": mysql_url, "LOG_LEVEL": "CRITICAL"}
    created = run_python(
        admin.replace("SQL", repr(f"CREATE DATABASE `{name}` CHARACTER SET latin1")), server
    )
    assert created.returncode == 0, created.stderr
    try:
        target = urlsplit(mysql_url)._replace(path=f"/{name}").geturl()
        result = run_manage("migrate", env={"DATABASE_URL": target, "LOG_LEVEL": "CRITICAL"})
        assert result.returncode != 0
        assert "api.E001" in result.stderr
        assert "utf8mb4" in result.stderr
    finally:
        run_python(admin.replace("SQL", repr(f"DROP DATABASE `{name}`")), server)


def test_device_platform_choices_match_the_spec():
    assert set(Device.Platform.values) == {"ios", "android", "web", "other"}
