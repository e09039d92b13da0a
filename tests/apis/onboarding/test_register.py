"""POST /api/v1/device/register/ (SPEC §3): app-signed, creates a guest user and a device."""

import uuid

import pytest

from api.models import Device, User
from api.signature import derive_device_secret
from tests.asserts import assert_problem
from tests.signing import (
    APP_KEY_ID,
    GET_TOKEN,
    REGISTER,
    app_signed,
    device_signed,
    register,
    signed,
)

pytestmark = pytest.mark.django_db

FULL = {
    "platform": "android",
    "app_version": "1.4.0",
    "os_version": "15",
    "device_model": "Pixel 😀 9",
    "push_token": "fcm-token-123",
    "locale": "nl-NL",
    "timezone": "Europe/Amsterdam",
}


def test_registration_creates_a_guest_user_with_profile_and_device(client, settings):
    response = app_signed(client, REGISTER, FULL)
    assert response.status_code == 201
    assert response["Cache-Control"] == "no-store"
    body = response.json()
    assert set(body) == {"device_id", "device_secret", "user_id", "created_at"}
    assert body["created_at"].endswith("Z")
    device = Device.objects.select_related("user__profile").get(pk=body["device_id"])
    assert device.user_id == body["user_id"]
    assert device.user.username.startswith("guest-")
    assert not device.user.has_usable_password()
    assert device.user.profile.locale == "nl-NL"
    assert device.user.profile.timezone == "Europe/Amsterdam"
    assert device.device_model == "Pixel 😀 9"
    assert device.platform == "android"
    assert device.last_ip == "127.0.0.1"
    kid, master = next(iter(settings.DEVICE_SECRET_KEYS.items()))
    assert device.secret_kid == kid
    assert body["device_secret"] == derive_device_secret(master, body["device_id"])


def test_the_secret_is_not_stored_anywhere(client):
    body = app_signed(client, REGISTER, {"platform": "ios"}).json()
    device = Device.objects.get(pk=body["device_id"])
    stored = [str(getattr(device, field.attname)) for field in Device._meta.concrete_fields]
    assert body["device_secret"] not in stored


def test_the_server_chooses_the_device_id(client):
    chosen = str(uuid.uuid4())
    body = app_signed(
        client, REGISTER, {"platform": "ios", "device_id": chosen, "id": chosen}
    ).json()
    assert body["device_id"] != chosen
    assert uuid.UUID(body["device_id"]).version == 4


def test_each_registration_is_a_new_device_and_user(client):
    first = app_signed(client, REGISTER, {"platform": "ios"}).json()
    second = app_signed(client, REGISTER, {"platform": "ios"}).json()
    assert first["device_id"] != second["device_id"]
    assert first["user_id"] != second["user_id"]


@pytest.mark.parametrize(
    ("body", "field", "code"),
    [
        ({}, "platform", "required"),
        ({"platform": "windows"}, "platform", "invalid_choice"),
        ({"platform": "ios", "app_version": "x" * 33}, "app_version", "max_length"),
        ({"platform": "ios", "os_version": "x" * 33}, "os_version", "max_length"),
        ({"platform": "ios", "device_model": "x" * 65}, "device_model", "max_length"),
        ({"platform": "ios", "push_token": "x" * 513}, "push_token", "max_length"),
        # One line each, as staff read them in the CMS and the admin: no line breaks, escapes
        # or bidirectional overrides (which show "\u202eevil" as "live").
        ({"platform": "ios", "device_model": "Pixel\r\n9"}, "device_model", "invalid"),
        ({"platform": "ios", "device_model": "\u202eevil"}, "device_model", "invalid"),
        ({"platform": "ios", "app_version": "\x1b[31m1.0"}, "app_version", "invalid"),
        ({"platform": "ios", "os_version": "17\u20660"}, "os_version", "invalid"),
        ({"platform": "ios", "push_token": "tok\x00en"}, "push_token", "invalid"),
        ({"platform": "ios", "locale": "x" * 17}, "locale", "max_length"),
        ({"platform": "ios", "locale": "not a locale"}, "locale", "invalid"),
        ({"platform": "ios", "timezone": "Mars/Olympus"}, "timezone", "invalid"),
        ([1, 2], None, "invalid"),
    ],
)
def test_invalid_fields_are_refused_and_nothing_is_created(client, body, field, code):
    response = app_signed(client, REGISTER, body)
    problem = assert_problem(response, 400, "validation_error")
    assert {"field": field, "code": code} in [
        {"field": error["field"], "code": error["code"]} for error in problem["errors"]
    ]
    assert Device.objects.count() == 0
    assert User.objects.count() == 0


def test_an_unknown_app_key_is_signature_invalid(client):
    response = signed(client, REGISTER, {"platform": "ios"}, key_id="android-9", secret="whatever")
    assert_problem(response, 401, "signature_invalid")
    assert response["WWW-Authenticate"] == 'Device-HMAC realm="api"'
    assert Device.objects.count() == 0


def test_app_keys_rotate_without_touching_the_devices_they_registered(client, settings):
    # README: Rotating keys. During the rotation both keys register; once the old one is gone,
    # its apps can no longer register, and the devices they registered sign with their own
    # secrets as before.
    device = register(client)
    new_key = {"ios-2027": "a-new-app-key-for-tests-0123456789abcdef"}
    settings.APP_HMAC_KEYS = {**settings.APP_HMAC_KEYS, **new_key}
    [(key_id, secret)] = new_key.items()
    newer = signed(client, REGISTER, {"platform": "ios"}, key_id=key_id, secret=secret)
    assert newer.status_code == 201
    settings.APP_HMAC_KEYS = new_key
    assert_problem(app_signed(client, REGISTER, {"platform": "ios"}), 401, "signature_invalid")
    assert device_signed(client, device, GET_TOKEN, {}).status_code == 200


def test_a_device_secret_cannot_register(client):
    registered = app_signed(client, REGISTER, {"platform": "ios"}).json()
    response = signed(
        client,
        REGISTER,
        {"platform": "ios"},
        key_id=registered["device_id"],
        secret=registered["device_secret"],
    )
    assert_problem(response, 401, "signature_invalid")
    assert Device.objects.count() == 1


def test_an_unsigned_registration_is_signature_missing(client):
    response = client.post(REGISTER, {"platform": "ios"}, format="json")
    assert_problem(response, 401, "signature_missing")
    assert Device.objects.count() == 0


@pytest.mark.parametrize("key_id", ["android-9", APP_KEY_ID])
def test_an_empty_secret_never_signs_a_registration(client, key_id):
    # An unknown key id has no secret, not an empty one: were it looked up with "" as its
    # default, anyone could register by signing with the empty key.
    response = signed(client, REGISTER, {"platform": "ios"}, key_id=key_id, secret="")
    assert_problem(response, 401, "signature_invalid")
    assert Device.objects.count() == 0
    assert User.objects.count() == 0


def test_a_timezone_alone_is_kept_on_the_profile(client):
    body = app_signed(client, REGISTER, {"platform": "ios", "timezone": "Europe/Amsterdam"}).json()
    profile = Device.objects.select_related("user__profile").get(pk=body["device_id"]).user.profile
    assert (profile.locale, profile.timezone) == ("", "Europe/Amsterdam")
