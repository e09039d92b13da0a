"""Device registration: a guest user, its profile and a device, and the device's secret."""

import uuid
from dataclasses import dataclass

from django.conf import settings
from django.db import transaction
from django.utils import timezone as django_timezone

from api.models import Device, User, UserProfile
from api.signature import derive_device_secret


@dataclass(frozen=True)
class RegisteredDevice:
    device: Device
    # Derived, returned once, never stored.
    secret: str


@transaction.atomic
def device_register(
    *,
    platform: str,
    ip: str | None,
    app_version: str = "",
    os_version: str = "",
    device_model: str = "",
    push_token: str = "",
    locale: str = "",
    timezone: str = "",
) -> RegisteredDevice:
    """Create a guest user (with its profile) and a device with a server-chosen UUID4.

    The secret is derived from the active master key (the first of DEVICE_SECRET_KEYS), whose
    id the device records so the key can later be rotated.
    """
    key_id, master_key = next(iter(settings.DEVICE_SECRET_KEYS.items()))
    device_id = uuid.uuid4()
    user = User(username=f"guest-{device_id.hex[:20]}")
    user.set_unusable_password()
    user.save()
    if locale or timezone:
        UserProfile.objects.filter(user=user).update(locale=locale, timezone=timezone)
    device = Device.objects.create(
        id=device_id,
        user=user,
        platform=platform,
        app_version=app_version,
        os_version=os_version,
        device_model=device_model,
        push_token=push_token,
        locale=locale,
        timezone=timezone,
        secret_kid=key_id,
        last_ip=ip,
        last_seen_at=django_timezone.now(),
    )
    return RegisteredDevice(device, derive_device_secret(master_key, str(device.id)))
