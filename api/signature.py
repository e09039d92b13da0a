"""Signed requests (SPEC §3): the string to sign, device secrets, and the server's checks in order.

A request is signed with HMAC-SHA256 over seven lines:

    DEVICE-HMAC-SHA256
    <METHOD>
    <path[?query] as sent>
    <X-Key-Id>
    <X-Timestamp>
    <X-Nonce>
    <hex SHA-256 of the raw body>

The key is the UTF-8 bytes of the app secret (registration) or of the device secret (everything
else). Device secrets are derived from a master key and never stored.
"""

import base64
import hashlib
import hmac
import re
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import TypeVar
from urllib.parse import quote

from django.conf import settings
from django.http import HttpRequest

from api.exceptions import (
    ApiError,
    NonceReused,
    PayloadTooLarge,
    ServiceUnavailable,
    SignatureInvalid,
    SignatureMissing,
    TimestampOutOfWindow,
    UnsupportedMediaType,
)
from api.utils import thread_cache

SCHEME = "DEVICE-HMAC-SHA256"
HEADERS = {
    "key_id": "HTTP_X_KEY_ID",
    "timestamp": "HTTP_X_TIMESTAMP",
    "nonce": "HTTP_X_NONCE",
    "signature": "HTTP_X_SIGNATURE",
}
KEY_ID_PATTERN = re.compile(r"[A-Za-z0-9._:-]{1,128}")
# Whole seconds, no sign, no fraction, no padding; 12 digits at most (milliseconds are refused).
TIMESTAMP_PATTERN = re.compile(r"0|[1-9][0-9]{0,11}")
NONCE_PATTERN = re.compile(r"[A-Za-z0-9_-]{16,64}")
SIGNATURE_PATTERN = re.compile(r"[0-9a-f]{64}")
# Seconds a client should wait before retrying when the nonce store is down.
RETRY_AFTER_SECONDS = 5

T = TypeVar("T")


def derive_device_secret(master_key: str, device_id: str) -> str:
    """The secret of a device, never stored: it is derived again on each request.

    base64url without padding of HMAC-SHA256(master key, "device-secret:v1:" + device id), the
    id being the canonical lower-case UUID with hyphens.
    """
    digest = hmac.new(
        master_key.encode(), f"device-secret:v1:{device_id}".encode(), hashlib.sha256
    ).digest()
    return base64.urlsafe_b64encode(digest).rstrip(b"=").decode()


def string_to_sign(
    method: str, target: str, key_id: str, timestamp: str, nonce: str, body: bytes
) -> str:
    """The seven lines a signature covers, joined by "\\n" (no trailing newline)."""
    return "\n".join(
        (SCHEME, method.upper(), target, key_id, timestamp, nonce, hashlib.sha256(body).hexdigest())
    )


def compute_signature(secret: str, message: str) -> str:
    """Lower-case hex HMAC-SHA256 of `message` keyed with the UTF-8 bytes of `secret`."""
    return hmac.new(secret.encode(), message.encode(), hashlib.sha256).hexdigest()


# What a path may hold unencoded (RFC 3986's pchar and "/").
PATH_SAFE = "/:@!$&'()*+,;=-._~"


def request_target(request: HttpRequest) -> str:
    """The path and query exactly as the client sent them.

    gunicorn passes the raw request line as RAW_URI (uWSGI as REQUEST_URI); ASGI servers pass
    the path's raw bytes as `raw_path` in the scope, and the query as sent. Other servers (such
    as runserver) only give the decoded path, which is re-encoded (identical for the plain
    ASCII paths of this API).
    """
    raw = request.META.get("RAW_URI") or request.META.get("REQUEST_URI")
    if raw:
        if not raw.startswith("/"):  # absolute-form: http://host/path
            raw = "/" + raw.split("://", 1)[-1].partition("/")[2]
        return str(raw)
    raw_path = getattr(request, "scope", {}).get("raw_path")
    target = raw_path.decode("latin-1") if raw_path else quote(request.path, safe=PATH_SAFE)
    query = request.META.get("QUERY_STRING", "")
    return f"{target}?{query}" if query else target


@dataclass(frozen=True)
class SignatureHeaders:
    key_id: str
    timestamp: str
    nonce: str
    signature: str


