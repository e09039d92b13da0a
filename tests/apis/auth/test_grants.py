"""What a change grants reaches the auth state once it commits, what it takes away at once
(api.auth_state_mirroring): a reactivation or a staff grant that rolls back, or whose COMMIT
fails, never works; a revocation works before its transaction ends. Transactions here really
commit."""

import contextlib
import functools
from collections.abc import Callable
from typing import Any

import pytest
from django.core import serializers
from django.core.cache import caches
from django.db import transaction
from django.db.models.signals import pre_save
from django.db.transaction import TransactionManagementError
from django.test import RequestFactory
from rest_framework.request import Request

from api import auth_state
from api.apis.auth.services import device_revoke, user_activate, user_deactivate
from api.authentication import BearerAuthentication
from api.exceptions import ServiceUnavailable
from api.models import Device, User
from tests.asserts import assert_problem
from tests.databases import scratch_database
from tests.processes import DJANGO_SETUP, run_manage, run_python
from tests.services import closed_port, redis_caches
from tests.signing import GET_TOKEN, ME, bearer, device_signed, get_token, register

pytestmark = pytest.mark.django_db(transaction=True)


class Abandoned(Exception):
    """Raised inside a transaction after the save: it rolls back, as a failed COMMIT does."""


def rolled_back(change: Callable[[], object]) -> None:
    """Run `change` in a transaction that then rolls back."""
    with contextlib.suppress(Abandoned), transaction.atomic():
        change()
        raise Abandoned


def cached(kind: str, key: object) -> Any:
    return caches["security"].get(f"auth:{kind}:{key}")


def pending(kind: str, key: object) -> bool:
    """Whether the entry is pending: a change none can show until it commits is under way."""
    entry = cached(kind, key)
    return isinstance(entry, dict) and entry.get("pending") is True


def acts_as_staff(access: str) -> bool:
    request = Request(RequestFactory().get(ME, HTTP_AUTHORIZATION=f"Bearer {access}"))
    authenticated = BearerAuthentication().authenticate(request)
    assert authenticated is not None
    return bool(authenticated[0].is_staff)


def test_a_staff_grant_that_rolls_back_grants_nothing(client):
    device = register(client)
    access = get_token(client, device)["access"]

    def grant() -> None:
        user = User.objects.get(pk=device.user_id)
        user.is_staff = True
        user.save(update_fields=["is_staff"])

    rolled_back(grant)
    assert User.objects.get(pk=device.user_id).is_staff is False
    assert cached("user", device.user_id)["staff"] is False
    assert acts_as_staff(access) is False


def test_a_reactivation_that_rolls_back_leaves_the_user_refused(client):
    device = register(client)
    user_deactivate(user=User.objects.get(pk=device.user_id))
    rolled_back(lambda: user_activate(user=User.objects.get(pk=device.user_id)))
    assert cached("user", device.user_id)["active"] is False
    assert_problem(device_signed(client, device, GET_TOKEN, {}), 401, "user_inactive")


def test_a_grant_is_published_when_it_commits_and_a_revocation_at_once(client):
    device = register(client)
    access = get_token(client, device)["access"]
    with transaction.atomic():
        user = User.objects.get(pk=device.user_id)
        user.is_staff = True
        user.save(update_fields=["is_staff"])
        assert cached("user", device.user_id)["staff"] is False
    assert cached("user", device.user_id)["staff"] is True
    assert acts_as_staff(access) is True

    with transaction.atomic():
        user_deactivate(user=User.objects.get(pk=device.user_id))
        assert cached("user", device.user_id)["active"] is False
        assert cached("device", device.id)["token_chain"] == ""


def give_to_new_owner(device_id: str) -> Device:
    row = Device.objects.get(pk=device_id)
    row.user = User.objects.create_user("new-owner", password="x")
    row.save(update_fields=["user"])
    return row


def test_a_device_changing_hands_is_read_from_the_database_until_that_commits(client):
    device = register(client)
    access = get_token(client, device)["access"]
    with transaction.atomic():
        row = give_to_new_owner(device.id)
        # Whose it is, is the database's to say: the committed row, for every other process.
        assert cached("device", device.id) == {"pending": True}
    assert cached("device", device.id)["user_id"] == row.user_id
    assert cached("device", device.id)["active"] is True
    # The old owner's tokens name another user now.
    assert_problem(bearer(client, access, "GET", ME), 401, "token_invalid")


