"""Device registration, mounted under /api/v1/ (api/urls.py)."""

from django.urls import path

from api.apis.onboarding.views import DeviceRegisterView

urlpatterns = [
    path("device/register/", DeviceRegisterView.as_view(), name="device-register"),
]
