"""One error format: every failure under /api/ and /health/ becomes RFC 9457 problem details.

Services raise `ApiError` subclasses (api/exceptions.py); DRF's exception handler, Django's error
handlers and the `ProblemDetailsMiddleware` safety net all render through `problem_response`
(SPEC §2).
"""

import logging
import math
import sys
from collections.abc import Mapping
from typing import Any

import orjson
from django.core.exceptions import PermissionDenied as DjangoPermissionDenied
from django.core.exceptions import RequestDataTooBig, SuspiciousOperation
from django.core.exceptions import ValidationError as DjangoValidationError
from django.db import utils as db
from django.http import Http404, HttpRequest, HttpResponse
from django.template import loader
from django.views import csrf, defaults
from drf_orjson_renderer.renderers import ORJSONRenderer
from rest_framework import exceptions
from rest_framework.response import Response
from rest_framework.serializers import as_serializer_error
from rest_framework.settings import api_settings
from rest_framework.views import set_rollback

from api.exceptions import (
    STATUS_DEFAULTS,
    ApiError,
    PayloadTooLarge,
    ServiceUnavailable,
    reason_phrase,
    status_defaults,
)
from api.logs import described, logged_already, printable
from api.utils import API_PREFIX

logger = logging.getLogger(__name__)

PROBLEM_CONTENT_TYPE = "application/problem+json"
PROBLEM_PATH_PREFIXES = (API_PREFIX, "/health/")
PROBLEM_RENDERER = ORJSONRenderer()


def wants_problem(request: HttpRequest) -> bool:
    """Whether errors for this request are rendered as problem+json (API and health paths)."""
    # "//api/v1/me/" too, a client's base URL joined to a path with one slash too many: its
    # 404 tells the client what went wrong in the format it reads.
    path = "/" + request.path_info.lstrip("/")
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
        "title": reason_phrase(status),
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


# MySQL's and MariaDB's error codes (both drivers raise them) for a database that cannot serve
# the request now, which a retry may get past: the server is down, gone or full, the connection
# was lost, a lock wait timed out, a deadlock chose this transaction.
DATABASE_BUSY_CODES = frozenset({1040, 1053, 1205, 1213, 2002, 2003, 2006, 2013, 2055})
DATABASE_RETRY_AFTER = "5"
DATABASE_UNAVAILABLE = "The database is unavailable; retry shortly."


def database_unavailable(exc: BaseException) -> bool:
    """Whether `exc` says the database cannot serve now, rather than that a query is wrong
    (an unknown column is an OperationalError too, and stays a 500)."""
    if isinstance(exc, db.InterfaceError):
        return True
    if not isinstance(exc, db.OperationalError):
        return False
    code = exc.args[0] if exc.args else None
    # SQLite's busy database, the only one of its errors a retry gets past.
    return code in DATABASE_BUSY_CODES or "database is locked" in str(exc)


def _log_database_unavailable(exc: BaseException) -> None:
    """One ERROR with the cause and its traceback; the 503's own line is not logged again."""
    logger.error("The database is unavailable: %s", described(exc), exc_info=exc)


def _as_api_exception(exc: Exception) -> exceptions.APIException | None:
    if isinstance(exc, exceptions.APIException):
        return exc
    if database_unavailable(exc):
        _log_database_unavailable(exc)
        return ServiceUnavailable(
            DATABASE_UNAVAILABLE, headers={"Retry-After": DATABASE_RETRY_AFTER}
        )
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
    request = context["request"]
    set_rollback()
    # A problem is JSON whatever the view renders: DRF would render it with the renderer it
    # chose for the view (or that view's first), and the docs' views render YAML and HTML.
    request.accepted_renderer = PROBLEM_RENDERER
    request.accepted_media_type = PROBLEM_CONTENT_TYPE
    api_exc = _as_api_exception(exc)
    if api_exc is None:
        logger.error("Unhandled exception in %s", printable(request.path), exc_info=exc)
        body = problem_body(request, 500, *STATUS_DEFAULTS[500])
        return logged_already(Response(body, status=500, content_type=PROBLEM_CONTENT_TYPE))

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
    response = Response(body, status=status, headers=headers, content_type=PROBLEM_CONTENT_TYPE)
    # Logged above with its traceback: Django need not log it again.
    return logged_already(response) if database_unavailable(exc) else response


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
    # Django calls its 500 handler while the exception is being handled, outside any API view:
    # a database outage in the CMS, the admin or a middleware is a 503 to retry, as in the API.
    exc = sys.exc_info()[1]
    if exc is not None and database_unavailable(exc):
        _log_database_unavailable(exc)
        headers = {"Retry-After": DATABASE_RETRY_AFTER}
        if wants_problem(request):
            problem = problem_response(request, 503, detail=DATABASE_UNAVAILABLE, headers=headers)
            return logged_already(problem)
        # Rendered without the request: its context processors would ask the database again.
        page = loader.render_to_string("503.html", {"retry_after": DATABASE_RETRY_AFTER})
        return logged_already(HttpResponse(page, status=503, headers=headers))
    if not wants_problem(request):
        return defaults.server_error(request)
    return problem_response(request, 500)


def csrf_failure(request: HttpRequest, reason: str = "") -> HttpResponse:
    if not wants_problem(request):
        return csrf.csrf_failure(request, reason)
    return problem_response(request, 403, detail="CSRF verification failed.")