def test_a_change_of_owner_whose_publication_fails_after_the_commit_is_published_again(
    client, settings
):
    device = register(client)
    access = get_token(client, device)["access"]
    security = settings.CACHES
    with transaction.atomic():
        row = give_to_new_owner(device.id)
        # The cache goes away between the save and the commit.
        settings.CACHES = redis_caches(f"redis://127.0.0.1:{closed_port()}/0")
    settings.CACHES = security
    assert pending("device", device.id)
    # The next request of the process whose publication failed, finding Redis answering again,
    # publishes the committed row first (api.auth_state._unsure).
    assert_problem(bearer(client, access, "GET", ME), 401, "token_invalid")
    assert not pending("device", device.id)
    assert cached("device", device.id)["user_id"] == row.user_id
    # The device carries on for its new owner (its get-token publishes its state).
    me = bearer(client, get_token(client, device)["access"], "GET", ME)
    assert me.status_code == 200
    assert me.json()["user"]["id"] == row.user_id
    assert cached("device", device.id)["user_id"] == row.user_id


def test_a_change_of_owner_that_rolls_back_leaves_the_device_working(client):
    device = register(client)
    access = get_token(client, device)["access"]
    rolled_back(lambda: give_to_new_owner(device.id))
    # Not refused (which sends the app to register again): read from the database.
    assert bearer(client, access, "GET", ME).status_code == 200
    assert device_signed(client, device, GET_TOKEN, {}).status_code == 200


def test_a_forced_update_of_a_new_instance_grants_nothing_before_the_commit(client):
    device = register(client)
    device_revoke(device=Device.objects.get(pk=device.id))
    revoked = Device.objects.get(pk=device.id)

    def reactivate_through_a_new_instance() -> None:
        # New, with a key of the field's default kind: it looks like an INSERT until it UPDATEs.
        fresh = Device(**{f.attname: getattr(revoked, f.attname) for f in Device._meta.fields})
        fresh.is_active = True
        fresh.save(force_update=True)
        assert pending("device", device.id)

    rolled_back(reactivate_through_a_new_instance)
    assert_problem(device_signed(client, device, GET_TOKEN, {}), 401, "device_revoked")
    with transaction.atomic():
        reactivate_through_a_new_instance()
    assert cached("device", device.id)["active"] is True


def test_loaddata_restoring_a_deleted_device_grants_nothing_before_the_commit(client):
    device = register(client)
    access = get_token(client, device)["access"]
    dump = serializers.serialize("json", [Device.objects.get(pk=device.id)])
    Device.objects.get(pk=device.id).delete()

    def restore() -> None:
        for restored in serializers.deserialize("json", dump):
            restored.save()  # raw, as loaddata saves: an INSERT with the deleted device's key
        assert cached("device", device.id) == "deleted"  # until the commit

    rolled_back(restore)
    assert_problem(bearer(client, access, "GET", ME), 401, "token_revoked")
    assert_problem(device_signed(client, device, GET_TOKEN, {}), 401, "device_unknown")
    with transaction.atomic():
        restore()
    assert cached("device", device.id)["active"] is True
    assert bearer(client, access, "GET", ME).status_code == 200


def test_a_second_save_in_the_transaction_publishes_nothing_the_first_granted(client):
    device = register(client)
    access = get_token(client, device)["access"]
    with transaction.atomic():
        user = User.objects.get(pk=device.user_id)
        user.is_staff = True
        user.save(update_fields=["is_staff"])
        user.first_name = "Ada"
        user.save()  # reads back a row that already says staff: not what is committed
        assert cached("user", device.user_id)["staff"] is False
        assert acts_as_staff(access) is False
    assert acts_as_staff(access) is True


def test_a_rolled_back_transaction_leaves_nothing_the_next_one_takes_for_committed(client):
    device = register(client)

    def touch() -> None:
        User.objects.get(pk=device.user_id).save(update_fields=["is_active"])

    rolled_back(touch)  # it read the user as active
    user_deactivate(user=User.objects.get(pk=device.user_id))
    with transaction.atomic():
        user_activate(user=User.objects.get(pk=device.user_id))
        assert cached("user", device.user_id)["active"] is False
    assert cached("user", device.user_id)["active"] is True


