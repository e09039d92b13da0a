"""OpenAPI schema (drf-spectacular): auth schemes and the problem+json errors of each operation.

Every operation lists the errors it can answer with, derived from how its view is declared:
its authentication (signed or bearer), whether it takes a body, query or path parameters, its
permissions, and `extra_problems` on the view for what only its services know (403 owner,
409). Every operation can answer 400 (a query string past Django's field limit), 406, 411, 429,
500 and 503 (the database or Redis unavailable). The health probes, which no view answers, and the
response headers are added by the hooks in api.schema_hooks.
"""

from typing import Any

from django.conf import settings
from drf_spectacular.extensions import OpenApiAuthenticationExtension, OpenApiSerializerExtension
from drf_spectacular.openapi import AutoSchema
from drf_spectacular.plumbing import get_lib_doc_excludes, is_patched_serializer
from rest_framework import permissions, serializers

from api.authentication import IsAppSigned, IsDeviceSigned
from api.problems import PROBLEM_CONTENT_TYPE
from api.serialization import OutputModelSerializer

# What each status means here, with the codes a client can meet (SPEC §2).
PROBLEM_DESCRIPTIONS = {
    400: "Invalid request: `validation_error` (see `errors`), `parse_error` or `bad_request`.",
    401: "Not authenticated: `not_authenticated`, `token_invalid`, `token_expired`, "
    "`token_revoked`, `device_revoked`, `user_inactive`.",
    403: "`permission_denied`.",
    404: "`not_found` (also for a page number past the end).",
    406: "`not_acceptable`: the `Accept` header must allow `application/json`.",
    409: "`conflict`.",
    411: "`length_required`: send the body with `Content-Length`, not chunked.",
    413: "`payload_too_large`.",
    415: "`unsupported_media_type`: send `application/json`.",
    429: "`throttled`: wait `Retry-After` seconds.",
    500: "`server_error`: a fault of the server, which logged it; the body says no more. Quote "
    "the `request_id` when reporting it.",
    503: "`service_unavailable`: the database, or Redis where the request needs it, is "
    "unavailable; retry after `Retry-After` seconds.",
}
APP_SIGNED_401 = (
    "Signature refused: `signature_missing`, `signature_invalid`, `timestamp_out_of_window` "
    "(with `server_time`), `nonce_reused`."
)
DEVICE_SIGNED_401 = (
    "Signature refused: `signature_missing`, `signature_invalid`, `timestamp_out_of_window` "
    "(with `server_time`), `nonce_reused`, `device_unknown`, `device_revoked`, `user_inactive`, "
    "and on refresh `token_invalid`, `token_expired`, `token_revoked`, `token_reused`."
)
# Permissions that only say "authenticated the right way": they never answer 403.
AUTHENTICATION_ONLY = (
    permissions.AllowAny,
    permissions.IsAuthenticated,
    IsAppSigned,
    IsDeviceSigned,
)
# All a client needs to sign, for whoever reads only the schema or a client generated from it
# (README, "Signing a request", says the same at more length).
SIGNATURE_DESCRIPTION = (
    "Lower-case hex HMAC-SHA256, keyed with the UTF-8 bytes of the {secret}, of the string to "
    "sign: seven lines joined by `\\n`, without a trailing newline: `DEVICE-HMAC-SHA256`; the "
    "method in upper case; the path with the query string exactly as sent (percent-encoding "
    "untouched); `X-Key-Id`; `X-Timestamp`; `X-Nonce`; the lower-case hex SHA-256 of the exact "
    "body bytes sent (of no bytes for an empty body). All four headers are computed anew for "
    "each request (in a request interceptor), with `X-Timestamp` within {skew} s of the server's "
    "clock (correct it from a `timestamp_out_of_window` problem's `server_time`). A signed "
    "request sends `Content-Type: application/json` and at most {kib} KiB of body. Worked "
    "examples: `clients/signature-vectors.json`."
)


def _signature_headers(prefix: str, key_id: str) -> dict[str, tuple[str, str]]:
    return {
        f"{prefix}KeyId": ("X-Key-Id", key_id),
        f"{prefix}Timestamp": ("X-Timestamp", "Unix time in whole seconds."),
        f"{prefix}Nonce": ("X-Nonce", "16-64 characters of [A-Za-z0-9_-], new for every request."),
        f"{prefix}Signature": ("X-Signature", SIGNATURE_DESCRIPTION),
    }


