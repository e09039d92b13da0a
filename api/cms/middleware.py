"""Middleware of the staff pages: Django's session, user and message middleware kept off the
API, and the CMS's Content-Security-Policy.

A strict Content-Security-Policy goes on every CMS response (pages, redirects, errors). The CMS
runs no JavaScript and loads nothing from elsewhere, so its policy can forbid scripts outright
and allow only its own stylesheet. A few lines here rather than django-csp: one fixed policy on
one path prefix needs no nonces, no per-view overrides and no dependency to keep up.
"""

from collections.abc import Callable
from typing import Any

from django.contrib.auth.middleware import AuthenticationMiddleware
from django.contrib.messages.middleware import MessageMiddleware
from django.contrib.sessions.middleware import SessionMiddleware
from django.http import HttpRequest, HttpResponse

from api.utils import is_api_request

CMS_PREFIX = "/cms/"

CONTENT_SECURITY_POLICY = "; ".join(
    [
        "default-src 'none'",
        "script-src 'none'",
        # Our stylesheet only: no inline style (nor style attribute) can be injected.
        "style-src 'self'",
        # Own images only: a user's avatar URL is shown as text, never fetched by a staff
        # member's browser (it would tell its owner who looked, and from where).
        "img-src 'self'",
        "form-action 'self'",
        "base-uri 'none'",
        # X-Frame-Options: DENY says the same to older browsers.
        "frame-ancestors 'none'",
    ]
)


class ContentSecurityPolicyMiddleware:
    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        response = self.get_response(request)
        if request.path_info.startswith(CMS_PREFIX):
            response.headers.setdefault("Content-Security-Policy", CONTENT_SECURITY_POLICY)
        return response


class PagesOnly:
    """Mixin: the Django middleware it is mixed into runs for every path but the API's.

    Sessions, `request.user` from a session and flash messages serve the pages people sign in
    to: the CMS, the admin, the API docs. The API authenticates every request itself
    (api.authentication: a bearer token or a device signature) and no API view reads a
    session, so there the three only cost time (bench/README.md has the figures). Subclasses,
    so that the admin's checks that these middleware are installed still hold. CSRF stays
    everywhere: `check --deploy` wants Django's own, and with no session read under /api/
    there is little for it to do there.
    """

    get_response: Callable[[HttpRequest], Any]

    def __call__(self, request: HttpRequest) -> Any:
        if is_api_request(request):
            return self.get_response(request)
        return super().__call__(request)  # type: ignore[misc]


class PagesSessionMiddleware(PagesOnly, SessionMiddleware):
    pass


class PagesAuthenticationMiddleware(PagesOnly, AuthenticationMiddleware):
    pass


class PagesMessageMiddleware(PagesOnly, MessageMiddleware):
    pass