def test_a_new_instance_saved_over_an_existing_row_grants_nothing_before_the_commit(client):
    device = register(client)
    committed = User.objects.get(pk=device.user_id)
    with transaction.atomic():
        # `_state.adding`, yet it UPDATEs: the key is an existing row's.
        User(pk=committed.pk, username=committed.username, is_staff=True).save()
        assert cached("user", device.user_id)["staff"] is False
    assert cached("user", device.user_id)["staff"] is True


def test_loaddata_restoring_a_revoked_device_grants_nothing_before_the_commit(client):
    device = register(client)
    dump = serializers.serialize("json", [Device.objects.get(pk=device.id)])
    device_revoke(device=Device.objects.get(pk=device.id))
    with transaction.atomic():
        for restored in serializers.deserialize("json", dump):
            restored.save()  # raw, as loaddata saves
        assert cached("device", device.id)["active"] is False
        assert_problem(device_signed(client, device, GET_TOKEN, {}), 401, "device_revoked")
    assert cached("device", device.id)["active"] is True


def test_a_revocation_the_auth_state_cannot_hear_of_is_a_503_and_rolls_back(client, settings):
    device = register(client)
    settings.CACHES = redis_caches(f"redis://127.0.0.1:{closed_port()}/0")
    # Better a failed request than a revocation other processes never see.
    with pytest.raises(ServiceUnavailable):
        device_revoke(device=Device.objects.get(pk=device.id))
    assert Device.objects.get(pk=device.id).is_active is True


@pytest.mark.parametrize("change", ["revoke", "deactivate"])
def test_a_revocation_that_rolled_back_and_reached_redis_late_is_undone_there(
    client, settings, change
):
    # A SET that timed out on a Redis that stalled runs once it answers again, after the change
    # it carried rolled back: the process that saw it fail publishes the committed row again
    # before it next reads the auth state, or the app would be refused, and register anew.
    device = register(client)
    access = get_token(client, device)["access"]
    row = Device.objects.get(pk=device.id)
    if change == "revoke":
        key, entry = f"auth:device:{device.id}", auth_state.entry_of_device(row)
        revoke = functools.partial(device_revoke, device=row)
    else:
        key, entry = f"auth:user:{row.user_id}", auth_state.entry_of_user(row.user)
        revoke = functools.partial(user_deactivate, user=row.user)
    security = settings.CACHES
    settings.CACHES = redis_caches(f"redis://127.0.0.1:{closed_port()}/0")
    with pytest.raises(ServiceUnavailable):
        revoke()
    settings.CACHES = security
    late = entry | {"active": False}
    caches["security"].set(key, late, auth_state.STATE_TTL)  # it lands
    assert bearer(client, access, "GET", ME).status_code == 200
    assert caches["security"].get(key)["active"] is True
    assert Device.objects.get(pk=device.id).is_active is True


def test_a_read_publishes_a_few_unsure_entries_again_not_a_whole_outage_of_them(client, settings):
    devices = [register(client) for _ in range(5)]
    access = get_token(client, devices[0])["access"]
    security = settings.CACHES
    settings.CACHES = redis_caches(f"redis://127.0.0.1:{closed_port()}/0")
    for device in devices:
        with pytest.raises(ServiceUnavailable):
            device_revoke(device=Device.objects.get(pk=device.id))
    settings.CACHES = security
    assert len(auth_state._unsure) == 5
    assert bearer(client, access, "GET", ME).status_code == 200
    assert len(auth_state._unsure) == 5 - auth_state._REPAIRS_PER_READ
    assert bearer(client, access, "GET", ME).status_code == 200
    assert not auth_state._unsure


def on_scratch_database(mysql_url: str, redis_url: str, purpose: str, code: str) -> Any:
    """Run `code` (after Django's setup) in a process of its own, on a migrated scratch MariaDB
    database: interleaved transactions need a database that locks rows, whichever the suite
    runs on. Its completed process, which succeeded."""
    with scratch_database(mysql_url, purpose) as url:
        env = {"DATABASE_URL": url, "REDIS_URL": redis_url}
        migrated = run_manage("migrate", "--noinput", env=env)
        assert migrated.returncode == 0, migrated.stderr
        ran = run_python(DJANGO_SETUP + code, env=env)
    assert ran.returncode == 0, ran.stderr
    return ran


