"""Who may use the CMS: active staff. Everybody else is sent to the CMS login page."""

from collections.abc import Callable

from django.contrib.auth.decorators import user_passes_test
from django.contrib.auth.models import AbstractBaseUser, AnonymousUser
from django.http import HttpResponse
from django.urls import reverse_lazy
from django.views.decorators.cache import never_cache

View = Callable[..., HttpResponse]

LOGIN_URL = reverse_lazy("cms:login")


def is_cms_user(user: AbstractBaseUser | AnonymousUser) -> bool:
    return bool(user.is_active and getattr(user, "is_staff", False))


def staff_required(view: View) -> View:
    """Let active staff through; send anyone else to the login page, back here once signed in.

    A signed-in user who is not staff lands on the login page too, which tells them why (not a
    403 page, and no redirect loop: the login page itself is open to everyone). Staff pages
    hold personal data, so no cache keeps them.
    """
    return never_cache(user_passes_test(is_cms_user, login_url=LOGIN_URL)(view))
