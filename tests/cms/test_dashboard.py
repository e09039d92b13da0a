"""The dashboard: totals, devices by platform, registrations per day, latest registrations."""

from datetime import timedelta

import pytest
from django.utils import timezone

from api.models import Device
from tests.cms.conftest import page_text
from tests.factories import DeviceFactory, UserFactory

pytestmark = pytest.mark.django_db


def registered(days_ago: int, **fields) -> Device:
    device = DeviceFactory(**fields)
    Device.objects.filter(pk=device.pk).update(created_at=timezone.now() - timedelta(days=days_ago))
    return device


def test_totals_and_platforms_match_the_database(staff_client):
    DeviceFactory.create_batch(3, platform="ios")
    DeviceFactory(platform="android", is_active=False)
    DeviceFactory(platform="android", user=UserFactory(is_active=False))
    response = staff_client.get("/cms/")
    assert response.status_code == 200
    totals = response.context["totals"]
    # Five device owners and the staff member.
    assert (totals.users, totals.active_users, totals.staff) == (6, 5, 1)
    assert (totals.devices, totals.active_devices) == (5, 4)
    platforms = {row.platform: (row.devices, row.active) for row in response.context["platforms"]}
    assert platforms == {"ios": (3, 3), "android": (2, 1), "web": (0, 0), "other": (0, 0)}
    assert [round(row.percent) for row in response.context["platforms"]] == [60, 40, 0, 0]
    text = page_text(response)
    assert "Users 6 1 staff" in text
    assert "Active users 5 1 deactivated" in text
    assert "Devices 5 4 active, 1 revoked" in text


def test_registrations_per_day_cover_thirty_days_with_gaps_as_zero(staff_client):
    registered(0)
    registered(0)
    registered(3)
    registered(29)
    registered(30)  # a day too old
    response = staff_client.get("/cms/")
    days = response.context["chart_days"]
    assert len(days) == 30
    assert days[-1].day == timezone.now().date()
    assert [day.count for day in days if day.count] == [1, 1, 2]
    assert days[0].count == 1
    assert days[-4].count == 1
    chart = response.context["chart"]
    assert chart.total == 4
    assert chart.peak.count == 2
    assert chart.peak.day == timezone.now().date()


def test_the_chart_is_an_accessible_inline_svg_with_a_tooltip_per_day(staff_client):
    registered(0)
    content = staff_client.get("/cms/").content.decode()
    assert '<svg class="chart"' in content
    assert 'role="img"' in content
    assert '<title id="registrations-title">Registrations per day, last 30 days</title>' in content
    assert content.count('<g class="chart__day">') == 30
    assert ": 1 registration</title>" in content
    assert ": 0 registrations</title>" in content
    # And the numbers as a table, for screen readers and for copying.
    assert content.count('<tr><th scope="row">') == 30


def test_latest_registrations_are_listed_newest_first(staff_client):
    older = registered(2, app_version="1.0.0")
    newer = registered(0, app_version="2.0.0")
    latest = staff_client.get("/cms/").context["latest"]
    assert latest == [newer, older]


def test_the_dashboard_runs_a_fixed_number_of_queries(staff_client, django_assert_num_queries):
    staff_client.get("/cms/")  # content types and the like, cached for the process
    for _ in range(3):
        registered(1, platform="web")
    # Session, user, user totals, device totals, platforms, registrations per day, latest.
    with django_assert_num_queries(7):
        assert staff_client.get("/cms/").status_code == 200
    for _ in range(10):
        registered(5, platform="android")
    with django_assert_num_queries(7):
        staff_client.get("/cms/")


def test_an_empty_database_renders(staff_client):
    response = staff_client.get("/cms/")
    assert response.status_code == 200
    assert response.context["chart"].peak is None
    assert "No device has registered yet." in page_text(response)
