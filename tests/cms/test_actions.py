"""Staff actions: each goes through the auth services, is logged in the admin log, says what it
did, redirects back, and the affected app is refused on its very next request."""

import json
import re

import pytest
from django.contrib.admin.models import CHANGE, LogEntry

from api.models import Device, User, UserProfile
from tests.asserts import assert_problem
from tests.cms.conftest import page_text
from tests.factories import DeviceFactory, UserFactory
from tests.services import closed_port, redis_caches
from tests.signing import ME, bearer, get_token, register

pytestmark = pytest.mark.django_db


@pytest.fixture
def app(client):
    """A device registered through the API, with an access token that works."""
    device = register(client, platform="android", locale="en-GB")
    access = get_token(client, device)["access"]
    assert bearer(client, access, "GET", ME).status_code == 200
    return device, access


def logged(target) -> list[LogEntry]:
    return list(LogEntry.objects.filter(object_id=str(target.pk)).order_by("pk"))


def test_deactivating_a_user_refuses_their_token_at_once(staff_client, staff, client, app):
    device, access = app
    response = staff_client.post(f"/cms/users/{device.user_id}/deactivate/", follow=True)
    assert response.redirect_chain == [(f"/cms/users/{device.user_id}/", 302)]
    user = User.objects.get(pk=device.user_id)
    assert f"{user.username} is deactivated" in page_text(response)
    assert not user.is_active
    # The service also ended the device's session.
    assert Device.objects.get(pk=device.id).token_chain == ""
    [entry] = logged(user)
    assert (entry.user_id, entry.action_flag) == (staff.pk, CHANGE)
    assert entry.change_message == "Deactivated the account."
    assert_problem(bearer(client, access, "GET", ME), 401, "user_inactive")


def test_reactivating_a_user_lets_their_device_get_tokens_again(
    staff_client, client, app, django_capture_on_commit_callbacks
):
    device, access = app
    staff_client.post(f"/cms/users/{device.user_id}/deactivate/")
    # A grant reaches the auth state once it commits: run what the commit runs.
    with django_capture_on_commit_callbacks(execute=True):
        response = staff_client.post(f"/cms/users/{device.user_id}/activate/", follow=True)
    user = User.objects.get(pk=device.user_id)
    assert user.is_active
    assert "is active again" in page_text(response)
    assert [entry.change_message for entry in logged(user)] == [
        "Deactivated the account.",
        "Reactivated the account.",
    ]
    # Old tokens stay dead; the device signs in again with its secret.
    assert_problem(bearer(client, access, "GET", ME), 401, "token_revoked")
    fresh = get_token(client, device)["access"]
    assert bearer(client, fresh, "GET", ME).status_code == 200


def test_revoking_a_device_refuses_its_token_at_once(staff_client, staff, client, app):
    device, access = app
    response = staff_client.post(f"/cms/devices/{device.id}/revoke/", follow=True)
    assert response.redirect_chain == [(f"/cms/users/{device.user_id}/", 302)]
    assert f"Device {device.id} is revoked" in page_text(response)
    revoked = Device.objects.get(pk=device.id)
    assert not revoked.is_active
    [entry] = logged(revoked)
    assert entry.user_id == staff.pk
    assert entry.change_message == "Revoked the device."
    assert_problem(bearer(client, access, "GET", ME), 401, "device_revoked")


def test_repeating_an_action_changes_and_logs_nothing_more(staff_client):
    device = DeviceFactory(is_active=False, user=UserFactory(is_active=False))
    text = page_text(staff_client.post(f"/cms/devices/{device.pk}/revoke/", follow=True))
    assert "was already revoked" in text
    text = page_text(staff_client.post(f"/cms/users/{device.user_id}/deactivate/", follow=True))
    assert "was already deactivated" in text
    device.user.is_active = True
    device.user.save()
    text = page_text(staff_client.post(f"/cms/users/{device.user_id}/activate/", follow=True))
    assert "was already active" in text
    assert not LogEntry.objects.exists()


