"""Who may use the CMS: active staff. Everybody else is sent to the CMS login page."""

from collections.abc import Callable
from functools import wraps
from typing import Any
from urllib.parse import urlsplit, urlunsplit

from django.contrib.auth.models import AbstractBaseUser, AnonymousUser
from django.contrib.auth.views import redirect_to_login
from django.http import HttpRequest, HttpResponse
from django.urls import reverse, reverse_lazy
from django.utils.http import url_has_allowed_host_and_scheme
from django.views.decorators.cache import never_cache

View = Callable[..., HttpResponse]

LOGIN_URL = reverse_lazy("cms:login")


def is_cms_user(user: AbstractBaseUser | AnonymousUser) -> bool:
    return bool(user.is_active and getattr(user, "is_staff", False))


def staff_required(view: View) -> View:
    """Let active staff through; send anyone else to the login page, and once signed in back
    here (from a form, back to the page it was on).

    A signed-in user who is not staff lands on the login page too, which tells them why (not a
    403 page, and no redirect loop: the login page itself is open to everyone). Staff pages
    hold personal data, so no cache keeps them.
    """

    @wraps(view)
    def checked(request: HttpRequest, *args: Any, **kwargs: Any) -> HttpResponse:
        if is_cms_user(request.user):
            return view(request, *args, **kwargs)
        return redirect_to_login(_back_after_login(request), str(LOGIN_URL))

    return never_cache(checked)


def _back_after_login(request: HttpRequest) -> str:
    """Where signing in leads: the page asked for. Not the URL of a form's action, which takes
    only POST (a form sent after the session ended would lead to a blank 405): the page the
    form was on, by its Referer when it is one of this site's, else the dashboard."""
    if request.method in ("GET", "HEAD"):
        return request.get_full_path()
    referer = request.headers.get("Referer", "")
    host = {request.get_host()}
    secure = request.is_secure()
    if url_has_allowed_host_and_scheme(referer, host, require_https=secure):
        page = urlsplit(referer)
        path = urlunsplit(("", "", page.path or "/", page.query, ""))
        # Checked again as a path: "//other.example/x" on this host's URL is another site's.
        if url_has_allowed_host_and_scheme(path, host, require_https=secure):
            return path
    return reverse("cms:dashboard")