# Two transactions interleaved at a commit, which needs a database that locks rows: run on a
# scratch MariaDB database in a process of its own, whichever database the suite runs on.
RACE = """
import threading
from django.core import serializers
from django.core.cache import caches
from django.db import transaction
from api.apis.auth.services import user_activate, user_deactivate
from api.models import User

user = User.objects.create_user("racer", password="x")
user_deactivate(user=user)
revocation_published = threading.Event()

def deactivate_and_take_a_second_to_commit():
    with transaction.atomic():
        user_deactivate(user=User.objects.get(pk=user.pk))
        revocation_published.set()
        threading.Event().wait(1.0)

def then_a_revocation():
    threading.Thread(target=deactivate_and_take_a_second_to_commit).start()
    revocation_published.wait(10)

with transaction.atomic():
    # Runs right after the commit, before the grant is published.
    transaction.on_commit(then_a_revocation)
    user_activate(user=User.objects.get(pk=user.pk))
for thread in threading.enumerate():
    if thread is not threading.current_thread():
        thread.join()
entry = caches["security"].get(f"auth:user:{user.pk}")
print(User.objects.get(pk=user.pk).is_active, entry["active"])
"""


def test_a_grant_published_after_its_commit_never_overwrites_a_revocation_that_followed(
    mysql_url, redis_url
):
    raced = on_scratch_database(mysql_url, redis_url, "grant", RACE)
    # The database and the cache agree: deactivated.
    assert raced.stdout.split() == ["False", "False"]


# A transaction that saves a stale copy of a user (read before a deactivation committed) writes
# is_active back to True: until it commits, the cache must keep the deactivation. The change
# that reads the user before the save locks the row, so the deactivation waits for the stale
# save to end instead of committing between that read and the save's UPDATE.
STALE_SAVE = """
import threading
from django.core.cache import caches
from django.db import transaction
from django.db.models.signals import pre_save
from api.apis.auth.services import user_deactivate
from api.models import User

user = User.objects.create_user("stale", password="x")
stale = User.objects.get(pk=user.pk)
deactivated = threading.Event()

def deactivate():
    user_deactivate(user=User.objects.get(pk=user.pk))
    deactivated.set()

def deactivate_between_the_read_and_the_update(sender, instance, **kwargs):
    if instance is not stale:
        return  # the deactivation's own save
    threading.Thread(target=deactivate).start()
    deactivated.wait(1.0)  # it cannot finish while the row is locked

# Connected after the auth state's receiver: runs once it has read the row.
pre_save.connect(deactivate_between_the_read_and_the_update, sender=User)

class Abandoned(Exception):
    pass

try:
    with transaction.atomic():
        stale.first_name = "Stale"
        stale.save()
        raise Abandoned  # as a COMMIT that fails
except Abandoned:
    pass
for thread in threading.enumerate():
    if thread is not threading.current_thread():
        thread.join()
entry = caches["security"].get(f"auth:user:{user.pk}")
print(User.objects.get(pk=user.pk).is_active, entry["active"])
"""


def test_a_stale_save_that_rolls_back_never_undoes_a_deactivation_in_the_cache(
    mysql_url, redis_url
):
    raced = on_scratch_database(mysql_url, redis_url, "stale", STALE_SAVE)
    assert raced.stdout.split() == ["False", "False"]


