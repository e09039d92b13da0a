"""What authentication needs to know of a device and its user, shared by every process.

Each authenticated request reads the entries of its device and user from the security cache,
so checking revocation costs no SQL query: in the rate limiter's round trip where they were read
ahead (`state_keys`), else in one of their own (two for a signed request, whose user only the
device's entry names). The database stays the source of truth:

- every change is written to the cache as it is saved (model signals, which publish the row as
  it stands after the save, and `publish_device_state` for the queryset UPDATEs that bypass
  them), inside the saving transaction: if the cache is down the write raises and the change
  rolls back, so a revocation is never lost. What a change grants (an account reactivated, staff
  rights) is held back until the transaction commits, so a grant that rolls back, or whose
  COMMIT fails, never reaches the cache. What counts as granted is measured against the row as
  committed, read under its lock at the transaction's first change of it. A change no entry can
  show before it commits (a device given to another user) leaves it pending (`_PENDING`):
  readers take the committed row from the database, less what the change takes away. A new
  row is published once it commits. In autocommit, the entry is pending while the save runs,
  then the row is published as committed;
- a miss (first use, expiry, cache down) is read from the database and added with SET NX, which
  never overwrites a newer value written by a concurrent change;
- a deleted device or user leaves a tombstone for STATE_TTL, which that SET NX cannot replace,
  so a request that read the row just before it went cannot bring it back;
- entries expire after STATE_TTL, a bound on any staleness.
"""

import dataclasses
import functools
import logging
import uuid
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any, TypeVar

from django.core.cache import BaseCache
from django.db import router, transaction
from django.db.models import Model
from django.db.models.signals import post_delete, post_save, pre_save
from django.db.transaction import TransactionManagementError
from django.dispatch import receiver

from api import read_ahead
from api.exceptions import ServiceUnavailable
from api.models import Device, User
from api.utils import tables_of, thread_cache

logger = logging.getLogger(__name__)

STATE_TTL = 300
# The entry of a device or user that was deleted.
_DELETED = "deleted"
# Marks the entry of a row that a change still running makes in a way no entry can show until
# it commits (a device given to another user): `{"pending": True}` and what the change takes
# away at once (`"active": False`, `"token_chain": ""`). Readers take the row as committed from
# the database, less what the entry takes away, and keep nothing. The commit replaces it;
# should that fail (or the transaction roll back), it expires after STATE_TTL, correct all
# along, a query a request the only cost.
_PENDING = "pending"
# The names of an entry that a change can take away: flags, and the refresh chain.
_REVOCABLE = frozenset({"active", "staff", "superuser", "token_chain"})


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


def state_keys(device_id: uuid.UUID, user_id: int | None = None) -> list[str]:
    """The Redis keys of a device's entry (and of its user's, when known), so that they can be
    read in a round trip made for something else: the rate limiter's (api.throttling)."""
    keys = [_device_key(str(device_id))] + ([] if user_id is None else [_user_key(user_id)])
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
    device_key = _device_key(str(device_id))
    wanted = [device_key] if user_id is None else [device_key, _user_key(user_id)]
    cache = thread_cache("security")
    try:
        entries = read_ahead.entries(cache, prefetched, wanted)
        if missing := [key for key in wanted if key not in entries]:
            entries.update(dict.fromkeys(missing) | cache.get_many(missing))
        device_entry = entries[device_key]
        if device_entry == _DELETED:
            return None
        if device_entry is not None and _PENDING in device_entry:
            return _load_pending(device_id, device_entry, cache)
        if device_entry is not None:
            user_key = _user_key(device_entry["user_id"])
            user_entry = entries[user_key] if user_key in entries else cache.get(user_key)
            if user_entry == _DELETED:
                return None
            if user_entry is not None and _PENDING in user_entry:
                return _load_pending(device_id, None, cache)
            if user_entry is not None:
                return DeviceState(str(device_id), **device_entry), UserState(**user_entry)
    except Exception as exc:
        logger.warning("auth state cache unavailable, reading the database: %r", exc)
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
    user_entry = cache.get(_user_key(device.user_id))
    if user_entry == _DELETED:
        return None
    return device, user if user_entry is None else _less(user, user_entry)


_State = TypeVar("_State", DeviceState, UserState)


def _less(state: _State, entry: Mapping[str, Any]) -> _State:
    """`state` less what `entry` takes away: a flag it has False, a chain it has ended."""
    taken = {name: getattr(state, name) and entry[name] for name in _REVOCABLE & entry.keys()}
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
    device_entry, user_entry = _device_entry(device), _user_entry(device.user)
    if keep:
        try:
            cache = thread_cache("security")
            cache.add(_device_key(str(device.id)), device_entry, STATE_TTL)
            cache.add(_user_key(device.user_id), user_entry, STATE_TTL)
        except Exception as exc:
            logger.warning("could not cache auth state: %r", exc)
    return DeviceState(str(device.id), **device_entry), UserState(**user_entry)


