"""The declaration contract: which scopes apply to a request, from what its view declares."""

import pytest
from django.core.exceptions import ImproperlyConfigured
from django.urls import resolve
from rest_framework.views import APIView

from api.throttling import applicable_scopes, throttle_scopes
from api.throttling.middleware import limits_for

BASE = ("burst", "sustained")
WRITE = "data_modification"
ADMIN = "admin"


def scopes_of(method: str, path: str) -> tuple[str, ...]:
    view = resolve(path, urlconf="tests.throttling.urls").func
    return applicable_scopes(view, method)


@pytest.mark.parametrize(
    ("method", "path", "declared"),
    [
        # No declaration: burst and sustained; writes add data_modification.
        ("GET", "/api/v1/test/open/", ()),
        ("HEAD", "/api/v1/test/open/", ()),
        ("OPTIONS", "/api/v1/test/open/", ()),
        ("POST", "/api/v1/test/open/", (WRITE,)),
        ("PUT", "/api/v1/test/open/", (WRITE,)),
        ("PATCH", "/api/v1/test/open/", (WRITE,)),
        ("DELETE", "/api/v1/test/open/", (WRITE,)),
        # throttle_scope, for every method; auth_token endpoints get no data_modification.
        ("POST", "/api/v1/test/get-token/", ("auth_token",)),
        ("GET", "/api/v1/test/staff-write/", ("admin", "content_listing")),
        ("PUT", "/api/v1/test/staff-write/", ("admin", "content_listing", WRITE)),
        # throttle_scopes by HTTP method; HEAD takes GET's.
        ("GET", "/api/v1/test/by-method/", ("content_listing",)),
        ("HEAD", "/api/v1/test/by-method/", ("content_listing",)),
        ("POST", "/api/v1/test/by-method/", ("admin", "search", WRITE)),
        ("DELETE", "/api/v1/test/by-method/", (WRITE,)),
        # throttle_scopes by ViewSet action, extra actions included.
        ("GET", "/api/v1/test/items/", ("content_listing",)),
        ("HEAD", "/api/v1/test/items/", ("content_listing",)),
        ("POST", "/api/v1/test/items/", ("admin", WRITE)),
        ("GET", "/api/v1/test/items/7/", ()),
        ("DELETE", "/api/v1/test/items/7/", (WRITE,)),
        ("GET", "/api/v1/test/items/search/", ("search",)),
        # The decorator, on a DRF function view and on a plain Django one.
        ("GET", "/api/v1/test/search/", ("search",)),
        ("POST", "/cms/action/", ("admin", WRITE)),
        # An explicit data_modification is kept, auth_token or not.
        (
            "GET",
            "/api/v1/test/every-scope/",
            ("auth_token", WRITE, "content_listing", "search", "admin"),
        ),
    ],
)
def test_scopes_follow_the_views_declaration(method, path, declared):
    assert scopes_of(method, path) == BASE + declared


def test_an_exempt_view_has_no_scope_at_all():
    assert scopes_of("GET", "/api/v1/test/exempt/") == ()
    assert scopes_of("POST", "/api/v1/test/exempt/") == ()


def test_the_decorator_on_a_class_declares_its_throttle_scope():
    @throttle_scopes("search", "content_listing")
    class SearchView(APIView):
        pass

    assert SearchView.throttle_scope == ("search", "content_listing")  # type: ignore[attr-defined]
    assert applicable_scopes(SearchView.as_view(), "GET") == (*BASE, "search", "content_listing")


def test_the_decorator_needs_scope_names():
    with pytest.raises(TypeError, match="scope names"):
        throttle_scopes()
    with pytest.raises(TypeError, match="scope names"):
        throttle_scopes(["admin"])  # type: ignore[arg-type]


def test_the_decorator_with_methods_declares_the_scopes_of_those_methods_only():
    @throttle_scopes("admin", methods=["POST", "delete"])
    def action(request):
        raise AssertionError("never called")

    assert applicable_scopes(action, "POST", api=False) == (*BASE, ADMIN)
    assert applicable_scopes(action, "DELETE", api=False) == (*BASE, ADMIN)
    assert applicable_scopes(action, "GET", api=False) == BASE
    assert applicable_scopes(action, "HEAD", api=False) == BASE
    with pytest.raises(TypeError, match="list of methods"):
        throttle_scopes("admin", methods="POST")


class ScopeAsDict(APIView):
    throttle_scope = {"get": "search"}


class ScopesAsString(APIView):
    throttle_scopes = "search"


class ScopesWithANumber(APIView):
    throttle_scopes = {"get": ("search", 3)}


@pytest.mark.parametrize(
    ("view", "message"),
    [
        (ScopeAsDict, "throttle_scope of ScopeAsDict must be a scope or a tuple"),
        (ScopesAsString, "throttle_scopes of ScopesAsString must be a dict"),
        (ScopesWithANumber, r"throttle_scopes\['get'\] of ScopesWithANumber must be"),
    ],
)
def test_a_malformed_declaration_is_refused_naming_the_view(view, message):
    with pytest.raises(ImproperlyConfigured, match=message):
        applicable_scopes(view.as_view(), "GET")


def test_an_unknown_scope_is_refused_naming_it():
    with pytest.raises(ImproperlyConfigured, match=r"Unknown rate-limit scope\(s\) \['serach'\]"):
        limits_for(["burst", "serach"])
