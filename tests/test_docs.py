"""API docs (SPEC §7): schema, Swagger UI and ReDoc at an obfuscated path, served without a CDN."""

import re
from html import unescape
from html.parser import HTMLParser
from pathlib import Path
from typing import Any
from urllib.parse import urljoin, urlsplit

import orjson
import pytest
import yaml
from django.test import Client
from django.urls import Resolver404, resolve
from django.urls import path as route
from drf_spectacular.generators import SchemaGenerator
from drf_spectacular.utils import extend_schema
from rest_framework import serializers
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from api.pagination import StandardPagination
from tests.asserts import assert_problem
from tests.factories import UserFactory
from tests.processes import DJANGO_SETUP, run_manage, run_python
from tests.subjects.serializers import PostInputSerializer, PostOutputSerializer
from tests.subjects.urls import POSTS

PAGES = ["/docs-test/schema/", "/docs-test/swagger/", "/docs-test/redoc/"]


@pytest.mark.urls("tests.docs_urls")
@pytest.mark.parametrize("path", PAGES)
def test_docs_pages_are_served(client, path):
    response = client.get(path)
    assert response.status_code == 200


@pytest.mark.urls("tests.docs_urls")
@pytest.mark.parametrize("version", ["\x00", "\r\nSet-Cookie: a=b", 'a"; filename=x.html', "2.0"])
def test_the_schema_ignores_a_version_in_the_query(client, version):
    # The API is versioned by its path: `?version=` changes neither the schema nor the file
    # name (a control character there made gunicorn answer a 500).
    response = client.get(
        "/docs-test/schema/", {"version": version}, HTTP_ACCEPT="application/json"
    )
    assert response.status_code == 200
    assert response["Content-Disposition"] == 'inline; filename="Django Backend Template API.json"'
    assert response.json()["info"]["version"] == "1.0.0"


@pytest.mark.urls("tests.docs_urls")
@pytest.mark.parametrize(
    ("method", "path", "headers", "status", "code"),
    [
        ("post", "/docs-test/schema/", {}, 405, "method_not_allowed"),
        ("delete", "/docs-test/swagger/", {}, 405, "method_not_allowed"),
        ("get", "/docs-test/schema/", {"HTTP_ACCEPT": "application/xml"}, 406, "not_acceptable"),
        ("get", "/docs-test/redoc/", {"HTTP_ACCEPT": "application/json"}, 406, "not_acceptable"),
        ("get", "/docs-test/swagger/?" + "&".join(["a"] * 1001), {}, 400, "bad_request"),
    ],
)
def test_the_docs_errors_are_problems_in_json_not_yaml_or_html(
    client, method, path, headers, status, code
):
    # Their views render YAML and HTML; an error in those was labelled problem+json, but was
    # a YAML document, the 400 HTML page or a line of text.
    response = getattr(client, method)(path, **headers)
    body = assert_problem(response, status, code)
    assert response.content == orjson.dumps(body)  # compact, as every other problem


# Any URL with a host: `scheme://host` or protocol-relative `//host` (a `// comment` has a space).
ABSOLUTE_URL = re.compile(r"(?:\b[a-z][a-z0-9+.-]*:)?//[a-z0-9\[][^\s\"'`<>()\\]*", re.IGNORECASE)
CSS_URL = re.compile(r"""url\(\s*['"]?([^'")\s]+)|@import\s+['"]([^'"]+)""", re.IGNORECASE)
JS_ESCAPE = re.compile(r"\\u([0-9a-fA-F]{4})|\\x([0-9a-fA-F]{2})|\\(/)")
# What the docs pages fetch by attribute (ReDoc reads its schema from `spec-url`).
URL_ATTRIBUTES = {"src", "href", "spec-url"}


def _unescaped(text: str) -> str:
    """The page as a browser reads its URLs: HTML entities and JS string escapes decoded."""
    return JS_ESCAPE.sub(lambda m: m[3] or chr(int(m[1] or m[2], 16)), unescape(text))