def test_staff_cannot_deactivate_themselves(staff_client, staff):
    response = staff_client.post(f"/cms/users/{staff.pk}/deactivate/", follow=True)
    assert "You cannot deactivate your own account." in page_text(response)
    staff.refresh_from_db()
    assert staff.is_active
    assert not LogEntry.objects.exists()


def test_only_a_superuser_deactivates_a_superuser(staff_client):
    superuser = UserFactory(is_staff=True, is_superuser=True)
    response = staff_client.post(f"/cms/users/{superuser.pk}/deactivate/", follow=True)
    assert "Only a superuser can deactivate a superuser." in page_text(response)
    superuser.refresh_from_db()
    assert superuser.is_active
    peer = UserFactory(is_staff=True, is_superuser=True)
    client = staff_client.__class__()
    client.force_login(peer)
    client.post(f"/cms/users/{superuser.pk}/deactivate/")
    superuser.refresh_from_db()
    assert not superuser.is_active


PROFILE = {
    "display_name": "Ada 😀",
    "avatar_url": "cdn.example.com/ada.png",
    "locale": "en-GB",
    "timezone": "Europe/London",
    "bio": "𝄞 music",
}


def test_editing_the_profile_saves_and_logs_the_changed_fields(staff_client, staff, client, app):
    device, access = app
    response = staff_client.post(f"/cms/users/{device.user_id}/profile/", PROFILE, follow=True)
    assert response.redirect_chain == [(f"/cms/users/{device.user_id}/", 302)]
    assert "saved" in page_text(response)
    profile = UserProfile.objects.get(user_id=device.user_id)
    assert profile.display_name == "Ada 😀"
    assert profile.bio == "𝄞 music"
    # Typed without a scheme, a URL is https.
    assert profile.avatar_url == "https://cdn.example.com/ada.png"
    [entry] = logged(profile.user)
    assert entry.user_id == staff.pk
    [change] = json.loads(entry.change_message)
    assert change["changed"]["fields"] == ["Display name", "Avatar URL", "Time zone", "Bio"]
    assert entry.get_change_message().startswith("Changed Display name, Avatar URL, Time zone")
    # Locale was en-GB already: only what changed is saved and logged.
    assert bearer(client, access, "GET", ME).json()["profile"]["display_name"] == "Ada 😀"


def test_a_profile_saved_from_a_page_keeps_what_the_user_changed_since(
    staff_client, staff, client, app
):
    device, access = app
    page = staff_client.get(f"/cms/users/{device.user_id}/").content.decode()
    shown = dict(re.findall(r'name="(shown-[a-z_]+)" value="([^"]*)"', page))
    assert set(shown) == {f"shown-{name}" for name in PROFILE}
    form = {name.removeprefix("shown-"): value for name, value in shown.items()}
    # The user renames themselves after the page was shown; the staff member edits the bio.
    patch = {"profile": {"display_name": "Ada Lovelace"}}
    assert bearer(client, access, "PATCH", ME, patch).status_code == 200
    response = staff_client.post(
        f"/cms/users/{device.user_id}/profile/", {**form, **shown, "bio": "Edited by staff"}
    )
    assert response.status_code == 302
    profile = UserProfile.objects.get(user_id=device.user_id)
    assert (profile.display_name, profile.bio) == ("Ada Lovelace", "Edited by staff")
    [entry] = logged(profile.user)
    assert json.loads(entry.change_message)[0]["changed"]["fields"] == ["Bio"]


@pytest.mark.parametrize(
    ("field", "value", "message"),
    [
        ("timezone", "Mars/Olympus", "Not an IANA time zone name"),
        ("locale", "not a locale", "Not a language tag"),
        ("avatar_url", "javascript:alert(1)", "Enter a valid URL."),
        ("display_name", "x" * 151, "at most 150 characters"),
        ("display_name", "Ada\nLovelace", "One line of text"),
        ("bio", "x" * 2001, "at most 2000 characters"),
    ],
)
def test_an_invalid_profile_is_shown_again_with_its_errors_and_saves_nothing(
    staff_client, field, value, message
):
    user = UserFactory()
    before = UserProfile.objects.get(user=user).updated_at
    response = staff_client.post(f"/cms/users/{user.pk}/profile/", {**PROFILE, field: value})
    assert response.status_code == 200
    assert message in response.context["profile_form"].errors[field][0]
    assert "The profile was not saved" in page_text(response)
    assert 'aria-invalid="true"' in response.content.decode()
    assert UserProfile.objects.get(user=user).updated_at == before
    assert not LogEntry.objects.exists()


