"""The Django admin: every model listed with working search and filters, and the staff actions."""

import pytest
from django.contrib.admin.models import LogEntry
from django.contrib.auth.models import Group, Permission
from django.db import connection
from django.db.models.signals import pre_save
from django.test import Client

from api.models import Device, User, UserProfile
from tests.factories import DeviceFactory, UserFactory
from tests.services import closed_port, redis_caches

pytestmark = pytest.mark.django_db


def signed_in_staff() -> Client:
    """A test client signed in to the admin as a superuser."""
    admin = UserFactory(is_staff=True, is_superuser=True)
    client = Client()
    client.force_login(admin)
    return client


@pytest.fixture
def staff_client() -> Client:
    return signed_in_staff()


def assert_the_changelist_finds_one(client: Client, path: str, query: str) -> None:
    """The changelist at `path` with `query` lists exactly one row. Users and devices are made
    here, one of each that "findme" and the filters pick and one they leave; a feature's test
    makes its own rows the same way before it calls this (tests/apis/<feature>/)."""
    DeviceFactory(user=UserFactory(username="findme"), platform="android")
    DeviceFactory(user=UserFactory(username="other"), platform="ios")
    response = client.get(path + query)
    assert response.status_code == 200
    assert response.context["cl"].result_count == 1


@pytest.mark.parametrize(
    ("path", "query"),
    [
        ("/admin/api/user/", "?q=findme"),
        ("/admin/api/user/", "?is_active__exact=1&devices__platform=android"),
        ("/admin/api/userprofile/", "?q=findme"),
        ("/admin/api/device/", "?q=findme"),
        ("/admin/api/device/", "?platform__exact=android&is_active__exact=1"),
    ],
)
def test_changelists_search_and_filter(staff_client, path, query):
    assert_the_changelist_finds_one(staff_client, path, query)


@pytest.mark.parametrize(
    ("path", "query"),
    [
        # date_hierarchy: the year after 9999, and its last day, do not exist.
        ("/admin/api/device/", "?created_at__year=9999"),
        ("/admin/api/device/", "?created_at__year=9999&created_at__month=12&created_at__day=31"),
        ("/admin/api/device/", "?created_at__year=" + "9" * 20),
        # Past 64 bits: SQLite cannot take the number at all.
        ("/admin/api/user/", "?id__in=1," + "9" * 20),
        ("/admin/api/device/", "?user=" + "9" * 20),
        ("/admin/api/userprofile/", "?user=" + "9" * 20),
        ("/admin/auth/group/", "?id__in=" + "9" * 20),
    ],
)
def test_a_filter_the_list_cannot_use_is_its_bad_filter_page_not_a_500(staff_client, path, query):
    DeviceFactory()
    assert_a_bad_filter_is_refused(staff_client, path, query)


def assert_a_bad_filter_is_refused(client: Client, path: str, query: str) -> None:
    """A filter the changelist at `path` cannot use is its bad-filter page (or, on MySQL, an
    id of any size finds nothing), never a 500; a feature's admin test calls this too."""
    response = client.get(path + query)
    # MySQL compares an id of any size and finds nothing; SQLite cannot take it, and no
    # database has a year 10000: the admin says the filter is wrong (?e=1), as for any other.
    if connection.vendor == "mysql" and "__year" not in query:
        assert response.status_code == 200
        assert response.context["cl"].result_count == 0
    else:
        assert (response.status_code, response["Location"]) == (302, f"{path}?e=1")


def test_device_is_found_by_its_id(staff_client):
    device = DeviceFactory()
    DeviceFactory()
    response = staff_client.get(f"/admin/api/device/?q={device.id}")
    assert response.status_code == 200
    assert list(response.context["cl"].result_list) == [device]


def test_device_search_with_text_that_is_not_a_uuid_does_not_fail(staff_client):
    DeviceFactory(device_model="Pixel 9")
    response = staff_client.get("/admin/api/device/?q=Pixel")
    assert response.status_code == 200
    assert response.context["cl"].result_count == 1


