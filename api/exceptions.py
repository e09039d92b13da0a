"""One error format: every failure under /api/ and /health/ becomes RFC 9457 problem details.

Services raise `ApiError` subclasses; DRF's exception handler, Django's error handlers and the
`ProblemDetailsMiddleware` safety net all render through `problem_response` (SPEC §2).
"""

import logging
import math
from collections.abc import Mapping
from http import HTTPStatus
from typing import Any

import orjson
from django.core.exceptions import PermissionDenied as DjangoPermissionDenied
from django.core.exceptions import RequestDataTooBig, SuspiciousOperation
from django.core.exceptions import ValidationError as DjangoValidationError
from django.http import Http404, HttpRequest, HttpResponse
from django.views import csrf, defaults
from rest_framework import exceptions
from rest_framework.response import Response
from rest_framework.serializers import as_serializer_error
from rest_framework.settings import api_settings

from api.logs import printable
from api.utils import API_PREFIX

logger = logging.getLogger(__name__)

PROBLEM_CONTENT_TYPE = "application/problem+json"
PROBLEM_PATH_PREFIXES = (API_PREFIX, "/health/")

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


def status_defaults(status: int) -> tuple[str, str]:
    """The (code, detail) of a status; unknown ones fall back to their class."""
    fallback = STATUS_DEFAULTS[500 if status >= 500 else 400]
    return STATUS_DEFAULTS.get(status, (fallback[0], HTTPStatus(status).phrase + "."))


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


def wants_problem(request: HttpRequest) -> bool:
    """Whether errors for this request are rendered as problem+json (API and health paths)."""
    path = request.path_info
    # "/api" and "/health" too: their 404 (no redirect to the slash) is the API's as well.
    return path.startswith(PROBLEM_PATH_PREFIXES) or f"{path}/" in PROBLEM_PATH_PREFIXES


def problem_body(
    request: HttpRequest,
    status: int,
    code: str,
    detail: str,
    *,
    errors: list[dict[str, Any]] | None = None,
    extra: Mapping[str, Any] | None = None,
) -> dict[str, Any]:
    """The RFC 9457 body: type, title (the reason phrase), status, detail, code, request_id."""
    body: dict[str, Any] = {
        "type": "about:blank",
        "title": HTTPStatus(status).phrase,
        "status": status,
        "detail": detail,
        "code": code,
        "request_id": getattr(request, "request_id", None),
    }
    if errors is not None:
        body["errors"] = errors
    if extra:
        body.update(extra)
    return body


def problem_response(
    request: HttpRequest,
    status: int,
    code: str | None = None,
    detail: str | None = None,
    *,
    headers: Mapping[str, str] | None = None,
) -> HttpResponse:
    """A plain Django problem+json response, for errors raised outside DRF views."""
    default_code, default_detail = status_defaults(status)
    body = problem_body(request, status, code or default_code, detail or default_detail)
    # orjson, as DRF's renderer (drf-orjson-renderer): the same bytes whichever layer answers.
    response = HttpResponse(orjson.dumps(body), status=status, content_type=PROBLEM_CONTENT_TYPE)
    for name, value in (headers or {}).items():
        response[name] = value
    return response


def validation_errors(detail: Any, path: tuple[str, ...] = ()) -> list[dict[str, Any]]:
    """Flatten DRF's nested error detail into [{field, code, message}] with dotted field paths.

    `non_field_errors` (at any depth) belongs to its parent; at the top it is `field: null`.
    """
    if isinstance(detail, Mapping):
        found: list[dict[str, Any]] = []
        for key, value in detail.items():
            child = path if key == api_settings.NON_FIELD_ERRORS_KEY else (*path, str(key))
            found.extend(validation_errors(value, child))
        return found
    if isinstance(detail, list):
        found = []
        for index, value in enumerate(detail):
            nested = isinstance(value, (Mapping, list))
            found.extend(validation_errors(value, (*path, str(index)) if nested else path))
        return found
    return [
        {
            "field": ".".join(path) or None,
            "code": getattr(detail, "code", "invalid"),
            "message": str(detail),
        }
    ]


