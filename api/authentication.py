"""DRF authentication classes: app-signed, device-signed and bearer (SPEC §3).

Signed endpoints use `AppSignatureAuthentication` (registration) or
`DeviceSignatureAuthentication`; everything else uses `BearerAuthentication`, the default. None
of them runs an SQL query when the auth state is cached (api.auth_state).
"""

import uuid
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from django.conf import settings
from django.contrib.auth.models import AnonymousUser
from django.http import HttpRequest
from rest_framework.authentication import BaseAuthentication
from rest_framework.exceptions import NotAuthenticated
from rest_framework.permissions import BasePermission
from rest_framework.request import Request

from api import auth_state, read_ahead
from api.auth_state import DeviceState, UserState
from api.exceptions import (
    AuthError,
    DeviceRevoked,
    DeviceUnknown,
    SignatureInvalid,
    TokenInvalid,
    TokenRevoked,
    UserInactive,
)
from api.signature import HEADERS, derive_device_secret, verify_signed_request
from api.tokens import TokenClaims, decode_access

if TYPE_CHECKING:
    # Not at run time: rest_framework.views imports this module (DEFAULT_AUTHENTICATION_CLASSES).
    from rest_framework.views import APIView


@dataclass(frozen=True)
class ApiUser:
    """The authenticated user of an API request, built without a database query.

    Views that need the full `User` row load it (see api/apis/me/selectors.py).
    """

    id: int
    device_id: uuid.UUID
    is_staff: bool
    is_superuser: bool
    is_active: bool = True
    is_authenticated: bool = True
    is_anonymous: bool = False

    @property
    def pk(self) -> int:
        return self.id


@dataclass(frozen=True)
class AppKey:
    """`request.auth` of an app-signed request: which app key signed it."""

    key_id: str


@dataclass(frozen=True)
class SignedDevice:
    """`request.auth` of a device-signed request."""

    device: DeviceState


@dataclass(frozen=True)
class BearerToken:
    """`request.auth` of a bearer request: the verified claims and the device's state."""

    claims: TokenClaims
    device: DeviceState


def request_device(request: Request) -> DeviceState:
    """The device acting in an authenticated request (signed or bearer)."""
    if not isinstance(request.auth, (SignedDevice, BearerToken)):
        raise NotAuthenticated()
    return request.auth.device


def request_user_id(request: Request) -> int:
    """The id of the user acting in an authenticated request."""
    return request_device(request).user_id


def _require_active(device: DeviceState, user: UserState) -> None:
    if not device.active:
        raise DeviceRevoked()
    if not user.active:
        raise UserInactive()


def _api_user(device: DeviceState, user: UserState) -> ApiUser:
    return ApiUser(
        id=device.user_id,
        device_id=uuid.UUID(device.device_id),
        is_staff=user.staff,
        is_superuser=user.superuser,
    )


class _SignedRequestAuthentication(BaseAuthentication):
    def authenticate_header(self, request: Request) -> str:
        return 'Device-HMAC realm="api"'


class AppSignatureAuthentication(_SignedRequestAuthentication):
    """Requests signed with an app key of APP_HMAC_KEYS (device registration only)."""

    def authenticate(self, request: Request) -> tuple[AnonymousUser, AppKey]:
        def resolve(key_id: str) -> tuple[str, AppKey]:
            secret = settings.APP_HMAC_KEYS.get(key_id)
            if secret is None:
                raise SignatureInvalid("Unknown app key id.")
            return secret, AppKey(key_id)

        return AnonymousUser(), verify_signed_request(request._request, resolve)


class DeviceSignatureAuthentication(_SignedRequestAuthentication):
    """Requests signed with a device secret; X-Key-Id is the device id."""

    def authenticate(self, request: Request) -> tuple[ApiUser, SignedDevice]:
        def resolve(key_id: str) -> tuple[str, tuple[DeviceState, UserState]]:
            device_id = _device_id(key_id)
            if device_id is None:
                raise DeviceUnknown()
            state = auth_state.load(device_id, prefetched=_prefetched_state(request))
            if state is None:
                raise DeviceUnknown()
            device, user = state
            _require_active(device, user)
            master = settings.DEVICE_SECRET_KEYS.get(device.secret_kid)
            if master is None:
                # Its master key was retired: the device must register again.
                raise DeviceRevoked("This device's key was retired; register again.")
            return derive_device_secret(master, device.device_id), state

        device, user = verify_signed_request(request._request, resolve)
        return _api_user(device, user), SignedDevice(device)


