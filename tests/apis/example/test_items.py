"""Items: owners write their own; lists filter, order and paginate in constant queries."""

from decimal import Decimal
from urllib.parse import urlencode

import pytest
from django.db.models.signals import pre_save

from api.models import Category, Item
from tests.apis.example.factories import CategoryFactory, ItemFactory
from tests.apis.example.races import just_before
from tests.asserts import assert_problem
from tests.databases import scratch_database
from tests.processes import run_manage, run_python

pytestmark = pytest.mark.django_db

LIST = "/api/v1/items/"
SEARCH = "/api/v1/items/search/"


def detail(item_id: int) -> str:
    return f"/api/v1/items/{item_id}/"


def test_create_returns_the_item_with_a_two_place_price_string(session):
    category = CategoryFactory()
    response = session.call(
        "POST",
        LIST,
        {"category": category.pk, "title": "Lamp 💡", "price": "12.5", "is_published": True},
    )
    assert response.status_code == 201
    body = response.json()
    assert response["Location"] == detail(body["id"])  # where the new one lives (RFC 9110)
    assert body["owner"] == session.user_id
    assert body["category"] == category.pk
    assert body["price"] == "12.50"
    assert body["created_at"].endswith("Z")
    assert set(body) == {
        "id",
        "owner",
        "category",
        "title",
        "description",
        "price",
        "is_published",
        "created_at",
        "updated_at",
    }


def test_a_four_byte_utf8_title_round_trips(session):
    title = "Guitar 🎸 𝄞 — ünïcode"
    category = CategoryFactory()
    item_id = session.call(
        "POST", LIST, {"category": category.pk, "title": title, "price": "1"}
    ).json()["id"]
    assert Item.objects.get(pk=item_id).title.encode() == title.encode()
    assert session.get(detail(item_id)).json()["title"] == title


def test_the_owner_field_cannot_be_set(session):
    category = CategoryFactory()
    body = session.call(
        "POST", LIST, {"category": category.pk, "title": "T", "price": "1", "owner": 999}
    ).json()
    assert body["owner"] == session.user_id


@pytest.mark.parametrize(
    ("payload", "field", "code"),
    [
        ({"title": "T", "price": "1"}, "category", "required"),
        ({"category": 999999, "title": "T", "price": "1"}, "category", "does_not_exist"),
        ({"category": 10**30, "title": "T", "price": "1"}, "category", "does_not_exist"),
        ({"category": "x", "title": "T", "price": "1"}, "category", "invalid"),
        ({"title": "T", "price": "-1"}, "price", "min_value"),
        ({"title": "T", "price": "1.234"}, "price", "max_decimal_places"),
        ({"title": "T", "price": "100000000"}, "price", "max_whole_digits"),
        ({"title": "x" * 201, "price": "1"}, "title", "max_length"),
    ],
)
def test_invalid_items_are_refused_and_nothing_is_written(session, payload, field, code):
    CategoryFactory()
    problem = assert_problem(session.call("POST", LIST, payload), 400, "validation_error")
    assert {"field": field, "code": code} in [
        {"field": e["field"], "code": e["code"]} for e in problem["errors"]
    ]
    assert Item.objects.count() == 0


def test_only_the_owner_can_change_or_delete(session):
    theirs = ItemFactory(title="Theirs")
    for method in ("PUT", "PATCH", "DELETE"):
        response = session.call(
            method,
            detail(theirs.pk),
            {"title": "Mine now", "category": theirs.category_id, "price": "1"},
        )
        assert_problem(response, 403, "permission_denied")
    theirs.refresh_from_db()
    assert theirs.title == "Theirs"


@pytest.mark.parametrize("method", ["PUT", "PATCH"])
def test_a_non_owner_gets_403_whatever_the_body(session, method):
    # Ownership is checked before the body is read: an invalid body from a non-owner is a 403
    # too, not a 400 that tells them what a valid one would be.
    theirs = ItemFactory(title="Theirs")
    response = session.call(method, detail(theirs.pk), {"title": "", "price": "-1"})
    assert_problem(response, 403, "permission_denied")
    theirs.refresh_from_db()
    assert theirs.title == "Theirs"


