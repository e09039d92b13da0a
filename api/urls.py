"""Every route of the app: the admin at ADMIN_URL, the staff CMS at /cms/ and each API feature
under /api/v1/."""

from importlib import import_module

from django.conf import settings
from django.contrib import admin
from django.urls import URLPattern, URLResolver, include, path, register_converter

from api.converters import IdConverter

register_converter(IdConverter, "id")


def feature(name: str) -> list[URLPattern | URLResolver]:
    """The routes of api/apis/<name>/urls.py, in line. Not `path("", include(...))`: each
    include() is one more resolver that requests go through, and with core/urls.py's own they
    cost 5 % of the instructions of a `GET /api/v1/me/` (bench/README.md). A feature that
    wants a URL namespace (`app_name`) can still be include()d."""
    return list(import_module(f"api.apis.{name}.urls").urlpatterns)


api_v1 = [
    *feature("onboarding"),
    *feature("auth"),
    *feature("me"),
    # The reference feature to copy, then delete (README: Deleting the example).
    *feature("example"),
    # startapi: new features above this line
]

urlpatterns = [
    path("api/v1/", include(api_v1)),
    path(settings.ADMIN_URL, admin.site.urls),
    path("cms/", include("api.cms.urls")),
]

if settings.API_DOCS_PATH:
    urlpatterns.append(path(f"{settings.API_DOCS_PATH}/", include("api.docs")))