def read_headers(request: HttpRequest) -> SignatureHeaders:
    """Step 1: every header present (else signature_missing) and well formed (signature_invalid)."""
    values = {name: request.META.get(meta, "") for name, meta in HEADERS.items()}
    missing = [name for name, value in values.items() if not value]
    if missing:
        names = ", ".join(f"X-{name.replace('_', '-').title()}" for name in missing)
        raise SignatureMissing(f"Missing signature header(s): {names}.")
    checks = (
        ("key_id", KEY_ID_PATTERN, "X-Key-Id must be 1-128 characters of [A-Za-z0-9._:-]."),
        (
            "timestamp",
            TIMESTAMP_PATTERN,
            "X-Timestamp must be Unix time in whole seconds, without leading zeros.",
        ),
        ("nonce", NONCE_PATTERN, "X-Nonce must be 16-64 characters of [A-Za-z0-9_-]."),
        ("signature", SIGNATURE_PATTERN, "X-Signature must be 64 lower-case hex digits."),
    )
    for name, pattern, message in checks:
        if not pattern.fullmatch(values[name]):
            raise SignatureInvalid(message)
    return SignatureHeaders(**values)


def check_timestamp(timestamp: str) -> None:
    """Step 2: within SIGNATURE_MAX_SKEW of the server's clock, else the error says its time."""
    now_seconds = int(time.time())
    if abs(now_seconds - int(timestamp)) > settings.SIGNATURE_MAX_SKEW:
        raise TimestampOutOfWindow(extra={"server_time": now_seconds})


def check_body(request: HttpRequest) -> bytes:
    """Signed bodies are JSON and at most SIGNED_BODY_MAX_BYTES; returns the raw bytes."""
    limit = settings.SIGNED_BODY_MAX_BYTES
    try:
        declared = int(request.META.get("CONTENT_LENGTH") or 0)
    except ValueError:
        # gunicorn refuses such a header itself; Django's runserver passes it on, and reading
        # the body would raise.
        raise ApiError("Content-Length must be a number of bytes.") from None
    if declared > limit:
        raise PayloadTooLarge(f"Signed request bodies are limited to {limit} bytes.")
    body = request.body
    if len(body) > limit:
        raise PayloadTooLarge(f"Signed request bodies are limited to {limit} bytes.")
    # An empty body may come without a type; one declared is JSON's, empty body or not. JSON is
    # UTF-8 (RFC 8259), and the header is not signed: another charset would make the parser
    # read the signed bytes as other text.
    declared_type = request.META.get("CONTENT_TYPE")
    charset = (request.content_params or {}).get("charset", "utf-8").lower()
    if (body or declared_type) and (
        request.content_type != "application/json" or charset not in ("utf-8", "utf8")
    ):
        raise UnsupportedMediaType("Signed requests take Content-Type: application/json (UTF-8).")
    return body


# A nonce is remembered this many seconds longer than 2 x skew. The clock is read in whole
# seconds, so a timestamp is still accepted during the second after its window ends; and the
# clocks of the hosts that check requests differ a little. A nonce must outlive every instant
# at which its request could be accepted again, on any of them.
NONCE_TTL_MARGIN = 5


def claim_nonce(key_id: str, nonce: str) -> None:
    """Step 5: a nonce is good once per key for 2 x skew (SET NX EX on Redis; a little longer).

    The security cache raises on error, so an unreachable Redis is a 503, never a silent pass.
    """
    ttl = 2 * settings.SIGNATURE_MAX_SKEW + NONCE_TTL_MARGIN
    try:
        claimed = thread_cache("security").add(f"nonce:{key_id}:{nonce}", 1, ttl)
    except Exception as exc:
        raise ServiceUnavailable(
            "The replay-protection store is unavailable; retry shortly.",
            headers={"Retry-After": str(RETRY_AFTER_SECONDS)},
        ) from exc
    if not claimed:
        raise NonceReused()


def verify_signed_request(request: HttpRequest, resolve_key: Callable[[str], tuple[str, T]]) -> T:
    """Run the server's checks in the order of SPEC §3 and return what `resolve_key` found.

    `resolve_key(key_id)` is step 3: it returns (secret, principal) or raises the error for an
    unknown key id, a revoked device or an inactive user. Each failure raises a 401 `AuthError`
    with its code; the nonce is claimed only once the signature checks out, so nobody can burn
    a device's nonces.
    """
    body = check_body(request)
    headers = read_headers(request)
    check_timestamp(headers.timestamp)
    secret, principal = resolve_key(headers.key_id)
    expected = compute_signature(
        secret,
        string_to_sign(
            request.method or "",
            request_target(request),
            headers.key_id,
            headers.timestamp,
            headers.nonce,
            body,
        ),
    )
    if not hmac.compare_digest(expected, headers.signature):
        raise SignatureInvalid()
    claim_nonce(headers.key_id, headers.nonce)
    return principal
