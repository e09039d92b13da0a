"""Every route of the app: the admin at ADMIN_URL, the staff CMS at /cms/ and each API feature
under /api/v1/."""

from django.conf import settings
from django.contrib import admin
from django.urls import include, path

api_v1 = [
    path("", include("api.apis.onboarding.urls")),
    path("", include("api.apis.auth.urls")),
    path("", include("api.apis.me.urls")),
]

urlpatterns = [
    path("api/v1/", include(api_v1)),
    path(settings.ADMIN_URL, admin.site.urls),
    path("cms/", include("api.cms.urls")),
]
