"""What a client generated from the OpenAPI schema relies on (api/schema.py,
api/schema_hooks.py): PATCH bodies without defaults, response fields that are always there
marked required, every error and header documented, descriptions written for clients.
tests/test_openapi_conformance.py checks real responses, headers included, against it."""

import inspect
from typing import Any

from django.urls import path as route
from drf_spectacular.generators import SchemaGenerator
from drf_spectacular.utils import extend_schema
from rest_framework import serializers
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from api.converters import LARGEST_ID
from api.pagination import StandardPagination
from api.serialization import OutputModelSerializer
from tests.subjects.serializers import PostOutputSerializer
from tests.test_docs import generated_schema, operations_of


class NoteInputSerializer(serializers.Serializer[None]):
    title = serializers.CharField(max_length=200)
    description = serializers.CharField(required=False, default="")
    is_published = serializers.BooleanField(default=False)


class DeclaredNoteView(APIView):
    """Only read by the schema generator: a paginated list, a create and a partial update."""

    pagination_class = StandardPagination

    @extend_schema(responses=PostOutputSerializer(many=True))
    def get(self, request: Request) -> Response:
        raise NotImplementedError

    @extend_schema(request=NoteInputSerializer, responses={201: PostOutputSerializer})
    def post(self, request: Request) -> Response:
        raise NotImplementedError

    @extend_schema(request=NoteInputSerializer, responses=PostOutputSerializer)
    def patch(self, request: Request) -> Response:
        raise NotImplementedError


class ContactSerializer(serializers.Serializer[None]):
    email = serializers.EmailField(allow_blank=True, max_length=254)
    homepage = serializers.URLField(allow_blank=True, max_length=500, help_text="Their site.")


class DeclaredContactView(APIView):
    @extend_schema(request=ContactSerializer, responses=ContactSerializer)
    def put(self, request: Request) -> Response:
        raise NotImplementedError


def test_a_string_that_may_be_blank_is_one_string_a_generated_client_can_hold():
    # drf-spectacular writes `oneOf: [{format: email}, {maxLength: 0}]`, of which Kotlin's
    # generator makes an empty class (the field can be neither read nor sent).
    schema = SchemaGenerator(
        patterns=[route("api/v1/contact/", DeclaredContactView.as_view())]
    ).get_schema(request=None, public=True)
    components = schema["components"]["schemas"]
    body, answer = components["ContactRequest"]["properties"], components["Contact"]["properties"]
    # A body keeps the format: what to send, and what Schemathesis generates.
    assert body["email"] == {
        "type": "string",
        "format": "email",
        "maxLength": 254,
        "description": "An email address, or empty for none.",
    }
    # A response's "" is no email or URL: no format.
    assert answer["homepage"] == {
        "type": "string",
        "maxLength": 500,
        "description": "Their site. A URL, or empty for none.",
    }
    assert answer["email"]["description"] == "An email address, or empty for none."
    assert "format" not in answer["email"]


def declared_schema() -> Any:
    return SchemaGenerator(
        patterns=[route("api/v1/notes/", DeclaredNoteView.as_view())]
    ).get_schema(request=None, public=True)


def test_a_patch_body_has_no_defaults_so_a_generated_client_sends_only_the_fields_it_is_given():
    components = declared_schema()["components"]["schemas"]
    # A generated client fills in a default for every field it was not given: on a PATCH that
    # would overwrite what the caller meant to keep.
    patched = components["PatchedNoteInputRequest"]
    assert "required" not in patched
    assert all("default" not in field for field in patched["properties"].values())
    # A create keeps them: they are what the server stores when the field is left out.
    assert components["NoteInputRequest"]["properties"]["is_published"]["default"] is False
    assert components["NoteInputRequest"]["required"] == ["title"]


def test_an_output_model_serializer_requires_every_field_it_renders():
    components = declared_schema()["components"]["schemas"]
    # It renders each field, null for no value, whatever the model says of blank or default.
    post = components["PostOutput"]
    assert post["required"] == sorted(PostOutputSerializer.Meta.fields)
    assert post["required"] == sorted(post["properties"])
    # Its description is the subclass's, not how the base class works.
    assert "description" not in post


def test_output_components_of_the_template_require_every_field_and_describe_no_base_class(
    tmp_path,
):
    components = generated_schema(tmp_path)["components"]["schemas"]
    base_doc = inspect.cleandoc(OutputModelSerializer.__doc__ or "")
    for name in ("MeUserOutput", "MeProfileOutput", "MeDeviceOutput"):
        assert components[name]["required"] == sorted(components[name]["properties"]), name
        assert components[name].get("description") != base_doc, name
    assert components["MeDeviceOutput"]["properties"]["last_seen_at"]["nullable"] is True
    assert components["TokenPairOutput"]["properties"]["token_type"] == {
        "$ref": "#/components/schemas/TokenTypeEnum"
    }
    assert components["TokenTypeEnum"]["enum"] == ["Bearer"]
    problem = components["Problem"]
    assert problem["required"] == ["code", "detail", "request_id", "status", "title", "type"]
    assert "default" not in problem["properties"]["type"]


