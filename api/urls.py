"""Every route of the app: the admin at ADMIN_URL and each API feature under /api/v1/."""

from django.conf import settings
from django.contrib import admin
from django.urls import path

urlpatterns = [
    path(settings.ADMIN_URL, admin.site.urls),
]
