"""`update_rows` (api/db.py) does what the ORM's filter().update() does, on the run's database."""

import uuid
from datetime import UTC, datetime

import pytest
from django.core.exceptions import FieldDoesNotExist
from django.db import IntegrityError, connection, transaction
from django.db.models import F
from django.test.utils import CaptureQueriesContext

from api.db import _statement, update_rows
from api.models import Device, User
from tests.factories import DeviceFactory
from tests.subjects.factories import PostFactory
from tests.subjects.models import Post

SEEN = datetime(2026, 11, 27, 12, 30, 45, 123456, tzinfo=UTC)


@pytest.mark.django_db
def test_it_writes_what_the_orm_writes_and_counts_the_rows_that_matched():
    ours, theirs, other = DeviceFactory(), DeviceFactory(), DeviceFactory()
    values = {"last_seen_at": SEEN, "last_ip": "2001:db8::1", "token_chain": "c" * 32}

    assert update_rows(Device, where={"pk": ours.pk, "is_active": True}, values=values) == 1
    assert Device.objects.filter(pk=theirs.pk, is_active=True).update(**values) == 1

    fields = ["last_seen_at", "last_ip", "token_chain", "refresh_jti", "app_version"]
    written = Device.objects.values(*fields)
    assert written.get(pk=ours.pk) == written.get(pk=theirs.pk)
    assert written.get(pk=ours.pk)["last_seen_at"] == SEEN
    assert written.get(pk=other.pk)["last_seen_at"] is None


@pytest.mark.django_db
def test_a_row_that_already_holds_the_values_still_counts_as_matched():
    # MySQL counts changed rows unless the client asks for found rows (Django's backend does):
    # a refresh whose UPDATE matched must not read as lost.
    device = DeviceFactory(token_chain="c" * 32)
    assert update_rows(Device, where={"pk": device.pk}, values={"token_chain": "c" * 32}) == 1


@pytest.mark.django_db
def test_each_condition_must_hold():
    device = DeviceFactory(token_chain="c" * 32)
    assert (
        update_rows(
            Device, where={"pk": device.pk, "is_active": False}, values={"app_version": "2"}
        )
        == 0
    )
    assert (
        update_rows(
            Device, where={"pk": device.pk, "token_chain": "d" * 32}, values={"app_version": "2"}
        )
        == 0
    )
    assert update_rows(Device, where={"pk": uuid.uuid4()}, values={"app_version": "2"}) == 0
    # A primary key given as text, as the auth state holds it, is the same device.
    assert (
        update_rows(
            Device,
            where={"pk": str(device.pk), "token_chain": "c" * 32},
            values={"app_version": "2"},
        )
        == 1
    )
    device.refresh_from_db()
    assert device.app_version == "2"


@pytest.mark.django_db
def test_it_is_one_query_and_its_sql_is_built_once():
    devices = DeviceFactory.create_batch(2)
    with CaptureQueriesContext(connection) as queries:
        for device in devices:
            update_rows(Device, where={"pk": device.pk}, values={"push_token": "p"})
    assert len(queries) == 2
    assert queries[0]["sql"].startswith("UPDATE")
    assert "push_token" in queries[0]["sql"]
    built = _statement.cache_info().misses
    update_rows(Device, where={"pk": devices[0].pk}, values={"push_token": "q"})
    assert _statement.cache_info().misses == built


@pytest.mark.django_db
def test_a_database_error_is_djangos_and_spoils_the_transaction():
    device = DeviceFactory()
    with transaction.atomic():
        update_rows(Device, where={"pk": device.pk}, values={"app_version": "2"})
        with pytest.raises(IntegrityError):
            update_rows(Device, where={"pk": device.pk}, values={"secret_kid": None})
        assert transaction.get_rollback()
    device.refresh_from_db()
    assert device.app_version == "1.0.0"


@pytest.mark.django_db
@pytest.mark.parametrize(
    ("where", "values", "error"),
    [
        ({"pk": uuid.uuid4()}, {}, ValueError),
        ({}, {"app_version": "2"}, ValueError),
        ({"last_ip": None}, {"app_version": "2"}, TypeError),
        ({"pk": uuid.uuid4()}, {"app_version": F("os_version")}, TypeError),
        ({"pk": uuid.uuid4()}, {"no_such_field": "2"}, FieldDoesNotExist),
        ({"user__is_active": True}, {"app_version": "2"}, FieldDoesNotExist),
    ],
    ids=["no values", "no filter", "null filter", "expression", "unknown field", "join"],
)
def test_what_belongs_to_the_orm_is_refused(where, values, error):
    device = DeviceFactory()
    with pytest.raises(error):
        update_rows(Device, where=where, values=values)
    assert Device.objects.get(pk=device.pk).app_version == "1.0.0"


@pytest.mark.django_db
def test_a_relation_that_is_not_a_column_of_the_model_is_refused():
    user = DeviceFactory().user
    with pytest.raises(TypeError, match="devices"):
        update_rows(User, where={"devices": 1}, values={"first_name": "x"})
    assert User.objects.get(pk=user.pk).first_name == ""


@pytest.mark.django_db
def test_a_foreign_key_matches_the_related_rows_id_by_either_name():
    device, other = DeviceFactory(), DeviceFactory()
    for name in ("user", "user_id"):
        assert update_rows(Device, where={name: other.user_id}, values={"app_version": name}) == 1
    assert (
        update_rows(Device, where={"user": other.user_id + 1000}, values={"app_version": "x"}) == 0
    )
    assert Device.objects.get(pk=device.pk).app_version == "1.0.0"
    assert Device.objects.get(pk=other.pk).app_version == "user_id"


@pytest.mark.django_db
def test_a_model_whose_key_is_an_integer():
    post = PostFactory()
    assert update_rows(Post, where={"pk": post.pk}, values={"title": "Renamed 😀"}) == 1
    post.refresh_from_db()
    assert post.title == "Renamed 😀"