# While a change of owner is under way, another process reads the device as committed, less
# what the cache says changes still running take away: its owner's requests carry on, unless
# the same transaction revokes the device or its owner; nothing they read is cached over the
# pending entry.
CHANGING_HANDS = """
import threading
from django.core.cache import caches
from django.db import connection, transaction
from django.test import RequestFactory
from rest_framework.request import Request
from api.apis.auth.services import device_revoke, user_deactivate
from api.authentication import BearerAuthentication
from api.exceptions import AuthError
from api.models import Device, User
from api.tokens import issue_pair

def in_another_process(access, device_id):
    seen = []

    def authenticate():
        header = f"Bearer {access}"
        request = Request(RequestFactory().get("/api/v1/me/", HTTP_AUTHORIZATION=header))
        try:
            user, _ = BearerAuthentication().authenticate(request)
            seen.append(f"user-{user.id}")
        except AuthError as error:
            seen.append(error.default_code)
        entry = caches["security"].get(f"auth:device:{device_id}")
        seen.append(entry.get("pending"))
        connection.close()

    thread = threading.Thread(target=authenticate)
    thread.start()
    thread.join()
    return seen

def change_hands(name, also=lambda device: None):
    owner = User.objects.create_user(name, password="x")
    device = Device.objects.create(user=owner, platform="ios", secret_kid="k1", token_chain="c1")
    access = issue_pair(user_id=owner.pk, device_id=device.pk, chain="c1").access
    with transaction.atomic():
        also(device)
        row = Device.objects.get(pk=device.pk)
        row.user = User.objects.create_user(f"{name}-heir", password="x")
        row.save(update_fields=["user"])
        seen = in_another_process(access, device.pk)
    print(seen[0] == f"user-{owner.pk}" or seen[0], seen[1])

change_hands("plain")
change_hands("revoked", lambda device: device_revoke(device=device))
change_hands("inactive", lambda device: user_deactivate(user=device.user))
"""


def test_an_owner_change_under_way_leaves_the_committed_owner_working(mysql_url, redis_url):
    raced = on_scratch_database(mysql_url, redis_url, "hands", CHANGING_HANDS)
    assert raced.stdout.splitlines() == [
        "True True",  # the committed owner
        "device_revoked True",  # revoked by the same transaction: at once
        "user_inactive True",  # its owner deactivated by the same transaction: at once
    ]


def test_a_device_created_with_the_key_of_a_deleted_one_waits_for_the_commit(client):
    device = register(client)
    access = get_token(client, device)["access"]
    chain = Device.objects.get(pk=device.id).token_chain
    device_revoke(device=Device.objects.get(pk=device.id))
    revoked = Device.objects.get(pk=device.id)
    fields = {f.attname: getattr(revoked, f.attname) for f in Device._meta.concrete_fields}

    def recreate() -> None:
        Device.objects.get(pk=device.id).delete()
        # Its id given: not a new key, whatever the field's default.
        Device.objects.create(**fields | {"is_active": True, "token_chain": chain})
        assert cached("device", device.id) == "deleted"

    rolled_back(recreate)
    # Refused: the delete's tombstone stays, as a revocation that rolls back does (it fails
    # closed); the revoked row is back, and the id given never took its entry's place.
    assert cached("device", device.id) == "deleted"
    assert_problem(bearer(client, access, "GET", ME), 401, "token_revoked")
    with transaction.atomic():
        recreate()
    assert cached("device", device.id)["active"] is True


def test_saving_with_autocommit_off_outside_atomic_is_refused_before_anything_is_saved(client):
    device = register(client)
    device_revoke(device=Device.objects.get(pk=device.id))
    row = Device.objects.get(pk=device.id)
    transaction.set_autocommit(False)
    try:
        row.is_active = True
        with pytest.raises(TransactionManagementError):
            row.save()
    finally:
        transaction.rollback()
        transaction.set_autocommit(True)
    assert Device.objects.get(pk=device.id).is_active is False
    assert cached("device", device.id)["active"] is False


def test_an_autocommit_revocation_whose_publication_fails_is_read_from_the_database(
    client, settings
):
    device = register(client)
    access = get_token(client, device)["access"]
    security = settings.CACHES

    def cut_the_cache(sender: type, instance: Device, **kwargs: Any) -> None:
        # After the auth state's own pre_save (connected first), before the UPDATE commits.
        settings.CACHES = redis_caches(f"redis://127.0.0.1:{closed_port()}/0")

    pre_save.connect(cut_the_cache, sender=Device)
    try:
        row = Device.objects.get(pk=device.id)
        row.is_active = False
        with pytest.raises(ServiceUnavailable):
            row.save()  # autocommit: committed, then its publication fails
    finally:
        pre_save.disconnect(cut_the_cache, sender=Device)
        settings.CACHES = security
    assert Device.objects.get(pk=device.id).is_active is False
    assert pending("device", device.id)
    assert_problem(bearer(client, access, "GET", ME), 401, "device_revoked")
