"""GET / PATCH /api/v1/me/: the caller's user, profile and device."""

import pytest

from api.models import Device, UserProfile
from tests.asserts import assert_problem
from tests.signing import ME, bearer, get_token, register

pytestmark = pytest.mark.django_db


@pytest.fixture
def session(client):
    device = register(client, platform="ios", device_model="iPhone16,1", locale="en-GB")
    return device, get_token(client, device)["access"]


def test_me_returns_user_profile_and_current_device(client, session):
    device, access = session
    body = bearer(client, access, "GET", ME).json()
    assert set(body) == {"user", "profile", "device"}
    assert body["user"]["id"] == device.user_id
    assert body["user"]["username"].startswith("guest-")
    assert body["user"]["date_joined"].endswith("Z")
    assert body["profile"]["locale"] == "en-GB"
    assert body["device"]["id"] == device.id
    assert body["device"]["device_model"] == "iPhone16,1"
    assert "secret_kid" not in body["device"]
    assert "token_chain" not in body["device"]


def test_patch_updates_profile_and_device_fields_given(client, session):
    device, access = session
    patch = {
        "profile": {"display_name": "Ada 😀", "timezone": "Europe/London", "bio": "𝄞 music"},
        "device": {"push_token": "apns-2", "os_version": "18.2"},
    }
    response = bearer(client, access, "PATCH", ME, patch)
    assert response.status_code == 200
    body = response.json()
    assert body["profile"]["display_name"] == "Ada 😀"
    assert body["profile"]["locale"] == "en-GB"
    profile = UserProfile.objects.get(user_id=device.user_id)
    assert profile.bio == "𝄞 music"
    assert Device.objects.get(pk=device.id).push_token == "apns-2"


@pytest.mark.parametrize(
    ("patch", "field"),
    [
        ({"profile": {"timezone": "Nowhere/Land"}}, "profile.timezone"),
        ({"profile": {"avatar_url": "javascript:alert(1)"}}, "profile.avatar_url"),
        ({"profile": {"display_name": "x" * 151}}, "profile.display_name"),
        ({"device": {"locale": "not a locale"}}, "device.locale"),
        ({"profile": "flat"}, "profile"),
    ],
)
def test_invalid_patch_changes_nothing(client, session, patch, field):
    device, access = session
    before = UserProfile.objects.get(user_id=device.user_id).updated_at
    problem = assert_problem(bearer(client, access, "PATCH", ME, patch), 400, "validation_error")
    assert field in [error["field"] for error in problem["errors"]]
    assert UserProfile.objects.get(user_id=device.user_id).updated_at == before


def test_me_needs_a_token(client):
    assert_problem(client.get(ME), 401, "not_authenticated")


def test_put_is_not_allowed(client, session):
    _, access = session
    assert_problem(bearer(client, access, "PUT", ME, {}), 405, "method_not_allowed")
