"""Budgets of the authentication hot path (api/authentication.py, api/auth_state.py)."""

import pytest
from django.core.cache import caches
from django.db import connection
from django.db.models.signals import post_delete
from django.test import RequestFactory
from rest_framework.request import Request

from api import auth_state, snapshots
from api.apis.auth.services import device_revoke
from api.authentication import BearerAuthentication
from api.models import Device, User
from tests.asserts import assert_problem
from tests.signing import GET_TOKEN, ME, bearer, device_signed, get_token, register


def authenticate(access: str):
    request = Request(RequestFactory().get(ME, HTTP_AUTHORIZATION=f"Bearer {access}"))
    return BearerAuthentication().authenticate(request)


@pytest.mark.django_db(transaction=True)
def test_authenticating_a_bearer_request_costs_no_sql_query(client, django_assert_num_queries):
    device = register(client)
    access = get_token(client, device)["access"]
    with django_assert_num_queries(0):
        user, token = authenticate(access)
    assert user.id == device.user_id
    assert str(token.device.device_id) == device.id


@pytest.mark.django_db(transaction=True)
def test_a_cold_auth_state_costs_one_query_then_none(client, django_assert_num_queries):
    device = register(client)
    access = get_token(client, device)["access"]
    caches["security"].clear()
    for queries in (1, 0):
        with django_assert_num_queries(queries):
            user, _ = authenticate(access)
        assert user.id == device.user_id


@pytest.mark.django_db(transaction=True)
def test_get_token_costs_at_most_three_queries(client, django_assert_max_num_queries):
    device = register(client)
    with django_assert_max_num_queries(3):
        response = device_signed(client, device, GET_TOKEN, {})
    assert response.status_code == 200


@pytest.mark.django_db(transaction=True)
def test_me_costs_one_query(client, django_assert_num_queries):
    device = register(client)
    access = get_token(client, device)["access"]
    with django_assert_num_queries(1):
        assert bearer(client, access, "GET", ME).status_code == 200


@pytest.mark.django_db(transaction=True)
def test_a_bearer_request_limits_and_checks_revocation_in_one_redis_round_trip(
    client, redis_round_trips
):
    device = register(client)
    access = get_token(client, device)["access"]
    assert bearer(client, access, "GET", ME).status_code == 200  # a warm connection and script
    redis_round_trips.clear()
    assert bearer(client, access, "GET", ME).status_code == 200
    # Every limiter scope (burst, sustained) and the device's and user's state, together.
    assert redis_round_trips == [["EVALSHA"]]


@pytest.mark.django_db(transaction=True)
def test_a_revocation_is_seen_through_the_limiters_round_trip(client, redis_round_trips):
    device = register(client)
    access = get_token(client, device)["access"]
    assert bearer(client, access, "GET", ME).status_code == 200
    assert bearer(client, access, "POST", "/api/v1/auth/logout/").status_code == 204
    redis_round_trips.clear()
    response = bearer(client, access, "GET", ME)
    assert_problem(response, 401, "token_revoked")
    assert redis_round_trips == [["EVALSHA"]]


@pytest.mark.django_db(transaction=True)
def test_a_bad_token_costs_the_limiter_alone(client, redis_round_trips):
    device = register(client)
    access = get_token(client, device)["access"]
    forged = access[:-4] + ("AAAA" if not access.endswith("AAAA") else "BBBB")
    assert bearer(client, access, "GET", ME).status_code == 200
    redis_round_trips.clear()
    response = bearer(client, forged, "GET", ME)
    assert_problem(response, 401, "token_invalid")
    assert redis_round_trips == [["EVALSHA"]]


