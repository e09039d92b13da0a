from api.exceptions import TokenRevoked
from api.models import Device


def me_get(*, user_id: int, device_id: str) -> Device:
    """The calling device with its user and profile, in one query.

    A device deleted after its token was checked (a request racing its deletion) ends the
    request as its deletion ends the next one: `token_revoked`, not a server error.
    """
    try:
        return Device.objects.select_related("user", "user__profile").get(
            pk=device_id, user_id=user_id
        )
    except Device.DoesNotExist:
        raise TokenRevoked() from None