def test_user_change_page_shows_profile_and_devices(staff_client):
    device = DeviceFactory(app_version="9.9.9")
    response = staff_client.get(f"/admin/api/user/{device.user.pk}/change/")
    assert response.status_code == 200
    assert b"9.9.9" in response.content
    assert b"Display name" in response.content


def test_adding_a_user_leaves_the_profile_to_the_change_page(staff_client):
    # User.save() creates the profile: a profile inline on the add page inserted a second one,
    # an IntegrityError (a 500) as soon as one of its fields was filled in.
    page = staff_client.get("/admin/api/user/add/")
    assert page.status_code == 200
    assert page.context["inline_admin_formsets"] == []
    password = "a-password-long-enough-2026"
    response = staff_client.post(
        "/admin/api/user/add/",
        {
            "username": "ada",
            "usable_password": "true",
            "password1": password,
            "password2": password,
            # What the add page posted while it showed the inlines (a page opened before):
            # ignored now.
            "profile-TOTAL_FORMS": "1",
            "profile-INITIAL_FORMS": "0",
            "profile-0-display_name": "Ada",
            "devices-TOTAL_FORMS": "0",
            "devices-INITIAL_FORMS": "0",
        },
    )
    assert response.status_code == 302
    user = User.objects.get(username="ada")
    assert response["Location"] == f"/admin/api/user/{user.pk}/change/"
    assert UserProfile.objects.filter(user=user).count() == 1
    assert b"Display name" in staff_client.get(response["Location"]).content


def test_saving_a_device_writes_only_what_the_form_changed(staff_client):
    # A get-token lands between the admin reading the row and saving it (a pre_save receiver
    # plays it): a save of every column would bring the old session back.
    device = DeviceFactory(token_chain="old-chain", refresh_jti="old-jti")

    def get_token_meanwhile(sender, instance, **kwargs):
        Device.objects.filter(pk=instance.pk).update(token_chain="new-chain", refresh_jti="new-jti")

    pre_save.connect(get_token_meanwhile, sender=Device)
    try:
        response = staff_client.post(
            f"/admin/api/device/{device.pk}/change/",
            {
                "user": device.user_id,
                "platform": device.platform,
                "app_version": "2.0.0",
                "os_version": device.os_version,
                "device_model": device.device_model,
            },
        )
    finally:
        pre_save.disconnect(get_token_meanwhile, sender=Device)
    assert response.status_code == 302
    saved = Device.objects.get(pk=device.pk)
    assert saved.app_version == "2.0.0"
    assert (saved.token_chain, saved.refresh_jti) == ("new-chain", "new-jti")


def test_saving_a_user_keeps_a_deactivation_made_meanwhile(staff_client):
    user = UserFactory(email="old@example.com")

    def deactivated_meanwhile(sender, instance, **kwargs):
        User.objects.filter(pk=instance.pk).update(is_active=False)

    pre_save.connect(deactivated_meanwhile, sender=User)
    try:
        response = staff_client.post(
            f"/admin/api/user/{user.pk}/change/",
            {
                "username": user.username,
                "email": "new@example.com",
                "date_joined_0": user.date_joined.strftime("%Y-%m-%d"),
                "date_joined_1": user.date_joined.strftime("%H:%M:%S"),
                "profile-TOTAL_FORMS": "1",
                "profile-INITIAL_FORMS": "1",
                "profile-0-id": user.profile.pk,
                "profile-0-user": user.pk,
                "devices-TOTAL_FORMS": "0",
                "devices-INITIAL_FORMS": "0",
            },
        )
    finally:
        pre_save.disconnect(deactivated_meanwhile, sender=User)
    assert response.status_code == 302, response.context["adminform"].form.errors
    saved = User.objects.get(pk=user.pk)
    assert saved.email == "new@example.com"
    assert saved.is_active is False


