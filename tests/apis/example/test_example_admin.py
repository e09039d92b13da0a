"""The example's admin (api/admin.py): its changelists' search and filters, checked as the
project's are (tests/test_admin.py), and the way a first category gets in."""

import pytest
from django.test import Client

from api.models import Category
from tests.apis.example.factories import CategoryFactory, ItemFactory
from tests.signing import open_session
from tests.test_admin import (
    assert_a_bad_filter_is_refused,
    assert_the_changelist_finds_one,
    signed_in_staff,
)

pytestmark = pytest.mark.django_db


@pytest.fixture
def staff_client() -> Client:
    return signed_in_staff()


@pytest.mark.parametrize(
    ("path", "query"),
    [
        ("/admin/api/category/", "?q=findme"),
        ("/admin/api/item/", "?q=findme"),
        ("/admin/api/item/", "?is_published__exact=1"),
    ],
)
def test_changelists_search_and_filter(staff_client, path, query):
    ItemFactory(title="findme", category=CategoryFactory(name="findme"), is_published=True)
    ItemFactory(title="other", category=CategoryFactory(name="other"), is_published=False)
    assert_the_changelist_finds_one(staff_client, path, query)


def test_a_category_made_in_the_admin_takes_items_from_the_api(staff_client, client):
    # A fresh database has no category, and only staff may make one: the admin is the way in.
    response = staff_client.post(
        "/admin/api/category/add/", {"name": "Books", "slug": "books", "description": ""}
    )
    assert response.status_code == 302
    category = Category.objects.get(slug="books")
    session = open_session(client)
    response = session.call(
        "POST", "/api/v1/items/", {"title": "A", "price": "9.99", "category": category.pk}
    )
    assert response.status_code == 201, response.content
    assert response.json()["category"] == category.pk


@pytest.mark.parametrize("query", ["?owner=" + "9" * 20, "?category=" + "9" * 20])
def test_a_filter_the_item_list_cannot_use_is_its_bad_filter_page_not_a_500(staff_client, query):
    ItemFactory()
    assert_a_bad_filter_is_refused(staff_client, "/admin/api/item/", query)
