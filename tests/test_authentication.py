"""Budgets of the authentication hot path (api/authentication.py, api/auth_state.py)."""

import pytest
from django.core.cache import caches
from django.test import RequestFactory
from rest_framework.request import Request

from api import snapshots
from api.authentication import BearerAuthentication
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
