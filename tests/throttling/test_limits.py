"""Rate-limit semantics through HTTP (SPEC §4), on Redis and in process alike: exact sliding
windows, all-or-nothing across scopes, limits before authentication, health never limited."""

import math
import time

import pytest

from tests.asserts import assert_problem
from tests.throttling.asserts import (
    assert_throttled,
    has_rate_limit_fields,
    rate_limit_fields,
)

pytestmark = [pytest.mark.urls("tests.throttling.urls"), pytest.mark.usefixtures("store")]

OPEN = "/api/v1/test/open/"
GET_TOKEN = "/api/v1/test/get-token/"
EVERY_SCOPE = "/api/v1/test/every-scope/"
LISTING = "/api/v1/test/items/"
PROBES = ["/health/", "/health/ready/", "/health/live/"]


def sleep_until(moment: float) -> None:
    time.sleep(max(0.0, moment - time.monotonic()))


def test_exactly_the_quota_passes_then_429_until_the_oldest_admission_ages_out(client, rates):
    rates(burst=(5, 60))
    started = time.monotonic()
    for remaining in (4, 3, 2, 1, 0):
        response = client.get(OPEN)
        assert response.status_code == 200
        assert rate_limit_fields(response) == {
            "policy": "burst",
            "q": 5,
            "w": 60,
            "r": remaining,
            "t": 60 if remaining == 4 else pytest.approx(60, abs=1),
        }
    response = client.get(OPEN)
    elapsed = time.monotonic() - started
    body = assert_throttled(response, "burst", retry_after=range(math.ceil(60 - elapsed), 61))
    assert "burst" in body["detail"]


def test_the_window_slides_an_admission_counts_until_it_is_one_window_old(client, rates):
    # A fixed window would forgive everything at its boundary; a sliding one forgives each
    # admission exactly one window after it was made. Seconds of margin keep a loaded machine
    # from blurring the steps.
    rates(burst=(3, 4))
    assert client.get(OPEN).status_code == 200
    first_done = time.monotonic()
    sleep_until(first_done + 2)
    assert client.get(OPEN).status_code == 200
    assert client.get(OPEN).status_code == 200
    # The first admission leaves the window at most 2 s from now: until then, nothing passes.
    assert_throttled(client.get(OPEN), "burst", retry_after=range(1, 3))
    sleep_until(first_done + 4.05)
    # It has aged out: one unit is back, no more, as the other two still count.
    assert client.get(OPEN).status_code == 200
    assert_throttled(client.get(OPEN), "burst", retry_after=range(1, 3))


def test_an_admitted_request_is_told_when_its_oldest_admission_leaves_the_window(client, rates):
    rates(burst=(5, 10))
    assert rate_limit_fields(client.get(OPEN))["t"] == 10
    time.sleep(2)
    # The first admission, 2 s old, frees the next unit in 8 s (7 once rounded on a slow run).
    assert rate_limit_fields(client.get(OPEN))["t"] in (7, 8)


def test_denied_by_two_scopes_the_client_waits_for_the_later_one_to_have_room(client, rates):
    # Retrying when the first scope has room would be refused again: Retry-After and the
    # RateLimit fields name the scope that has room last.
    rates(burst=(3, 60), content_listing=(2, 60))
    assert client.get(OPEN).status_code == 200
    time.sleep(2)
    assert client.get(LISTING).status_code == 200
    assert client.get(LISTING).status_code == 200
    # burst has room again in about 58 s, content_listing in about 60.
    assert_throttled(client.get(LISTING), "content_listing", retry_after=range(59, 61))


def test_after_a_quota_is_lowered_the_wait_is_for_enough_admissions_to_leave(client, rates):
    # 5 admitted, then the quota becomes 2: the count drops below 2 when the 4th oldest leaves.
    rates(burst=(5, 60))
    for _ in range(3):
        assert client.get(OPEN).status_code == 200
    time.sleep(2)
    for _ in range(2):
        assert client.get(OPEN).status_code == 200
    rates(burst=(2, 60))
    # The 4th was admitted about 0 s ago (the oldest, whose leaving is not enough, 2 s before).
    assert_throttled(client.get(OPEN), "burst", retry_after=range(59, 61))


def test_a_denied_request_consumes_nothing_in_the_other_scopes(client, rates):
    rates(auth_token=(2, 60), burst=(10, 60), sustained=(20, 3600))
    assert_problem(client.post(GET_TOKEN), 401, "signature_invalid")
    assert_problem(client.post(GET_TOKEN), 401, "signature_invalid")
    for _ in range(3):
        assert_throttled(client.post(GET_TOKEN), "auth_token", retry_after=range(59, 61))
    # burst and sustained count the two admitted requests and this one: not the three denied.
    assert rate_limit_fields(client.get(OPEN))["r"] == 10 - 3
    rates(burst=(100, 60))
    assert rate_limit_fields(client.get(OPEN)) == {
        "policy": "sustained",
        "q": 20,
        "w": 3600,
        "r": 20 - 4,
        "t": pytest.approx(3600, abs=1),
    }


