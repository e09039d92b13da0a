"""Django admin for accounts and devices: list columns, search and filters that staff need."""

from collections.abc import Mapping
from typing import Any

from django.contrib import admin
from django.contrib.auth.admin import UserAdmin as DjangoUserAdmin
from django.db import models

from api.models import Device, User, UserProfile

# Avatar URLs typed without a scheme are https, not http.
URL_FIELD_OVERRIDES: Mapping[type[models.Field[Any, Any]], Mapping[str, Any]] = {
    models.URLField: {"assume_scheme": "https"}
}


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


@admin.register(User)
class UserAdmin(DjangoUserAdmin[User]):
    inlines = (UserProfileInline, DeviceInline)
    list_display = ("username", "email", "is_active", "is_staff", "date_joined", "last_login")
    list_filter = ("is_active", "is_staff", "is_superuser", "date_joined", "devices__platform")
    search_fields = ("username", "email", "first_name", "last_name", "profile__display_name")
    ordering = ("-date_joined",)


@admin.register(UserProfile)
class UserProfileAdmin(admin.ModelAdmin[UserProfile]):
    list_display = ("user", "display_name", "locale", "timezone", "updated_at")
    list_select_related = ("user",)
    search_fields = ("user__username", "user__email", "display_name")
    list_filter = ("locale",)
    readonly_fields = ("created_at", "updated_at")
    raw_id_fields = ("user",)
    formfield_overrides = URL_FIELD_OVERRIDES


@admin.register(Device)
class DeviceAdmin(admin.ModelAdmin[Device]):
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
    readonly_fields = ("id", "created_at", "last_seen_at", "last_ip", "secret_kid")
    raw_id_fields = ("user",)
    date_hierarchy = "created_at"
    ordering = ("-created_at",)
