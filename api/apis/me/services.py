from typing import Any

from django.db import transaction
from django.utils import timezone

from api import snapshots
from api.models import Device, UserProfile


@transaction.atomic
def me_update(
    *, user_id: int, device_id: str, profile: dict[str, Any], device: dict[str, Any]
) -> None:
    """Update the caller's profile and their calling device's settings (only the given fields)."""
    if profile:
        UserProfile.objects.filter(user_id=user_id).update(**profile, updated_at=timezone.now())
        snapshots.forget_user(user_id)
    if device:
        Device.objects.filter(pk=device_id, user_id=user_id).update(**device)
        snapshots.forget_device(device_id)
