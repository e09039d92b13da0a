"""Request ids, the access log line, problem+json for every error (outermost), and freeing a
DRF request's objects once its response is rendered (innermost)."""

import logging
import time
from collections.abc import Callable

from django.http import HttpRequest, HttpResponse

from api.logs import logged_already, printable, request_id_for, request_id_var
from api.problems import PROBLEM_CONTENT_TYPE, problem_response, wants_problem
from api.utils import client_ip, is_api_request

access_logger = logging.getLogger("api.access")

# Headers a rewritten error response keeps.
KEPT_HEADERS = ("Allow", "Retry-After", "WWW-Authenticate", "RateLimit", "RateLimit-Policy")


class RequestIdMiddleware:
    """Tags the request with an id (the client's if well formed), logs one access line.

    The id goes back in `X-Request-ID` and onto every log line of the request (api.logs).
    """

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        request_id = request_id_for(request.META.get("HTTP_X_REQUEST_ID"))
        request.request_id = request_id  # type: ignore[attr-defined]
        token = request_id_var.set(request_id)
        started = time.perf_counter()
        try:
            response = self.get_response(request)
            response["X-Request-ID"] = request_id
            if request.method == "HEAD" and not response.streaming:
                # The headers of a GET (its Content-Length included), without its body: a WSGI
                # server would drop it anyway, gunicorn with a warning per request.
                response.content = b""
            duration_ms = round((time.perf_counter() - started) * 1000, 1)
            ip = client_ip(request)
            access_logger.info(
                "%s %s %s %.1fms %s",
                request.method,
                printable(request.path),
                response.status_code,
                duration_ms,
                ip,
                extra={
                    "method": request.method,
                    "path": request.path,
                    "status": response.status_code,
                    "duration_ms": duration_ms,
                    "client_ip": ip,
                    "user_agent": request.META.get("HTTP_USER_AGENT", ""),
                },
            )
            return response
        finally:
            request_id_var.reset(token)


def body_of_unknown_length(request: HttpRequest) -> bool:
    """A chunked body under WSGI: Django reads as many bytes as Content-Length says, so with
    none it would see an empty body (a signature checked over nothing, a form with no fields).
    Under ASGI Django reads the whole body and core.asgi tells the app its length, so it is not
    refused there."""
    meta = request.META
    return (
        "chunked" in meta.get("HTTP_TRANSFER_ENCODING", "").lower()
        and not meta.get("CONTENT_LENGTH")
        and "wsgi.input" in meta
    )


class ProblemDetailsMiddleware:
    """Safety net: an error response under /api/ or /health/ that is not JSON becomes problem+json.

    It catches what no handler of ours renders: Django's debug pages (a 500 or a bad Host with
    DEBUG=true, which would show a traceback), `HttpResponseNotAllowed`, and any plain error
    from third-party middleware. JSON bodies (our problems, the health reports) pass untouched.
    First, it refuses an API request whose body comes chunked: 411 `length_required`.
    """

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        if body_of_unknown_length(request) and is_api_request(request):
            return problem_response(request, 411)
        response = self.get_response(request)
        if response.status_code < 400 or not wants_problem(request):
            return response
        content_type = response.get("Content-Type", "")
        if content_type.startswith(("application/json", PROBLEM_CONTENT_TYPE)):
            return response
        headers = {name: response[name] for name in KEPT_HEADERS if response.has_header(name)}
        problem = problem_response(request, response.status_code, headers=headers)
        if getattr(response, "_has_been_logged", False):
            # Django logged the error as it made its page (a 500's traceback): not once more.
            logged_already(problem)
        return problem


class ReleaseViewMiddleware:
    """Innermost: once a DRF response is rendered, frees its view, request and response at once.

    DRF's objects of a request refer to one another: the view holds the request and the
    response, the request's `parser_context` and the response's `renderer_context` hold the
    view, the request and the response itself, and Django's `View.setup` stores `head`, a bound
    method of the view. Reference counting cannot free a cycle, so every API request left about
    60 objects (the WSGI request and its environ with them) to Python's cyclic garbage
    collector, which then ran every 15 requests or so: ~30 µs of CPU a request, 4 % of a
    `GET /api/v1/me/`, and a pause of every thread of a gthread worker (bench/README.md,
    finding 19). Rendering was their last use, so this empties the three links; the response
    keeps its content, status, headers and `data`.
    """

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        response = self.get_response(request)
        context = getattr(response, "renderer_context", None)
        if context:  # a DRF response; Django rendered it before returning it here
            view, drf_request = context.get("view"), context.get("request")
            if view is not None:
                vars(view).clear()
            if drf_request is not None and drf_request.parser_context:
                drf_request.parser_context.clear()
            context.clear()
        return response
