"""Routes of the staff CMS, mounted at /cms/ (api/urls.py)."""

from django.urls import path

from api.cms import views

app_name = "cms"

urlpatterns = [
    path("", views.dashboard, name="dashboard"),
    path("login/", views.login, name="login"),
    path("logout/", views.logout, name="logout"),
    path("users/", views.user_list, name="users"),
    path("users/<int:user_id>/", views.user_detail, name="user"),
    path("users/<int:user_id>/deactivate/", views.user_deactivate, name="user-deactivate"),
    path("users/<int:user_id>/activate/", views.user_activate, name="user-activate"),
    path("users/<int:user_id>/profile/", views.user_profile_update, name="user-profile"),
    path("devices/<uuid:device_id>/revoke/", views.device_revoke, name="device-revoke"),
]
