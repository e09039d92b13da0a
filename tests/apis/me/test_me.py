"""GET / PATCH /api/v1/me/: the caller's user, profile and device."""

import hashlib
import uuid
from typing import Any

import pytest
from django.db import connection
from rest_framework.serializers import BaseSerializer

from api import snapshots
from api.apis.me.selectors import me_get
from api.apis.me.serializers import MeOutputSerializer
from api.cms.services import staff_profile_update
from api.models import Device, User, UserProfile
from api.serialization import serialize
from tests.asserts import assert_problem
from tests.signing import (
    ME,
    REFRESH,
    bearer,
    device_signed,
    get_token,
    register,
    tombstones_expired,
)

pytestmark = pytest.mark.django_db


@pytest.fixture
def session(client):
    device = register(client, platform="ios", device_model="iPhone16,1", locale="en-GB")
    access = get_token(client, device)["access"]
    tombstones_expired(device)
    return device, access


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
        # A browser's text field drops line breaks: the CMS would rewrite the name on any save.
        ({"profile": {"display_name": "Ada\nLovelace"}}, "profile.display_name"),
        ({"profile": {"display_name": "Ada\u2028Lovelace"}}, "profile.display_name"),
        ({"profile": {"display_name": "\u202eecalevoL adA"}}, "profile.display_name"),
        ({"device": {"push_token": "\x1b[31m\r\u202e"}}, "device.push_token"),
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


def test_a_key_with_a_lone_surrogate_is_a_400_not_a_500(client, session):
    # The unknown key would be echoed in the error, which orjson cannot render.
    _, access = session
    response = client.generic(
        "PATCH",
        ME,
        b'{"\\ud800": 1}',
        content_type="application/json",
        HTTP_AUTHORIZATION=f"Bearer {access}",
    )
    assert_problem(response, 400, "parse_error")


def test_a_flat_patch_is_refused_not_answered_200_with_nothing_changed(client, session):
    device, access = session
    before = UserProfile.objects.get(user_id=device.user_id).updated_at
    patch = {"display_name": "Ada", "profile": {"bio": "kept out too"}}
    problem = assert_problem(bearer(client, access, "PATCH", ME, patch), 400, "validation_error")
    assert [(error["field"], error["code"]) for error in problem["errors"]] == [
        ("display_name", "unknown_field")
    ]
    assert UserProfile.objects.get(user_id=device.user_id).updated_at == before


def test_a_key_this_server_does_not_know_inside_profile_or_device_is_ignored(client, session):
    # An app may send a field a newer server knows: the rest of its update still applies.
    device, access = session
    patch = {"profile": {"bio": "new", "pronouns": "she/her"}, "device": {"battery": 80}}
    response = bearer(client, access, "PATCH", ME, patch)
    assert response.status_code == 200
    assert response.json()["profile"]["bio"] == "new"
    assert UserProfile.objects.get(user_id=device.user_id).bio == "new"


def test_me_needs_a_token(client):
    assert_problem(client.get(ME), 401, "not_authenticated")


def test_put_is_not_allowed(client, session):
    _, access = session
    assert_problem(bearer(client, access, "PUT", ME, {}), 405, "method_not_allowed")


@pytest.mark.parametrize("method", ["GET", "PATCH"])
def test_a_device_deleted_while_its_request_runs_gets_token_revoked(client, session, method):
    # The row goes without a signal, as it would between this request's authentication and
    # its view: the auth state still says the device is active.
    device, access = session
    pk = Device._meta.pk.get_db_prep_value(uuid.UUID(device.id), connection)
    with connection.cursor() as cursor:
        cursor.execute("DELETE FROM api_device WHERE id = %s", [pk])
    assert not Device.objects.filter(pk=device.id).exists()
    response = bearer(client, access, method, ME, {} if method == "PATCH" else None)
    assert_problem(response, 401, "token_revoked")


def what_the_database_says(device):
    return serialize(MeOutputSerializer, me_get(user_id=device.user_id, device_id=device.id))


def test_a_warm_me_costs_no_query(client, session, django_assert_num_queries):
    device, access = session
    first = bearer(client, access, "GET", ME).json()  # reads the database, keeps the snapshots
    with django_assert_num_queries(0):
        second = bearer(client, access, "GET", ME).json()
    assert second == first == what_the_database_says(device)


def _patch_profile(client, device, access):
    bearer(client, access, "PATCH", ME, {"profile": {"display_name": "Grace"}})


def _patch_device(client, device, access):
    bearer(client, access, "PATCH", ME, {"device": {"push_token": "fcm-9", "locale": "fr-FR"}})


def _cms_profile_edit(client, device, access):
    staff = User.objects.create(username="staff", is_staff=True)
    profile = UserProfile.objects.get(user_id=device.user_id)
    staff_profile_update(
        actor=staff, profile=profile, changes={"bio": "from the CMS"}, labels=["Bio"]
    )


def _user_saved(client, device, access):
    user = User.objects.get(pk=device.user_id)
    user.email, user.is_staff = "ada@example.com", True
    user.save()


def _refresh(client, device, access):
    # A new session (get-token) rotated at once (refresh): each writes last_seen_at.
    pair = get_token(client, device, app_version="2.0.0")
    response = device_signed(client, device, REFRESH, {"refresh": pair["refresh"]})
    return response.json()["access"]


# Transactional: snapshots are forgotten once a change commits, which a test inside one
# transaction never does.
@pytest.mark.django_db(transaction=True)
@pytest.mark.parametrize(
    "change", [_patch_profile, _patch_device, _cms_profile_edit, _user_saved, _refresh]
)
def test_every_change_shows_on_the_next_get(client, session, change, django_assert_num_queries):
    device, access = session
    assert bearer(client, access, "GET", ME).status_code == 200
    # The snapshots are kept: the change below is what makes the next GET ask the database.
    with django_assert_num_queries(0):
        assert bearer(client, access, "GET", ME).status_code == 200
    before = what_the_database_says(device)
    access = change(client, device, access) or access
    after = what_the_database_says(device)
    assert after != before
    assert bearer(client, access, "GET", ME).json() == after


def rendering(serializer: Any) -> list[tuple[str, str, object]]:
    """Each field a serializer renders, nested ones expanded: name, class and format."""
    shape: list[tuple[str, str, object]] = []
    for name, field in serializer.fields.items():
        shape.append((name, type(field).__name__, getattr(field, "format", None)))
        if isinstance(field, BaseSerializer):
            shape += [(f"{name}.{inner}", kind, form) for inner, kind, form in rendering(field)]
    return shape


# What /me/ renders, by api.snapshots.SNAPSHOT_VERSION: the cached entries of one shape must
# never be served by a release that renders another. After a change to MeOutputSerializer,
# bump SNAPSHOT_VERSION and add its fingerprint here (the failure prints it).
RENDERED_BY_VERSION = {1: "69a78f7c7093c0f7"}


def test_what_me_renders_changes_only_with_the_snapshot_version():
    fingerprint = hashlib.sha256(repr(rendering(MeOutputSerializer())).encode()).hexdigest()[:16]
    assert RENDERED_BY_VERSION.get(snapshots.SNAPSHOT_VERSION) == fingerprint, (
        f"/me/ renders something new: bump SNAPSHOT_VERSION to {snapshots.SNAPSHOT_VERSION + 1} "
        f'and add {snapshots.SNAPSHOT_VERSION + 1}: "{fingerprint}" to RENDERED_BY_VERSION'
    )
    assert snapshots.user_key(7) == f"snapshot:v{snapshots.SNAPSHOT_VERSION}:user:7"
