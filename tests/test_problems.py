"""Every error under /api/ and /health/ is RFC 9457 problem+json, never a traceback (SPEC §2)."""

import http.client
import json
import logging
from collections.abc import Iterator
from urllib.parse import urlsplit

import orjson
import pytest
from deviceauth.signing import sign_request
from django.db import utils as db
from django.test import Client

from api.parsers import MAX_DEPTH, flaw_of
from api.problems import database_unavailable
from tests.asserts import assert_problem
from tests.live import LiveServer, free_port, start_server
from tests.relay import TcpRelay
from tests.signing import APP_KEY_ID, APP_SECRET, REGISTER

pytestmark = pytest.mark.urls("tests.urls")

LEAK = "SELECT password"


def test_unknown_api_path_is_404_problem(client):
    response = client.get("/api/v1/does-not-exist/")
    body = assert_problem(response, 404, "not_found")
    assert body["title"] == "Not Found"
    assert "errors" not in body


def test_problems_of_the_middleware_and_of_drf_are_the_same_compact_json(client):
    # One byte format whichever layer answers: a route nobody serves (middleware), a wrong
    # method on a DRF view.
    for response, status in (
        (client.get("/api/v1/does-not-exist/"), 404),
        (client.get("/api/v1/test/validate/"), 405),
    ):
        assert response.status_code == status
        assert response.content == orjson.dumps(response.json())


def test_path_without_trailing_slash_is_404_not_redirect(client):
    response = client.post("/api/v1/test/validate", {}, format="json")
    assert_problem(response, 404, "not_found")


@pytest.mark.parametrize("path", ["/api", "/health"])
def test_the_prefixes_without_their_slash_are_404_problems(client, path):
    assert_problem(client.get(path), 404, "not_found")


@pytest.mark.parametrize("path", ["//api/v1/test/validate/", "///health/live/", "//api"])
def test_a_path_with_a_slash_too_many_in_front_is_the_apis_404(client, path):
    # A client's base URL ending in "/" joined to "/api/...": a 404 it can read. (PATH_INFO
    # as a WSGI server passes it: the test client would read "//api" as a host.)
    assert_problem(client.get("/", PATH_INFO=path), 404, "not_found")


@pytest.mark.parametrize("path", ["/apix/", "/healthy", "/cms"])
def test_paths_that_only_start_like_the_prefixes_are_not_the_apis(client, path):
    response = client.get(path)
    assert response.status_code == 404
    assert response["Content-Type"] == "text/html; charset=utf-8"


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


def test_exception_in_view_is_logged_once_with_its_traceback(client, caplog):
    assert_problem(client.get("/api/v1/test/explode/"), 500, "server_error")
    errors = [record for record in caplog.records if record.levelname == "ERROR"]
    # Ours, with the traceback; not Django's "Internal Server Error: /path" after it as well.
    assert [record.name for record in errors] == ["api.problems"]
    assert errors[0].exc_info is not None
    assert LEAK in str(errors[0].exc_info[1])


@pytest.mark.parametrize("debug", [False, True])
def test_exception_outside_drf_is_logged_once_with_its_traceback(client, settings, caplog, debug):
    # Django logs it as it makes its 500 page (with DEBUG, the technical one), which the
    # safety net then turns into a problem: that one must not be logged a second time.
    settings.DEBUG = debug
    assert_problem(client.get("/api/v1/test/explode-plain/"), 500, "server_error")
    errors = [record for record in caplog.records if record.levelname == "ERROR"]
    assert [record.name for record in errors] == ["django.request"]
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


# 100,000: Python's json module gives up (RecursionError); 1,000: it does on 3.11, not on 3.13.
@pytest.mark.parametrize("depth", [100_000, 1_000, MAX_DEPTH + 1])
def test_json_nested_too_deeply_is_parse_error(client, depth, caplog):
    body = b"[" * depth + b"]" * depth
    response = client.post("/api/v1/test/validate/", body, content_type="application/json")
    assert_problem(response, 400, "parse_error")
    assert not [record for record in caplog.records if record.levelno >= logging.ERROR]


def test_json_nested_max_depth_deep_is_parsed(client):
    body = b"[" * MAX_DEPTH + b"]" * MAX_DEPTH
    response = client.post("/api/v1/test/validate/", body, content_type="application/json")
    assert_problem(response, 400, "validation_error")  # parsed: the view wants an object


@pytest.mark.parametrize("charset", ["latin-1", "cp1252", "utf-16"])
def test_json_in_a_charset_other_than_utf8_is_415_not_mojibake(client, charset):
    body = '{"platform": "ios", "address": {"city": "café"}, "tags": []}'.encode()
    response = client.post(
        "/api/v1/test/validate/", body, content_type=f"application/json; charset={charset}"
    )
    problem = assert_problem(response, 415, "unsupported_media_type")
    assert "UTF-8" in problem["detail"]


