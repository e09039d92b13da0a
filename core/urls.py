"""Root URLs: the admin, the API (api/urls.py) and the error handlers. Health is middleware."""

from django.urls import include, path

urlpatterns = [
    path("", include("api.urls")),
]

# problem+json on /api/ and /health/, Django's templates elsewhere (api/exceptions.py).
handler400 = "api.exceptions.bad_request"
handler403 = "api.exceptions.permission_denied"
handler404 = "api.exceptions.page_not_found"
handler500 = "api.exceptions.server_error"