def test_the_owner_updates_and_deletes(session):
    category = CategoryFactory()
    item_id = session.call(
        "POST", LIST, {"category": category.pk, "title": "Old", "price": "1"}
    ).json()["id"]
    patched = session.call("PATCH", detail(item_id), {"title": "New"})
    assert patched.json()["title"] == "New"
    assert (
        session.call(
            "PUT",
            detail(item_id),
            {"category": category.pk, "title": "Put", "price": "2.00", "is_published": True},
        ).json()["price"]
        == "2.00"
    )
    assert session.call("DELETE", detail(item_id)).status_code == 204
    assert not Item.objects.filter(pk=item_id).exists()


def test_put_replaces_every_field_and_patch_only_those_sent(session):
    category = CategoryFactory()
    item = ItemFactory(
        owner_id=session.user_id, category=category, description="Old", is_published=True
    )
    patched = session.call("PATCH", detail(item.pk), {"title": "Patched"}).json()
    assert (patched["description"], patched["is_published"]) == ("Old", True)
    # PUT takes POST's body: what it leaves out takes POST's default, is_published too.
    replaced = session.call(
        "PUT", detail(item.pk), {"category": category.pk, "title": "Put", "price": "2"}
    )
    assert replaced.status_code == 200
    body = replaced.json()
    assert (body["title"], body["description"], body["is_published"]) == ("Put", "", False)
    item.refresh_from_db()
    assert (item.title, item.description, item.is_published) == ("Put", "", False)


# Transactional: SQLite checks the foreign key when the INSERT commits (see races.py).
@pytest.mark.django_db(transaction=True)
def test_an_item_saved_into_a_category_deleted_meanwhile_is_a_conflict(session):
    # The category goes after the item's body was validated, before its INSERT: the database
    # refuses the INSERT, and the answer says so.
    category = CategoryFactory()

    def delete_the_category() -> None:
        Category.objects.filter(pk=category.pk).delete()

    with just_before(pre_save, Item, delete_the_category):
        response = session.call(
            "POST", LIST, {"category": category.pk, "title": "Raced", "price": "1"}
        )
    assert_problem(response, 409, "conflict")
    assert not Item.objects.exists()


@pytest.mark.django_db(transaction=True)
@pytest.mark.parametrize("method", ["PUT", "PATCH"])
def test_an_item_moved_to_a_category_deleted_meanwhile_is_a_conflict(session, method):
    item = ItemFactory(owner_id=session.user_id, title="Mine")
    other = CategoryFactory()

    def delete_the_category() -> None:
        Category.objects.filter(pk=other.pk).delete()

    with just_before(pre_save, Item, delete_the_category):
        response = session.call(
            method, detail(item.pk), {"category": other.pk, "title": "Moved", "price": "1"}
        )
    assert_problem(response, 409, "conflict")
    kept = Item.objects.get(pk=item.pk)
    assert (kept.category_id, kept.title) == (item.category_id, "Mine")


@pytest.mark.parametrize("method", ["PUT", "PATCH"])
def test_an_item_deleted_while_it_is_edited_is_not_found(session, method):
    item = ItemFactory(owner_id=session.user_id)

    def delete_the_item() -> None:
        Item.objects.filter(pk=item.pk).delete()

    with just_before(pre_save, Item, delete_the_item):
        response = session.call(
            method, detail(item.pk), {"category": item.category_id, "title": "Late", "price": "1"}
        )
    assert_problem(response, 404, "not_found")


def test_drafts_are_visible_to_their_owner_only(session):
    draft = ItemFactory(is_published=False)
    assert_problem(session.get(detail(draft.pk)), 404, "not_found")
    assert session.get(LIST).json()["count"] == 0
    mine = ItemFactory(is_published=False, owner_id=session.user_id)
    assert session.get(detail(mine.pk)).status_code == 200
    assert [i["id"] for i in session.get(LIST).json()["results"]] == [mine.pk]