def test_a_profile_is_not_deleted_without_its_user(staff_client):
    profile = UserFactory().profile
    response = staff_client.post(f"/admin/api/userprofile/{profile.pk}/delete/", {"post": "yes"})
    assert response.status_code == 403
    assert UserProfile.objects.filter(pk=profile.pk).exists()


def test_admin_is_refused_to_non_staff():
    client = Client()
    client.force_login(UserFactory())
    response = client.get("/admin/api/user/")
    assert response.status_code == 302
    assert response["Location"].startswith("/admin/login/")


def run_action(client: Client, path: str, action: str, objects):
    return client.post(
        path,
        {"action": action, "_selected_action": [str(obj.pk) for obj in objects]},
        follow=True,
    )


def test_the_deactivate_action_goes_through_the_service_and_the_admin_log(staff_client):
    device = DeviceFactory(token_chain="c" * 32, refresh_jti="r" * 32)
    other = UserFactory()
    response = run_action(staff_client, "/admin/api/user/", "deactivate_users", [device.user])
    assert response.status_code == 200
    assert "1 user(s) deactivated." in response.content.decode()
    device.refresh_from_db()
    assert not device.user.is_active
    # user_deactivate ends the sessions, which flipping the flag alone would not.
    assert device.token_chain == ""
    other.refresh_from_db()
    assert other.is_active
    [entry] = LogEntry.objects.filter(object_id=str(device.user.pk))
    assert entry.change_message == "Deactivated the account."


def test_the_activate_action_reactivates(staff_client):
    user = UserFactory(is_active=False)
    run_action(staff_client, "/admin/api/user/", "activate_users", [user])
    user.refresh_from_db()
    assert user.is_active
    assert LogEntry.objects.get(object_id=str(user.pk)).change_message == "Reactivated the account."


def test_the_deactivate_action_refuses_the_acting_account(staff_client):
    me = User.objects.get(is_superuser=True)
    response = run_action(staff_client, "/admin/api/user/", "deactivate_users", [me])
    assert "You cannot deactivate your own account." in response.content.decode()
    me.refresh_from_db()
    assert me.is_active


def test_the_revoke_action_revokes_devices_through_the_service(staff_client):
    revoked, kept = DeviceFactory(token_chain="c" * 32), DeviceFactory()
    response = run_action(staff_client, "/admin/api/device/", "revoke_devices", [revoked])
    assert "1 device(s) revoked." in response.content.decode()
    revoked.refresh_from_db()
    kept.refresh_from_db()
    assert (revoked.is_active, revoked.token_chain, kept.is_active) == (False, "", True)
    assert LogEntry.objects.get(object_id=str(revoked.pk)).change_message == "Revoked the device."


def test_the_active_flags_are_read_only_in_the_change_forms(staff_client):
    device = DeviceFactory()
    page = staff_client.get(f"/admin/api/user/{device.user.pk}/change/").content.decode()
    assert 'name="is_active"' not in page
    page = staff_client.get(f"/admin/api/device/{device.pk}/change/").content.decode()
    assert 'name="is_active"' not in page


def test_a_device_keeps_the_owner_it_registered_as(staff_client):
    # Given to another account, the app (whose secret its holder knows) would act as that one.
    device, other = DeviceFactory(), UserFactory()
    page = staff_client.get(f"/admin/api/device/{device.pk}/change/").content.decode()
    assert 'name="user"' not in page
    response = staff_client.post(
        f"/admin/api/device/{device.pk}/change/",
        {"user": other.pk, "platform": device.platform, "app_version": "2.0.0"},
    )
    assert response.status_code == 302
    saved = Device.objects.get(pk=device.pk)
    assert (saved.user_id, saved.app_version) == (device.user_id, "2.0.0")


@pytest.mark.parametrize("path", ["/admin/api/device/add/", "/admin/api/userprofile/add/"])
def test_devices_and_profiles_are_not_added_in_the_admin(staff_client, path):
    # A device registers (its secret is derived then); a profile comes with its user.
    assert staff_client.get(path).status_code == 403