def _publish(key: str, entry: dict[str, Any] | str) -> None:
    try:
        thread_cache("security").set(key, entry, STATE_TTL)
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


# What authentication reads of each model: the columns of its entry, its key and its entry.
# A save that writes none of these (a sign-in's `last_login`, a device's push token) leaves the
# entry as it is.
_STATE: dict[type[Model], tuple[tuple[str, ...], Callable[[Any], str], Callable[[Any], Any]]] = {
    Device: (("user_id", "is_active", "secret_kid", "token_chain"), _device_key, _device_entry),
    User: (("is_active", "is_staff", "is_superuser"), _user_key, _user_entry),
}
# Where a save keeps, between pre_save and post_save, the entries as they were before it.
_BEFORE = "_auth_state_before"
# What it keeps for a row it did not read, as it certainly INSERTs (`_inserting`).
_UNREAD = object()


class _Transaction:
    """What a transaction has changed of the auth state, kept on its connection until it ends.

    `committed` holds each changed row's entry as it was before the transaction's first change
    of it, read under the row's lock (None: no row, or none known): what other processes may
    see until the commit, whatever later saves in the same transaction read back of their own
    changes.

    An instance is its own on_commit callback. Django drops that callback when the transaction
    ends (run at the commit, discarded at a rollback, or with the savepoint it was added in), so
    while `connection.run_on_commit` still holds it, the transaction is the one it describes.
    Django has no rollback hook, and a dict left behind by a rolled-back transaction would be
    the next one's stale "committed" state."""

    def __init__(self) -> None:
        self.committed: dict[tuple[type[Model], Any], dict[str, Any] | None] = {}

    def __call__(self) -> None:
        self.committed.clear()


_TRANSACTION = "_auth_state_transaction"


def _current_transaction(using: str) -> _Transaction | None:
    """The record of the transaction running on database `using`; None in autocommit, where
    each save commits at once."""
    connection = transaction.get_connection(using)
    if not connection.in_atomic_block:
        if not connection.get_autocommit():
            # A transaction with no end Django hears of: no on_commit, so no grant published.
            raise TransactionManagementError(
                "Save users and devices in autocommit or in transaction.atomic(), whose commit "
                "publishes what the change grants (api.auth_state)."
            )
        return None
    current: _Transaction | None = getattr(connection, _TRANSACTION, None)
    if current is None or not any(entry[1] is current for entry in connection.run_on_commit):
        current = _Transaction()
        setattr(connection, _TRANSACTION, current)
        transaction.on_commit(current, using=using)
    return current


def _writes_state(sender: type[Model], columns: tuple[str, ...], update_fields: Any) -> bool:
    if update_fields is None:
        return True
    # Names as saved ("user") or as columns ("user_id").
    written = {getattr(sender._meta.get_field(n), "attname", n) for n in update_fields}
    return not written.isdisjoint(columns)


def _current_entry(
    model: type[Model], pk: Any, using: str, *, lock: bool = False
) -> dict[str, Any] | None:
    columns, _, entry_of = _STATE[model]
    rows = model._default_manager.db_manager(using).only(*columns).filter(pk=pk)
    row = (rows.select_for_update() if lock else rows).first()
    return None if row is None else entry_of(row)


def _stricter(before: dict[str, Any], after: dict[str, Any]) -> dict[str, Any]:
    """What may be published while a change has yet to commit: all it takes away, nothing it
    grants. Published then, a grant would outlive a COMMIT that fails, or a rollback, for
    STATE_TTL: a reactivation or a staff grant that never happened in the database would work.
    A revocation is published at once (a failed COMMIT then fails closed)."""
    entry: dict[str, Any] = {}
    for name, new in after.items():
        old = before[name]
        if isinstance(new, bool):
            entry[name] = old and new
        elif name == "token_chain":
            # One ended ends at once; a new one waits for the commit.
            entry[name] = new if new == old or not new else ""
        else:
            entry[name] = new
    if any(after[name] != before[name] for name in after.keys() - _REVOCABLE):
        # A device given to another user, or signing with another master key: which owner or
        # key it has is the database's to say until the commit. Refusing both would send a
        # healthy app to register again.
        return _pending(entry)
    return entry


def _pending(taking: dict[str, Any]) -> dict[str, Any]:
    """A pending entry (`_PENDING`) keeping what `taking` takes away."""
    return {_PENDING: True} | {n: v for n, v in taking.items() if n in _REVOCABLE and not v}


def _publish_row(model: type[Model], pk: Any, using: str) -> None:
    """Publish a row as it stands, read and published under its lock, as every change
    publishes: a change committed since (a revocation right after a grant) has published
    itself, and one still running waits for this, so neither is overwritten by an older state.
    """
    _, key_of, _ = _STATE[model]
    with transaction.atomic(using=using):
        entry = _current_entry(model, pk, using, lock=True)
        if entry is not None:
            _publish(key_of(pk), entry)


