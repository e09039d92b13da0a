"""api/snapshots.py: cached representations that a change can never leave stale."""

import logging
import time

import pytest
from django.core.cache import caches
from django.db import transaction

from api import snapshots
from api.models import UserProfile
from tests.services import closed_port, redis_caches
from tests.signing import ME, bearer, get_token, register, tombstones_expired
from tests.subjects.models import KioskDevice, StaffUser

# Transactional: a change is forgotten once it commits, which a test in a transaction never does.
pytestmark = pytest.mark.django_db(transaction=True)

KEY = snapshots.user_key(7)


def test_fill_keeps_a_snapshot_where_there_was_none():
    assert snapshots.read([KEY], None) == {KEY: None}
    snapshots.fill({KEY: {"user": "old"}}, read_at=time.monotonic())
    # A second reader's fill keeps the first.
    snapshots.fill({KEY: {"user": "other"}}, read_at=time.monotonic())
    assert snapshots.read([KEY], None) == {KEY: {"user": "old"}}


def test_a_read_from_before_a_change_cannot_come_back():
    read_at = time.monotonic()  # a request reads the row...
    snapshots.forget_user(7)  # ...the row changes...
    snapshots.fill({KEY: {"user": "old"}}, read_at=read_at)  # ...it fills: the tombstone wins
    assert not snapshots.usable(snapshots.read([KEY], None)[KEY])


def test_a_read_older_than_the_fill_window_is_not_kept():
    snapshots.fill({KEY: {"user": "old"}}, read_at=time.monotonic() - snapshots.FILL_WINDOW - 0.1)
    assert snapshots.read([KEY], None) == {KEY: None}


def test_the_tombstone_outlives_the_fill_window():
    assert snapshots.TOMBSTONE_TTL > snapshots.FILL_WINDOW


def test_a_cache_outage_is_a_miss_and_never_fails_a_change(settings, caplog):
    settings.CACHES = redis_caches(f"redis://127.0.0.1:{closed_port()}/0")
    with caplog.at_level(logging.WARNING, logger="api.snapshots"):
        assert snapshots.read([KEY], None) == {KEY: None}
        snapshots.fill({KEY: {"user": "old"}}, read_at=time.monotonic())
        snapshots.forget_user(7)
    assert len(caplog.records) == 3


def test_a_warm_me_reads_its_snapshots_in_the_limiters_round_trip(
    client, redis_round_trips, django_assert_num_queries
):
    device = register(client)
    access = get_token(client, device)["access"]
    tombstones_expired(device)
    cold = bearer(client, access, "GET", ME).json()  # one query; both snapshots kept
    redis_round_trips.clear()
    with django_assert_num_queries(0):
        warm = bearer(client, access, "GET", ME).json()
    assert warm == cold
    # Limits, the device's and user's auth state, and both snapshots: one command.
    assert redis_round_trips == [["EVALSHA"]]


def test_a_change_is_forgotten_as_it_is_made_and_again_once_it_commits():
    snapshots.fill({KEY: {"user": "old"}}, read_at=time.monotonic())
    with transaction.atomic():
        snapshots.forget_user(7)
        # Forgotten at once: the transaction reads its own change.
        assert not snapshots.usable(snapshots.read([KEY], None)[KEY])
        # A reader in another transaction still sees the old row, and may fill it once the
        # first tombstone is gone...
        caches["security"].delete(KEY)
        snapshots.fill({KEY: {"user": "old"}}, read_at=time.monotonic())
        assert snapshots.usable(snapshots.read([KEY], None)[KEY])
    # ...which the commit forgets again.
    assert not snapshots.usable(snapshots.read([KEY], None)[KEY])


def test_a_change_saved_through_a_proxy_model_is_seen_on_the_next_request(client):
    device = register(client)
    access = get_token(client, device)["access"]
    tombstones_expired(device)
    assert bearer(client, access, "GET", ME).status_code == 200  # both snapshots kept
    staff_user = StaffUser.objects.get(pk=device.user_id)
    staff_user.email = "renamed@example.com"
    staff_user.save()
    kiosk = KioskDevice.objects.get(pk=device.id)
    kiosk.app_version = "9.9.9"
    kiosk.save()
    body = bearer(client, access, "GET", ME).json()
    assert body["user"]["email"] == "renamed@example.com"
    assert body["device"]["app_version"] == "9.9.9"


def test_a_profile_created_for_a_user_who_had_none_is_seen_on_the_next_request(client):
    # The user's entry kept "no profile" (loaddata, bulk_create, a profile deleted).
    device = register(client)
    access = get_token(client, device)["access"]
    UserProfile.objects.filter(user_id=device.user_id).delete()
    tombstones_expired(device)
    assert bearer(client, access, "GET", ME).json()["profile"] is None  # kept
    UserProfile.objects.create(user_id=device.user_id, display_name="Ada")
    assert bearer(client, access, "GET", ME).json()["profile"]["display_name"] == "Ada"


def test_a_change_also_forgets_what_the_release_being_replaced_keeps(monkeypatch):
    # A rolling deploy of version 2: version 1's processes still serve their own entries.
    previous = snapshots.SNAPSHOT_VERSION
    monkeypatch.setattr(snapshots, "SNAPSHOT_VERSION", previous + 1)
    old, new = snapshots.user_key(7, previous), snapshots.user_key(7)
    assert old != new
    snapshots.fill({old: {"user": "old"}, new: {"user": "new"}}, read_at=time.monotonic())
    snapshots.forget_user(7)
    assert not any(snapshots.usable(entry) for entry in snapshots.read([old, new], None).values())
    device_id = "7f0c3a8e-0000-4000-8000-000000000000"
    old = snapshots.device_key(device_id, previous)
    snapshots.fill({old: {"device": "old"}}, read_at=time.monotonic())
    snapshots.forget_device(device_id)
    assert not snapshots.usable(snapshots.read([old], None)[old])


def test_forgetting_both_releases_entries_is_one_round_trip_of_plain_sets(
    monkeypatch, redis_round_trips
):
    monkeypatch.setattr(snapshots, "SNAPSHOT_VERSION", snapshots.SNAPSHOT_VERSION + 1)
    snapshots.forget_user(7)  # a warm connection
    redis_round_trips.clear()
    snapshots.forget_user(7)
    # Not MULTI/EXEC, which django-redis's set_many wraps them in: each stands on its own.
    assert redis_round_trips == [["SET", "SET"]]
    keys = [snapshots.user_key(7, version) for version in snapshots._live_versions()]
    found = snapshots.read(keys, None)
    assert all(found[key] is not None and not snapshots.usable(found[key]) for key in keys)
