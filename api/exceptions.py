"""The errors services raise: `ApiError` and its subclasses, each an HTTP status, a stable
`code` and a `detail`. api/problems.py renders them, and every other failure, as RFC 9457
problem details (SPEC §2)."""

from collections.abc import Mapping
from http import HTTPStatus
from typing import Any

from rest_framework import exceptions

# The code and detail a bare status gets when nothing more specific is known.
STATUS_DEFAULTS: dict[int, tuple[str, str]] = {
    400: ("bad_request", "The request could not be understood."),
    401: ("not_authenticated", "Authentication credentials were not provided."),
    403: ("permission_denied", "Permission denied."),
    404: ("not_found", "No resource at this URL."),
    405: ("method_not_allowed", "This method is not allowed on this resource."),
    406: ("not_acceptable", "No acceptable representation of this resource."),
    409: ("conflict", "The request conflicts with the current state of the resource."),
    411: ("length_required", "Send the request body with a Content-Length header."),
    413: ("payload_too_large", "Request body is too large."),
    415: ("unsupported_media_type", "Unsupported media type in the request."),
    429: ("throttled", "Too many requests."),
    500: ("server_error", "The server failed to handle the request."),
    503: ("service_unavailable", "A service this request needs is unavailable; try again shortly."),
}


# RFC 9110's reason phrases where Python 3.11's are the older RFC 7231 ones (3.13 has these):
# a problem's title must not change with the Python the server runs on.
RFC_9110_PHRASES = {
    413: "Content Too Large",
    414: "URI Too Long",
    416: "Range Not Satisfiable",
    422: "Unprocessable Content",
}


def reason_phrase(status: int) -> str:
    """The status's reason phrase, RFC 9110's, on every Python."""
    return RFC_9110_PHRASES.get(status) or HTTPStatus(status).phrase


def status_defaults(status: int) -> tuple[str, str]:
    """The (code, detail) of a status; unknown ones fall back to their class."""
    fallback = STATUS_DEFAULTS[500 if status >= 500 else 400]
    return STATUS_DEFAULTS.get(status, (fallback[0], reason_phrase(status) + "."))


class ApiError(exceptions.APIException):
    """Base of the errors services raise: an HTTP status, a stable `code` and a `detail`.

    `extra` adds members to the problem body (for example `server_time`); `headers` adds
    response headers (for example `Retry-After`).
    """

    status_code = 400
    default_code = "bad_request"
    default_detail = "Bad request."

    def __init__(
        self,
        detail: str | None = None,
        *,
        extra: Mapping[str, Any] | None = None,
        headers: Mapping[str, str] | None = None,
    ) -> None:
        super().__init__(detail, self.default_code)
        self.extra = dict(extra or {})
        self.headers = dict(headers or {})


class PayloadTooLarge(ApiError):
    status_code = 413
    default_code, default_detail = STATUS_DEFAULTS[413]


class ServiceUnavailable(ApiError):
    status_code = 503
    default_code, default_detail = STATUS_DEFAULTS[503]


class AuthError(ApiError, exceptions.AuthenticationFailed):
    """A 401: DRF adds `WWW-Authenticate` from the view's first authentication class."""

    status_code = 401
    default_code = "authentication_failed"
    default_detail = "Authentication failed."


class SignatureMissing(AuthError):
    default_code = "signature_missing"
    default_detail = "This endpoint needs a signed request."


class SignatureInvalid(AuthError):
    default_code = "signature_invalid"
    default_detail = "Signature does not match."


class TimestampOutOfWindow(AuthError):
    default_code = "timestamp_out_of_window"
    default_detail = "X-Timestamp is too far from the server's clock; see server_time."


class NonceReused(AuthError):
    default_code = "nonce_reused"
    default_detail = "This nonce was already used; sign the request again with a fresh one."


class DeviceUnknown(AuthError):
    default_code = "device_unknown"
    default_detail = "No device with this id; register again."


class DeviceRevoked(AuthError):
    default_code = "device_revoked"
    default_detail = "This device has been revoked; register again."


class UserInactive(AuthError):
    default_code = "user_inactive"
    default_detail = "This account is deactivated."


class TokenInvalid(AuthError):
    default_code = "token_invalid"
    default_detail = "Token is invalid."


class TokenExpired(AuthError):
    default_code = "token_expired"
    default_detail = "Token has expired."


class TokenRevoked(AuthError):
    default_code = "token_revoked"
    default_detail = "Token has been revoked; get a new one."


class TokenReused(AuthError):
    default_code = "token_reused"
    default_detail = "This refresh token was already used; the session is revoked, get a new token."


class PermissionDenied(ApiError):
    status_code = 403
    default_code, default_detail = STATUS_DEFAULTS[403]


class Conflict(ApiError):
    status_code = 409
    default_code, default_detail = STATUS_DEFAULTS[409]


class UnsupportedMediaType(ApiError):
    status_code = 415
    default_code, default_detail = STATUS_DEFAULTS[415]