def _publish_committed(model: type[Model], pk: Any, using: str) -> None:
    """After the commit: the row as it now stands, grants included."""
    try:
        _publish_row(model, pk, using)
    except Exception as exc:
        # The stricter (or pending) entry stays until STATE_TTL: a grant late, never a
        # revocation lost.
        logger.warning("could not publish the committed auth state: %r", exc)


def _inserting(instance: Model, raw: bool) -> bool:
    """Whether this save certainly INSERTs a row with a new key, leaving no row to read before
    it: a new instance with no primary key yet, or one whose key came from the field's default
    (Django then skips the UPDATE it otherwise tries first). A new instance given the key of an
    existing row, as `loaddata` (raw) makes them, UPDATEs that row. (`save(force_update=True)`
    of a new instance UPDATEs all the same: `_saved` finds out.)"""
    pk = instance._meta.pk
    assert pk is not None
    return instance._state.adding and (
        instance.pk is None or (not raw and (pk.has_default() or pk.has_db_default()))
    )


def _mirrors(model: type[Model], using: str) -> bool:
    """Whether a save on database `using` is one of the rows authentication reads: those of the
    database its model is written to. A copy elsewhere (another alias with the same tables)
    shares no entries with them, which its ids would otherwise overwrite."""
    return using == router.db_for_write(model)


@receiver(pre_save, dispatch_uid="auth_state_saving")
def _saving(
    sender: type[Model],
    instance: Model,
    raw: bool,
    using: str,
    update_fields: frozenset[str] | None,
    **kwargs: Any,
) -> None:
    for model in tables_of(sender) & _STATE.keys():
        columns, key_of, _ = _STATE[model]
        if not _writes_state(sender, columns, update_fields) or not _mirrors(model, using):
            continue
        before: Any
        if _inserting(instance, raw):
            before = _UNREAD  # a new row: nobody has acted on it yet
        else:
            current = _current_transaction(using)
            if current is None:
                # Autocommit: the save commits at once, then `_saved` publishes the row. Pending
                # until then, so that if that fails, readers ask the database (a revocation
                # that other processes never see, else); if this fails, nothing is saved.
                _publish(key_of(instance.pk), _pending({}))
                continue
            if (model, instance.pk) not in current.committed:
                # Locked until the transaction ends: no other change can commit in between.
                before = _current_entry(model, instance.pk, using, lock=True)
                current.committed[model, instance.pk] = before
            before = current.committed[model, instance.pk]
        vars(instance).setdefault(_BEFORE, {})[model] = before


# A change publishes the row as it now stands, not the saved instance: the instance may have been
# loaded before another transaction changed what this save does not write (one staff member
# deactivates a user while another makes them staff), and publishing its stale values would
# undo that change in the cache. Read after this save's UPDATE, which holds the row's lock until
# the commit, the row has every change committed before; one committed after publishes its own.
# What the change grants is published once it commits (`_stricter`).
# Every sender: a user or device saved through a proxy or a child model is one too (tables_of).
@receiver(post_save, dispatch_uid="auth_state_saved")
def _saved(
    sender: type[Model],
    instance: Model,
    created: bool,
    using: str,
    update_fields: frozenset[str] | None,
    **kwargs: Any,
) -> None:
    before_save = vars(instance).pop(_BEFORE, {})
    for model in tables_of(sender) & _STATE.keys():
        columns, key_of, entry_of = _STATE[model]
        if not created and not _writes_state(sender, columns, update_fields):
            continue
        if not _mirrors(model, using):
            continue
        before = before_save.get(model)
        current = _current_transaction(using)
        if current is None:
            # Autocommit: the save has committed. A new key's row is as it was inserted.
            if created and before is _UNREAD:
                _publish(key_of(instance.pk), entry_of(instance))
            else:
                _publish_row(model, instance.pk, using)
            continue
        publish = functools.partial(_publish_committed, model, instance.pk, using)
        if created:
            # Nothing until the commit: its key may be one a deleted row had (`loaddata`, an id
            # given), whose tombstone stays until then; a new key has no entry, and readers
            # find no committed row.
            current.committed.setdefault((model, instance.pk), None)
            transaction.on_commit(publish, using=using)
            continue
        entry = _current_entry(model, instance.pk, using)
        if entry is None:
            continue
        if before is _UNREAD:
            # A forced UPDATE of a new instance: nothing read to measure it against.
            current.committed.setdefault((model, instance.pk), None)
            before = None
        now = _pending(entry) if before is None else _stricter(before, entry)
        _publish(key_of(instance.pk), now)
        if now != entry:
            transaction.on_commit(publish, using=using)


# Deleting a user deletes their devices (CASCADE), and Django sends post_delete for each.
@receiver(post_delete, dispatch_uid="auth_state_deleted")
def _deleted(sender: type[Model], instance: Model, using: str, **kwargs: Any) -> None:
    for model in tables_of(sender) & _STATE.keys():
        if _mirrors(model, using):
            _publish(_STATE[model][1](instance.pk), _DELETED)