@pytest.mark.django_db(transaction=True)
@pytest.mark.parametrize("bump", [0, 1], ids=["snapshot-version", "snapshot-version-bumped"])
def test_a_device_signed_request_reads_its_device_in_the_limiters_round_trip(
    client, redis_round_trips, monkeypatch, bump
):
    monkeypatch.setattr(snapshots, "SNAPSHOT_VERSION", snapshots.SNAPSHOT_VERSION + bump)
    device = register(client)
    get_token(client, device)  # a warm connection and script
    redis_round_trips.clear()
    assert device_signed(client, device, GET_TOKEN, {}).status_code == 200
    assert redis_round_trips == [
        ["EVALSHA"],  # limits, and the device's state
        ["GET"],  # its user's state, which only the device's names
        ["SET"],  # the nonce, claimed (NX) once the signature checked out
        ["SET"],  # the device's new session, published for every process
        # Its snapshot forgotten (api.snapshots): GET /me/ shows last_seen_at. After a bump
        # of SNAPSHOT_VERSION, the previous release's too, in the same round trip.
        ["SET"] * len(snapshots._live_versions()),
    ]


# What another process's change under way publishes before it commits (api.auth_state_mirroring):
# a device given to another user and, in the same transaction, revoked or logged out, or its
# user deactivated. Readers take the committed row from the database, less what it takes away.
@pytest.mark.django_db
@pytest.mark.parametrize(
    ("kind", "taken", "code"),
    [
        ("device", {"active": False}, "device_revoked"),
        ("device", {"token_chain": ""}, "token_revoked"),
        ("user", {"active": False}, "user_inactive"),
    ],
    ids=["device-revoked", "chain-ended", "user-deactivated"],
)
def test_a_pending_entry_takes_away_what_its_change_takes_before_that_commits(
    client, kind, taken, code
):
    device = register(client)
    access = get_token(client, device)["access"]
    assert bearer(client, access, "GET", ME).status_code == 200
    key = (
        auth_state.key_of_device(device.id)
        if kind == "device"
        else auth_state.key_of_user(device.user_id)
    )
    caches["security"].set(key, {auth_state.PENDING: True, **taken}, auth_state.STATE_TTL)
    assert_problem(bearer(client, access, "GET", ME), 401, code)
    if kind == "device" and "active" in taken:
        assert_problem(device_signed(client, device, GET_TOKEN, {}), 401, code)


@pytest.mark.django_db
def test_a_state_read_from_the_database_never_overwrites_a_revocation_published_meanwhile(client):
    # The read-through adds what it read (SET NX): a revocation committed and published between
    # its SELECT and its write must stay, not be replaced by the row as it was read.
    device = register(client)
    access = get_token(client, device)["access"]
    caches["security"].clear()
    revoked = False

    def revoke_after_the_read(execute, sql, params, many, context):
        nonlocal revoked
        result = execute(sql, params, many, context)
        if not revoked and "token_chain" in sql and "is_superuser" in sql:
            revoked = True
            device_revoke(device=Device.objects.get(pk=device.id))
        return result

    with connection.execute_wrapper(revoke_after_the_read):
        assert authenticate(access)[0].id == device.user_id  # it read the device as active
    assert revoked
    assert_problem(bearer(client, access, "GET", ME), 401, "device_revoked")


@pytest.mark.django_db
def test_a_pending_device_whose_users_entry_is_a_tombstone_is_refused(client):
    # Its user deleted by a transaction yet to commit, while the device changes hands: the
    # committed rows still exist, the tombstone says they are going.
    device = register(client)
    access = get_token(client, device)["access"]
    assert bearer(client, access, "GET", ME).status_code == 200
    user = User.objects.get(pk=device.user_id)
    security = caches["security"]
    security.set(
        auth_state.key_of_device(device.id), {auth_state.PENDING: True}, auth_state.STATE_TTL
    )
    post_delete.send(sender=User, instance=user, using="default")
    assert security.get(auth_state.key_of_user(user.pk)) == auth_state.DELETED
    assert_problem(bearer(client, access, "GET", ME), 401, "token_revoked")
    assert_problem(device_signed(client, device, GET_TOKEN, {}), 401, "device_unknown")