def doc_excludes() -> list[type]:
    """SPECTACULAR_SETTINGS' GET_LIB_DOC_EXCLUDES: drf-spectacular's, and our own base classes,
    whose docstrings are about how they work and would otherwise describe every component of a
    subclass that has none."""
    return [*get_lib_doc_excludes(), OutputModelSerializer]


class ProblemErrorSerializer(serializers.Serializer[Any]):
    field = serializers.CharField(allow_null=True, help_text="Dotted path; null for the body.")
    code = serializers.CharField()
    message = serializers.CharField()


class ProblemSerializer(serializers.Serializer[Any]):
    """RFC 9457 problem details, the body of every error."""

    def get_fields(self) -> dict[str, serializers.Field[Any, Any, Any, Any]]:
        # Declared here because `errors` is also the name of a Serializer attribute.
        return {
            "type": serializers.CharField(
                help_text="`about:blank`: the status and `code` say what happened."
            ),
            "title": serializers.CharField(help_text="The HTTP reason phrase."),
            "status": serializers.IntegerField(),
            "detail": serializers.CharField(help_text="For people; may change."),
            "code": serializers.CharField(
                help_text="Stable and machine-readable: each response lists the codes it can "
                "carry. Codes are added, never renamed: handle one you do not know by its status."
            ),
            "request_id": serializers.CharField(
                allow_null=True, help_text="The response's `X-Request-ID`: quote it in reports."
            ),
            "errors": ProblemErrorSerializer(
                many=True, required=False, help_text="Field errors of a validation_error."
            ),
            "server_time": serializers.IntegerField(
                required=False, help_text="With timestamp_out_of_window: the server's Unix time."
            ),
        }


class BearerScheme(OpenApiAuthenticationExtension):
    target_class = "api.authentication.BearerAuthentication"
    name = "bearerAuth"

    def get_security_definition(self, auto_schema: AutoSchema) -> dict[str, Any]:
        return {"type": "http", "scheme": "bearer", "bearerFormat": "JWT"}


class _SignatureScheme(OpenApiAuthenticationExtension):
    """The four signature headers, all required together (one AND-ed security requirement)."""

    headers: dict[str, tuple[str, str]]
    key_name: str  # whose secret keys the HMAC

    def get_security_definition(self, auto_schema: AutoSchema) -> list[dict[str, Any]]:
        # The limits from the settings, as the server applies them.
        facts = {
            "secret": self.key_name,
            "skew": settings.SIGNATURE_MAX_SKEW,
            "kib": settings.SIGNED_BODY_MAX_BYTES // 1024,
        }
        return [
            {
                "type": "apiKey",
                "in": "header",
                "name": header,
                "description": description.format(**facts),
            }
            for header, description in self.headers.values()
        ]


class AppSignatureScheme(_SignatureScheme):
    target_class = "api.authentication.AppSignatureAuthentication"
    headers = _signature_headers("app", "The app key id.")
    key_name = "app secret"
    name = list(headers)


class DeviceSignatureScheme(_SignatureScheme):
    target_class = "api.authentication.DeviceSignatureAuthentication"
    headers = _signature_headers("device", "The device id.")
    key_name = "device secret"
    name = list(headers)


class MeUpdateInputSchema(OpenApiSerializerExtension):
    """PATCH /me/'s body: the schema says what its serializer's `to_internal_value` enforces, no
    keys at the top but `profile` and `device` (the two objects themselves take unknown keys)."""

    target_class = "api.apis.me.serializers.MeUpdateInputSerializer"

    def map_serializer(self, auto_schema: AutoSchema, direction: Any) -> Any:
        schema = auto_schema._map_serializer(self.target, direction, bypass_extensions=True)
        return {**schema, "additionalProperties": False}


# drf-spectacular's second choice for a blank-allowed string with a format (an EmailField or
# URLField that may be empty): `oneOf: [{format: email, ...}, BLANK_STRING]`.
BLANK_STRING = {"type": "string", "maxLength": 0}
FORMAT_NAMES = {"email": "An email address", "uri": "A URL"}


def _one_string(schema: dict[str, Any], direction: str) -> dict[str, Any]:
    """One string where drf-spectacular wrote a `oneOf` of a formatted string and the empty one.
    Generated clients cannot use that `oneOf`: Kotlin's is an empty class (the client can then
    neither read the field nor send it), Swift's a one-case enum. A body's field keeps
    its format, which documents what to send (and what Schemathesis generates); a response's
    loses it, since it is "" when there is none, which no `email` or `uri` is."""
    formatted, _ = schema.pop("oneOf")  # what drf-spectacular writes: [formatted, BLANK_STRING]
    kind = FORMAT_NAMES.get(formatted.get("format"), "A string")
    description = " ".join(filter(None, (schema.get("description"), f"{kind}, or empty for none.")))
    if direction == "response":
        formatted = {key: formatted[key] for key in ("type", "maxLength") if key in formatted}
    return {**schema, **formatted, "description": description}


