"""Every route of the app: the admin at ADMIN_URL, the staff CMS at /cms/ and each API feature
under /api/v1/."""

from django.conf import settings
from django.contrib import admin
from django.urls import include, path, register_converter

from api.converters import IdConverter

register_converter(IdConverter, "id")

api_v1 = [
    path("", include("api.apis.onboarding.urls")),
    path("", include("api.apis.auth.urls")),
    path("", include("api.apis.me.urls")),
    # The reference feature to copy, then delete (README: Adding a Feature).
    path("", include("api.apis.example.urls")),
    # startapi: new features above this line
]

urlpatterns = [
    path("api/v1/", include(api_v1)),
    path(settings.ADMIN_URL, admin.site.urls),
    path("cms/", include("api.cms.urls")),
]

if settings.API_DOCS_PATH:
    urlpatterns.append(path(f"{settings.API_DOCS_PATH}/", include("api.docs")))