def test_filters_and_ordering(session):
    books, art = CategoryFactory(), CategoryFactory()
    cheap = ItemFactory(category=books, price=Decimal("1.00"))
    dear = ItemFactory(category=books, price=Decimal("50.00"))
    ItemFactory(category=art)
    own_draft = ItemFactory(category=books, owner_id=session.user_id, is_published=False)

    def ids(query: str) -> list[int]:
        return [item["id"] for item in session.get(LIST + query).json()["results"]]

    assert set(ids(f"?category={books.pk}")) == {cheap.pk, dear.pk, own_draft.pk}
    assert ids(f"?owner={session.user_id}") == [own_draft.pk]
    assert ids("?published=false") == [own_draft.pk]
    assert ids(f"?category={books.pk}&published=true&ordering=-price") == [dear.pk, cheap.pk]
    assert ids(f"?category={books.pk}&published=true&ordering=price") == [cheap.pk, dear.pk]


def test_pagination_pages_and_limits(session):
    ItemFactory.create_batch(25)
    first = session.get(LIST).json()
    assert first["count"] == 25
    assert len(first["results"]) == 20
    assert first["next"].endswith("/api/v1/items/?page=2")
    assert len(session.get(LIST + "?page=2").json()["results"]) == 5
    assert len(session.get(LIST + "?page_size=5").json()["results"]) == 5
    assert len(session.get(LIST + "?page_size=1000").json()["results"]) == 25
    assert_problem(session.get(LIST + "?page=3"), 404, "not_found")


def test_a_page_holds_at_most_100_items_whatever_page_size_asks(session):
    one = ItemFactory()
    ItemFactory.create_batch(100, owner=one.owner, category=one.category)
    first = session.get(LIST + "?page_size=1000")
    assert first.status_code == 200
    body = first.json()
    assert body["count"] == 101
    assert len(body["results"]) == 100
    assert body["previous"] is None
    assert body["next"] == "http://testserver/api/v1/items/?page=2&page_size=1000"
    last = session.get(LIST + "?page=2&page_size=1000").json()
    assert last["count"] == 101
    assert len(last["results"]) == 1
    assert last["next"] is None
    assert {item["id"] for item in body["results"] + last["results"]} == set(
        Item.objects.values_list("pk", flat=True)
    )


# Transactional: a count is kept once the items it counts have committed (api.counts).
@pytest.mark.django_db(transaction=True)
@pytest.mark.parametrize("size", [1, 50])
def test_the_list_costs_the_same_queries_whatever_the_page_size(
    session, django_assert_num_queries, size
):
    ItemFactory.create_batch(size)
    # One COUNT and one SELECT of the page; authentication costs none...
    with django_assert_num_queries(2):
        response = session.get(f"{LIST}?page_size={size}")
    assert len(response.json()["results"]) == size
    # ...and the count is kept while no item changes (api.counts).
    with django_assert_num_queries(1):
        again = session.get(f"{LIST}?page_size={size}")
    assert again.json() == response.json()


@pytest.mark.parametrize(
    "query",
    [
        "?category=1%20OR%201=1",
        "?owner=1;DROP%20TABLE%20api_item",
        "?ordering=price;DELETE",
        "?ordering=owner__password",
        "?published=1%27%20OR%20%271%27=%271",
        "?category=99999999999999999999",
    ],
)
def test_sql_looking_filters_are_400_not_500(session, query):
    ItemFactory()
    assert_problem(session.get(LIST + query), 400, "validation_error")
    assert Item.objects.count() == 1


@pytest.mark.parametrize("path", [LIST, SEARCH])
def test_more_query_parameters_than_django_reads_are_400_not_500(session, path):
    query = "&" * 1001  # Django counts the separators (DATA_UPLOAD_MAX_NUMBER_FIELDS: 1,000)
    assert_problem(session.get(f"{path}?q=lamp{query}"), 400, "bad_request")


