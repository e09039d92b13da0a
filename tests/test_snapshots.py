"""api/snapshots.py: cached representations that a change can never leave stale."""

import logging

import pytest
from django.core.cache import caches

from api import snapshots
from tests.services import closed_port, redis_caches
from tests.signing import ME, bearer, get_token, register

KEY = snapshots.user_key(7)


def test_fill_keeps_a_snapshot_where_there_was_none():
    assert snapshots.read([KEY], None) == {KEY: None}
    snapshots.fill({KEY: {"user": "old"}})
    snapshots.fill({KEY: {"user": "other"}})  # a second reader's fill keeps the first
    assert snapshots.read([KEY], None) == {KEY: {"user": "old"}}


def test_a_read_from_before_a_change_cannot_come_back():
    snapshots.fill({KEY: {"user": "old"}})
    snapshots.forget_user(7)
    # A request that read the row before the change fills late: the tombstone keeps it out.
    snapshots.fill({KEY: {"user": "old"}})
    entry = snapshots.read([KEY], None)[KEY]
    assert not snapshots.usable(entry)


def test_a_cache_outage_is_a_miss_and_never_fails_a_change(settings, caplog):
    settings.CACHES = redis_caches(f"redis://127.0.0.1:{closed_port()}/0")
    with caplog.at_level(logging.WARNING, logger="api.snapshots"):
        assert snapshots.read([KEY], None) == {KEY: None}
        snapshots.fill({KEY: {"user": "old"}})
        snapshots.forget_user(7)
    assert len(caplog.records) == 3


@pytest.mark.django_db(transaction=True)
def test_a_warm_me_reads_its_snapshots_in_the_limiters_round_trip(
    client, redis_round_trips, django_assert_num_queries
):
    device = register(client)
    access = get_token(client, device)["access"]
    caches["security"].delete(snapshots.device_key(device.id))  # as once its tombstone expired
    cold = bearer(client, access, "GET", ME).json()  # one query; both snapshots kept
    redis_round_trips.clear()
    with django_assert_num_queries(0):
        warm = bearer(client, access, "GET", ME).json()
    assert warm == cold
    # Limits, the device's and user's auth state, and both snapshots: one pipeline.
    assert redis_round_trips == [["EVALSHA", "MGET"]]
