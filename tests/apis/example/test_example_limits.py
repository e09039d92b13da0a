"""The scopes of the example's routes (api/apis/example/), checked as the project's are
(tests/throttling/test_real_routes.py), whose checks of every API route read ROUTES here."""

import pytest

from tests.throttling.test_real_routes import WRITE, Route, assert_scopes, not_in

# §4: `admin` applies to staff operations, CMS actions and staff-only API writes alike.
STAFF_WRITE = {"data_modification", "admin"}

# (method, path, scopes besides burst + sustained), one line per method of each route.
ROUTES: list[Route] = [
    ("GET", "/api/v1/categories/", {"content_listing"}),
    ("POST", "/api/v1/categories/", STAFF_WRITE),
    ("GET", "/api/v1/categories/7/", set()),
    ("PUT", "/api/v1/categories/7/", STAFF_WRITE),
    ("PATCH", "/api/v1/categories/7/", STAFF_WRITE),
    ("DELETE", "/api/v1/categories/7/", STAFF_WRITE),
    ("GET", "/api/v1/items/", {"content_listing"}),
    ("POST", "/api/v1/items/", WRITE),
    ("GET", "/api/v1/items/7/", set()),
    ("PUT", "/api/v1/items/7/", WRITE),
    ("PATCH", "/api/v1/items/7/", WRITE),
    ("DELETE", "/api/v1/items/7/", WRITE),
    ("GET", "/api/v1/items/search/?q=lamp", {"search"}),
]


@pytest.mark.parametrize(("method", "target", "declared"), ROUTES)
def test_each_route_of_the_example_has_the_scopes_of_the_spec(method, target, declared):
    assert_scopes(method, target, declared)


def test_the_table_covers_every_route_of_the_example():
    assert not_in(ROUTES, {"example"}) == set()
