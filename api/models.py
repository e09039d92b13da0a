"""Accounts and devices: the custom User, its profile, and the devices that act for it."""

import uuid
from typing import Any

from django.contrib.auth.models import AbstractUser
from django.core.validators import MinValueValidator
from django.db import models, router, transaction

from api import counts
from api.validators import validate_locale, validate_single_line, validate_timezone


class User(AbstractUser):
    """The account. Mobile installs start as guest users created at device registration."""

    class Meta(AbstractUser.Meta):
        swappable = "AUTH_USER_MODEL"
        indexes = [models.Index(fields=["date_joined"], name="user_date_joined_idx")]

    def save(self, *args: Any, **kwargs: Any) -> None:
        # Every user has a profile from the moment it exists, whoever creates it (API, admin,
        # createsuperuser), so readers never have to handle a missing one.
        # A new instance given an existing user's id UPDATEs that user, who has a profile.
        inserting, new_with_key = self.pk is None, self._state.adding and self.pk is not None
        using = kwargs.get("using") or router.db_for_write(type(self), instance=self)
        with transaction.atomic(using=using):
            super().save(*args, **kwargs)
            profiles = UserProfile.objects.db_manager(using)
            if inserting:
                profiles.create(user=self)
            elif new_with_key:
                profiles.get_or_create(user=self)


class UserProfile(models.Model):
    """What a user shows and prefers; created together with its user."""

    user = models.OneToOneField(User, on_delete=models.CASCADE, related_name="profile")
    display_name = models.CharField(max_length=150, blank=True, validators=[validate_single_line])
    avatar_url = models.URLField(max_length=500, blank=True)
    # The API's and the CMS's checks, here too so that the admin's forms make them as well.
    locale = models.CharField(max_length=16, blank=True, validators=[validate_locale])
    timezone = models.CharField(max_length=64, blank=True, validators=[validate_timezone])
    bio = models.TextField(max_length=2000, blank=True)  # a limit of forms, not of the column
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    def __str__(self) -> str:
        return self.display_name or f"profile of user {self.user_id}"


class Device(models.Model):
    """One app install. Its secret is derived from a master key, never stored (SPEC §3)."""

    class Platform(models.TextChoices):
        IOS = "ios", "iOS"
        ANDROID = "android", "Android"
        WEB = "web", "Web"
        OTHER = "other", "Other"

    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    user = models.ForeignKey(User, on_delete=models.CASCADE, related_name="devices")
    platform = models.CharField(max_length=16, choices=Platform.choices)
    app_version = models.CharField(max_length=32, blank=True, validators=[validate_single_line])
    os_version = models.CharField(max_length=32, blank=True, validators=[validate_single_line])
    device_model = models.CharField(max_length=64, blank=True, validators=[validate_single_line])
    push_token = models.CharField(max_length=512, blank=True, validators=[validate_single_line])
    locale = models.CharField(max_length=16, blank=True, validators=[validate_locale])
    timezone = models.CharField(max_length=64, blank=True, validators=[validate_timezone])
    is_active = models.BooleanField(default=True)
    created_at = models.DateTimeField(auto_now_add=True)
    last_seen_at = models.DateTimeField(null=True, blank=True)
    last_ip = models.GenericIPAddressField(null=True, blank=True)
    # Which master key of DEVICE_SECRET_KEYS the secret was derived from, so keys can rotate.
    secret_kid = models.CharField(max_length=32)
    # The device's one live refresh chain (the `cid` claim of its tokens) and the id of the one
    # refresh token of that chain that may still be spent. Both empty: logged out or revoked.
    token_chain = models.CharField(max_length=32, blank=True, default="", editable=False)
    refresh_jti = models.CharField(max_length=32, blank=True, default="", editable=False)

    class Meta:
        indexes = [
            # A user's active devices (revocation, the CMS user page).
            models.Index(fields=["user", "is_active"], name="device_user_active_idx"),
            # Registrations per day (CMS dashboard).
            models.Index(fields=["created_at"], name="device_created_idx"),
            # Stale devices (the cron job that deactivates devices unseen for a while).
            models.Index(fields=["is_active", "last_seen_at"], name="device_active_seen_idx"),
            # Devices by platform (CMS dashboard and filters).
            models.Index(fields=["platform"], name="device_platform_idx"),
        ]

    def __str__(self) -> str:
        return f"{self.get_platform_display()} device {self.id}"


# --- Example API (api/apis/example/): the reference feature to copy, then delete -------------


@counts.tracked
class Category(models.Model):
    name = models.CharField(max_length=100)
    slug = models.SlugField(max_length=100, unique=True)
    description = models.TextField(blank=True)

    class Meta:
        ordering = ["name"]
        verbose_name_plural = "categories"

    def __str__(self) -> str:
        return self.name


@counts.tracked
class Item(models.Model):
    owner = models.ForeignKey(User, on_delete=models.CASCADE, related_name="items")
    # PROTECT: deleting a category that still has items is refused (409), not a cascade.
    category = models.ForeignKey(Category, on_delete=models.PROTECT, related_name="items")
    title = models.CharField(max_length=200)
    description = models.TextField(blank=True)
    # Never negative, whoever writes it: the API's serializer, the admin's form, the database.
    price = models.DecimalField(max_digits=10, decimal_places=2, validators=[MinValueValidator(0)])
    is_published = models.BooleanField(default=False)
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["-created_at", "-id"]
        indexes = [
            # The list's order: a page of "published or mine, newest first" reads its 20 rows
            # in index order. (An index led by is_published invites MariaDB to merge it with
            # the owner's for the OR, then sort every visible row: 101 ms a page at 100,000
            # items, against 0.3 ms this way; bench/README.md.)
            models.Index(fields=["-created_at", "-id"], name="item_created_idx"),
            models.Index(fields=["category", "-created_at"], name="item_category_idx"),
            models.Index(fields=["owner", "-created_at"], name="item_owner_idx"),
        ]
        constraints = [
            models.CheckConstraint(condition=models.Q(price__gte=0), name="item_price_not_negative")
        ]

    def __str__(self) -> str:
        return self.title


# --- End of the example API -------------------------------------------------------------------