class ProblemAutoSchema(AutoSchema):
    """Adds the problem+json responses an operation can return, and states what generated
    clients need to know about bodies (`_map_basic_serializer`)."""

    def _map_basic_serializer(self, serializer: Any, direction: Any) -> dict[str, Any]:
        schema: dict[str, Any] = super()._map_basic_serializer(serializer, direction)
        properties = schema.get("properties", {})
        for name, field_schema in properties.items():
            if field_schema.get("oneOf", [None])[-1] == BLANK_STRING:
                properties[name] = _one_string(field_schema, direction)
        if is_patched_serializer(serializer, direction):
            # A client generated from a PATCH body with defaults sends them for every field it
            # was not given, and overwrites what the caller meant to keep.
            for field_schema in properties.values():
                field_schema.pop("default", None)
        elif direction == "response" and isinstance(serializer, OutputModelSerializer):
            # It renders every field it has, a null for no value (`to_representation`): each key
            # is always there, whatever the model says of blank or default.
            schema["required"] = sorted(properties)
        return schema

    def _map_serializer_field(
        self, field: Any, direction: Any, bypass_extensions: bool = False
    ) -> dict[str, Any]:
        schema: dict[str, Any] = super()._map_serializer_field(field, direction, bypass_extensions)
        # drf-spectacular's pattern for a decimal string allows a sign whatever `min_value`
        # says (a price is never negative), and matches "" and "." (`\d{0,8}(?:\.\d{0,2})?`),
        # which DRF refuses.
        if (
            isinstance(field, serializers.DecimalField)
            and field.min_value is not None
            and field.min_value >= 0
            and schema.get("pattern", "").startswith("^-?")
            and field.max_digits is not None
            and field.decimal_places
            and field.max_digits > field.decimal_places
        ):
            whole, places = field.max_digits - field.decimal_places, field.decimal_places
            schema["pattern"] = rf"^(?:\d{{1,{whole}}}(?:\.\d{{0,{places}}})?|\.\d{{1,{places}}})$"
        return schema

    def get_operation(self, *args: Any, **kwargs: Any) -> Any:
        operation = super().get_operation(*args, **kwargs)
        if operation is None:
            return None
        problem = self.resolve_serializer(ProblemSerializer, "response").ref
        for status, description in sorted(self._problem_statuses(operation).items()):
            response: dict[str, Any] = {
                "description": description,
                "content": {PROBLEM_CONTENT_TYPE: {"schema": problem}},
            }
            operation["responses"].setdefault(str(status), response)
        return operation

    def _problem_statuses(self, operation: dict[str, Any]) -> dict[int, str]:
        # Any request: a query string past Django's field limit (400 bad_request), a body sent
        # chunked (411, refused before the view), an Accept without JSON, a limit reached, a
        # fault of the server, the database unavailable (or Redis, where a request needs it).
        statuses = {400, 406, 411, 429, 500, 503}
        view_permissions = self.view.get_permissions()
        device_signed = any(isinstance(p, IsDeviceSigned) for p in view_permissions)
        app_signed = any(isinstance(p, IsAppSigned) for p in view_permissions)
        if device_signed or app_signed:
            statuses |= {401, 413, 415}
        elif operation.get("security") and {} not in operation["security"]:
            statuses.add(401)
        if "requestBody" in operation:
            statuses |= {413, 415}
        parameters = operation.get("parameters", [])
        query = {parameter["name"] for parameter in parameters if parameter["in"] == "query"}
        if "page" in query or any(parameter["in"] == "path" for parameter in parameters):
            statuses.add(404)
        if self.method not in permissions.SAFE_METHODS and any(
            not isinstance(p, AUTHENTICATION_ONLY) for p in view_permissions
        ):
            statuses.add(403)
        statuses.update(getattr(self.view, "extra_problems", {}).get(self.method.lower(), ()))
        described = {status: PROBLEM_DESCRIPTIONS[status] for status in statuses}
        if device_signed or app_signed:
            described[401] = DEVICE_SIGNED_401 if device_signed else APP_SIGNED_401
        return described
