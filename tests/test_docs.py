"""API docs (SPEC §7): schema, Swagger UI and ReDoc at an obfuscated path, served without a CDN."""

import pytest
import yaml
from django.test import Client

from tests.factories import UserFactory
from tests.processes import DJANGO_SETUP, run_manage, run_python

PAGES = ["/docs-test/schema/", "/docs-test/swagger/", "/docs-test/redoc/"]


@pytest.mark.urls("tests.docs_urls")
@pytest.mark.parametrize("path", PAGES)
def test_docs_pages_are_served(client, path):
    response = client.get(path)
    assert response.status_code == 200


@pytest.mark.urls("tests.docs_urls")
@pytest.mark.parametrize("path", PAGES[1:])
def test_docs_pages_load_their_assets_from_this_server_not_a_cdn(client, path):
    html = client.get(path).content.decode()
    assert "/static/drf_spectacular_sidecar/" in html
    assert "cdn." not in html
    assert "unpkg" not in html
    # The schema URL sits in a JS string (hyphens escaped): match its tail.
    assert "test/schema/" in html


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
    assert staff.get(path).status_code == 200


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


def test_the_schema_validates_without_warnings(tmp_path):
    target = tmp_path / "schema.yaml"
    result = run_manage("spectacular", "--validate", "--fail-on-warn", "--file", str(target))
    assert result.returncode == 0, result.stderr
    schema = yaml.safe_load(target.read_text())
    operations = {
        (method.upper(), path): operation
        for path, methods in schema["paths"].items()
        for method, operation in methods.items()
    }
    assert len(operations) == 19
    register = operations[("POST", "/api/v1/device/register/")]
    assert register["security"] == [
        {"appKeyId": [], "appTimestamp": [], "appNonce": [], "appSignature": []}
    ]
    assert set(register["responses"]) == {"201", "400", "401", "413", "415", "429", "503"}
    problem = register["responses"]["401"]["content"]["application/problem+json"]["schema"]
    assert problem == {"$ref": "#/components/schemas/Problem"}
    me = operations[("GET", "/api/v1/me/")]
    assert me["security"] == [{"bearerAuth": []}]
    assert set(me["responses"]) == {"200", "401", "429"}
    assert schema["components"]["securitySchemes"]["bearerAuth"]["scheme"] == "bearer"
    item_delete = operations[("DELETE", "/api/v1/items/{item_id}/")]
    assert set(item_delete["responses"]) == {"204", "401", "403", "404", "429"}
    assert "Retry-After" in item_delete["responses"]["429"]["headers"]