def test_a_flood_of_bad_credentials_is_limited_before_authentication(client, rates):
    rates(auth_token=(5, 60))
    statuses = []
    for _ in range(12):
        response = client.post(GET_TOKEN, {}, format="json")
        statuses.append(response.status_code)
        if response.status_code == 401:
            assert_problem(response, 401, "signature_invalid")
            assert response["WWW-Authenticate"] == "Device-HMAC"
            assert rate_limit_fields(response)["policy"] == "auth_token"
        else:
            assert_throttled(response, "auth_token", retry_after=range(59, 61))
            assert not response.has_header("WWW-Authenticate")
    assert statuses == [401] * 5 + [429] * 7


@pytest.mark.django_db
def test_health_is_never_limited_even_with_every_scope_used_up(client, rates, settings):
    rates(**dict.fromkeys(settings.RATE_LIMITS, (1, 3600)))
    assert client.get(EVERY_SCOPE).status_code == 200
    assert_throttled(client.get(EVERY_SCOPE), "burst", retry_after=range(3599, 3601))
    for path in PROBES * 3:
        response = client.get(path)
        assert response.status_code == 200, path
        assert not has_rate_limit_fields(response)


def test_requests_to_unrouted_api_paths_count_against_burst_and_sustained(client, rates):
    rates(burst=(3, 60))
    for index in range(3):
        response = client.get(f"/api/v1/probing-{index}/")
        assert_problem(response, 404, "not_found")
        assert rate_limit_fields(response)["r"] == 2 - index
    assert_throttled(client.get("/api/v1/probing-3/"), "burst", retry_after=range(59, 61))
    assert_throttled(client.get(OPEN), "burst", retry_after=range(59, 61))
    # Outside /api/ an unknown path is nobody's endpoint: a plain 404, no count.
    response = client.get("/no-such-page/")
    assert response.status_code == 404
    assert not has_rate_limit_fields(response)


def test_the_most_restrictive_scope_is_the_one_described(client, rates):
    rates(content_listing=(3, 60), data_modification=(30, 60))
    listing = client.get(LISTING)
    assert rate_limit_fields(listing) == {
        "policy": "content_listing",
        "q": 3,
        "w": 60,
        "r": 2,
        "t": 60,
    }
    write = client.post(OPEN)
    assert write.status_code == 201
    assert rate_limit_fields(write)["policy"] == "data_modification"


def test_a_plain_django_view_declared_with_the_decorator_is_limited(client, rates):
    rates(admin=(2, 3600))
    for remaining in (1, 0):
        response = client.post("/cms/action/")
        assert response.status_code == 200
        assert rate_limit_fields(response)["r"] == remaining
    response = client.post("/cms/action/")
    # Outside /api/ the 429 is a page for people, like the other errors there.
    assert response.status_code == 429
    assert response["Content-Type"].startswith("text/html")
    assert int(response["Retry-After"]) in range(3599, 3601)
    assert b"Too many requests" in response.content


def test_an_exempt_view_is_never_limited_and_counts_for_nothing(client, rates):
    rates(burst=(1, 60))
    for _ in range(3):
        response = client.get("/api/v1/test/exempt/")
        assert response.status_code == 200
        assert not has_rate_limit_fields(response)
    # Had the exempt requests counted, burst's one request would be spent: a 429.
    response = client.get(OPEN)
    assert response.status_code == 200
    assert rate_limit_fields(response)["r"] == 0


def test_rate_limit_enabled_false_turns_limiting_off(client, rates, settings):
    settings.RATE_LIMIT_ENABLED = False
    rates(burst=(1, 60), auth_token=(1, 60))
    for _ in range(3):
        response = client.get(OPEN)
        assert response.status_code == 200
        assert not has_rate_limit_fields(response)
        assert_problem(client.post(GET_TOKEN), 401, "signature_invalid")
        assert_problem(client.get("/api/v1/probing/"), 404, "not_found")


def test_rate_limit_fields_survive_the_problem_details_rewrite_of_a_plain_error(client, rates):
    rates(burst=(5, 60))
    response = client.get("/api/v1/test/post-only/")
    assert_problem(response, 405, "method_not_allowed")
    assert rate_limit_fields(response) == {"policy": "burst", "q": 5, "w": 60, "r": 4, "t": 60}
