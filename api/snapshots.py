"""Cached representations of a user and of a device, for the responses that show them.

`GET /api/v1/me/` shows the caller's user, profile and device. Asking the database for them on
every request was half of its cost (bench/README.md); they change rarely. So the view keeps
what it rendered in two entries, one per row it shows: `snapshot:v<N>:user:<id>` (the user and
its profile) and `snapshot:v<N>:device:<id>`, and reads them in the rate limiter's round trip
(api.read_ahead): a warm request costs no query and no round trip of its own. They live in
the security cache because that round trip is made on its connection. What goes in an entry
is the view's business; this module keeps them right:

- every change of a row an entry shows replaces the entry by a tombstone, as it is made and
  again once it commits (api.utils.now_and_on_commit): model signals on save and delete, and
  `forget_device` / `forget_user` in the services that change rows with a queryset UPDATE
  (which sends no signal);
- a miss is filled with SET NX (`fill`), which a tombstone blocks, and only by a request that
  read the row less than FILL_WINDOW ago. So a request that read a row just before a change
  cannot put the old row back: if it fills before the change is forgotten, the tombstone
  replaces its entry; if after, the tombstone (which outlives FILL_WINDOW) is still there. This
  is the "lease" of Facebook's memcache paper, with time in place of lease tokens. Unlike a
  real lease, the window is checked where the fill is sent, not where it lands: a fill that
  reaches Redis after the tombstone has expired (Redis or the process stalled for over a
  second) puts the old row back, until SNAPSHOT_TTL;
- entries expire after SNAPSHOT_TTL, which bounds staleness if forgetting ever fails: unlike
  the auth state, a stale snapshot grants nothing, so a cache error here is logged, never
  raised, and the change it follows stands.
"""

import logging
import time
import uuid
from collections.abc import Mapping
from typing import Any, cast

from django.db.models import Model
from django.db.models.signals import post_delete, post_save
from django.dispatch import receiver
from django_redis.cache import RedisCache

from api import read_ahead
from api.logs import described
from api.models import Device, User, UserProfile
from api.utils import now_and_on_commit, thread_cache

logger = logging.getLogger(__name__)

SNAPSHOT_TTL = 300
# Part of every key. Bump it with any change to what /me/ renders (a field added, removed or
# rendered differently): a release then never serves, nor fills for the release it replaces,
# entries of the other's shape. A change it makes forgets both's; one the old release makes
# during the rolling deploy forgets only the old one's, so the new release's entry can show it
# up to SNAPSHOT_TTL late. tests/apis/me/test_me.py fails until it is bumped.
SNAPSHOT_VERSION = 1
FILL_WINDOW = 1.0
TOMBSTONE_TTL = 2  # longer than FILL_WINDOW
_TOMBSTONE = "forgotten"


def user_key(user_id: int, version: int | None = None) -> str:
    return f"snapshot:v{version or SNAPSHOT_VERSION}:user:{user_id}"


def device_key(device_id: uuid.UUID | str, version: int | None = None) -> str:
    return f"snapshot:v{version or SNAPSHOT_VERSION}:device:{device_id}"


def _live_versions() -> list[int]:
    """The versions whose entries a change must forget: this release's, and during a rolling
    deploy the release it replaces, whose processes still serve their own (else stale for
    SNAPSHOT_TTL after a change made here)."""
    return [version for version in (SNAPSHOT_VERSION, SNAPSHOT_VERSION - 1) if version >= 1]


def read(keys: list[str], prefetched: Mapping[str, bytes | None] | None) -> dict[str, Any]:
    """The entries of `keys`: a snapshot, `None` when there is none to use (a miss or a
    tombstone) and an error reading them counts as a miss. Entries read ahead cost no round
    trip; the others take one together."""
    cache = thread_cache("security")
    try:
        found = read_ahead.read_many(cache, prefetched, keys)
    except Exception as exc:
        logger.warning("snapshot cache unavailable, reading the database: %s", described(exc))
        return dict.fromkeys(keys)
    return found


def usable(entry: Any) -> bool:
    """Whether an entry `read` returned is a snapshot to serve."""
    return entry is not None and entry != _TOMBSTONE


def fill(snapshots: Mapping[str, Any], *, read_at: float) -> None:
    """Keep fresh snapshots, each only where there is no entry at all: never over a tombstone.
    `read_at` is when (time.monotonic()) the rows they show were read; later than FILL_WINDOW
    ago, they are too old to keep."""
    if time.monotonic() - read_at > FILL_WINDOW:
        return
    cache = thread_cache("security")
    try:
        for key, snapshot in snapshots.items():
            cache.add(key, snapshot, SNAPSHOT_TTL)
    except Exception as exc:
        logger.warning("could not cache a snapshot: %s", described(exc))


def _forget(keys: list[str], using: str | None) -> None:
    def tombstone() -> None:
        cache = thread_cache("security")
        try:
            if len(keys) > 1 and isinstance(cache, RedisCache):
                # One round trip of plain SETs. django-redis's set_many wraps them in
                # MULTI/EXEC, which tombstones, each standing on its own, have no use for.
                client = cast(Any, cache).client
                pipeline = client.get_client(write=True).pipeline(transaction=False)
                for key in keys:
                    client.set(key, _TOMBSTONE, TOMBSTONE_TTL, client=pipeline)
                pipeline.execute()
            else:
                for key in keys:
                    cache.set(key, _TOMBSTONE, TOMBSTONE_TTL)
        except Exception as exc:
            logger.warning(
                "could not forget %s, stale for %d s at most: %s",
                keys,
                SNAPSHOT_TTL,
                described(exc),
            )

    now_and_on_commit(tombstone, using)


def forget_user(user_id: int, using: str | None = None) -> None:
    """Call after changing a user or its profile with a queryset UPDATE (on database `using`)."""
    _forget([user_key(user_id, version) for version in _live_versions()], using)


def forget_device(device_id: uuid.UUID | str, using: str | None = None) -> None:
    """Call after changing a device with a queryset UPDATE (on database `using`)."""
    _forget([device_key(device_id, version) for version in _live_versions()], using)


# Every sender: a row saved through a proxy or a child model (api.utils.tables_of) is an
# instance of these too.
@receiver(post_save, dispatch_uid="snapshot_saved")
@receiver(post_delete, dispatch_uid="snapshot_deleted")
def _changed(
    sender: type[Model], instance: Model, using: str, created: bool = False, **kwargs: Any
) -> None:
    if created and not isinstance(instance, UserProfile):
        return  # nobody can have read a row that did not exist
    # A user's entry shows its profile, or that it has none (loaddata, bulk_create, a profile
    # deleted): a profile's creation changes what it shows.
    if isinstance(instance, User):
        forget_user(instance.pk, using)
    elif isinstance(instance, UserProfile):
        forget_user(instance.user_id, using)
    elif isinstance(instance, Device):
        forget_device(instance.pk, using)