def _as_api_exception(exc: Exception) -> exceptions.APIException | None:
    if isinstance(exc, exceptions.APIException):
        return exc
    if isinstance(exc, Http404):
        return exceptions.NotFound()
    if isinstance(exc, DjangoPermissionDenied):
        return exceptions.PermissionDenied()
    if isinstance(exc, RequestDataTooBig):
        return PayloadTooLarge()
    if isinstance(exc, SuspiciousOperation):
        # What Django answers with a 400 outside a view: a query string or form of more than
        # DATA_UPLOAD_MAX_NUMBER_FIELDS fields, a malformed multipart body. A client's doing, so
        # a warning on Django's security logger of its kind, without the traceback.
        logging.getLogger(f"django.security.{type(exc).__name__}").warning("%s", exc)
        return ApiError()
    if isinstance(exc, DjangoValidationError):
        # A service's field error (Django's kind, as services import no DRF): the same 400 as
        # a serializer's.
        return exceptions.ValidationError(as_serializer_error(exc))
    return None


def problem_exception_handler(exc: Exception, context: dict[str, Any]) -> Response:
    """DRF's EXCEPTION_HANDLER: any exception raised in an API view becomes problem+json.

    Unexpected exceptions are logged with their traceback and answered with a bare 500: the
    client never sees exception text, SQL or a traceback, whatever DEBUG says.
    """
    # Imported here: rest_framework.views loads the authentication classes, which import this.
    from rest_framework.views import set_rollback

    request = context["request"]
    set_rollback()
    api_exc = _as_api_exception(exc)
    if api_exc is None:
        logger.error("Unhandled exception in %s", printable(request.path), exc_info=exc)
        body = problem_body(request, 500, *STATUS_DEFAULTS[500])
        return Response(body, status=500, content_type=PROBLEM_CONTENT_TYPE)

    status = api_exc.status_code
    headers: dict[str, str] = {}
    if auth_header := getattr(api_exc, "auth_header", None):
        headers["WWW-Authenticate"] = auth_header
    if (wait := getattr(api_exc, "wait", None)) is not None:
        headers["Retry-After"] = str(max(1, math.ceil(wait)))
    extra: dict[str, Any] = {}
    if isinstance(api_exc, ApiError):
        headers.update(api_exc.headers)
        extra = api_exc.extra

    if isinstance(api_exc, exceptions.ValidationError):
        body = problem_body(
            request,
            status,
            "validation_error",
            "The request has invalid fields.",
            errors=validation_errors(api_exc.detail),
        )
    else:
        detail = api_exc.detail
        code = getattr(detail, "code", None) or status_defaults(status)[0]
        body = problem_body(request, status, code, str(detail), extra=extra)
    return Response(body, status=status, headers=headers, content_type=PROBLEM_CONTENT_TYPE)


# Django's error handlers (wired as handler400/403/404/500 in core/urls.py): problem+json on
# the API and health paths, Django's templates everywhere else (admin, CMS).


def bad_request(request: HttpRequest, exception: Exception) -> HttpResponse:
    if not wants_problem(request):
        return defaults.bad_request(request, exception)
    return problem_response(request, 413 if isinstance(exception, RequestDataTooBig) else 400)


def permission_denied(request: HttpRequest, exception: Exception) -> HttpResponse:
    if not wants_problem(request):
        return defaults.permission_denied(request, exception)
    return problem_response(request, 403)


def page_not_found(request: HttpRequest, exception: Exception) -> HttpResponse:
    if not wants_problem(request):
        return defaults.page_not_found(request, exception)
    return problem_response(request, 404)


def server_error(request: HttpRequest) -> HttpResponse:
    if not wants_problem(request):
        return defaults.server_error(request)
    return problem_response(request, 500)


def csrf_failure(request: HttpRequest, reason: str = "") -> HttpResponse:
    if not wants_problem(request):
        return csrf.csrf_failure(request, reason)
    return problem_response(request, 403, detail="CSRF verification failed.")
