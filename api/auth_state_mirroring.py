"""Every save and delete of a user or a device, written to the auth state (api.auth_state).

Model signals publish the row as it stands after the save, inside the saving transaction: if
the cache is down the write raises and the change rolls back, so a revocation is never lost.
What a change grants (an account reactivated, staff rights) is held back until the transaction
commits, so a grant that rolls back, or whose COMMIT fails, never reaches the cache. What counts
as granted is measured against the row as committed, read under its lock at the transaction's
first change of it. A change no entry can show before it commits (a device given to another
user) leaves it pending (`auth_state.PENDING`). A new row is published once it commits. In
autocommit, the entry is pending while the save runs, then the row is published as committed.
"""

import functools
import logging
from typing import Any

from django.db import router, transaction
from django.db.models import Model
from django.db.models.signals import post_delete, post_save, pre_save
from django.db.transaction import TransactionManagementError
from django.dispatch import receiver

from api.auth_state import (
    DELETED,
    ENTRIES,
    PENDING,
    REVOCABLE,
    committed_entry,
    publish_entry,
    publish_row,
)
from api.logs import described
from api.utils import tables_of

logger = logging.getLogger(__name__)

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
                "publishes what the change grants (api.auth_state_mirroring)."
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
    if any(after[name] != before[name] for name in after.keys() - REVOCABLE):
        # A device given to another user, or signing with another master key: which owner or
        # key it has is the database's to say until the commit. Refusing both would send a
        # healthy app to register again.
        return _pending(entry)
    return entry


def _pending(taking: dict[str, Any]) -> dict[str, Any]:
    """A pending entry (`PENDING`) keeping what `taking` takes away."""
    return {PENDING: True} | {
        name: value for name, value in taking.items() if name in REVOCABLE and not value
    }


def _publish_committed(model: type[Model], pk: Any, using: str) -> None:
    """After the commit: the row as it now stands, grants included."""
    try:
        publish_row(model, pk, using)
    except Exception as exc:
        # The stricter (or pending) entry stays until STATE_TTL: a grant late, never a
        # revocation lost.
        logger.warning("could not publish the committed auth state: %s", described(exc))


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
    for model in tables_of(sender) & ENTRIES.keys():
        columns, key_of, _ = ENTRIES[model]
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
                publish_entry(key_of(instance.pk), _pending({}), row=(model, instance.pk, using))
                continue
            if (model, instance.pk) not in current.committed:
                # Locked until the transaction ends: no other change can commit in between.
                before = committed_entry(model, instance.pk, using, lock=True)
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
    for model in tables_of(sender) & ENTRIES.keys():
        columns, key_of, entry_of = ENTRIES[model]
        if not created and not _writes_state(sender, columns, update_fields):
            continue
        if not _mirrors(model, using):
            continue
        before = before_save.get(model)
        current = _current_transaction(using)
        if current is None:
            # Autocommit: the save has committed. A new key's row is as it was inserted.
            if created and before is _UNREAD:
                publish_entry(
                    key_of(instance.pk), entry_of(instance), row=(model, instance.pk, using)
                )
            else:
                publish_row(model, instance.pk, using)
            continue
        publish = functools.partial(_publish_committed, model, instance.pk, using)
        if created:
            # Nothing until the commit: its key may be one a deleted row had (`loaddata`, an id
            # given), whose tombstone stays until then; a new key has no entry, and readers
            # find no committed row.
            current.committed.setdefault((model, instance.pk), None)
            transaction.on_commit(publish, using=using)
            continue
        entry = committed_entry(model, instance.pk, using)
        if entry is None:
            continue
        if before is _UNREAD:
            # A forced UPDATE of a new instance: nothing read to measure it against.
            current.committed.setdefault((model, instance.pk), None)
            before = None
        now = _pending(entry) if before is None else _stricter(before, entry)
        publish_entry(key_of(instance.pk), now, row=(model, instance.pk, using))
        if now != entry:
            transaction.on_commit(publish, using=using)


# Deleting a user deletes their devices (CASCADE), and Django sends post_delete for each.
@receiver(post_delete, dispatch_uid="auth_state_deleted")
def _deleted(sender: type[Model], instance: Model, using: str, **kwargs: Any) -> None:
    for model in tables_of(sender) & ENTRIES.keys():
        if _mirrors(model, using):
            publish_entry(ENTRIES[model][1](instance.pk), DELETED, row=(model, instance.pk, using))
