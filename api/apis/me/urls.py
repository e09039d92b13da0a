"""/me/, mounted under /api/v1/ (api/urls.py)."""

from django.urls import path

from api.apis.me.views import MeView

urlpatterns = [
    path("me/", MeView.as_view(), name="me"),
]