@pytest.mark.parametrize(
    "content_type", ["application/json; charset=UTF-8", "application/json; charset=utf8"]
)
def test_json_declared_utf8_is_read_as_utf8(client, content_type):
    body = '{"platform": "ios", "address": {"city": "café"}, "tags": [1]}'.encode()
    response = client.post("/api/v1/test/validate/", body, content_type=content_type)
    assert response.status_code == 200, response.content
    assert response.json()["address"] == {"city": "café"}


@pytest.mark.parametrize(
    "body",
    [b'{"platform": "\xff"}', b'{"tags": [' + b"9" * 5000 + b"]}"],
    ids=["latin-1", "huge-int"],
)
def test_a_body_json_cannot_read_is_parse_error_in_the_apis_words(client, body):
    response = client.post("/api/v1/test/validate/", body, content_type="application/json")
    problem = assert_problem(response, 400, "parse_error")
    assert problem["detail"].startswith("JSON parse error - the body is not UTF-8 JSON")
    assert "codec" not in problem["detail"]
    assert "sys." not in problem["detail"]


@pytest.mark.parametrize(
    "body", [b'{"\\ud800": 1}', b'{"platform": "\\udfff"}', b'{"tags": [["a\\ud800b"]]}']
)
def test_a_lone_surrogate_is_parse_error_not_a_500(client, body, caplog):
    # Valid JSON, no Unicode text: echoed in an error it could not be rendered (orjson).
    response = client.post("/api/v1/test/validate/", body, content_type="application/json")
    problem = assert_problem(response, 400, "parse_error")
    assert "surrogate" in problem["detail"]
    assert not [record for record in caplog.records if record.levelno >= logging.ERROR]


def test_a_surrogate_pair_is_the_character_it_encodes(client):
    body = b'{"platform": "ios", "address": {"city": "\\ud83d\\ude00"}, "tags": []}'
    response = client.post("/api/v1/test/validate/", body, content_type="application/json")
    assert response.status_code == 200, response.content
    assert response.json()["address"] == {"city": "\U0001f600"}


def test_a_syntax_error_says_where(client):
    response = client.post("/api/v1/test/validate/", b'{"a": }', content_type="application/json")
    problem = assert_problem(response, 400, "parse_error")
    assert "line 1 column 7" in problem["detail"]


def test_the_depth_counts_objects_and_lists_alike():
    value = {"a": [{"b": [1, "x"]}], "c": 2}  # four levels
    assert flaw_of(value, 3) == "depth"
    assert flaw_of(value, 4) is None
    assert flaw_of("text", 0) is None
    assert flaw_of({"a": [{"b\ud800": 1}]}, 4) == "surrogate"


def test_a_chunked_body_is_refused_with_411_not_read_as_empty(client):
    # The test client's view of what gunicorn passes: Transfer-Encoding, no Content-Length.
    response = client.generic(
        "POST", "/api/v1/test/validate/", b"", HTTP_TRANSFER_ENCODING="chunked"
    )
    assert_problem(response, 411, "length_required")


def test_a_chunked_body_through_gunicorn_is_refused_with_411(live_server_factory):
    server = live_server_factory()
    connection = http.client.HTTPConnection(server.url.removeprefix("http://"), timeout=5)
    # An iterable body and no Content-Length: http.client sends it chunked.
    connection.request(
        "POST",
        "/api/v1/auth/get-token/",
        body=iter([b'{"platform": "ios"}']),
        headers={"Content-Type": "application/json"},
        encode_chunked=True,
    )
    response = connection.getresponse()
    assert response.status == 411
    assert response.getheader("Content-Type") == "application/problem+json"
    assert json.loads(response.read())["code"] == "length_required"
    connection.close()


@pytest.fixture
def server_without_database(
    mysql_url, redis_url, live_static_root, tmp_path
) -> Iterator[LiveServer]:
    """A server whose database was behind a relay, which then went away: its connection is
    lost, and connecting again is refused. It logs to tmp_path / "server.log"."""
    database = urlsplit(mysql_url)
    port = free_port()
    relay = TcpRelay(port, (database.hostname or "127.0.0.1", database.port or 3306))
    credentials = database.netloc.rpartition("@")[0]
    server = start_server(
        database_url=database._replace(netloc=f"{credentials}@127.0.0.1:{port}").geturl(),
        redis_url=redis_url,
        log=tmp_path / "server.log",
        workers=1,
        env={"STATIC_ROOT": live_static_root},
    )
    relay.close()
    try:
        yield server
    finally:
        server.stop()


