"""The CMS pages. A view reads the request, calls a selector or a service, and renders a
template or redirects back with a message (POST/redirect/GET).

Every state-changing view is a POST that CsrfViewMiddleware checks.
"""

import uuid
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from django.contrib import messages
from django.contrib.admin.forms import AdminAuthenticationForm
from django.contrib.auth.views import LoginView, LogoutView
from django.core.paginator import Paginator
from django.http import Http404, HttpRequest, HttpResponse, QueryDict
from django.shortcuts import redirect, render
from django.urls import reverse
from django.views.decorators.http import require_POST, require_safe

from api.cms import selectors, services
from api.cms.access import is_cms_user, staff_required
from api.cms.charts import registrations_chart
from api.cms.forms import ProfileForm, UserFilterForm, profile_initial
from api.exceptions import ServiceUnavailable
from api.models import Device, User
from api.throttling import throttle_scopes

USERS_PER_PAGE = 25
CHART_DAYS = 30

# Headings of the users list's sortable columns, by sort key (selectors.USER_SORTS).
SORTABLE_COLUMNS = {
    "username": "User",
    "devices": "Devices",
    "last_seen": "Last seen",
    "joined": "Joined",
}


@dataclass(frozen=True)
class SortLink:
    """A sortable column heading: where it links to and how the list is sorted now."""

    label: str
    url: str
    # "ascending", "descending" (the aria-sort values) or "" when not sorted by this column.
    direction: str


class CmsLoginView(LoginView):
    """Django's login with the admin's form, which refuses accounts that are not staff."""

    # Sign-in attempts count against the staff scope: password guessing is slowed down.
    throttle_scopes = {"post": "admin"}

    template_name = "cms/login.html"
    authentication_form = AdminAuthenticationForm

    def get_default_redirect_url(self) -> str:
        return reverse("cms:dashboard")

    def get_context_data(self, **kwargs: Any) -> dict[str, Any]:
        context = super().get_context_data(**kwargs)
        user = self.request.user
        # Sent here by staff_required: say why instead of showing the form again without a word.
        context["signed_in_without_access"] = user.is_authenticated and not is_cms_user(user)
        return context


class CmsLogoutView(LogoutView):
    """POST only (Django's rule), then back to the login page with a word."""

    throttle_scopes = {"post": "admin"}

    def get_default_redirect_url(self) -> str:
        return reverse("cms:login")

    def post(self, request: HttpRequest, *args: Any, **kwargs: Any) -> HttpResponse:
        response = super().post(request, *args, **kwargs)
        messages.info(request, "You are signed out.")
        return response


login = CmsLoginView.as_view()
logout = CmsLogoutView.as_view()


@staff_required
@require_safe
def dashboard(request: HttpRequest) -> HttpResponse:
    days = selectors.registrations_per_day(days=CHART_DAYS)
    context = {
        "totals": selectors.user_totals(),
        "platforms": selectors.devices_by_platform(),
        "chart": registrations_chart(days),
        "chart_days": days,
        "latest": selectors.latest_registrations(),
    }
    return render(request, "cms/dashboard.html", context)


@staff_required
@require_safe
def user_list(request: HttpRequest) -> HttpResponse:
    form = UserFilterForm(request.GET)
    form.is_valid()
    filters = form.filters()
    paginator = Paginator(selectors.user_list(filters), USERS_PER_PAGE)
    page = paginator.get_page(request.GET.get("page"))
    context = {
        "form": form,
        "filtered": filters != selectors.UserFilters(sort=filters.sort),
        "page": page,
        "page_range": paginator.get_elided_page_range(page.number, on_each_side=1, on_ends=1),
        "rows": selectors.user_rows(page.object_list),
        "sort_links": _sort_links(request.GET, filters.sort),
        # The query string without the page, for the pagination links.
        "page_query": _query_without(request.GET, "page"),
    }
    return render(request, "cms/user_list.html", context)


@staff_required
@require_safe
def user_detail(request: HttpRequest, user_id: int) -> HttpResponse:
    account = _account(user_id)
    form = ProfileForm(initial=profile_initial(account.profile))
    return _render_detail(request, account, form)


