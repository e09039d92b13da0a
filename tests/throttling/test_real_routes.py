"""The scopes of the real routes (core.urls) are those of SPEC §1's URL table and §4's scopes table.

The other limiter tests use stand-in views; this one reads what the app's own views declare, as
the middleware does: resolve the path, then `applicable_scopes` with `api` as the request's.
Health is answered before routing and is tested in test_limits.py. The routes of the features a
user adds with `manage.py startapi` are checked against what its generated views declare. A
feature whose tests keep its own rows of the table (tests/apis/<feature>/test_<feature>_limits.py,
as the example's do) has them checked there, and they go with the feature.
"""

import uuid

import pytest
from django.conf import settings
from django.test import RequestFactory
from django.urls import URLPattern, resolve, reverse

from api.throttling import applicable_scopes
from api.urls import api_v1
from api.utils import is_api_request
from tests.features import feature_tables

AUTH = {"auth_token"}
WRITE = {"data_modification"}
DEVICE = uuid.UUID("6f1c2a4e-0b3d-4c5e-8f70-9a1b2c3d4e5f")

Route = tuple[str, str, set[str]]
# (method, path, scopes besides burst + sustained), one line per method of each row of §1.
ROUTES: list[Route] = [
    ("POST", "/api/v1/device/register/", AUTH),
    ("POST", "/api/v1/auth/get-token/", AUTH),
    ("POST", "/api/v1/auth/refresh-token/", AUTH),
    ("POST", "/api/v1/auth/logout/", AUTH),
    ("GET", "/api/v1/me/", set()),
    ("PATCH", "/api/v1/me/", WRITE),
    # The admin: burst + sustained, writes included (it is not the API); but its sign-in takes
    # `admin` as the CMS's does (§4: staff operations), so that guessing staff passwords is no
    # cheaper there (api/admin.py).
    ("GET", f"/{settings.ADMIN_URL}", set()),
    ("POST", f"/{settings.ADMIN_URL}login/", {"admin"}),
    ("POST", f"/{settings.ADMIN_URL}api/user/7/change/", set()),
    # The CMS: its pages take burst + sustained, its state-changing POSTs admin.
    ("GET", "/cms/", set()),
    ("GET", "/cms/login/", set()),
    ("GET", "/cms/users/", set()),
    ("GET", "/cms/users/7/", set()),
    ("POST", "/cms/login/", {"admin"}),
    ("POST", "/cms/logout/", {"admin"}),
    ("POST", "/cms/users/7/deactivate/", {"admin"}),
    ("POST", "/cms/users/7/activate/", {"admin"}),
    ("POST", "/cms/users/7/profile/", {"admin"}),
    ("POST", f"/cms/devices/{DEVICE}/revoke/", {"admin"}),
]

DOCS = ["/docs-test/schema/", "/docs-test/swagger/", "/docs-test/redoc/"]

# The template's features, api/apis/<feature>/: ROUTES has every route of theirs. A feature the
# user adds with `manage.py startapi` need not be in it: its routes take what the generated
# views declare (api/management/commands/startapi_templates/views.py-tpl), by the suffix of the
# URL name: (method, scopes besides burst + sustained) for each method the view serves.
# The example is not one of them: its rows are its own (tests/apis/example/), deleted with it.
TEMPLATE_FEATURES = {"onboarding", "auth", "me"}
GENERATED = {
    "-list": [("GET", {"content_listing"}), ("POST", WRITE)],
    "-detail": [("GET", set()), ("PATCH", WRITE), ("DELETE", WRITE)],
}


def scopes_of(method: str, target: str, urlconf: str = "core.urls") -> tuple[str, ...]:
    """The scopes RateLimitMiddleware applies to a `method` request for `target`."""
    request = RequestFactory().generic(method, target)
    view = resolve(request.path_info, urlconf=urlconf).func
    return applicable_scopes(view, method, api=is_api_request(request))


def assert_scopes(method: str, target: str, declared: set[str]) -> None:
    scopes = scopes_of(method, target)
    assert scopes[:2] == ("burst", "sustained")
    assert sorted(scopes[2:]) == sorted(declared), (method, target)


@pytest.mark.parametrize(("method", "target", "declared"), ROUTES)
def test_each_route_of_the_url_map_has_the_scopes_of_the_spec(method, target, declared):
    assert_scopes(method, target, declared)


@pytest.mark.parametrize("method", ["GET", "HEAD"])
@pytest.mark.parametrize("target", DOCS)
def test_the_api_docs_take_burst_and_sustained_only(method, target):
    # tests/docs_urls.py: core.urls with the docs mounted, as API_DOCS_PATH=docs-test does.
    assert scopes_of(method, target, urlconf="tests.docs_urls") == ("burst", "sustained")


def feature_of(pattern: URLPattern) -> str | None:
    """The api/apis/<feature>/ of a route's view; None for a view elsewhere."""
    module = pattern.lookup_str.split(".")
    return module[2] if module[:2] == ["api", "apis"] else None


def api_routes() -> list[URLPattern]:
    """The routes under /api/v1/: every feature's are in line (api.urls.feature)."""
    assert all(isinstance(pattern, URLPattern) for pattern in api_v1)
    return [pattern for pattern in api_v1 if isinstance(pattern, URLPattern)]


def rows_of_features() -> list[Route]:
    """The rows that features' own tests keep, tests/apis/<feature>/test_<feature>_limits.py's
    ROUTES, for the features routed today: none once the example is deleted."""
    features = {feature for pattern in api_routes() if (feature := feature_of(pattern))}
    return [row for rows in feature_tables("limits", "ROUTES", features) for row in rows]


def url_names(rows: list[Route]) -> set[str | None]:
    """The URL names of the API routes that `rows` has."""
    return {
        resolve(RequestFactory().get(target).path_info, urlconf="core.urls").url_name
        for _, target, _ in rows
        if target.startswith("/api/")
    }


def in_the_table() -> set[str | None]:
    """The URL names of the API routes that ROUTES, or a feature's own rows, have."""
    return url_names([*ROUTES, *rows_of_features()])


def not_in(rows: list[Route], features: set[str]) -> set[str | None]:
    """The names of the API routes of `features` (api/apis/<feature>/) that `rows` lacks."""
    routes = {pattern.name for pattern in api_routes() if feature_of(pattern) in features}
    return routes - url_names(rows)


def test_the_table_covers_every_api_route_of_the_template():
    assert not_in(ROUTES, TEMPLATE_FEATURES) == set()


def test_an_api_route_not_in_the_table_has_the_scopes_of_a_generated_feature():
    # The template has none: .ci/startapi-check runs this file with features it generated.
    known = in_the_table()
    for pattern in (pattern for pattern in api_routes() if pattern.name not in known):
        name = pattern.name or str(pattern.pattern)
        suffix = next((end for end in GENERATED if name.endswith(end)), None)
        assert suffix, (
            f"{name}: startapi generates no such route; list its feature's routes in ROUTES of "
            "tests/apis/<feature>/test_<feature>_limits.py (README: Adding a Feature)"
        )
        target = reverse(name, kwargs=dict.fromkeys(pattern.pattern.converters, 7))
        for method, declared in GENERATED[suffix]:
            assert_scopes(method, target, declared)
