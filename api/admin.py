"""Django admin for accounts, devices and the example's categories and items: list columns, search
and filters that staff need.

Deactivating a user and revoking a device are admin actions that go through the same services as
the CMS (api/cms/services.py); the `is_active` flags are read-only in the forms, so nothing
flips them without ending the sessions that depend on them. Saving a user or a device writes
only the columns its form changed. In the forms, only a superuser changes a superuser's or
another staff member's account, profile or devices, and only a superuser grants rights (groups
included); the actions follow the CMS's rules (any staff member with the change permission, on
anyone but a superuser, never on their own account); a device's owner is the account it
registered as, for good.
"""

from collections.abc import Callable, Mapping
from typing import Any, TypeVar

from django.contrib import admin, messages
from django.contrib.admin.options import IncorrectLookupParameters, InlineModelAdmin
from django.contrib.auth.admin import GroupAdmin as DjangoGroupAdmin
from django.contrib.auth.admin import UserAdmin as DjangoUserAdmin
from django.contrib.auth.models import Group
from django.db import models
from django.db.models import QuerySet
from django.http import HttpRequest, HttpResponse

from api.cms.services import (
    ActionRefused,
    staff_device_revoke,
    staff_user_activate,
    staff_user_deactivate,
)
from api.exceptions import ServiceUnavailable
from api.models import Category, Device, Item, User, UserProfile

Target = TypeVar("Target", User, Device)

_site_login = admin.site.login


def _admin_login(request: HttpRequest, extra_context: dict[str, Any] | None = None) -> HttpResponse:
    """The admin's sign-in, limited by the `admin` scope as the CMS's is: both take the same
    staff passwords, so a guesser must not find the wider door (burst and sustained alone)."""
    return _site_login(request, extra_context)


# Its POSTs only, as the CMS's sign-in: showing the form (and every redirect to it) must not
# spend the budget that staff's actions share.
_admin_login.throttle_scopes = {"post": "admin"}  # type: ignore[attr-defined]


# AdminSite.get_urls routes "login/" to `self.login`: this one, whenever the URLs are built.
admin.site.login = _admin_login  # type: ignore[method-assign]

# Avatar URLs typed without a scheme are https, not http.
URL_FIELD_OVERRIDES: Mapping[type[models.Field[Any, Any]], Mapping[str, Any]] = {
    models.URLField: {"assume_scheme": "https"}
}


class LookupErrorsAreBadRequests:
    """A list's query string that its lookups cannot use is the list's "?e=1" page, as any
    other bad filter is, not a 500: Django turns a ValueError into that only around part of its
    work, and an OverflowError never (a `date_hierarchy` year past 9999; on SQLite, an id past
    64 bits in a filter). Put it first among a ModelAdmin's bases."""

    def get_changelist_instance(self, request: HttpRequest) -> Any:
        try:
            return super().get_changelist_instance(request)  # type: ignore[misc]
        except (OverflowError, ValueError) as exc:
            raise IncorrectLookupParameters(exc) from exc


class _SavesChangedColumnsOnly:
    """On a change page, save only the columns the form changed. The admin reads the row, then
    saves the whole instance: what changed in between (a get-token's new session, another staff
    member's deactivation) would be written back over with what was read."""

    def save_model(self, request: HttpRequest, obj: Any, form: Any, change: bool) -> None:
        if not change:
            super().save_model(request, obj, form, change)  # type: ignore[misc]
            return
        columns = {field.name for field in obj._meta.concrete_fields}
        if changed := [name for name in form.changed_data if name in columns]:
            obj.save(update_fields=changed)


# Django's admin lets anyone with the change permission on users set any account's password and
# rights, their own included: the CMS's rule (api/cms/services.py) would be a door with a window
# beside it.
RIGHTS = ("is_staff", "is_superuser", "groups", "user_permissions")


def _superusers_only(request: HttpRequest, owner: User | None) -> bool:
    """Whether `owner`'s account, profile or devices are beyond the signed-in staff member: a
    superuser's, or another staff member's, whose password would be theirs to take, and with it
    that account's rights."""
    actor = request.user
    if owner is None or actor.is_superuser:
        return False
    return owner.is_superuser or (owner.is_staff and owner.pk != actor.pk)


