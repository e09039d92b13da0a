"""URLs of the API docs (SPEC §7), mounted at /<API_DOCS_PATH>/ only when that is set."""

from collections.abc import Callable
from functools import wraps
from typing import Any

from django.conf import settings
from django.contrib.admin.views.decorators import staff_member_required
from django.http import HttpRequest, HttpResponse
from django.urls import path
from django.utils.cache import patch_cache_control
from drf_spectacular.views import SpectacularAPIView, SpectacularRedocView, SpectacularSwaggerView


def _guard(view: Callable[..., HttpResponse]) -> Callable[..., HttpResponse]:
    """Staff only (a session from the admin login) when API_DOCS_STAFF_ONLY is on; others are
    sent to the admin login page."""
    staff_view = staff_member_required(view)

    @wraps(view)
    def guarded(request: HttpRequest, *args: Any, **kwargs: Any) -> HttpResponse:
        if not settings.API_DOCS_STAFF_ONLY:
            return view(request, *args, **kwargs)
        response = staff_view(request, *args, **kwargs)
        # For staff only: no shared cache keeps a copy (Vary: Cookie alone is not enough for
        # a cache that ignores Vary).
        patch_cache_control(response, private=True)
        return response

    return guarded


# The docs load nothing from another host (SPEC §7): the sidecar's copies of Swagger UI and
# ReDoc, and their pages' own inline start-up script and style. The policy holds the libraries to
# that too: ReDoc's footer would fetch its logo from cdn.redoc.ly (it hides an image that fails).
# Their search runs in a worker made from a blob: URL.
CONTENT_SECURITY_POLICY = "; ".join(
    (
        "default-src 'self'",
        "script-src 'self' 'unsafe-inline'",
        "style-src 'self' 'unsafe-inline'",
        "img-src 'self' data:",
        "font-src 'self' data:",
        "worker-src 'self' blob:",
        "connect-src 'self'",
        "frame-ancestors 'none'",
        "base-uri 'none'",
        "form-action 'self'",
    )
)


def _self_contained(view: Callable[..., HttpResponse]) -> Callable[..., HttpResponse]:
    @wraps(view)
    def contained(request: HttpRequest, *args: Any, **kwargs: Any) -> HttpResponse:
        response = view(request, *args, **kwargs)
        response.headers.setdefault("Content-Security-Policy", CONTENT_SECURITY_POLICY)
        return response

    return contained


# The docs pages themselves need no API credentials: they are public or staff-session guarded.
_open: dict[str, Any] = {"authentication_classes": [], "permission_classes": []}


class SchemaView(SpectacularAPIView):
    """The schema, whatever `?version=` says. The API is versioned by its path and uses no DRF
    versioning, and drf-spectacular took the parameter unchecked into the schema's version and
    the Content-Disposition filename, where a control character made gunicorn answer a 500 and
    a quote added a second filename. Its hook for the parameter is private; the tests notice if
    it goes (tests/test_docs.py)."""

    def _get_version_parameter(self, request: Any) -> None:
        return None


urlpatterns = [
    path("schema/", _guard(SchemaView.as_view(**_open)), name="api-schema"),
    path(
        "swagger/",
        _guard(_self_contained(SpectacularSwaggerView.as_view(url_name="api-schema", **_open))),
        name="api-swagger",
    ),
    path(
        "redoc/",
        _guard(_self_contained(SpectacularRedocView.as_view(url_name="api-schema", **_open))),
        name="api-redoc",
    ),
]
