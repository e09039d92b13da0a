"""A strict Content-Security-Policy on every CMS response (pages, redirects, errors).

The CMS runs no JavaScript and loads nothing from elsewhere, so its policy can forbid scripts
outright and allow only its own stylesheet. A few lines here rather than django-csp: one fixed
policy on one path prefix needs no nonces, no per-view overrides and no dependency to keep up.
"""

from collections.abc import Callable

from django.http import HttpRequest, HttpResponse

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