class _SuperusersBySuperusersOnly:
    """Only a superuser changes or deletes what belongs to a superuser or to another staff
    member (the password form goes by the change permission too); others may still view it."""

    def owner(self, obj: Any) -> User | None:
        return obj.user if obj is not None else None

    def has_change_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        allowed: bool = super().has_change_permission(request, obj)  # type: ignore[misc]
        return allowed and not _superusers_only(request, self.owner(obj))

    def has_delete_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        allowed: bool = super().has_delete_permission(request, obj)  # type: ignore[misc]
        return allowed and not _superusers_only(request, self.owner(obj))


class UserProfileInline(admin.StackedInline[UserProfile, User]):
    model = UserProfile
    can_delete = False
    readonly_fields = ("created_at", "updated_at")
    formfield_overrides = URL_FIELD_OVERRIDES


class DeviceInline(admin.TabularInline[Device, User]):
    model = Device
    extra = 0
    can_delete = False
    show_change_link = True
    fields = ("id", "platform", "app_version", "is_active", "last_seen_at", "last_ip")
    readonly_fields = fields


def _run_action(
    request: HttpRequest,
    objects: QuerySet[Target],
    action: Callable[[User, Target], bool],
    *,
    done: str,
) -> None:
    """Run a staff action on each selected object; say how many changed and which were refused."""
    actor = request.user
    assert isinstance(actor, User)
    changed = 0
    for target in objects:
        try:
            changed += action(actor, target)
        except ActionRefused as refusal:
            messages.error(request, f"{target}: {refusal}")
        except ServiceUnavailable as unavailable:
            # Redis down: this one rolled back, and the rest would too.
            messages.error(request, f"{target} and any after it: not changed. {unavailable.detail}")
            break
    # Green only for a change: "0 user(s) deactivated" next to an error is no success.
    messages.add_message(
        request, messages.SUCCESS if changed else messages.INFO, f"{changed} {done}."
    )


# Groups carry permissions: changing one grants rights to all its members.
admin.site.unregister(Group)


@admin.register(Group)
class GroupAdmin(LookupErrorsAreBadRequests, DjangoGroupAdmin):
    def has_add_permission(self, request: HttpRequest) -> bool:
        return bool(request.user.is_superuser)

    def has_change_permission(self, request: HttpRequest, obj: Group | None = None) -> bool:
        return bool(request.user.is_superuser)

    def has_delete_permission(self, request: HttpRequest, obj: Group | None = None) -> bool:
        return bool(request.user.is_superuser)


@admin.register(User)
class UserAdmin(
    LookupErrorsAreBadRequests,
    _SuperusersBySuperusersOnly,
    _SavesChangedColumnsOnly,
    DjangoUserAdmin[User],
):
    inlines = (UserProfileInline, DeviceInline)
    list_display = ("username", "email", "is_active", "is_staff", "date_joined", "last_login")
    list_filter = ("is_active", "is_staff", "is_superuser", "date_joined", "devices__platform")
    search_fields = ("username", "email", "first_name", "last_name", "profile__display_name")
    ordering = ("-date_joined",)
    # Changed only through the actions, which also end the user's sessions.
    readonly_fields = ("is_active",)
    actions = ("deactivate_users", "activate_users")

    def owner(self, obj: User | None) -> User | None:
        return obj

    def get_readonly_fields(self, request: HttpRequest, obj: User | None = None) -> tuple[str, ...]:
        fields = tuple(super().get_readonly_fields(request, obj))
        return fields if request.user.is_superuser else fields + RIGHTS

    def get_deleted_objects(self, objs: Any, request: HttpRequest) -> Any:
        # A profile goes with its user (UserProfileAdmin refuses deleting one alone), which
        # Django would otherwise count as a permission missing to delete the user.
        deleted, counts, perms_needed, protected = super().get_deleted_objects(objs, request)
        perms_needed.discard(UserProfile._meta.verbose_name)
        return deleted, counts, perms_needed, protected

    def get_inline_instances(
        self, request: HttpRequest, obj: User | None = None
    ) -> list[InlineModelAdmin[Any, Any]]:
        # None on the add page: User.save() creates the profile, so a profile inline there
        # inserted a second one (an IntegrityError). Adding goes on to the change page.
        return super().get_inline_instances(request, obj) if obj is not None else []

    @admin.action(description="Deactivate selected users", permissions=["change"])
    def deactivate_users(self, request: HttpRequest, queryset: QuerySet[User]) -> None:
        _run_action(
            request,
            queryset,
            lambda actor, user: staff_user_deactivate(actor=actor, user=user),
            done="user(s) deactivated",
        )

    @admin.action(description="Reactivate selected users", permissions=["change"])
    def activate_users(self, request: HttpRequest, queryset: QuerySet[User]) -> None:
        _run_action(
            request,
            queryset,
            lambda actor, user: staff_user_activate(actor=actor, user=user),
            done="user(s) reactivated",
        )


