"""A user's page: account, profile, devices and the staff actions taken on them."""

import pytest
from django.contrib.admin.models import CHANGE, LogEntry

from api.models import UserProfile
from tests.cms.conftest import page_text
from tests.factories import DeviceFactory, UserFactory

pytestmark = pytest.mark.django_db


def test_the_page_shows_the_account_profile_and_every_device(staff_client):
    user = UserFactory(username="ada", email="ada@example.com")
    UserProfile.objects.filter(user=user).update(
        display_name="Ada 😀", locale="en-GB", timezone="Europe/London"
    )
    DeviceFactory(user=user, platform="android", app_version="3.1.4", last_ip="203.0.113.7")
    DeviceFactory(user=user, platform="web", app_version="9.9.9", is_active=False)
    response = staff_client.get(f"/cms/users/{user.pk}/")
    assert response.status_code == 200
    text = page_text(response)
    assert "Ada 😀" in text
    assert "ada@example.com" in text
    assert "Android" in text
    assert "3.1.4" in text
    assert "203.0.113.7" in text
    assert "Revoked" in text
    assert response.context["profile_form"].initial["timezone"] == "Europe/London"
    # Active devices first; only they can be revoked.
    assert [device.is_active for device in response.context["devices"]] == [True, False]
    assert text.count("Revoke device") == 1


def test_the_page_offers_deactivation_to_active_users_and_reactivation_to_the_others(
    staff_client,
):
    active = UserFactory()
    inactive = UserFactory(is_active=False)
    page = staff_client.get(f"/cms/users/{active.pk}/").content.decode()
    assert f'action="/cms/users/{active.pk}/deactivate/"' in page
    assert "/activate/" not in page
    page = staff_client.get(f"/cms/users/{inactive.pk}/").content.decode()
    assert f'action="/cms/users/{inactive.pk}/activate/"' in page
    assert "/deactivate/" not in page


def test_the_history_lists_actions_on_the_user_and_on_their_devices(staff_client, staff):
    device = DeviceFactory()
    other = DeviceFactory()
    for target, message in [
        (device.user, "About the user."),
        (device, "About the device."),
        (other, "About someone else."),
    ]:
        LogEntry.objects.log_actions(
            user_id=staff.pk, queryset=[target], action_flag=CHANGE, change_message=message
        )
    text = page_text(staff_client.get(f"/cms/users/{device.user_id}/"))
    assert "ops: About the device." in text
    assert "ops: About the user." in text
    assert "About someone else." not in text


def test_the_page_runs_a_fixed_number_of_queries(staff_client, django_assert_num_queries):
    user = UserFactory()
    staff_client.get(f"/cms/users/{user.pk}/")  # content types, cached for the process
    DeviceFactory.create_batch(5, user=user)
    # Session, staff user, the user with their profile, devices, history.
    with django_assert_num_queries(5):
        response = staff_client.get(f"/cms/users/{user.pk}/")
    assert response.status_code == 200
    assert len(response.context["devices"]) == 5
