from api.models import Device


def me_get(*, user_id: int, device_id: str) -> Device:
    """The calling device with its user and profile, in one query."""
    return Device.objects.select_related("user", "user__profile").get(pk=device_id, user_id=user_id)
