"""The signature scheme against every worked example of clients/signature-vectors.json, byte for
byte, in the server's module and in the Python reference client."""

import hashlib
import hmac
import io
import json
from pathlib import Path

import pytest
from deviceauth import signing as client_signing
from django.core.handlers.asgi import ASGIRequest
from django.test import RequestFactory

from api import signature as server_signing
from api.exceptions import SignatureInvalid
from api.models import Device
from tests.factories import DeviceFactory

VECTORS = json.loads(
    (Path(__file__).parent.parent / "clients" / "signature-vectors.json").read_text()
)
CASES = VECTORS["cases"]
CASE = {case["name"]: case for case in CASES}
DERIVATIONS = VECTORS["device_derivations"]


def test_the_test_environment_uses_the_vector_keys(settings):
    assert VECTORS["app_keys"] == settings.APP_HMAC_KEYS
    assert VECTORS["device_secret_keys"] == settings.DEVICE_SECRET_KEYS


@pytest.mark.parametrize("case", CASES, ids=[case["name"] for case in CASES])
def test_body_hash(case):
    assert hashlib.sha256(case["body_utf8"].encode()).hexdigest() == case["body_sha256"]


@pytest.mark.parametrize("implementation", [server_signing, client_signing])
@pytest.mark.parametrize("case", CASES, ids=[case["name"] for case in CASES])
def test_string_to_sign(implementation, case):
    headers = case["headers"]
    message = implementation.string_to_sign(
        case["method"],
        case["target"],
        headers["X-Key-Id"],
        headers["X-Timestamp"],
        headers["X-Nonce"],
        case["body_utf8"].encode(),
    )
    assert message.encode() == case["string_to_sign"].encode()


@pytest.mark.parametrize("case", CASES, ids=[case["name"] for case in CASES])
def test_server_signature(case):
    assert (
        server_signing.compute_signature(case["key"], case["string_to_sign"]) == case["signature"]
    )
    assert case["headers"]["X-Signature"] == case["signature"]


@pytest.mark.parametrize("case", CASES, ids=[case["name"] for case in CASES])
def test_client_signs_every_header_exactly(case):
    headers = client_signing.sign_request(
        key_id=case["headers"]["X-Key-Id"],
        secret=case["key"],
        method=case["method"],
        target=case["target"],
        body=case["body_utf8"].encode(),
        timestamp=int(case["headers"]["X-Timestamp"]),
        nonce=case["headers"]["X-Nonce"],
    )
    assert headers == case["headers"]


@pytest.mark.parametrize("derivation", DERIVATIONS, ids=[d["device_id"] for d in DERIVATIONS])
def test_device_secret_derivation(derivation):
    assert VECTORS["device_secret_keys"][derivation["kid"]] == derivation["master_key"]
    secret = server_signing.derive_device_secret(derivation["master_key"], derivation["device_id"])
    assert secret == derivation["device_secret"]


def test_device_cases_are_signed_with_the_derived_secret():
    derived = {d["device_id"]: d["device_secret"] for d in DERIVATIONS}
    for case in CASES:
        key_id = case["headers"]["X-Key-Id"]
        expected_key = derived.get(key_id) or VECTORS["app_keys"][key_id]
        assert case["key"] == expected_key


@pytest.mark.django_db
@pytest.mark.parametrize(
    ("case", "status", "code"),
    [
        (CASE["register-ios"], 201, None),
        (CASE["get-token-empty-object"], 200, None),
        (CASE["get-token-empty-body"], 200, None),
        # Signature accepted; the refresh token is a dummy.
        (CASE["refresh"], 401, "token_invalid"),
        (CASE["utf8-body"], 201, None),
    ],
    ids=lambda value: value["name"] if isinstance(value, dict) else str(value),
)
def test_vector_requests_verify_through_the_http_stack(client, settings, case, status, code):
    """The exact bytes of each vector pass every check (the clock window widened to reach them)."""

    settings.SIGNATURE_MAX_SKEW = 10**9
    DeviceFactory(id=DERIVATIONS[0]["device_id"], secret_kid=DERIVATIONS[0]["kid"])
    meta = {
        f"HTTP_{name.upper().replace('-', '_')}": value for name, value in case["headers"].items()
    }
    response = client.generic(
        case["method"],
        case["target"],
        case["body_utf8"].encode(),
        content_type="application/json",
        **meta,
    )
    assert response.status_code == status, response.content
    if code:
        assert response.json()["code"] == code
    assert Device.objects.count() == (2 if status == 201 else 1)


