"""JWTs with djangorestframework-simplejwt: issue a pair for a device, decode with strict checks.

Claims (SPEC §3): token_type, jti, iat, exp, iss, aud, sub (user id, a string), did (device id),
and cid, the refresh chain the token belongs to, which is how a revoked chain's access tokens
are refused at once. simplejwt checks the signature with the one configured algorithm, exp, iss,
aud and token_type.
"""

import functools
import time
import uuid
from dataclasses import dataclass
from typing import Any

from django.conf import settings
from rest_framework_simplejwt.exceptions import ExpiredTokenError, TokenError
from rest_framework_simplejwt.tokens import AccessToken, RefreshToken, Token

from api.exceptions import TokenExpired, TokenInvalid


@dataclass(frozen=True)
class TokenPair:
    access: str
    refresh: str
    refresh_jti: str

    def as_response(self) -> dict[str, Any]:
        return {
            "access": self.access,
            "refresh": self.refresh,
            "token_type": "Bearer",
            "expires_in": settings.JWT_ACCESS_TTL,
            "refresh_expires_in": settings.JWT_REFRESH_TTL,
        }


@dataclass(frozen=True)
class TokenClaims:
    """The verified claims this app relies on."""

    jti: str
    user_id: int
    device_id: uuid.UUID
    chain: str
    expires_at: float  # Unix seconds


# Longer than any token issued here (420 characters with HS256, 460 with ES256, 1060 with a
# 4096-bit RSA key, 1750 with an 8192-bit one), and shorter than what a server may let through in
# a header (gunicorn 8190 bytes, an ASGI server perhaps any size). A longer one is refused unread:
# the rate limiter decodes a bearer token before it decides (api.authentication.bearer_claims),
# so decoding must not cost with the token's size, nor a megabyte be hashed to look it up in
# `_verified_access`.
MAX_TOKEN_LENGTH = 4096


def new_chain_id() -> str:
    return uuid.uuid4().hex


def issue_pair(*, user_id: int, device_id: uuid.UUID, chain: str) -> TokenPair:
    """A new refresh token of `chain` and an access token derived from it."""
    refresh = RefreshToken()
    refresh["sub"] = str(user_id)
    refresh["did"] = str(device_id)
    refresh["cid"] = chain
    # The access token copies sub, did and cid, with its own jti, type and lifetime.
    return TokenPair(str(refresh.access_token), str(refresh), refresh["jti"])


def _decode(token_class: type[Token], raw: str) -> TokenClaims:
    try:
        token = token_class(raw)  # type: ignore[arg-type]
    except ExpiredTokenError as exc:
        raise TokenExpired() from exc
    # simplejwt reads `exp` as a date after PyJWT has checked it only as an integer: a signed
    # `"exp": "1767225600"` or `1e30` fails there with one of these, not a TokenError.
    except (TokenError, TypeError, ValueError, OverflowError) as exc:
        raise TokenInvalid() from exc
    try:
        return TokenClaims(
            jti=str(token["jti"]),
            user_id=int(token["sub"]),
            device_id=uuid.UUID(str(token["did"])),
            chain=str(token["cid"]),
            expires_at=float(token["exp"]),
        )
    except (KeyError, ValueError, TypeError) as exc:
        raise TokenInvalid() from exc


def _unexpired(claims: TokenClaims) -> TokenClaims:
    """The expiry, to the second: simplejwt's LEEWAY (core/settings.py) is for `iat`, which a
    host whose clock is a little behind the issuer's would otherwise find in the future."""
    if claims.expires_at <= time.time():
        raise TokenExpired()
    return claims


def decode_access(raw: str) -> TokenClaims:
    """Verify an access token (401 token_expired / token_invalid otherwise)."""
    if len(raw) > MAX_TOKEN_LENGTH:
        raise TokenInvalid()
    # A token verified earlier is checked again for what time changes: its expiry.
    return _unexpired(_verified_access(raw))


# A client sends the same access token with each request of its lifetime: verifying it once per
# process saves the signature check and simplejwt's claim checks on the others (a tenth of an
# authenticated GET, bench/README.md). Only tokens that verified are kept (an exception is never
# cached), keyed by their exact text; revocation is not decided here but on every request, by
# the auth state. 4096 tokens are about 2 MB.
@functools.lru_cache(maxsize=4096)
def _verified_access(raw: str) -> TokenClaims:
    return _decode(AccessToken, raw)


def decode_refresh(raw: str) -> TokenClaims:
    """Verify a refresh token (401 token_expired / token_invalid otherwise)."""
    if len(raw) > MAX_TOKEN_LENGTH:
        raise TokenInvalid()
    return _unexpired(_decode(RefreshToken, raw))
