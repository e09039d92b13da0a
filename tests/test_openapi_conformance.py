"""Schemathesis against a live multi-worker server: every operation of the OpenAPI schema, with
generated inputs, signed or with a bearer token as the operation requires. The server never
answers 5xx, and every answer (status, content type, body) is one the schema documents."""

from dataclasses import dataclass
from typing import Any

import pytest
import requests
import schemathesis
from deviceauth import DeviceClient
from deviceauth.signing import sign_request
from drf_spectacular.generators import SchemaGenerator
from hypothesis import HealthCheck, assume, given, settings
from schemathesis import GenerationMode

from tests.features import feature_tables
from tests.live import LiveServer
from tests.processes import run_manage
from tests.signing import APP_KEY_ID, APP_SECRET

CHECKS = [
    schemathesis.checks.not_a_server_error,
    schemathesis.checks.status_code_conformance,
    schemathesis.checks.content_type_conformance,
    schemathesis.checks.response_schema_conformance,
    # The headers the schema says a response carries (X-Request-ID always, Retry-After on 429
    # and 503, WWW-Authenticate on 401), with values of their documented shape.
    schemathesis.checks.response_headers_conformance,
]
DOCS_PATH = "docs-conformance"
MAX_REQUEST_LINE = 4000
# Limits generous enough that the run itself is never throttled.
GENEROUS = {
    f"RATE_LIMIT_{scope}": "1000000/min"
    for scope in (
        "BURST",
        "SUSTAINED",
        "AUTH_TOKEN",
        "DATA_MODIFICATION",
        "CONTENT_LISTING",
        "SEARCH",
        "ADMIN",
    )
}


# Operations that valid generated input can pass (the others need ids or tokens it cannot guess).
# A feature's tests may list its own (the example's do): see `succeed_with_generated_data`.
SUCCEED_WITH_GENERATED_DATA = {
    "POST /api/v1/device/register/",
    "POST /api/v1/auth/get-token/",
    "POST /api/v1/auth/logout/",
    "GET /api/v1/me/",
    "PATCH /api/v1/me/",
}


def succeed_with_generated_data() -> set[str]:
    """SUCCEED_WITH_GENERATED_DATA and those that features' own tests list, in
    tests/apis/<feature>/test_<feature>_schema.py, which go with the feature: the example's."""
    return set(SUCCEED_WITH_GENERATED_DATA).union(
        *feature_tables("schema", "SUCCEED_WITH_GENERATED_DATA")
    )


@dataclass
class Credentials:
    server: LiveServer
    signer: DeviceClient  # signs get-token and refresh-token
    staff: DeviceClient  # bearer requests, as a staff user so staff-only writes get through
    leaver: DeviceClient  # logs out; gets a fresh token first each time


@pytest.fixture(scope="module")
def credentials(live_server_factory) -> Credentials:
    server = live_server_factory(workers=2, API_DOCS_PATH=DOCS_PATH, **GENEROUS)

    def device() -> DeviceClient:
        client = DeviceClient(server.url, app_key_id=APP_KEY_ID, app_secret=APP_SECRET)
        client.register(platform="ios")
        return client

    signer, staff, leaver = device(), device(), device()
    assert staff.credentials is not None
    promoted = run_manage(
        "shell",
        "-c",
        f"from api.models import User; u = User.objects.get(pk={staff.credentials.user_id}); "
        "u.is_staff = True; u.save()",
        env={key: server.env[key] for key in ("DATABASE_URL", "REDIS_URL")},
    )
    assert promoted.returncode == 0, promoted.stderr
    staff.get_token()
    signer.get_token()
    return Credentials(server, signer, staff, leaver)


@pytest.fixture(scope="module")
def api_schema(credentials: Credentials) -> Any:
    return schemathesis.openapi.from_url(f"{credentials.server.url}/{DOCS_PATH}/schema/")


def _cases() -> list[tuple[GenerationMode, str]]:
    """Every operation of the schema this code generates, with valid and with invalid input;
    an operation that takes none (the health probes) has no invalid input to try."""
    generated = SchemaGenerator().get_schema(request=None, public=True)
    return [
        (mode, f"{method.upper()} {path}")
        for path, methods in generated["paths"].items()
        for method, operation in methods.items()
        for mode in (GenerationMode.POSITIVE, GenerationMode.NEGATIVE)
        if mode == GenerationMode.POSITIVE
        or operation.get("parameters")
        or operation.get("requestBody")
        or operation.get("security") != []
    ]


def authorize(prepared: requests.PreparedRequest, case: Any, credentials: Credentials) -> None:
    """Sign the exact bytes about to be sent, or add a bearer token, as the operation requires."""
    schemes = {
        name
        for requirement in case.operation.definition.raw.get("security", [])
        for name in requirement
    }
    body = prepared.body or b""
    if isinstance(body, str):
        body = body.encode()
    if "appKeyId" in schemes or "deviceKeyId" in schemes:
        if "appKeyId" in schemes:
            key_id, secret = APP_KEY_ID, APP_SECRET
        else:
            assert credentials.signer.credentials is not None
            key_id = credentials.signer.credentials.device_id
            secret = credentials.signer.credentials.device_secret
        prepared.headers.update(
            sign_request(
                key_id=key_id,
                secret=secret,
                method=prepared.method or "",
                target=prepared.path_url,
                body=body,
            )
        )
    elif "bearerAuth" in schemes:
        client = credentials.staff
        if case.operation.path == "/api/v1/auth/logout/":
            client = credentials.leaver
            client.get_token()
        assert client.tokens is not None
        prepared.headers["Authorization"] = f"Bearer {client.tokens.access}"


@pytest.mark.parametrize(("mode", "label"), _cases(), ids=lambda value: str(value))
def test_every_operation_conforms_to_the_schema(
    api_schema: Any, credentials: Credentials, label: str, mode: GenerationMode
) -> None:
    operation = api_schema.find_operation_by_label(label)
    statuses: list[int] = []

    @given(case=operation.as_strategy(generation_mode=mode))
    @settings(
        max_examples=25, deadline=None, suppress_health_check=list(HealthCheck), database=None
    )
    def conforms(case: Any) -> None:
        statuses.append(send_and_validate(case, credentials))

    conforms()
    if mode == GenerationMode.POSITIVE and label in succeed_with_generated_data():
        # Proof that signing and tokens worked, not only that the 401s were documented.
        assert any(200 <= status < 300 for status in statuses), statuses


def send_and_validate(case: Any, credentials: Credentials) -> int:
    kwargs = case.as_transport_kwargs(base_url=credentials.server.url)
    request = requests.Request(
        method=kwargs["method"],
        url=kwargs["url"],
        headers=kwargs.get("headers"),
        params=kwargs.get("params"),
        cookies=kwargs.get("cookies"),
        json=kwargs.get("json"),
        data=kwargs.get("data"),
    )
    prepared = request.prepare()
    # gunicorn itself refuses request lines over 4094 bytes (414, before the app runs); that is
    # the HTTP server's limit, not part of this API's contract.
    assume(len(prepared.path_url) < MAX_REQUEST_LINE)
    authorize(prepared, case, credentials)
    with requests.Session() as http:
        response = http.send(prepared, timeout=30)
    case.validate_response(response, checks=CHECKS)
    return int(response.status_code)