@throttle_scopes("admin", methods=["POST"])
@staff_required
@require_POST
def user_deactivate(request: HttpRequest, user_id: int) -> HttpResponse:
    account = _account(user_id)
    _act(
        request,
        lambda: services.staff_user_deactivate(actor=_staff(request), user=account),
        done=f"{account.username} is deactivated; their devices are signed out.",
        already=f"{account.username} was already deactivated.",
    )
    return redirect("cms:user", user_id=account.pk)


@throttle_scopes("admin", methods=["POST"])
@staff_required
@require_POST
def user_activate(request: HttpRequest, user_id: int) -> HttpResponse:
    account = _account(user_id)
    _act(
        request,
        lambda: services.staff_user_activate(actor=_staff(request), user=account),
        done=f"{account.username} is active again; their devices can sign in again.",
        already=f"{account.username} was already active.",
    )
    return redirect("cms:user", user_id=account.pk)


@throttle_scopes("admin", methods=["POST"])
@staff_required
@require_POST
def user_profile_update(request: HttpRequest, user_id: int) -> HttpResponse:
    account = _account(user_id)
    form = ProfileForm(request.POST, initial=profile_initial(account.profile, request.POST))
    if not form.is_valid():
        messages.error(request, "The profile was not saved: please correct the fields below.")
        return _render_detail(request, account, form)
    if not form.has_changed():
        messages.info(request, "Nothing to save: the profile is unchanged.")
    else:
        try:
            services.staff_profile_update(
                actor=_staff(request),
                profile=account.profile,
                changes=form.changes(),
                labels=form.changed_labels(),
            )
        except services.ActionRefused as refusal:
            messages.error(request, str(refusal))
        except ServiceUnavailable as unavailable:
            messages.error(request, f"The profile was not saved: {unavailable.detail}")
        else:
            messages.success(request, f"Profile of {account.username} saved.")
    return redirect("cms:user", user_id=account.pk)


@throttle_scopes("admin", methods=["POST"])
@staff_required
@require_POST
def device_revoke(request: HttpRequest, device_id: uuid.UUID) -> HttpResponse:
    try:
        device = selectors.device_detail(device_id)
    except Device.DoesNotExist:
        raise Http404("No such device.") from None
    _act(
        request,
        lambda: services.staff_device_revoke(actor=_staff(request), device=device),
        done=f"Device {device.pk} is revoked; it has to register again to sign in.",
        already=f"Device {device.pk} was already revoked.",
    )
    return redirect("cms:user", user_id=device.user_id)


def _act(request: HttpRequest, action: Callable[[], bool], *, done: str, already: str) -> None:
    """Run a staff action (True: it changed something) and flash what came of it: `done`,
    `already` (nothing to change), or why the service refused."""
    try:
        changed = action()
    except services.ActionRefused as refusal:
        messages.error(request, str(refusal))
    except ServiceUnavailable as unavailable:
        # Redis down: the change rolled back. A page to retry from, not a 500.
        messages.error(request, f"Nothing was changed: {unavailable.detail}")
    else:
        if changed:
            messages.success(request, done)
        else:
            messages.info(request, already)


def _account(user_id: int) -> User:
    try:
        return selectors.user_detail(user_id)
    except User.DoesNotExist:
        raise Http404("No such user.") from None


def _staff(request: HttpRequest) -> User:
    """The signed-in staff member (staff_required let them in)."""
    assert isinstance(request.user, User)
    return request.user


def _render_detail(request: HttpRequest, account: User, form: ProfileForm) -> HttpResponse:
    devices = selectors.user_devices(account)
    context = {
        "account": account,
        "devices": devices,
        "history": selectors.user_history(account, devices),
        "profile_form": form,
    }
    return render(request, "cms/user_detail.html", context)


def _sort_links(query: QueryDict, current: str) -> dict[str, SortLink]:
    """Each heading sorts by its key; a second click on the sorted column reverses it."""
    links = {}
    for key, label in SORTABLE_COLUMNS.items():
        if current == key:
            target, direction = f"-{key}", "ascending"
        elif current == f"-{key}":
            target, direction = key, "descending"
        else:
            # Text sorts A to Z first; counts and dates, the largest and newest first.
            target, direction = (key if key == "username" else f"-{key}"), ""
        params = query.copy()
        params.pop("page", None)
        params["sort"] = target
        links[key] = SortLink(label, f"?{params.urlencode()}", direction)
    return links


def _query_without(query: QueryDict, name: str) -> str:
    params = query.copy()
    params.pop(name, None)
    return params.urlencode()
