"""The users list: search, filters, whitelisted sorting, pagination, a fixed number of queries."""

from datetime import timedelta

import pytest
from django.utils import timezone

from api.cms.views import USERS_PER_PAGE
from api.models import User
from tests.cms.conftest import page_text
from tests.factories import DeviceFactory, UserFactory

pytestmark = pytest.mark.django_db


def listed(client, query: str = "") -> list[str]:
    response = client.get(f"/cms/users/{query}")
    assert response.status_code == 200
    return [row.user.username for row in response.context["rows"]]


@pytest.fixture
def people():
    ada = UserFactory(username="ada", email="ada@lovelace.example")
    grace = UserFactory(username="grace", email="grace@navy.example", is_active=False)
    linus = UserFactory(username="linus", email="linus@kernel.example", is_staff=True)
    DeviceFactory(user=ada, platform="ios")
    DeviceFactory(user=ada, platform="android")
    DeviceFactory(user=grace, platform="android")
    DeviceFactory(user=grace, platform="android")
    return ada, grace, linus


@pytest.mark.parametrize(
    ("query", "expected"),
    [
        ("?q=ADA", ["ada"]),
        ("?q=navy.exa", ["grace"]),
        ("?q=.example", ["linus", "grace", "ada"]),
        ("?q=nobody", []),
    ],
)
def test_text_matches_part_of_a_username_or_an_email(staff_client, people, query, expected):
    assert listed(staff_client, query) == expected


def test_a_full_device_id_finds_that_devices_user(staff_client, people):
    device = people[1].devices.first()
    assert listed(staff_client, f"?q={device.pk}") == ["grace"]
    assert listed(staff_client, f"?q={str(device.pk).upper()}") == ["grace"]


def test_part_of_a_device_id_finds_nobody(staff_client, people):
    device = people[1].devices.first()
    assert listed(staff_client, f"?q={str(device.pk)[:8]}") == []


@pytest.mark.parametrize(
    ("query", "expected"),
    [
        ("?active=yes", ["linus", "ada", "ops"]),
        ("?active=no", ["grace"]),
        ("?staff=yes", ["linus", "ops"]),
        ("?staff=no&active=yes", ["ada"]),
        ("?platform=android", ["grace", "ada"]),
        ("?platform=ios", ["ada"]),
        ("?platform=web", []),
        ("?platform=android&active=yes&q=ad", ["ada"]),
    ],
)
def test_filters(staff_client, people, query, expected):
    assert listed(staff_client, query) == expected


def test_a_user_with_several_matching_devices_is_listed_once_with_right_counts(
    staff_client, people
):
    people[1].devices.update(last_seen_at=None)
    response = staff_client.get("/cms/users/?platform=android")
    rows = {row.user.username: row for row in response.context["rows"]}
    assert len(response.context["rows"]) == 2
    assert (rows["grace"].devices, rows["grace"].active_devices) == (2, 2)
    assert rows["grace"].platforms == [("Android", 2)]
    assert rows["ada"].platforms == [("iOS", 1), ("Android", 1)]
    assert rows["grace"].last_seen is None


@pytest.mark.parametrize(
    "query", ["?platform=windows", "?active=maybe", "?sort=password", "?sort=-is_superuser"]
)
def test_values_outside_the_choices_filter_nothing(staff_client, people, query):
    assert sorted(listed(staff_client, query)) == ["ada", "grace", "linus", "ops"]


@pytest.mark.parametrize(
    ("sort", "expected"),
    [
        ("username", ["ada", "grace", "linus", "ops"]),
        ("-username", ["ops", "linus", "grace", "ada"]),
        ("-devices", ["grace", "ada", "linus", "ops"]),
        ("joined", ["grace", "ada", "linus", "ops"]),
        ("-joined", ["ops", "linus", "ada", "grace"]),
        # Users never seen go last, whichever the direction; ties follow the user id.
        ("-last_seen", ["ada", "grace", "linus", "ops"]),
        ("last_seen", ["grace", "ada", "ops", "linus"]),
    ],
)
def test_sorting_by_whitelisted_keys(staff_client, people, sort, expected):
    ada, grace, linus = people
    now = timezone.now()
    User.objects.filter(pk=grace.pk).update(date_joined=now - timedelta(days=3))
    User.objects.filter(pk=ada.pk).update(date_joined=now - timedelta(days=2))
    User.objects.filter(pk=linus.pk).update(date_joined=now - timedelta(days=1))
    ada.devices.update(last_seen_at=now)
    grace.devices.update(last_seen_at=now - timedelta(hours=1))
    assert listed(staff_client, f"?sort={sort}") == expected


def test_sortable_headings_link_to_the_other_direction_and_keep_the_filters(staff_client, people):
    response = staff_client.get("/cms/users/?platform=android&sort=username&page=2")
    links = response.context["sort_links"]
    assert links["username"].direction == "ascending"
    assert links["username"].url == "?platform=android&sort=-username"
    assert links["joined"].direction == ""
    assert links["joined"].url == "?platform=android&sort=-joined"
    assert 'aria-sort="ascending"' in response.content.decode()


def test_pages_of_users(staff_client):
    UserFactory.create_batch(USERS_PER_PAGE + 5)
    first = staff_client.get("/cms/users/?sort=username")
    second = staff_client.get("/cms/users/?sort=username&page=2")
    assert len(first.context["rows"]) == USERS_PER_PAGE
    assert len(second.context["rows"]) == 6
    names = [row.user.username for row in first.context["rows"] + second.context["rows"]]
    assert len(set(names)) == USERS_PER_PAGE + 6
    assert "26\N{EN DASH}31 of 31" in page_text(second)
    assert 'href="?sort=username&amp;page=1"' in second.content.decode()
    # A page out of range shows the last one rather than an error.
    assert staff_client.get("/cms/users/?page=99").context["page"].number == 2
    assert staff_client.get("/cms/users/?page=x").context["page"].number == 1


def queries_of_one_page(client, django_assert_num_queries, count: int) -> None:
    with django_assert_num_queries(count):
        assert client.get("/cms/users/?platform=ios&sort=-devices").status_code == 200


def test_a_page_runs_the_same_few_queries_whatever_it_shows(
    staff_client, django_assert_num_queries
):
    for _ in range(3):
        DeviceFactory(platform="ios")
    # Session, user, count of matching users, the page with profiles and device counts.
    queries_of_one_page(staff_client, django_assert_num_queries, 4)
    for _ in range(USERS_PER_PAGE + 5):
        user = DeviceFactory(platform="ios").user
        DeviceFactory.create_batch(2, user=user, platform="android")
    queries_of_one_page(staff_client, django_assert_num_queries, 4)


def test_nothing_found_says_so(staff_client):
    response = staff_client.get("/cms/users/?q=nobody")
    assert "No user matches these filters." in page_text(response)
    assert "0 matches" in page_text(response)