def test_with_the_database_gone_a_request_is_503_with_retry_after_not_a_500(
    server_without_database, tmp_path
):
    body = b'{"platform": "ios"}'
    headers = sign_request(
        key_id=APP_KEY_ID, secret=APP_SECRET, method="POST", target=REGISTER, body=body
    )
    connection = http.client.HTTPConnection(
        server_without_database.url.removeprefix("http://"), timeout=30
    )
    connection.request(
        "POST", REGISTER, body=body, headers={"Content-Type": "application/json", **headers}
    )
    response = connection.getresponse()
    assert response.status == 503
    assert response.getheader("Content-Type") == "application/problem+json"
    assert response.getheader("Retry-After") == "5"
    problem = json.loads(response.read())
    assert problem["code"] == "service_unavailable"
    assert problem["detail"] == "The database is unavailable; retry shortly."
    connection.close()
    server_without_database.stop()
    # Logged once, by the app, with what went wrong; not again by Django.
    log = (tmp_path / "server.log").read_text()
    assert log.count("The database is unavailable: OperationalError: (") == 1
    assert "Service Unavailable: /api/" not in log


@pytest.mark.parametrize("path", ["/cms/", "/cms/users/", "/admin/"])
def test_with_the_database_gone_a_signed_in_page_is_a_503_page_not_a_500(
    server_without_database, tmp_path, path
):
    # A session cookie: the page looks the session up in the database.
    connection = http.client.HTTPConnection(
        server_without_database.url.removeprefix("http://"), timeout=30
    )
    connection.request("GET", path, headers={"Cookie": "sessionid=" + "s" * 32})
    response = connection.getresponse()
    page = response.read().decode()
    connection.close()
    assert response.status == 503
    assert response.getheader("Content-Type") == "text/html; charset=utf-8"
    assert response.getheader("Retry-After") == "5"
    assert "The database is unavailable. Try again in 5 s." in page
    server_without_database.stop()
    # One ERROR line with the cause, as on the API; not Django's "Internal Server Error" too.
    log = (tmp_path / "server.log").read_text()
    assert log.count("The database is unavailable: OperationalError: (") == 1
    assert "Internal Server Error" not in log
    assert "Service Unavailable: " not in log


@pytest.mark.parametrize(
    ("error", "unavailable"),
    [
        (db.OperationalError(2003, "Can't connect to server on '127.0.0.1'"), True),
        (db.OperationalError(2013, "Lost connection to server during query"), True),
        (db.OperationalError(1213, "Deadlock found when trying to get lock"), True),
        (db.OperationalError(1205, "Lock wait timeout exceeded"), True),
        (db.OperationalError("database is locked"), True),
        (db.InterfaceError(0, ""), True),
        # The query's or the code's fault: a retry would fail the same way.
        (db.OperationalError(1054, "Unknown column 'x' in 'field list'"), False),
        (db.ProgrammingError(1146, "Table 'app.x' doesn't exist"), False),
        (db.IntegrityError(1062, "Duplicate entry 'x' for key 'slug'"), False),
    ],
    ids=str,
)
def test_only_errors_a_retry_may_get_past_are_the_database_being_unavailable(error, unavailable):
    assert database_unavailable(error) is unavailable


def test_form_body_is_unsupported_media_type(client):
    response = client.post(
        "/api/v1/test/validate/", b"platform=ios", content_type="application/x-www-form-urlencoded"
    )
    assert_problem(response, 415, "unsupported_media_type")


def test_body_over_the_upload_limit_is_413_problem(client, settings):
    settings.DATA_UPLOAD_MAX_MEMORY_SIZE = 1000
    payload = json.dumps({"platform": "ios", "pad": "x" * 2000})
    response = client.post("/api/v1/test/validate/", payload, content_type="application/json")
    body = assert_problem(response, 413, "payload_too_large")
    # RFC 9110's phrase on every Python (3.11 says "Request Entity Too Large", 3.13 not).
    assert body["title"] == "Content Too Large"


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


def test_too_many_query_parameters_is_400_problem_not_500(client, caplog):
    # Django refuses more than DATA_UPLOAD_MAX_NUMBER_FIELDS (1,000) fields, counting the `&`s
    # alone, as soon as a view reads the query string. DRF's content negotiation does, before
    # authentication, for an Accept header it has not seen yet (api/negotiation.py remembers).
    query = "&".join(f"x{index}=1" for index in range(1001))
    with caplog.at_level(logging.WARNING):
        response = client.get(
            f"/api/v1/test/validate/?{query}", HTTP_ACCEPT="application/json; q=0.42"
        )
    assert_problem(response, 400, "bad_request")
    record = next(r for r in caplog.records if r.name == "django.security.TooManyFieldsSent")
    assert record.levelno == logging.WARNING
    assert record.exc_info is None
    assert not [r for r in caplog.records if r.levelno >= logging.ERROR]