# Attribute of the Django request: the bearer token's claims once verified.
_CLAIMS = "_bearer_claims"


def _bearer_token(request: HttpRequest) -> str | None:
    """The token of `Authorization: Bearer <token>`; None without the header; "" when malformed."""
    header = request.META.get("HTTP_AUTHORIZATION", "")
    if not header:
        return None
    scheme, _, raw = header.partition(" ")
    return raw.strip() if scheme.lower() == "bearer" else ""


def bearer_claims(request: HttpRequest) -> TokenClaims | None:
    """The verified claims of the request's bearer token, decoded once per request; None without
    a valid one (BearerAuthentication then says what is wrong with it)."""
    if hasattr(request, _CLAIMS):
        return getattr(request, _CLAIMS)  # type: ignore[no-any-return]
    raw = _bearer_token(request)
    claims = None
    if raw:
        try:
            claims = decode_access(raw)
        except AuthError:
            claims = None
    setattr(request, _CLAIMS, claims)
    return claims


def request_read_ahead_keys(
    request: HttpRequest, view_func: Callable[..., Any] | None
) -> list[str]:
    """The Redis keys this request will read, so that the rate limiter can read them in its own
    round trip (api.read_ahead): the auth state of a valid bearer token's device and user, or of
    a device-signed request's device (its user's entry is named only by the device's); and, for
    a valid bearer token, what the view names in its `read_ahead(request, claims)` hook."""
    claims = bearer_claims(request)
    if claims is not None:
        keys = auth_state.state_keys(claims.device_id, claims.user_id)
        hook = getattr(getattr(view_func, "cls", None), "read_ahead", None)
        return keys + hook(request, claims) if hook is not None else keys
    device_id = _device_id(request.META.get(HEADERS["key_id"], ""))
    # None: no key id, or an app key's (registration).
    return [] if device_id is None else auth_state.state_keys(device_id)


def _device_id(key_id: str) -> uuid.UUID | None:
    """The device id X-Key-Id names, in the one spelling the server gives out (lower case, with
    hyphens): `uuid.UUID` also reads upper case, braces and `urn:uuid:`, and a nonce is good
    once per key id as sent."""
    try:
        device_id = uuid.UUID(key_id)
    except ValueError:
        return None
    return device_id if str(device_id) == key_id else None


def _prefetched_state(request: Request) -> Mapping[str, bytes | None] | None:
    return read_ahead.values(request._request)


class BearerAuthentication(BaseAuthentication):
    """`Authorization: Bearer <access token>`; revocation is checked on every request."""

    def authenticate(self, request: Request) -> tuple[ApiUser, BearerToken] | None:
        raw = _bearer_token(request._request)
        if raw is None:
            return None
        if not raw:
            raise TokenInvalid("Authorization must be 'Bearer <access token>'.")
        # Decoding again when the claims are not remembered raises the precise error.
        claims = bearer_claims(request._request) or decode_access(raw)
        state = auth_state.load(
            claims.device_id, claims.user_id, prefetched=_prefetched_state(request)
        )
        if state is None:
            raise TokenRevoked()
        device, user = state
        if device.user_id != claims.user_id:
            raise TokenInvalid()
        _require_active(device, user)
        if device.token_chain != claims.chain:
            raise TokenRevoked()
        return _api_user(device, user), BearerToken(claims, device)

    def authenticate_header(self, request: Request) -> str:
        if request.META.get("HTTP_AUTHORIZATION"):
            return 'Bearer realm="api", error="invalid_token"'
        return 'Bearer realm="api"'


class IsAppSigned(BasePermission):
    """The request was signed with an app key."""

    def has_permission(self, request: Request, view: "APIView") -> bool:
        return isinstance(request.auth, AppKey)


class IsDeviceSigned(BasePermission):
    """The request was signed with a device secret."""

    def has_permission(self, request: Request, view: "APIView") -> bool:
        return isinstance(request.auth, SignedDevice)
