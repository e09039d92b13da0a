"""Categories: everyone authenticated reads, only staff write (SPEC §1)."""

import pytest

from api.models import Category
from tests.asserts import assert_problem
from tests.factories import CategoryFactory, ItemFactory

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
    assert Category.objects.get(pk=category_id).name == "Music 🎵"

    patched = staff_session.call("PATCH", detail(category_id), {"description": "Vinyl"})
    assert patched.json()["description"] == "Vinyl"
    assert patched.json()["slug"] == "music"

    replaced = staff_session.call("PUT", detail(category_id), {"name": "Records", "slug": "music"})
    assert replaced.status_code == 200
    assert replaced.json()["name"] == "Records"

    assert staff_session.call("DELETE", detail(category_id)).status_code == 204
    assert not Category.objects.filter(pk=category_id).exists()


@pytest.mark.parametrize("method", ["POST", "PUT", "PATCH", "DELETE"])
def test_non_staff_cannot_write(session, method):
    category = CategoryFactory()
    path = LIST if method == "POST" else detail(category.pk)
    response = session.call(method, path, {"name": "X", "slug": "x"})
    assert_problem(response, 403, "permission_denied")
    assert Category.objects.count() == 1
    category.refresh_from_db()
    assert category.name != "X"


def test_duplicate_slug_is_a_validation_error(staff_session):
    CategoryFactory(slug="taken")
    problem = assert_problem(
        staff_session.call("POST", LIST, {"name": "A", "slug": "taken"}), 400, "validation_error"
    )
    assert problem["errors"][0]["field"] == "slug"
    assert problem["errors"][0]["code"] == "unique"


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
