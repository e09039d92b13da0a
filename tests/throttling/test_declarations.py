"""The declaration contract: which scopes apply to a request, from what its view declares."""

import pytest
from django.core.exceptions import ImproperlyConfigured
from django.urls import resolve
from rest_framework.views import APIView

from api.throttling import applicable_scopes, throttle_scopes
from api.throttling.decision import Limit
from api.throttling.middleware import limits_for, view_limits

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
    # A class keys its own throttle_scopes by method or by ViewSet action: it declares them.
    with pytest.raises(TypeError, match=r"declare throttle_scopes = \{\.\.\.\} on SearchView"):

        @throttle_scopes("admin", methods=["POST"])
        class SearchView(APIView):
            throttle_scopes = {"get": "search"}


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


@pytest.mark.parametrize("method", ["GET", "HEAD", "POST", "PUT", "DELETE"])
@pytest.mark.parametrize(
    "path",
    [
        "/api/v1/test/open/",
        "/api/v1/test/get-token/",
        "/api/v1/test/staff-write/",
        "/api/v1/test/by-method/",
    ],
)
def test_a_views_limits_are_its_scopes_limits_derived_once(method, path):
    view = resolve(path, urlconf="tests.throttling.urls").func
    limits = view_limits(view, method, api=True)
    assert limits == tuple(limits_for(applicable_scopes(view, method)))
    assert view_limits(view, method, api=True) is limits  # remembered, not derived again
    assert view_limits(view, method, api=False) == tuple(
        limits_for(applicable_scopes(view, method, api=False))
    )


def test_a_views_limits_follow_a_change_of_rate_limits(settings):
    view = resolve("/api/v1/test/open/", urlconf="tests.throttling.urls").func
    assert view_limits(view, "GET", api=True)[0] == Limit("burst", *settings.RATE_LIMITS["burst"])
    settings.RATE_LIMITS = {**settings.RATE_LIMITS, "burst": (7, 60)}
    assert view_limits(view, "GET", api=True)[0] == Limit("burst", 7, 60)


class UnhashableView:
    """A callable view that cannot be a dict key (it defines __eq__ alone)."""

    throttle_scope = "search"

    def __eq__(self, other: object) -> bool:
        return self is other

    def __call__(self, request):
        raise NotImplementedError


def test_a_view_that_cannot_be_remembered_is_limited_all_the_same():
    limits = view_limits(UnhashableView(), "GET", api=True)
    assert [limit.scope for limit in limits] == ["burst", "sustained", "search"]


def test_a_misdeclared_view_is_refused_on_every_request():
    view = ScopeAsDict.as_view()
    for _ in range(2):
        with pytest.raises(ImproperlyConfigured, match="throttle_scope of ScopeAsDict"):
            view_limits(view, "GET", api=True)
