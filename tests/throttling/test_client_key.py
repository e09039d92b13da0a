"""Whom a request counts against (SPEC §4): the client IP as far as it can be trusted, whatever
X-Forwarded-For claims, and for IPv6 the client's /64."""

import pytest

from tests.throttling.asserts import assert_throttled, rate_limit_fields

pytestmark = [pytest.mark.urls("tests.throttling.urls"), pytest.mark.usefixtures("store")]

OPEN = "/api/v1/test/open/"
ATTACKER = "198.51.100.66"
VICTIM = "203.0.113.5"


def test_without_trusted_proxies_a_new_forwarded_address_each_time_does_not_reset_the_count(
    client, rates, settings
):
    settings.TRUSTED_PROXY_COUNT = 0
    rates(burst=(3, 60))
    for index in range(3):
        response = client.get(OPEN, REMOTE_ADDR=ATTACKER, HTTP_X_FORWARDED_FOR=f"192.0.2.{index}")
        assert response.status_code == 200
    response = client.get(OPEN, REMOTE_ADDR=ATTACKER, HTTP_X_FORWARDED_FOR="192.0.2.99")
    assert_throttled(response, "burst", retry_after=range(59, 61))


def test_a_forged_header_naming_a_victim_leaves_the_victims_count_alone(client, rates, settings):
    settings.TRUSTED_PROXY_COUNT = 0
    rates(burst=(3, 60))
    for _ in range(3):
        assert (
            client.get(OPEN, REMOTE_ADDR=ATTACKER, HTTP_X_FORWARDED_FOR=VICTIM).status_code == 200
        )
    response = client.get(OPEN, REMOTE_ADDR=ATTACKER, HTTP_X_FORWARDED_FOR=VICTIM)
    assert_throttled(response, "burst", retry_after=range(59, 61))
    victims = client.get(OPEN, REMOTE_ADDR=VICTIM)
    assert victims.status_code == 200
    assert rate_limit_fields(victims)["r"] == 2


def test_behind_one_proxy_the_right_most_forwarded_address_is_the_key(client, rates, settings):
    settings.TRUSTED_PROXY_COUNT = 1
    rates(burst=(3, 60))
    proxy = "10.0.0.1"
    for index in range(3):
        # Whatever the client prepends, the proxy appends the address it saw, right-most.
        forwarded = f"192.0.2.{index}, {VICTIM}"
        response = client.get(OPEN, REMOTE_ADDR=proxy, HTTP_X_FORWARDED_FOR=forwarded)
        assert response.status_code == 200
    response = client.get(OPEN, REMOTE_ADDR=proxy, HTTP_X_FORWARDED_FOR=f"192.0.2.0, {VICTIM}")
    assert_throttled(response, "burst", retry_after=range(59, 61))
    other = client.get(OPEN, REMOTE_ADDR=proxy, HTTP_X_FORWARDED_FOR=f"{VICTIM}, {ATTACKER}")
    assert other.status_code == 200
    assert rate_limit_fields(other)["r"] == 2


@pytest.mark.parametrize(
    ("first", "second", "shared"),
    [
        ("2001:db8:1:2::1", "2001:db8:1:2:ffff:ffff:ffff:ffff", True),
        ("2001:db8:1:2::1", "2001:db8:1:3::1", False),
        ("2001:db8:1:2::1", "2001:db9:1:2::1", False),
        # An IPv4 client seen on a dual-stack socket is the same IPv4 client.
        ("::ffff:203.0.113.9", "203.0.113.9", True),
        ("203.0.113.9", "203.0.113.10", False),
    ],
)
def test_ipv6_clients_share_a_count_within_a_64_and_only_there(
    client, rates, first, second, shared
):
    rates(burst=(2, 60))
    assert client.get(OPEN, REMOTE_ADDR=first).status_code == 200
    assert client.get(OPEN, REMOTE_ADDR=first).status_code == 200
    response = client.get(OPEN, REMOTE_ADDR=second)
    if shared:
        assert_throttled(response, "burst", retry_after=range(59, 61))
    else:
        assert response.status_code == 200
        assert rate_limit_fields(response)["r"] == 1
