"""URLs of the API docs (SPEC §7), mounted at /<API_DOCS_PATH>/ only when that is set."""

from collections.abc import Callable
from functools import wraps
from typing import Any

from django.conf import settings
from django.contrib.admin.views.decorators import staff_member_required
from django.http import HttpRequest, HttpResponse
from django.urls import path
from drf_spectacular.views import SpectacularAPIView, SpectacularRedocView, SpectacularSwaggerView


def _guard(view: Callable[..., HttpResponse]) -> Callable[..., HttpResponse]:
    """Staff only (a session from the admin login) when API_DOCS_STAFF_ONLY is on; others are
    sent to the admin login page."""
    staff_view = staff_member_required(view)

    @wraps(view)
    def guarded(request: HttpRequest, *args: Any, **kwargs: Any) -> HttpResponse:
        chosen = staff_view if settings.API_DOCS_STAFF_ONLY else view
        return chosen(request, *args, **kwargs)

    return guarded


# The docs pages themselves need no API credentials: they are public or staff-session guarded.
_open: dict[str, Any] = {"authentication_classes": [], "permission_classes": []}

urlpatterns = [
    path("schema/", _guard(SpectacularAPIView.as_view(**_open)), name="api-schema"),
    path(
        "swagger/",
        _guard(SpectacularSwaggerView.as_view(url_name="api-schema", **_open)),
        name="api-swagger",
    ),
    path(
        "redoc/",
        _guard(SpectacularRedocView.as_view(url_name="api-schema", **_open)),
        name="api-redoc",
    ),
]