def test_a_superuser_deletes_a_user_with_their_profile_and_devices(staff_client):
    device = DeviceFactory()
    user = device.user
    response = staff_client.post(f"/admin/api/user/{user.pk}/delete/", {"post": "yes"})
    assert response.status_code == 302
    assert not User.objects.filter(pk=user.pk).exists()
    assert not UserProfile.objects.filter(user_id=user.pk).exists()
    assert not Device.objects.filter(pk=device.pk).exists()
    other = UserFactory()
    response = staff_client.post(
        "/admin/api/user/",
        {"action": "delete_selected", "_selected_action": [other.pk], "post": "yes"},
    )
    assert response.status_code == 302
    assert not User.objects.filter(pk=other.pk).exists()


def staff_allowed_to_change_accounts() -> tuple[Client, User]:
    """A staff member who is no superuser, with what the admin's actions need on accounts: the
    change permission on users, profiles and devices (and view and delete)."""
    staff = UserFactory(is_staff=True)
    staff.user_permissions.set(
        Permission.objects.filter(
            content_type__app_label="api",
            codename__in=[
                f"{permission}_{model}"
                for permission in ("view", "change", "delete")
                for model in ("user", "userprofile", "device")
            ],
        )
    )
    client = Client()
    client.force_login(staff)
    return client, staff


@pytest.mark.parametrize("owner", ["superuser", "another staff member"])
def test_only_a_superuser_changes_what_belongs_to_a_superuser_or_other_staff(owner):
    client, _ = staff_allowed_to_change_accounts()
    superuser = UserFactory(is_staff=True, is_superuser=owner == "superuser")
    device = DeviceFactory(user=superuser)
    password = superuser.password
    for path in (
        f"/admin/api/user/{superuser.pk}/change/",
        f"/admin/api/user/{superuser.pk}/password/",
        f"/admin/api/user/{superuser.pk}/delete/",
        f"/admin/api/userprofile/{superuser.profile.pk}/change/",
        f"/admin/api/device/{device.pk}/change/",
        f"/admin/api/device/{device.pk}/delete/",
    ):
        data = {"password1": "taken-over-1234", "password2": "taken-over-1234", "post": "yes"}
        assert client.post(path, {**data, "display_name": "Mallory"}).status_code == 403, path
    superuser.refresh_from_db()
    assert superuser.password == password
    assert superuser.profile.display_name != "Mallory"
    assert Device.objects.filter(pk=device.pk).exists()
    # Viewing stays allowed, read-only.
    page = client.get(f"/admin/api/user/{superuser.pk}/change/")
    assert page.status_code == 200
    assert 'name="email"' not in page.content.decode()


def test_the_actions_follow_the_cms_rules_on_other_staff_and_superusers():
    # As in the CMS: staff may deactivate another staff member or revoke their devices (their
    # forms stay read-only to them, above); a superuser's, only a superuser.
    client, _ = staff_allowed_to_change_accounts()
    colleague, superuser = UserFactory(is_staff=True), UserFactory(is_staff=True, is_superuser=True)
    colleague_device, superuser_device = (
        DeviceFactory(user=colleague),
        DeviceFactory(user=superuser),
    )
    run_action(client, "/admin/api/user/", "deactivate_users", [colleague, superuser])
    run_action(client, "/admin/api/device/", "revoke_devices", [colleague_device, superuser_device])
    assert User.objects.get(pk=superuser.pk).is_active
    assert Device.objects.get(pk=superuser_device.pk).is_active
    assert not User.objects.get(pk=colleague.pk).is_active
    assert not Device.objects.get(pk=colleague_device.pk).is_active


