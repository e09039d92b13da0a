"""How a request is signed. A mobile implementation must reproduce exactly this.

string_to_sign is seven lines joined by "\\n", no trailing newline:

    DEVICE-HMAC-SHA256
    <METHOD in upper case>
    <path, with ?query exactly as sent>
    <X-Key-Id>
    <X-Timestamp: Unix seconds>
    <X-Nonce: 16-64 chars of [A-Za-z0-9_-], fresh each time>
    <lower-case hex SHA-256 of the raw body bytes (of b"" when empty)>

X-Signature = lower-case hex HMAC-SHA256(key = UTF-8 bytes of the secret, string_to_sign).
"""

import hashlib
import hmac
import secrets
import time

SCHEME = "DEVICE-HMAC-SHA256"


def string_to_sign(
    method: str, target: str, key_id: str, timestamp: str, nonce: str, body: bytes
) -> str:
    """The seven lines of the module's docstring, for `target` exactly as it goes on the wire
    and the body's exact bytes."""
    body_hash = hashlib.sha256(body).hexdigest()
    return "\n".join((SCHEME, method.upper(), target, key_id, timestamp, nonce, body_hash))


def new_nonce() -> str:
    """A fresh nonce: 32 URL-safe characters."""
    return secrets.token_urlsafe(24)


def sign_request(
    *,
    key_id: str,
    secret: str,
    method: str,
    target: str,
    body: bytes = b"",
    timestamp: int | None = None,
    nonce: str | None = None,
) -> dict[str, str]:
    """The four signature headers for a request to `target` (path and query, as sent)."""
    stamp = str(int(time.time()) if timestamp is None else timestamp)
    nonce = nonce or new_nonce()
    message = string_to_sign(method, target, key_id, stamp, nonce, body)
    signature = hmac.new(secret.encode(), message.encode(), hashlib.sha256).hexdigest()
    return {
        "X-Key-Id": key_id,
        "X-Timestamp": stamp,
        "X-Nonce": nonce,
        "X-Signature": signature,
    }
