"""What authentication needs to know of a device and its user, shared by every process.

Each authenticated request reads two entries in one round trip (MGET) from the security cache,
so checking revocation costs no SQL query; for a bearer request that MGET rides along with the
rate limiter's round trip. The database stays the source of truth:

- every change is written to the cache as it is saved (model signals, and `publish_device` for
  the UPDATEs that bypass them), inside the saving transaction: if the cache is down the write
  raises and the change rolls back, so a revocation is never lost;
- a miss (first use, expiry, cache down) is read from the database and added with SET NX, which
  never overwrites a newer value written by a concurrent change;
- entries expire after STATE_TTL, a bound on any staleness.
"""

import logging
import uuid
from dataclasses import dataclass
from typing import Any, cast

from django.core.cache import caches
from django.db.models.signals import post_save
from django.dispatch import receiver

from api.exceptions import ServiceUnavailable
from api.models import Device, User

logger = logging.getLogger(__name__)

STATE_TTL = 300


@dataclass(frozen=True)
class DeviceState:
    device_id: str
    user_id: int
    active: bool
    secret_kid: str
    # The live refresh chain; empty after logout or revocation.
    token_chain: str


@dataclass(frozen=True)
class UserState:
    active: bool
    staff: bool
    superuser: bool


def _device_key(device_id: str) -> str:
    return f"auth:device:{device_id}"


def _user_key(user_id: int) -> str:
    return f"auth:user:{user_id}"


def _device_entry(device: Device) -> dict[str, Any]:
    return {
        "user_id": device.user_id,
        "active": device.is_active,
        "secret_kid": device.secret_kid,
        "token_chain": device.token_chain,
    }


def _user_entry(user: User) -> dict[str, Any]:
    return {"active": user.is_active, "staff": user.is_staff, "superuser": user.is_superuser}


def state_keys(device_id: uuid.UUID, user_id: int) -> list[str]:
    """The Redis keys of a device's and its user's entries, for reading them in a round trip
    made for something else (the rate limiter's, see api.throttling.middleware)."""
    cache = caches["security"]
    return [cache.make_key(_device_key(str(device_id))), cache.make_key(_user_key(user_id))]


def load(
    device_id: uuid.UUID,
    user_id: int | None = None,
    *,
    prefetched: list[bytes | None] | None = None,
) -> tuple[DeviceState, UserState] | None:
    """The state of a device and its user, or None when there is no such device.

    With `user_id` known (a bearer token names it) both entries come in one round trip, or in
    none when `prefetched` holds the raw values of `state_keys(device_id, user_id)`; without it
    (a signed request names only the device) the user's entry takes a second one.
    """
    device_key = _device_key(str(device_id))
    cache = caches["security"]
    try:
        if prefetched is not None and user_id is not None:
            device_raw, user_raw = prefetched
            if device_raw is not None and user_raw is not None:
                # Raw values come only from Redis, so the cache is django-redis's: its client
                # decodes them as its own reads would.
                client = cast(Any, cache).client
                device_entry = client.decode(device_raw)
                if device_entry["user_id"] == user_id:
                    user_entry = client.decode(user_raw)
                    return DeviceState(str(device_id), **device_entry), UserState(**user_entry)
        keys = [device_key] if user_id is None else [device_key, _user_key(user_id)]
        cached = cache.get_many(keys)
        device_entry = cached.get(device_key)
        if device_entry is not None:
            user_key = _user_key(device_entry["user_id"])
            user_entry = cached[user_key] if user_key in cached else cache.get(user_key)
            if user_entry is not None:
                return DeviceState(str(device_id), **device_entry), UserState(**user_entry)
    except Exception as exc:
        logger.warning("auth state cache unavailable, reading the database: %r", exc)
        return _load_from_database(device_id, cache_available=False)
    return _load_from_database(device_id, cache_available=True)


def _load_from_database(
    device_id: uuid.UUID, *, cache_available: bool
) -> tuple[DeviceState, UserState] | None:
    device = (
        Device.objects.select_related("user")
        .only(
            "id",
            "user_id",
            "is_active",
            "secret_kid",
            "token_chain",
            "user__is_active",
            "user__is_staff",
            "user__is_superuser",
        )
        .filter(pk=device_id)
        .first()
    )
    if device is None:
        return None
    device_entry, user_entry = _device_entry(device), _user_entry(device.user)
    if cache_available:
        try:
            cache = caches["security"]
            cache.add(_device_key(str(device.id)), device_entry, STATE_TTL)
            cache.add(_user_key(device.user_id), user_entry, STATE_TTL)
        except Exception as exc:
            logger.warning("could not cache auth state: %r", exc)
    return DeviceState(str(device.id), **device_entry), UserState(**user_entry)


def _publish(key: str, entry: dict[str, Any]) -> None:
    try:
        caches["security"].set(key, entry, STATE_TTL)
    except Exception as exc:
        # Raising inside the saving transaction rolls the change back: better a failed request
        # than a revocation that other processes never see.
        raise ServiceUnavailable(
            "The authentication state store is unavailable; retry shortly.",
            headers={"Retry-After": "5"},
        ) from exc


def publish_device(device: Device) -> None:
    """Write a device's current state for every process (call after changing it in the DB)."""
    _publish(_device_key(str(device.id)), _device_entry(device))


def publish_device_state(state: DeviceState) -> None:
    """Like `publish_device`, for changes made with a queryset UPDATE."""
    entry = {
        "user_id": state.user_id,
        "active": state.active,
        "secret_kid": state.secret_kid,
        "token_chain": state.token_chain,
    }
    _publish(_device_key(state.device_id), entry)


def publish_user(user: User) -> None:
    """Write a user's current state for every process (call after changing it in the DB)."""
    _publish(_user_key(user.pk), _user_entry(user))


@receiver(post_save, sender=Device, dispatch_uid="auth_state_device_saved")
def _device_saved(sender: type[Device], instance: Device, **kwargs: Any) -> None:
    publish_device(instance)


@receiver(post_save, sender=User, dispatch_uid="auth_state_user_saved")
def _user_saved(sender: type[User], instance: User, **kwargs: Any) -> None:
    publish_user(instance)