@pytest.mark.parametrize("q", ["' OR '1'='1", "%", "_", "\\", "1; DROP TABLE api_item; --", "😀"])
def test_sql_looking_search_returns_no_extra_rows(session, q):
    ItemFactory(title="Plain lamp", description="Nothing special")
    response = session.get(f"{SEARCH}?{urlencode({'q': q})}")
    assert response.status_code == 200
    assert response.json()["count"] == 0
    assert Item.objects.count() == 1


def test_a_nul_byte_in_search_is_400(session):
    assert_problem(session.get(SEARCH + "?q=a%00b"), 400, "validation_error")


def test_search_finds_title_and_description_case_insensitively(session):
    lamp = ItemFactory(title="Desk LAMP")
    shade = ItemFactory(description="fits any lamp")
    ItemFactory(title="Chair")
    ItemFactory(title="Hidden lamp", is_published=False)
    ids = {item["id"] for item in session.get(SEARCH + "?q=lamp").json()["results"]}
    assert ids == {lamp.pk, shade.pk}


@pytest.mark.parametrize("query", ["", "?q=", "?q=" + "x" * 101])
def test_search_needs_a_sensible_q(session, query):
    problem = assert_problem(session.get(SEARCH + query), 400, "validation_error")
    assert problem["errors"][0]["field"] == "q"


# 100,000 items, 90 % published, then the plan of the list's first page.
EXPLAIN_THE_LIST = """
import django; django.setup()
from django.db import connection
from api.apis.example.selectors import item_list
from api.models import Category, User

owner = User.objects.create(username="owner")
category = Category.objects.create(name="c", slug="c")
with connection.cursor() as cursor:
    cursor.execute(
        "INSERT INTO api_item (owner_id, category_id, title, description, price, is_published,"
        " created_at, updated_at)"
        " WITH d (v) AS (SELECT 0 UNION ALL SELECT 1 UNION ALL SELECT 2 UNION ALL SELECT 3"
        "  UNION ALL SELECT 4 UNION ALL SELECT 5 UNION ALL SELECT 6 UNION ALL SELECT 7"
        "  UNION ALL SELECT 8 UNION ALL SELECT 9),"
        " n (i) AS (SELECT a.v + 10 * b.v + 100 * c.v + 1000 * e.v + 10000 * f.v"
        "  FROM d a, d b, d c, d e, d f)"
        " SELECT %s, %s, 't', '', 1, i %% 10 <> 0, NOW(6) - INTERVAL i SECOND, NOW(6) FROM n",
        [owner.pk, category.pk],
    )
    cursor.execute("ANALYZE TABLE api_item")
print(item_list(viewer_id=owner.pk + 1)[:20].explain())
"""


def test_a_page_of_the_list_reads_in_index_order_on_mysql(mysql_url):
    # A page's 20 rows are read along item_created_idx, not sorted out of every visible item
    # (api/models.py).
    with scratch_database(mysql_url, "plan") as url:
        env = {"DATABASE_URL": url, "LOG_LEVEL": "CRITICAL"}
        migrated = run_manage("migrate", "--noinput", env=env)
        assert migrated.returncode == 0, migrated.stderr
        plan = run_python(EXPLAIN_THE_LIST, env, timeout=120)
    assert plan.returncode == 0, plan.stderr
    assert "item_created_idx" in plan.stdout
    assert "filesort" not in plan.stdout


@pytest.mark.parametrize("price", ["-0", "-0.00"])
def test_a_negative_zero_price_is_answered_as_the_zero_the_database_keeps(session, price):
    # min_value=0 lets -0 through; MySQL stores 0.00, so the answer and a later read differed.
    category = CategoryFactory()
    created = session.call("POST", LIST, {"category": category.pk, "title": "Free", "price": price})
    assert created.status_code == 201
    assert created.json()["price"] == "0.00"
    assert session.get(detail(created.json()["id"])).json()["price"] == "0.00"
