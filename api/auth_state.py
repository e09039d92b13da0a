"""What authentication needs to know of a device and its user, shared by every process.

Each authenticated request reads the entries of its device and user from the security cache,
so checking revocation costs no SQL query: in the rate limiter's round trip where they were read
ahead (`state_keys`), else in one of their own (two for a signed request, whose user only the
device's entry names). The database stays the source of truth:

- every change is written to the cache as it is saved, inside the saving transaction
  (api.auth_state_mirroring, which follows model signals; `publish_device_state` for the
  queryset UPDATEs that bypass them). An entry may be pending (`PENDING`): readers then take
  the committed row from the database, less what the change under way takes away;
- a miss (first use, expiry, cache down) is read from the database and added with SET NX, which
  never overwrites a newer value written by a concurrent change;
- a deleted device or user leaves a tombstone for STATE_TTL, which that SET NX cannot replace,
  so a request that read the row just before it went cannot bring it back;
- entries expire after STATE_TTL, a bound on any staleness.
"""

import dataclasses
import logging
import time
import uuid
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any, TypeVar

from django.core.cache import BaseCache
from django.db import router, transaction
from django.db.models import Model

from api import read_ahead
from api.exceptions import ServiceUnavailable
from api.logs import described
from api.models import Device, User
from api.utils import thread_cache

logger = logging.getLogger(__name__)

STATE_TTL = 300
# The entry of a device or user that was deleted.
DELETED = "deleted"
# Marks the entry of a row that a change still running makes in a way no entry can show until
# it commits (a device given to another user): `{"pending": True}` and what the change takes
# away at once (`"active": False`, `"token_chain": ""`). Readers take the row as committed from
# the database, less what the entry takes away, and keep nothing. The commit replaces it;
# should that fail (or the transaction roll back), it expires after STATE_TTL, correct all
# along, a query a request the only cost.
PENDING = "pending"
# The names of an entry that a change can take away: flags, and the refresh chain.
REVOCABLE = frozenset({"active", "staff", "superuser", "token_chain"})


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


def key_of_device(device_id: str) -> str:
    return f"auth:device:{device_id}"


def key_of_user(user_id: int) -> str:
    return f"auth:user:{user_id}"


def entry_of_device(device: Device) -> dict[str, Any]:
    state = DeviceState(
        str(device.pk), device.user_id, device.is_active, device.secret_kid, device.token_chain
    )
    return entry_of_device_state(state)


def entry_of_device_state(state: DeviceState) -> dict[str, Any]:
    """A device's entry, from its row (`entry_of_device`) or from the state the services hold."""
    return {
        "user_id": state.user_id,
        "active": state.active,
        "secret_kid": state.secret_kid,
        "token_chain": state.token_chain,
    }


def entry_of_user(user: User) -> dict[str, Any]:
    return {"active": user.is_active, "staff": user.is_staff, "superuser": user.is_superuser}


def state_keys(device_id: uuid.UUID, user_id: int | None = None) -> list[str]:
    """The Redis keys of a device's entry (and of its user's, when known), so that they can be
    read in a round trip made for something else: the rate limiter's (api.throttling)."""
    keys = [key_of_device(str(device_id))] + ([] if user_id is None else [key_of_user(user_id)])
    return read_ahead.redis_keys(keys)


def load(
    device_id: uuid.UUID,
    user_id: int | None = None,
    *,
    prefetched: Mapping[str, bytes | None] | None = None,
) -> tuple[DeviceState, UserState] | None:
    """The state of a device and its user, or None when there is no such device.

    `prefetched` holds raw values read ahead (by `state_keys`): those entries cost no round
    trip here. Of the others, the device's and (when `user_id` is known, as a bearer token
    names it) the user's are read in one round trip; the user's otherwise takes a second one.
    """
    if _unsure and _republish_unsure():
        prefetched = None  # read ahead before the repair: perhaps what it just replaced
    device_key = key_of_device(str(device_id))
    wanted = [device_key] if user_id is None else [device_key, key_of_user(user_id)]
    cache = thread_cache("security")
    try:
        entries = read_ahead.read_many(cache, prefetched, wanted)
        device_entry = entries[device_key]
        if device_entry == DELETED:
            return None
        if device_entry is not None and PENDING in device_entry:
            return _load_pending(device_id, device_entry, cache)
        if device_entry is not None:
            user_key = key_of_user(device_entry["user_id"])
            user_entry = entries[user_key] if user_key in entries else cache.get(user_key)
            if user_entry == DELETED:
                return None
            if user_entry is not None and PENDING in user_entry:
                return _load_pending(device_id, None, cache)
            if user_entry is not None:
                return DeviceState(str(device_id), **device_entry), UserState(**user_entry)
    except Exception as exc:
        logger.warning("auth state cache unavailable, reading the database: %s", described(exc))
        return _load_from_database(device_id, keep=False)
    return _load_from_database(device_id, keep=True)


def _load_pending(
    device_id: uuid.UUID, device_entry: Mapping[str, Any] | None, cache: BaseCache
) -> tuple[DeviceState, UserState] | None:
    """A device (`device_entry`) or its user pending: the rows as committed, less what the
    cache says changes still running take away (a revocation published before its commit)."""
    state = _load_from_database(device_id, keep=False)
    if state is None:
        return None
    device, user = state
    if device_entry is not None:
        device = _less(device, device_entry)
    user_entry = cache.get(key_of_user(device.user_id))
    if user_entry == DELETED:
        return None
    return device, user if user_entry is None else _less(user, user_entry)