class _References(HTMLParser):
    """The URLs a page makes the browser fetch: URL attributes and CSS url() / @import."""

    def __init__(self) -> None:
        super().__init__()
        self.urls: list[str] = []
        self._in_style = False

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        self._in_style = tag == "style"
        for name, value in attrs:
            if name in URL_ATTRIBUTES and value:
                self.urls.append(value)
            elif name == "style" and value:
                self._css(value)

    def handle_endtag(self, tag: str) -> None:
        self._in_style = False

    def handle_data(self, data: str) -> None:
        if self._in_style:
            self._css(data)

    def _css(self, css: str) -> None:
        self.urls += [first or second for first, second in CSS_URL.findall(css)]


@pytest.mark.urls("tests.docs_urls")
@pytest.mark.parametrize("path", PAGES[1:])
def test_docs_pages_load_their_assets_from_this_server_not_a_cdn(
    client, settings, live_static_root, path
):
    # The collected, hashed files that production serves, so missing assets answer 404.
    settings.STATIC_ROOT = live_static_root
    settings.STORAGES = {
        **settings.STORAGES,
        "staticfiles": {"BACKEND": "whitenoise.storage.CompressedManifestStaticFilesStorage"},
    }
    response = client.get(path)
    assert response.status_code == 200
    html = response.content.decode()
    assert "/static/drf_spectacular_sidecar/" in html
    assert "cdn." not in html
    assert "unpkg" not in html
    # The schema URL sits in a JS string (hyphens escaped): match its tail.
    assert "test/schema/" in html

    # Nothing from another host: not in attributes, styles, inline scripts, nor preconnects.
    page = _unescaped(html)
    elsewhere = [
        url for url in ABSOLUTE_URL.findall(page) if urlsplit(url).hostname != "testserver"
    ]
    assert elsewhere == []

    parser = _References()
    parser.feed(html)
    local = [
        urljoin(path, url)
        for url in parser.urls
        if not url.startswith(("data:", "#", "javascript:"))
    ]
    assert any("/static/drf_spectacular_sidecar/" in url for url in local)
    statuses = {url: client.get(url).status_code for url in local}
    assert {url: status for url, status in statuses.items() if status != 200} == {}


@pytest.mark.urls("tests.docs_urls")
@pytest.mark.django_db
@pytest.mark.parametrize("path", PAGES)
def test_staff_only_docs_send_others_to_the_admin_login(settings, path):
    settings.API_DOCS_STAFF_ONLY = True
    anonymous = Client().get(path)
    assert anonymous.status_code == 302
    assert anonymous["Location"].startswith("/admin/login/")
    user = Client()
    user.force_login(UserFactory())
    assert user.get(path).status_code == 302
    staff = Client()
    staff.force_login(UserFactory(is_staff=True))
    shown = staff.get(path)
    assert shown.status_code == 200
    assert "private" in shown["Cache-Control"]  # no shared cache keeps what staff see


def test_docs_are_404_unless_api_docs_path_is_set(live_static_root):
    code = DJANGO_SETUP + (
        "from django.test import Client\n"
        "c = Client()\n"
        "print(c.get('/docs-7f3a9c1e/schema/').status_code, c.get('/docs/schema/').status_code)\n"
    )
    # A production process: its HTML 404 page needs the collected static files.
    env = {"LOG_LEVEL": "CRITICAL", "STATIC_ROOT": live_static_root}
    unset = run_python(code, env, drop=("API_DOCS_PATH",))
    assert unset.stdout.split() == ["404", "404"], unset.stderr
    set_ = run_python(code, {**env, "API_DOCS_PATH": "docs-7f3a9c1e"})
    assert set_.stdout.split() == ["200", "404"], set_.stderr


