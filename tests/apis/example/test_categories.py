"""Categories: everyone authenticated reads, only staff write (SPEC §1)."""

import pytest
from django.db.models.signals import pre_delete, pre_save

from api.models import Category, Item
from tests.apis.example.factories import CategoryFactory, ItemFactory
from tests.apis.example.races import just_before
from tests.asserts import assert_problem
from tests.factories import UserFactory

pytestmark = pytest.mark.django_db

LIST = "/api/v1/categories/"


def detail(category_id: int) -> str:
    return f"/api/v1/categories/{category_id}/"


def test_list_is_paginated_and_ordered_by_name(session):
    CategoryFactory(name="Books", slug="books")
    CategoryFactory(name="Art", slug="art")
    body = session.get(LIST).json()
    assert body["count"] == 2
    assert body["next"] is None
    assert body["previous"] is None
    assert [c["name"] for c in body["results"]] == ["Art", "Books"]
    assert set(body["results"][0]) == {"id", "name", "slug", "description"}


def test_staff_create_update_and_delete(staff_session):
    created = staff_session.call("POST", LIST, {"name": "Music 🎵", "slug": "music"})
    assert created.status_code == 201
    category_id = created.json()["id"]
    assert created["Location"] == detail(category_id)  # where the new one lives (RFC 9110)
    assert Category.objects.get(pk=category_id).name == "Music 🎵"

    patched = staff_session.call("PATCH", detail(category_id), {"description": "Vinyl"})
    assert patched.json()["description"] == "Vinyl"
    assert patched.json()["slug"] == "music"

    replaced = staff_session.call("PUT", detail(category_id), {"name": "Records", "slug": "music"})
    assert replaced.status_code == 200
    assert replaced.json()["name"] == "Records"

    assert staff_session.call("DELETE", detail(category_id)).status_code == 204
    assert not Category.objects.filter(pk=category_id).exists()


# Whatever the body: permission is checked before the body is read.
@pytest.mark.parametrize(
    "body",
    [{"name": "X", "slug": "x"}, {"name": "", "slug": "not a slug"}],
    ids=["valid", "invalid"],
)
@pytest.mark.parametrize("method", ["POST", "PUT", "PATCH", "DELETE"])
def test_non_staff_cannot_write(session, method, body):
    category = CategoryFactory()
    path = LIST if method == "POST" else detail(category.pk)
    response = session.call(method, path, body)
    assert_problem(response, 403, "permission_denied")
    assert Category.objects.count() == 1
    category.refresh_from_db()
    assert category.name != body["name"]


def test_duplicate_slug_is_a_validation_error(staff_session):
    CategoryFactory(slug="taken")
    problem = assert_problem(
        staff_session.call("POST", LIST, {"name": "A", "slug": "taken"}), 400, "validation_error"
    )
    assert problem["errors"][0]["field"] == "slug"
    assert problem["errors"][0]["code"] == "unique"


def test_a_slug_taken_meanwhile_answers_as_one_taken_before(staff_session):
    # Another request creates the slug after this one's uniqueness check, before its INSERT:
    # the database refuses the INSERT, and the answer is the one a slug taken before gets.
    CategoryFactory(slug="taken")
    before = staff_session.call("POST", LIST, {"name": "A", "slug": "taken"})
    expected = assert_problem(before, 400, "validation_error")["errors"]

    def take_the_slug() -> None:
        Category.objects.create(name="Theirs", slug="raced")

    with just_before(pre_save, Category, take_the_slug):
        raced = staff_session.call("POST", LIST, {"name": "Mine", "slug": "raced"})
    assert assert_problem(raced, 400, "validation_error")["errors"] == expected
    assert not Category.objects.filter(name="Mine").exists()


@pytest.mark.parametrize("method", ["PUT", "PATCH"])
def test_an_update_to_a_slug_taken_meanwhile_answers_as_one_taken_before(staff_session, method):
    category = CategoryFactory(name="Mine", slug="mine")

    def take_the_slug() -> None:
        Category.objects.create(name="Theirs", slug="raced")

    with just_before(pre_save, Category, take_the_slug):
        raced = staff_session.call(method, detail(category.pk), {"name": "New", "slug": "raced"})
    problem = assert_problem(raced, 400, "validation_error")
    assert [(e["field"], e["code"]) for e in problem["errors"]] == [("slug", "unique")]
    category.refresh_from_db()
    assert (category.name, category.slug) == ("Mine", "mine")


# Transactional: SQLite checks the foreign key when the DELETE commits (see races.py).
@pytest.mark.django_db(transaction=True)
def test_deleting_a_category_while_an_item_is_added_to_it_is_a_conflict(staff_session):
    # The item lands after the delete's check for items, before its DELETE: the database
    # refuses the DELETE, and the answer is the one a category with items gets.
    category = CategoryFactory()

    def add_an_item() -> None:
        Item.objects.create(owner=UserFactory(), category=category, title="Raced", price=1)

    with just_before(pre_delete, Category, add_an_item):
        response = staff_session.call("DELETE", detail(category.pk))
    assert_problem(response, 409, "conflict")
    assert Category.objects.filter(pk=category.pk).exists()


def test_put_replaces_every_field_and_patch_only_those_sent(staff_session):
    category = CategoryFactory(name="Old", slug="old", description="Kept by a PATCH")
    patched = staff_session.call("PATCH", detail(category.pk), {"name": "Patched"})
    assert patched.json()["description"] == "Kept by a PATCH"
    # PUT takes POST's body: what it leaves out takes POST's default.
    replaced = staff_session.call("PUT", detail(category.pk), {"name": "New", "slug": "new"})
    assert replaced.status_code == 200
    assert replaced.json() == {"id": category.pk, "name": "New", "slug": "new", "description": ""}
    category.refresh_from_db()
    assert category.description == ""


def test_put_requires_every_field(staff_session):
    category = CategoryFactory()
    problem = assert_problem(
        staff_session.call("PUT", detail(category.pk), {"name": "Only"}), 400, "validation_error"
    )
    assert [e["field"] for e in problem["errors"]] == ["slug"]


@pytest.mark.parametrize("method", ["PUT", "PATCH"])
def test_an_update_refuses_a_malformed_slug_and_may_keep_its_own(staff_session, method):
    category = CategoryFactory(slug="kept")
    CategoryFactory(slug="taken")
    problem = assert_problem(
        staff_session.call(method, detail(category.pk), {"name": "N", "slug": "bad slug*"}),
        400,
        "validation_error",
    )
    assert [(e["field"], e["code"]) for e in problem["errors"]] == [("slug", "invalid")]
    taken = staff_session.call(method, detail(category.pk), {"name": "N", "slug": "taken"})
    assert assert_problem(taken, 400, "validation_error")["errors"][0]["code"] == "unique"
    kept = staff_session.call(method, detail(category.pk), {"name": "N", "slug": "kept"})
    assert kept.status_code == 200
    assert Category.objects.get(pk=category.pk).slug == "kept"


def test_deleting_a_category_with_items_is_a_conflict(staff_session):
    item = ItemFactory()
    response = staff_session.call("DELETE", detail(item.category_id))
    assert_problem(response, 409, "conflict")
    assert Category.objects.filter(pk=item.category_id).exists()


@pytest.mark.parametrize(
    "path",
    [
        "/api/v1/categories/999999/",
        "/api/v1/categories/0/",
        "/api/v1/categories/99999999999999999999/",
    ],
)
def test_unknown_or_impossible_ids_are_404(session, path):
    assert_problem(session.get(path), 404, "not_found")


def test_reading_needs_a_token(client):
    assert_problem(client.get(LIST), 401, "not_authenticated")