@pytest.mark.parametrize("raw", [True, False], ids=["raw-request-line", "path-and-query"])
@pytest.mark.parametrize("case", CASES, ids=[case["name"] for case in CASES])
def test_every_vector_verifies_as_the_server_reads_its_request(settings, case, raw):
    """Each vector's exact request passes the server's checks, whether the server gives the raw
    request line (gunicorn) or only the decoded path and query (runserver)."""
    settings.SIGNATURE_MAX_SKEW = 10**9
    meta = {
        f"HTTP_{name.upper().replace('-', '_')}": value for name, value in case["headers"].items()
    }
    if raw:
        meta["RAW_URI"] = case["target"]
    request = RequestFactory().generic(
        case["method"],
        case["target"],
        case["body_utf8"].encode(),
        content_type="application/json",
        **meta,
    )
    assert server_signing.request_target(request) == case["target"]
    key_id = case["headers"]["X-Key-Id"]
    found = server_signing.verify_signed_request(request, lambda kid: (case["key"], kid))
    assert found == key_id


@pytest.mark.parametrize(
    ("meta", "target"),
    [
        # gunicorn's raw request line, byte for byte: an empty "?" and lower-case escapes kept.
        ({"RAW_URI": "/api/v1/auth/get%2dtoken/?"}, "/api/v1/auth/get%2dtoken/?"),
        ({"RAW_URI": "http://api.example.com/api/v1/x/?a=%7e"}, "/api/v1/x/?a=%7e"),
        ({"REQUEST_URI": "/api/v1/x/?b=1&b=2"}, "/api/v1/x/?b=1&b=2"),
    ],
)
def test_the_signed_target_is_the_raw_request_line_where_the_server_gives_it(meta, target):
    request = RequestFactory().get("/ignored/", **meta)
    assert server_signing.request_target(request) == target


def test_under_asgi_the_signed_target_is_the_raw_path_and_query():
    scope = {
        "type": "http",
        "method": "POST",
        "path": "/api/v1/auth/get-token/",
        "raw_path": b"/api/v1/auth/get%2Dtoken/",
        "query_string": b"a=%7e&a=2",
        "headers": [],
    }
    request = ASGIRequest(scope, io.BytesIO(b""))
    assert server_signing.request_target(request) == "/api/v1/auth/get%2Dtoken/?a=%7e&a=2"


def test_otherwise_the_decoded_path_is_encoded_again():
    request = RequestFactory().get("/api/v1/ité ms/", {"q": "a b"})
    assert server_signing.request_target(request) == "/api/v1/it%C3%A9%20ms/?q=a+b"


def test_the_signature_is_compared_in_constant_time(settings, monkeypatch):
    # SPEC §3: `==` on strings returns at the first character that differs, which tells whoever
    # times the answers how much of a guessed signature is right.
    settings.SIGNATURE_MAX_SKEW = 10**9
    compared: list[tuple[str, str]] = []
    compare_digest = hmac.compare_digest

    def recording(a, b):
        compared.append((a, b))
        return compare_digest(a, b)

    monkeypatch.setattr(hmac, "compare_digest", recording)
    case = CASE["get-token-empty-object"]
    meta = {
        f"HTTP_{name.upper().replace('-', '_')}": value for name, value in case["headers"].items()
    }

    def verify(signature: str) -> str:
        request = RequestFactory().generic(
            case["method"],
            case["target"],
            case["body_utf8"].encode(),
            content_type="application/json",
            **dict(meta, HTTP_X_SIGNATURE=signature),
        )
        return server_signing.verify_signed_request(request, lambda kid: (case["key"], kid))

    assert verify(case["signature"]) == case["headers"]["X-Key-Id"]
    with pytest.raises(SignatureInvalid):
        verify("0" * 64)
    pairs = {frozenset(pair) for pair in compared}  # in either order
    assert {frozenset({case["signature"]}), frozenset({case["signature"], "0" * 64})} <= pairs
