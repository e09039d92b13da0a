"""Every error under /api/ and /health/ is RFC 9457 problem+json, never a traceback (SPEC §2)."""

import json

import pytest
from django.test import Client

from tests.asserts import assert_problem

pytestmark = pytest.mark.urls("tests.urls")

LEAK = "SELECT password"


def test_unknown_api_path_is_404_problem(client):
    response = client.get("/api/v1/does-not-exist/")
    body = assert_problem(response, 404, "not_found")
    assert body["title"] == "Not Found"
    assert "errors" not in body


def test_path_without_trailing_slash_is_404_not_redirect(client):
    response = client.post("/api/v1/test/validate", {}, format="json")
    assert_problem(response, 404, "not_found")


def test_wrong_method_on_api_view_is_405_problem(client):
    response = client.delete("/api/v1/test/explode/")
    assert_problem(response, 405, "method_not_allowed")
    assert "GET" in response["Allow"]


def test_wrong_method_on_health_is_405_problem(client):
    response = client.post("/health/live/")
    assert_problem(response, 405, "method_not_allowed")
    assert response["Allow"] == "GET, HEAD"


@pytest.mark.parametrize("debug", [False, True])
@pytest.mark.parametrize("path", ["/api/v1/test/explode/", "/api/v1/test/explode-plain/"])
def test_exception_in_view_is_500_problem_without_its_text(client, settings, debug, path):
    settings.DEBUG = debug
    response = client.get(path)
    body = assert_problem(response, 500, "server_error")
    assert LEAK not in response.content.decode()
    assert "Traceback" not in response.content.decode()
    assert body["detail"] == "The server failed to handle the request."


def test_exception_in_view_is_logged_with_its_traceback(client, caplog):
    client.get("/api/v1/test/explode/")
    errors = [record for record in caplog.records if record.levelname == "ERROR"]
    assert errors
    assert errors[0].exc_info is not None
    assert LEAK in str(errors[0].exc_info[1])


def test_validation_errors_list_every_field_with_dotted_paths(client):
    response = client.post(
        "/api/v1/test/validate/",
        {"platform": "windows", "address": {"city": "Amsterdam"}, "tags": [1, "x"]},
        format="json",
    )
    body = assert_problem(response, 400, "validation_error")
    by_field = {error["field"]: error for error in body["errors"]}
    assert set(by_field) == {"platform", "address.city", "tags.1"}
    assert by_field["platform"]["code"] == "invalid_choice"
    assert by_field["address.city"]["code"] == "max_length"
    assert by_field["tags.1"]["code"] == "invalid"
    assert all(error["message"] for error in body["errors"])


def test_non_field_validation_error_has_null_field(client):
    response = client.post(
        "/api/v1/test/validate/",
        {"platform": "android", "address": {"city": "Oslo"}, "tags": []},
        format="json",
    )
    body = assert_problem(response, 400, "validation_error")
    assert body["errors"] == [{"field": None, "code": "invalid", "message": "android needs tags"}]


def test_malformed_json_is_parse_error(client):
    response = client.post(
        "/api/v1/test/validate/", b'{"platform": ', content_type="application/json"
    )
    assert_problem(response, 400, "parse_error")


def test_form_body_is_unsupported_media_type(client):
    response = client.post(
        "/api/v1/test/validate/", b"platform=ios", content_type="application/x-www-form-urlencoded"
    )
    assert_problem(response, 415, "unsupported_media_type")


def test_body_over_the_upload_limit_is_413_problem(client, settings):
    settings.DATA_UPLOAD_MAX_MEMORY_SIZE = 1000
    payload = json.dumps({"platform": "ios", "pad": "x" * 2000})
    response = client.post("/api/v1/test/validate/", payload, content_type="application/json")
    assert_problem(response, 413, "payload_too_large")


@pytest.mark.parametrize("debug", [False, True])
def test_bad_host_on_api_is_400_problem(client, settings, debug):
    settings.DEBUG = debug
    response = client.get("/api/v1/does-not-exist/", HTTP_HOST="evil.example.com")
    body = assert_problem(response, 400, "bad_request")
    assert "evil.example.com" not in body["detail"]


def test_csrf_failure_on_api_path_is_403_problem():
    client = Client(enforce_csrf_checks=True)
    response = client.post("/api/v1/test/form/", {"a": "b"})
    assert_problem(response, 403, "permission_denied")


def test_errors_outside_the_api_stay_html(client):
    response = client.get("/no-such-page/")
    assert response.status_code == 404
    assert response["Content-Type"].startswith("text/html")
    assert b"There is nothing at this address." in response.content
