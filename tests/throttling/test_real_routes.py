"""The scopes of the real routes (core.urls) are those of SPEC §1's URL table and §4's scopes table.

The other limiter tests use stand-in views; this one reads what the app's own views declare, as
the middleware does: resolve the path, then `applicable_scopes` with `api` as the request's.
Health is answered before routing and is tested in test_limits.py.
"""

import uuid

import pytest
from django.conf import settings
from django.test import RequestFactory
from django.urls import URLPattern, resolve

from api.throttling import applicable_scopes
from api.urls import api_v1
from api.utils import is_api_request

AUTH = {"auth_token"}
WRITE = {"data_modification"}
# §4: `admin` applies to staff operations, CMS actions and staff-only API writes alike.
STAFF_WRITE = {"data_modification", "admin"}
DEVICE = uuid.UUID("6f1c2a4e-0b3d-4c5e-8f70-9a1b2c3d4e5f")

# (method, path, scopes besides burst + sustained), one line per method of each row of §1.
ROUTES = [
    ("POST", "/api/v1/device/register/", AUTH),
    ("POST", "/api/v1/auth/get-token/", AUTH),
    ("POST", "/api/v1/auth/refresh-token/", AUTH),
    ("POST", "/api/v1/auth/logout/", AUTH),
    ("GET", "/api/v1/me/", set()),
    ("PATCH", "/api/v1/me/", WRITE),
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


def scopes_of(method: str, target: str, urlconf: str = "core.urls") -> tuple[str, ...]:
    """The scopes RateLimitMiddleware applies to a `method` request for `target`."""
    request = RequestFactory().generic(method, target)
    view = resolve(request.path_info, urlconf=urlconf).func
    return applicable_scopes(view, method, api=is_api_request(request))


@pytest.mark.parametrize(("method", "target", "declared"), ROUTES)
def test_each_route_of_the_url_map_has_the_scopes_of_the_spec(method, target, declared):
    scopes = scopes_of(method, target)
    assert scopes[:2] == ("burst", "sustained")
    assert sorted(scopes[2:]) == sorted(declared)


@pytest.mark.parametrize("method", ["GET", "HEAD"])
@pytest.mark.parametrize("target", DOCS)
def test_the_api_docs_take_burst_and_sustained_only(method, target):
    # tests/docs_urls.py: core.urls with the docs mounted, as API_DOCS_PATH=docs-test does.
    assert scopes_of(method, target, urlconf="tests.docs_urls") == ("burst", "sustained")


def test_the_table_covers_every_api_route():
    covered = {
        resolve(RequestFactory().get(target).path_info, urlconf="core.urls").url_name
        for _, target, _ in ROUTES
        if target.startswith("/api/")
    }
    assert all(isinstance(pattern, URLPattern) for pattern in api_v1)
    assert covered == {pattern.name for pattern in api_v1 if isinstance(pattern, URLPattern)}
