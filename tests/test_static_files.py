"""Static files: collectstatic under production settings, then WhiteNoise serves them."""

from django.contrib.staticfiles.storage import staticfiles_storage
from django.core.management import call_command
from django.test import Client

MANIFEST_STORAGE = "whitenoise.storage.CompressedManifestStaticFilesStorage"


def test_collected_files_are_served_compressed_with_a_far_future_cache(settings, tmp_path):
    settings.STATIC_ROOT = tmp_path
    settings.STORAGES = {**settings.STORAGES, "staticfiles": {"BACKEND": MANIFEST_STORAGE}}
    call_command("collectstatic", "--noinput", verbosity=0)

    url = staticfiles_storage.url("admin/css/base.css")
    assert url.startswith("/static/admin/css/base.")
    assert url != "/static/admin/css/base.css"  # content-hashed name from the manifest

    response = Client().get(url, HTTP_ACCEPT_ENCODING="gzip")
    assert response.status_code == 200
    assert response["Content-Encoding"] == "gzip"
    assert "immutable" in response["Cache-Control"]
    assert "max-age=315360000" in response["Cache-Control"]


def test_an_unknown_static_file_is_not_found(settings, tmp_path):
    settings.STATIC_ROOT = tmp_path
    settings.STORAGES = {**settings.STORAGES, "staticfiles": {"BACKEND": MANIFEST_STORAGE}}
    call_command("collectstatic", "--noinput", verbosity=0)
    assert Client().get("/static/admin/css/missing.css").status_code == 404