def test_an_unchanged_profile_is_not_saved_again(staff_client):
    user = UserFactory()
    profile = UserProfile.objects.get(user=user)
    unchanged = {name: getattr(profile, name) for name in PROFILE}
    response = staff_client.post(f"/cms/users/{user.pk}/profile/", unchanged, follow=True)
    assert "Nothing to save" in page_text(response)
    assert UserProfile.objects.get(user=user).updated_at == profile.updated_at
    assert not LogEntry.objects.exists()


@pytest.mark.parametrize(
    ("action", "target_path"),
    [
        ("reactivate", "/cms/users/{user}/activate/"),
        ("revoke a device of", "/cms/devices/{device}/revoke/"),
        ("edit the profile of", "/cms/users/{user}/profile/"),
    ],
)
def test_only_a_superuser_acts_on_a_superusers_account(staff_client, action, target_path):
    superuser = UserFactory(is_staff=True, is_superuser=True, is_active=action != "reactivate")
    device = DeviceFactory(user=superuser)
    path = target_path.format(user=superuser.pk, device=device.pk)
    response = staff_client.post(path, {**PROFILE, "display_name": "pwned"}, follow=True)
    assert f"Only a superuser can {action} a superuser." in page_text(response)
    superuser.refresh_from_db()
    device.refresh_from_db()
    assert superuser.is_active is (action != "reactivate")
    assert device.is_active
    assert UserProfile.objects.get(user=superuser).display_name != "pwned"
    assert not LogEntry.objects.filter(object_id=str(superuser.pk)).exists()


def test_deactivating_a_user_ends_their_sessions_for_good(staff_client, client):
    other_staff = UserFactory(is_staff=True)
    client.force_login(other_staff)
    assert client.get("/cms/").status_code == 200
    staff_client.post(f"/cms/users/{other_staff.pk}/deactivate/")
    staff_client.post(f"/cms/users/{other_staff.pk}/activate/")
    # Reactivated, but the session from before is gone: a stolen one is not revived.
    response = client.get("/cms/")
    assert response.status_code == 302
    assert "/cms/login/" in response["Location"]


@pytest.mark.parametrize("action", ["deactivate", "revoke"])
def test_an_action_while_redis_is_down_changes_nothing_and_says_so(staff_client, settings, action):
    device = DeviceFactory()
    path = {
        "deactivate": f"/cms/users/{device.user_id}/deactivate/",
        "revoke": f"/cms/devices/{device.pk}/revoke/",
    }[action]
    settings.CACHES = redis_caches(f"redis://127.0.0.1:{closed_port()}/0")
    response = staff_client.post(path, follow=True)
    assert response.status_code == 200
    assert "Nothing was changed: The authentication state store is unavailable" in page_text(
        response
    )
    device.refresh_from_db()
    assert (device.is_active, device.user.is_active) == (True, True)


def test_a_user_inserted_without_a_profile_is_shown_and_gets_one_with_the_first_edit(
    staff_client, staff
):
    # bulk_create, loaddata and a migration's historical models skip User.save(), which makes
    # the profile.
    [user] = User.objects.bulk_create([User(username="seeded")])
    assert not UserProfile.objects.filter(user=user).exists()
    page = staff_client.get(f"/cms/users/{user.pk}/")
    assert page.status_code == 200
    assert "seeded" in page_text(page)
    assert not UserProfile.objects.filter(user=user).exists()
    response = staff_client.post(f"/cms/users/{user.pk}/profile/", PROFILE)
    assert response.status_code == 302
    profile = UserProfile.objects.get(user=user)
    assert (profile.display_name, profile.bio) == ("Ada 😀", "𝄞 music")
    [entry] = logged(user)
    assert entry.user_id == staff.pk
