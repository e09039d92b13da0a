"""Signed and bearer requests through Django's test client, built with the reference client's
signing code (clients/python), so every test also exercises what mobile developers copy."""

import json
from dataclasses import dataclass
from typing import Any

from deviceauth.signing import sign_request
from django.core.cache import caches
from django.test import TestCase
from rest_framework.test import APIClient

from api import snapshots

# The keys of clients/signature-vectors.json, which the test environment configures.
APP_KEY_ID = "ios-2026"
APP_SECRET = "app-secret-for-tests-only-0123456789"

REGISTER = "/api/v1/device/register/"
GET_TOKEN = "/api/v1/auth/get-token/"
REFRESH = "/api/v1/auth/refresh-token/"
LOGOUT = "/api/v1/auth/logout/"
ME = "/api/v1/me/"


@dataclass(frozen=True)
class Device:
    id: str
    secret: str
    user_id: int


def encode(body: Any) -> bytes:
    if body is None:
        return b""
    if isinstance(body, bytes):
        return body
    return json.dumps(body).encode()


def signed(
    client: APIClient,
    path: str,
    body: Any = None,
    *,
    key_id: str,
    secret: str,
    method: str = "POST",
    content_type: str | None = "application/json",
    **overrides: Any,
) -> Any:
    """Send a signed request. `overrides` replace the computed values: timestamp, nonce,
    signature (header values) or drop=("X-Nonce", ...) to leave headers out."""
    raw = encode(body)
    headers = sign_request(
        key_id=key_id,
        secret=secret,
        method=method,
        target=path,
        body=raw,
        timestamp=overrides.pop("timestamp", None),
        nonce=overrides.pop("nonce", None),
    )
    if "signature" in overrides:
        headers["X-Signature"] = overrides.pop("signature")
    for name in overrides.pop("drop", ()):
        headers.pop(name)
    meta = {"HTTP_" + name.upper().replace("-", "_"): value for name, value in headers.items()}
    meta.update(overrides)
    return client.generic(method, path, raw, content_type=content_type, **meta)  # type: ignore[arg-type]


def app_signed(client: APIClient, path: str, body: Any = None, **kwargs: Any) -> Any:
    return signed(client, path, body, key_id=APP_KEY_ID, secret=APP_SECRET, **kwargs)


def device_signed(
    client: APIClient, device: Device, path: str, body: Any = None, **kwargs: Any
) -> Any:
    return signed(client, path, body, key_id=device.id, secret=device.secret, **kwargs)


def register(client: APIClient, **fields: Any) -> Device:
    response = app_signed(client, REGISTER, {"platform": "ios", **fields})
    assert response.status_code == 201, response.content
    body = response.json()
    return Device(body["device_id"], body["device_secret"], body["user_id"])


def get_token(client: APIClient, device: Device, **fields: Any) -> dict[str, Any]:
    response = device_signed(client, device, GET_TOKEN, fields)
    assert response.status_code == 200, response.content
    return dict(response.json())


def tombstones_expired(device: Device) -> None:
    """As once the tombstones that `device`'s registration (its user's profile) and get-token
    left have expired (api.snapshots.TOMBSTONE_TTL): the next GET /me/ keeps its snapshots."""
    keys = [snapshots.user_key(device.user_id), snapshots.device_key(device.id)]
    caches["security"].delete_many(keys)


def bearer(client: APIClient, access: str, method: str, path: str, body: Any = None) -> Any:
    return client.generic(
        method,
        path,
        encode(body),  # type: ignore[arg-type]
        content_type="application/json",
        HTTP_AUTHORIZATION=f"Bearer {access}",
    )


@dataclass
class Session:
    """A registered device with an access token: sends bearer requests."""

    client: APIClient
    device: Device
    access: str

    @property
    def user_id(self) -> int:
        return self.device.user_id

    def call(self, method: str, path: str, body: Any = None) -> Any:
        return bearer(self.client, self.access, method, path, body)

    def get(self, path: str) -> Any:
        return self.call("GET", path)


def open_session(client: APIClient, *, staff: bool = False) -> Session:
    """Register a device, optionally make its user staff, and get a token."""
    from api.models import User

    device = register(client)
    if staff:
        # A grant reaches the auth state once it commits (api.auth_state_mirroring), which a
        # test's own transaction never does: run what the commit runs.
        with TestCase.captureOnCommitCallbacks(execute=True):
            user = User.objects.get(pk=device.user_id)
            user.is_staff = True
            user.save(update_fields=["is_staff"])
    return Session(client, device, get_token(client, device)["access"])
