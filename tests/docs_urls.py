"""The app's URLs with the API docs mounted at /docs-test/, as API_DOCS_PATH=docs-test does."""

from django.urls import include, path

urlpatterns = [
    path("docs-test/", include("api.docs")),
    path("", include("core.urls")),
]