Security = list[dict[str, list[str]]]  # an operation's `security`: the credentials it takes
APP_SIGNED: Security = [{"appKeyId": [], "appTimestamp": [], "appNonce": [], "appSignature": []}]
DEVICE_SIGNED: Security = [
    {"deviceKeyId": [], "deviceTimestamp": [], "deviceNonce": [], "deviceSignature": []}
]
BEARER: Security = [{"bearerAuth": []}]
Label = tuple[str, str]  # (method, path) of an operation
# The template's operations and the credentials each takes. The features a user adds
# (`manage.py startapi`) add theirs, which the checks of every API operation below cover; the
# example's are listed beside its tests (tests/apis/example/), checked there the same way.
OPERATIONS: dict[Label, Security] = {
    ("POST", "/api/v1/device/register/"): APP_SIGNED,
    ("POST", "/api/v1/auth/get-token/"): DEVICE_SIGNED,
    ("POST", "/api/v1/auth/refresh-token/"): DEVICE_SIGNED,
    ("POST", "/api/v1/auth/logout/"): BEARER,
    ("GET", "/api/v1/me/"): BEARER,
    ("PATCH", "/api/v1/me/"): BEARER,
    ("GET", "/health/"): [],
    ("GET", "/health/ready/"): [],
    ("GET", "/health/live/"): [],
}
# The template's features: api/apis/<feature>/; any other is the user's, or the example (which
# its own tests check as these are).
TEMPLATE_FEATURES = {"onboarding", "auth", "me"}


def feature_of(path: str) -> str | None:
    """The api/apis/<feature>/ whose view serves the schema's `path`; None for a view elsewhere,
    or for no view (the health probes, which middleware answers)."""
    try:
        view = resolve(re.sub(r"\{\w+\}", "7", path), urlconf="core.urls").func
    except Resolver404:
        return None
    module = getattr(view, "view_class", view).__module__.split(".")
    return module[2] if module[:2] == ["api", "apis"] else None


def generated_schema(tmp_path: Path) -> Any:
    """The schema `manage.py spectacular` writes, which must validate without a warning."""
    target = tmp_path / "schema.yaml"
    result = run_manage("spectacular", "--validate", "--fail-on-warn", "--file", str(target))
    assert result.returncode == 0, result.stderr
    return yaml.safe_load(target.read_text())


def operations_of(schema: Any) -> dict[Label, Any]:
    """The schema's operations by (method, path)."""
    return {
        (method.upper(), path): operation
        for path, methods in schema["paths"].items()
        for method, operation in methods.items()
    }


def assert_listed(
    operations: dict[Label, Any], table: dict[Label, Security], features: set[str | None]
) -> None:
    """`table` has every operation that `features` serve (None: a view outside api/apis/), with
    the credentials each takes, and no operation that the schema has not."""
    assert {label: operations.get(label, {}).get("security") for label in table} == table
    unknown = operations.keys() - table.keys()
    assert {label for label in unknown if feature_of(label[1]) in features} == set()