def test_every_response_documents_the_headers_it_carries(tmp_path):
    schema = generated_schema(tmp_path)
    headers = schema["components"]["headers"]
    assert headers["RequestId"]["required"] is True
    assert headers["RetryAfter"]["schema"] == {"type": "integer", "minimum": 1}
    for (_, path), operation in operations_of(schema).items():
        for status, response in operation["responses"].items():
            names = set(response["headers"])
            assert "X-Request-ID" in names, (path, status)
            if path.startswith("/api/"):
                assert {"RateLimit", "RateLimit-Policy"} <= names, (path, status)
            assert ("Retry-After" in names) == (
                path.startswith("/api/") and status in ("429", "503")
            ), (path, status)
            assert ("WWW-Authenticate" in names) == (status == "401"), (path, status)


def test_every_api_operation_documents_a_500_and_each_401_lists_only_its_own_codes(tmp_path):
    operations = operations_of(generated_schema(tmp_path))
    for (method, path), operation in operations.items():
        if path.startswith("/api/"):
            error = operation["responses"]["500"]
            assert "`server_error`" in error["description"], (method, path)
            assert error["content"]["application/problem+json"]["schema"] == {
                "$ref": "#/components/schemas/Problem"
            }

    def unauthorized(method: str, path: str) -> str:
        return str(operations[(method, path)]["responses"]["401"]["description"])

    # Registration is app-signed: no device, no user, no token to refuse yet.
    register = unauthorized("POST", "/api/v1/device/register/")
    assert "`nonce_reused`" in register
    assert "device_" not in register
    assert "user_inactive" not in register
    assert "token_" not in register
    get_token = unauthorized("POST", "/api/v1/auth/get-token/")
    for code in ("`device_unknown`", "`device_revoked`", "`user_inactive`"):
        assert code in get_token
    # A bearer request never meets a reused refresh token: its chain is then just revoked.
    bearer = unauthorized("GET", "/api/v1/me/")
    assert "`token_revoked`" in bearer
    assert "token_reused" not in bearer


def test_page_parameters_say_what_the_server_takes_and_every_page_has_all_four_keys():
    schema = declared_schema()
    listed = operations_of(schema)[("GET", "/api/v1/notes/")]
    parameters = {parameter["name"]: parameter for parameter in listed["parameters"]}
    number = {"type": "integer", "minimum": 1, "maximum": LARGEST_ID}  # 18 digits, as ids
    # One type, which generated clients can send; `last` is said in words.
    assert parameters["page"]["schema"] == number
    assert "`last`" in parameters["page"]["description"]
    assert parameters["page_size"]["schema"] == {**number, "default": 20}
    assert "100" in parameters["page_size"]["description"]
    page = schema["components"]["schemas"]["PaginatedPostOutputList"]
    assert page["required"] == ["count", "next", "previous", "results"]
    # No example of another API's URLs (DRF's api.example.org/accounts/).
    assert "example.org" not in str(page)
    assert "null on the last page" in page["properties"]["next"]["description"]


def test_an_id_in_a_path_is_documented_up_to_the_largest_id_the_converter_takes():
    # The settings write the number out (they import nothing of the app's).
    schema = SchemaGenerator(
        patterns=[route("api/v1/notes/<id:note_id>/", DeclaredNoteView.as_view())]
    ).get_schema(request=None, public=True)
    parameters = operations_of(schema)[("GET", "/api/v1/notes/{note_id}/")]["parameters"]
    (parameter,) = [parameter for parameter in parameters if parameter["in"] == "path"]
    assert parameter["schema"] == {
        "type": "integer",
        "format": "int64",
        "minimum": 1,
        "maximum": LARGEST_ID,
    }
    assert len(str(LARGEST_ID)) == 18


def test_the_signature_schemes_say_how_to_sign_with_the_servers_limits(settings):
    # A developer with only the schema (or a client generated from it) can sign a request.
    settings.SIGNATURE_MAX_SKEW = 120
    schemes = SchemaGenerator().get_schema(request=None, public=True)["components"]
    for prefix, secret in (("app", "app secret"), ("device", "device secret")):
        description = schemes["securitySchemes"][f"{prefix}Signature"]["description"]
        assert f"UTF-8 bytes of the {secret}" in description
        lines = ["`DEVICE-HMAC-SHA256`", "upper case", "query string", "`X-Key-Id`"]
        lines += ["`X-Timestamp`", "`X-Nonce`", "SHA-256 of the exact body bytes"]
        positions = [description.index(line) for line in lines]
        assert positions == sorted(positions)  # the string to sign's lines, in their order
        assert "within 120 s" in description
        assert "at most 64 KiB" in description


def test_a_create_in_a_collection_with_member_paths_documents_its_location():
    schema = SchemaGenerator(
        patterns=[
            route("api/v1/notes/", DeclaredNoteView.as_view()),
            route("api/v1/notes/<id:note_id>/", DeclaredContactView.as_view()),
            route("api/v1/drafts/", DeclaredNoteView.as_view()),
        ]
    ).get_schema(request=None, public=True)
    operations = operations_of(schema)
    created = operations[("POST", "/api/v1/notes/")]["responses"]["201"]["headers"]
    assert created["Location"] == {"$ref": "#/components/headers/Location"}
    assert schema["components"]["headers"]["Location"]["required"] is True
    # Not where nothing has a path of its own (as a registration), nor on other answers.
    assert "Location" not in operations[("POST", "/api/v1/drafts/")]["responses"]["201"]["headers"]
    assert "Location" not in operations[("GET", "/api/v1/notes/")]["responses"]["200"]["headers"]