_State = TypeVar("_State", DeviceState, UserState)


def _less(state: _State, entry: Mapping[str, Any]) -> _State:
    """`state` less what `entry` takes away: a flag it has False, a chain it has ended."""
    taken = {name: getattr(state, name) and entry[name] for name in REVOCABLE & entry.keys()}
    return dataclasses.replace(state, **taken)


def _load_from_database(
    device_id: uuid.UUID, *, keep: bool
) -> tuple[DeviceState, UserState] | None:
    """Read from the database auth writes to: a replica that lags a revocation would put the
    device back in the cache (SET NX) for STATE_TTL."""
    device = (
        Device.objects.db_manager(router.db_for_write(Device))
        .select_related("user")
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
    device_entry, user_entry = entry_of_device(device), entry_of_user(device.user)
    if keep:
        try:
            cache = thread_cache("security")
            cache.add(key_of_device(str(device.id)), device_entry, STATE_TTL)
            cache.add(key_of_user(device.user_id), user_entry, STATE_TTL)
        except Exception as exc:
            logger.warning("could not cache auth state: %s", described(exc))
    return DeviceState(str(device.id), **device_entry), UserState(**user_entry)


# What authentication reads of each model: the columns of its entry, its key and its entry.
# A save that writes none of these (a sign-in's `last_login`, a device's push token) leaves the
# entry as it is.
ENTRIES: dict[type[Model], tuple[tuple[str, ...], Callable[[Any], str], Callable[[Any], Any]]] = {
    Device: (("user_id", "is_active", "secret_kid", "token_chain"), key_of_device, entry_of_device),
    User: (("is_active", "is_staff", "is_superuser"), key_of_user, entry_of_user),
}
# A row: its model, its primary key and the database it is on.
Row = tuple[type[Model], Any, str]

# Entries whose SET failed, and their rows. A command that timed out on a Redis that stalled is
# not a command that never ran: Redis may run it once it answers again, after the change it
# carried has rolled back (publish_entry raised), and a revocation that never happened would
# refuse the device or user until STATE_TTL, long enough for its app to register as someone new.
# The next reads of the auth state in this process publish each such row again, as it stands in
# the database, a few rows per read. Other processes read the late entry until then; only this
# one knows it may be wrong.
_unsure: dict[str, Row] = {}
_REPAIRS_PER_READ = 3  # each a short transaction: a read must not pay for a whole outage
_REPAIR_INTERVAL = 1.0  # seconds between attempts while Redis stays down
_next_repair = 0.0


def committed_entry(
    model: type[Model], pk: Any, using: str, *, lock: bool = False
) -> dict[str, Any] | None:
    """A row's entry as the database has it (under the row's lock with `lock`), None if no row."""
    columns, _, entry_of = ENTRIES[model]
    rows = model._default_manager.db_manager(using).only(*columns).filter(pk=pk)
    row = (rows.select_for_update() if lock else rows).first()
    return None if row is None else entry_of(row)


def publish_row(model: type[Model], pk: Any, using: str) -> None:
    """Publish a row as it stands, read and published under its lock, as every change
    publishes: a change committed since (a revocation right after a grant) has published
    itself, and one still running waits for this, so neither is overwritten by an older state.
    """
    _, key_of, _ = ENTRIES[model]
    with transaction.atomic(using=using):
        entry = committed_entry(model, pk, using, lock=True)
        if entry is not None:
            publish_entry(key_of(pk), entry, row=(model, pk, using))


def publish_entry(key: str, entry: dict[str, Any] | str, *, row: Row) -> None:
    """Write `row`'s entry for every process; raises ServiceUnavailable when the cache is down."""
    try:
        thread_cache("security").set(key, entry, STATE_TTL)
    except Exception as exc:
        _unsure[key] = row
        # Raising inside the saving transaction rolls the change back: better a failed request
        # than a revocation that other processes never see.
        raise ServiceUnavailable(
            "The authentication state store is unavailable; retry shortly.",
            headers={"Retry-After": "5"},
        ) from exc


def forget_unsure() -> None:
    """Forget the entries left to publish again (for tests, whose databases come and go)."""
    global _next_repair
    _unsure.clear()
    _next_repair = 0.0


def _republish_unsure() -> bool:
    """Publish again the rows of a few entries whose SET failed (`_unsure`); whether any was."""
    global _next_repair
    if time.monotonic() < _next_repair:
        return False
    republished = False
    for _ in range(_REPAIRS_PER_READ):
        try:
            key, row = _unsure.popitem()
        except KeyError:  # none left (another thread took the last one)
            break
        try:
            publish_row(*row)
        except Exception as exc:
            _unsure.setdefault(key, row)
            _next_repair = time.monotonic() + _REPAIR_INTERVAL
            logger.warning("could not publish the auth state of %s again: %s", key, described(exc))
            break
        republished = True
    return republished


def publish_device_state(state: DeviceState) -> None:
    """Publish a device's state after a queryset UPDATE, which sends no signal."""
    entry = entry_of_device_state(state)
    row = (Device, uuid.UUID(state.device_id), router.db_for_write(Device))
    publish_entry(key_of_device(state.device_id), entry, row=row)