def test_the_schema_validates_without_warnings(tmp_path):
    schema = generated_schema(tmp_path)
    operations = operations_of(schema)
    # Nor has the template any other: the rest are served by features the user added.
    assert_listed(operations, OPERATIONS, {None, *TEMPLATE_FEATURES})
    # The probes, answered by middleware, added by api.schema: no auth, their report on 503.
    for path in ("/health/", "/health/ready/", "/health/live/"):
        probe = operations[("GET", path)]
        assert probe["security"] == []
        assert {"200", "405"} <= set(probe["responses"])
    assert set(operations[("GET", "/health/ready/")]["responses"]) == {"200", "405", "503"}
    register = operations[("POST", "/api/v1/device/register/")]
    assert register["security"] == [
        {"appKeyId": [], "appTimestamp": [], "appNonce": [], "appSignature": []}
    ]
    assert set(register["responses"]) == {
        *("201", "400", "401", "406", "411", "413", "415", "429", "500", "503")
    }
    problem = register["responses"]["401"]["content"]["application/problem+json"]["schema"]
    assert problem == {"$ref": "#/components/schemas/Problem"}
    me = operations[("GET", "/api/v1/me/")]
    assert me["security"] == [{"bearerAuth": []}]
    assert set(me["responses"]) == {"200", "400", "401", "406", "411", "429", "500", "503"}
    assert schema["components"]["securitySchemes"]["bearerAuth"]["scheme"] == "bearer"
    # What the server refuses, the schema refuses: keys PATCH /me/ does not take at the top.
    components = schema["components"]["schemas"]
    assert components["PatchedMeUpdateInputRequest"]["additionalProperties"] is False
    # Logout publishes the revocation to Redis: unreachable, it answers 503 with Retry-After.
    logout = operations[("POST", "/api/v1/auth/logout/")]
    assert set(logout["responses"]) == {*("204", "400", "401", "406", "411", "429", "500", "503")}
    assert "Retry-After" in logout["responses"]["503"]["headers"]
    # Any API operation answers 406 `not_acceptable` to an Accept header without JSON, 400 to
    # a query string past Django's field limit, 411 to a body sent chunked (even where none is
    # taken: the middleware refuses it before the view), and may answer 500 `server_error` or,
    # with the database down, 503 `service_unavailable`.
    api_operations = [op for (_, path), op in operations.items() if path.startswith("/api/")]
    for operation in api_operations:
        assert {"400", "406", "411", "429", "500", "503"} <= set(operation["responses"])
        not_acceptable = operation["responses"]["406"]
        assert "`not_acceptable`" in not_acceptable["description"]
        assert not_acceptable["content"] == {"application/problem+json": {"schema": problem}}


class DeclaredPostListView(APIView):
    """A feature's list as its views declare it (tests/subjects' posts): a paginated GET, a POST
    whose service may refuse it as a conflict. Only read by the schema generator, never called:
    the posts route tests/subjects serves declares no schema."""

    pagination_class = StandardPagination
    extra_problems = {"post": (409,)}

    @extend_schema(responses=PostOutputSerializer(many=True))
    def get(self, request: Request) -> Response:
        raise NotImplementedError

    @extend_schema(request=PostInputSerializer, responses={201: PostOutputSerializer})
    def post(self, request: Request) -> Response:
        raise NotImplementedError


class DeclaredPostDetailView(APIView):
    """The schema of a feature's detail: DELETE your own (403 on another's)."""

    extra_problems = {"delete": (403,)}

    @extend_schema(responses={204: None})
    def delete(self, request: Request, post_id: int) -> Response:
        raise NotImplementedError


def accepts(field: serializers.Field[Any, Any, Any, Any], value: str) -> bool:
    try:
        field.run_validation(value)
    except serializers.ValidationError:
        return False
    return True


def test_a_features_operations_document_what_their_views_declare():
    # A feature's views as the template's schema class sees them (api.schema): the problems
    # derived from the path, the body and `extra_problems`.
    generated = SchemaGenerator(
        patterns=[
            route(POSTS.lstrip("/"), DeclaredPostListView.as_view()),
            route(f"{POSTS.lstrip('/')}<int:post_id>/", DeclaredPostDetailView.as_view()),
        ]
    ).get_schema(request=None, public=True)
    operations = operations_of(generated)
    # What the server refuses, the schema refuses: a negative price, no digits at all.
    components = generated["components"]["schemas"]
    field = PostInputSerializer().fields["price"]
    for component in ("PostInputRequest", "PostOutput"):
        pattern = components[component]["properties"]["price"]["pattern"]
        for price in ("", ".", "-1", "1", "1.", ".5", "0.25", "12345678.99", "123456789", "1.234"):
            assert bool(re.fullmatch(pattern, price)) == accepts(field, price), price
    post_delete = operations[("DELETE", f"{POSTS}{{post_id}}/")]
    assert set(post_delete["responses"]) == {
        *("204", "400", "401", "403", "404", "406", "411", "429", "500", "503")
    }
    assert "Retry-After" in post_delete["responses"]["429"]["headers"]
    post_create = operations[("POST", POSTS)]
    assert {"400", "409", "411", "413", "415"} <= set(post_create["responses"])
