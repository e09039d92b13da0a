"""The Django admin: every model listed with working search and filters."""

import pytest
from django.test import Client

from tests.factories import DeviceFactory, UserFactory

pytestmark = pytest.mark.django_db


@pytest.fixture
def staff_client() -> Client:
    admin = UserFactory(is_staff=True, is_superuser=True)
    client = Client()
    client.force_login(admin)
    return client


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
    DeviceFactory(user=UserFactory(username="findme"), platform="android")
    DeviceFactory(user=UserFactory(username="other"), platform="ios")
    response = staff_client.get(path + query)
    assert response.status_code == 200
    assert response.context["cl"].result_count == 1


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


def test_admin_is_refused_to_non_staff():
    client = Client()
    client.force_login(UserFactory())
    response = client.get("/admin/api/user/")
    assert response.status_code == 302
    assert response["Location"].startswith("/admin/login/")
