"""get-token, refresh-token and logout, mounted under /api/v1/ (api/urls.py)."""

from django.urls import path

from api.apis.auth.views import LogoutView, TokenIssueView, TokenRefreshView

urlpatterns = [
    path("auth/get-token/", TokenIssueView.as_view(), name="auth-get-token"),
    path("auth/refresh-token/", TokenRefreshView.as_view(), name="auth-refresh-token"),
    path("auth/logout/", LogoutView.as_view(), name="auth-logout"),
]