@admin.register(UserProfile)
class UserProfileAdmin(
    LookupErrorsAreBadRequests, _SuperusersBySuperusersOnly, admin.ModelAdmin[UserProfile]
):
    list_display = ("user", "display_name", "locale", "timezone", "updated_at")
    list_select_related = ("user",)
    search_fields = ("user__username", "user__email", "display_name")
    list_filter = ("locale",)
    # A profile is made with its user (User.save), for good.
    readonly_fields = ("user", "created_at", "updated_at")
    formfield_overrides = URL_FIELD_OVERRIDES

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False

    def has_delete_permission(self, request: HttpRequest, obj: UserProfile | None = None) -> bool:
        # Every user has one (User.save creates it), and /me/ reads and writes it: it goes with
        # its user, never alone.
        return False


@admin.register(Device)
class DeviceAdmin(
    LookupErrorsAreBadRequests,
    _SuperusersBySuperusersOnly,
    _SavesChangedColumnsOnly,
    admin.ModelAdmin[Device],
):
    list_display = (
        "id",
        "user",
        "platform",
        "app_version",
        "os_version",
        "is_active",
        "last_seen_at",
        "created_at",
    )
    list_select_related = ("user",)
    list_filter = ("platform", "is_active", "created_at", "last_seen_at")
    search_fields = ("=id", "user__username", "user__email", "device_model", "app_version")
    # is_active: a revoked device stays revoked; revoking goes through the action. user: given
    # to another account, the app (whose secret its holder knows) would act as that account.
    readonly_fields = (
        "id",
        "user",
        "is_active",
        "created_at",
        "last_seen_at",
        "last_ip",
        "secret_kid",
    )
    date_hierarchy = "created_at"
    ordering = ("-created_at",)
    actions = ("revoke_devices",)

    def has_add_permission(self, request: HttpRequest) -> bool:
        # A device is an app install that registered (SPEC §3): its secret is derived then.
        return False

    @admin.action(description="Revoke selected devices", permissions=["change"])
    def revoke_devices(self, request: HttpRequest, queryset: QuerySet[Device]) -> None:
        _run_action(
            request,
            queryset,
            lambda actor, device: staff_device_revoke(actor=actor, device=device),
            done="device(s) revoked",
        )


# The example API (api/apis/example/): a category is made here, or by staff through the API,
# before anyone can post an item.
@admin.register(Category)
class CategoryAdmin(LookupErrorsAreBadRequests, admin.ModelAdmin[Category]):
    list_display = ("name", "slug")
    search_fields = ("name", "slug")
    prepopulated_fields = {"slug": ("name",)}


@admin.register(Item)
class ItemAdmin(LookupErrorsAreBadRequests, admin.ModelAdmin[Item]):
    list_display = ("id", "title", "category", "owner", "price", "is_published", "created_at")
    list_select_related = ("category", "owner")
    list_filter = ("is_published", "category", "created_at")
    search_fields = ("title", "owner__username")
    readonly_fields = ("created_at", "updated_at")
    raw_id_fields = ("owner",)


# End of the example API.
