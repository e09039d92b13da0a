"""Root URLs: the admin, the API (api/urls.py) and the error handlers. Health is middleware."""

# api/urls.py's patterns themselves, not include()d: every level of include() is one more
# resolver every request goes through (bench/README.md).
from api.urls import urlpatterns

__all__ = ["urlpatterns"]

# problem+json on /api/ and /health/, Django's templates elsewhere (api/problems.py).
handler400 = "api.problems.bad_request"
handler403 = "api.problems.permission_denied"
handler404 = "api.problems.page_not_found"
handler500 = "api.problems.server_error"