def test_only_a_superuser_grants_rights():
    client, staff = staff_allowed_to_change_accounts()
    user = UserFactory(email="old@example.com")
    for account in (staff, user):
        page = client.get(f"/admin/api/user/{account.pk}/change/").content.decode()
        assert 'name="email"' in page
        for right in ("is_staff", "is_superuser", "groups", "user_permissions"):
            assert f'name="{right}"' not in page
        response = client.post(
            f"/admin/api/user/{account.pk}/change/",
            {
                "username": account.username,
                "email": f"new-{account.pk}@example.com",
                "is_staff": "on",
                "is_superuser": "on",
                "date_joined_0": account.date_joined.strftime("%Y-%m-%d"),
                "date_joined_1": account.date_joined.strftime("%H:%M:%S"),
                "profile-TOTAL_FORMS": "1",
                "profile-INITIAL_FORMS": "1",
                "profile-0-id": account.profile.pk,
                "profile-0-user": account.pk,
                "devices-TOTAL_FORMS": "0",
                "devices-INITIAL_FORMS": "0",
            },
        )
        assert response.status_code == 302
        account.refresh_from_db()
        assert account.email == f"new-{account.pk}@example.com"
        assert not account.is_superuser
    assert not user.is_staff


@pytest.mark.parametrize(
    ("field", "value"),
    [
        ("locale", "not a locale!"),
        ("timezone", "Mars/Olympus_Mons"),
        ("bio", "x" * 2001),
        ("display_name", "Ada\rLovelace"),
    ],
)
def test_the_admin_refuses_profile_values_the_api_refuses(staff_client, field, value):
    # Saved, they would reach apps through /me/, and the CMS would refuse every later edit.
    profile = UserFactory().profile
    response = staff_client.post(
        f"/admin/api/userprofile/{profile.pk}/change/", {"locale": "en-GB", field: value}
    )
    assert response.status_code == 200
    assert field in response.context["adminform"].form.errors
    assert getattr(UserProfile.objects.get(pk=profile.pk), field) != value


@pytest.mark.parametrize(
    ("field", "value"),
    [
        ("locale", "xx yy"),
        ("timezone", "Nowhere/City"),
        ("device_model", "Pixel\r\n9"),
        ("app_version", "1.0\u202e"),
    ],
)
def test_the_admin_refuses_device_settings_the_api_refuses(staff_client, field, value):
    device = DeviceFactory()
    response = staff_client.post(
        f"/admin/api/device/{device.pk}/change/", {"platform": device.platform, field: value}
    )
    assert response.status_code == 200
    assert field in response.context["adminform"].form.errors


def test_an_action_while_redis_is_down_changes_nothing_and_says_so(staff_client, settings):
    first, second = UserFactory(), UserFactory()
    settings.CACHES = redis_caches(f"redis://127.0.0.1:{closed_port()}/0")
    response = run_action(staff_client, "/admin/api/user/", "deactivate_users", [first, second])
    assert response.status_code == 200
    page = response.content.decode()
    assert "and any after it: not changed." in page
    shown = {(message.level_tag, message.message) for message in response.context["messages"]}
    assert ("info", "0 user(s) deactivated.") in shown
    assert not any(level == "success" for level, _ in shown)
    assert User.objects.filter(pk__in=[first.pk, second.pk], is_active=True).count() == 2


def test_only_a_superuser_changes_groups(staff_client):
    # A group's permissions are its members' rights.
    client, staff = staff_allowed_to_change_accounts()
    staff.user_permissions.add(
        *Permission.objects.filter(content_type__app_label="auth", codename__endswith="_group")
    )
    group = Group.objects.create(name="editors")
    permission = Permission.objects.get(codename="add_device")
    for path in ("/admin/auth/group/add/", f"/admin/auth/group/{group.pk}/change/"):
        data = {"name": "editors", "permissions": [permission.pk]}
        assert client.post(path, data).status_code == 403, path
    assert not group.permissions.exists()
    response = staff_client.post(
        f"/admin/auth/group/{group.pk}/change/", {"name": "editors", "permissions": [permission.pk]}
    )
    assert response.status_code == 302
    assert list(group.permissions.all()) == [permission]
