"""What a change grants reaches the auth state once it commits, what it takes away at once
(api.auth_state): a reactivation or a staff grant that rolls back, or whose COMMIT fails, never
works; a revocation works before its transaction ends. Transactions here really commit."""

import contextlib
from collections.abc import Callable
from typing import Any

import pytest
from django.core.cache import caches
from django.db import transaction
from django.test import RequestFactory
from rest_framework.request import Request

from api.apis.auth.services import device_revoke, user_activate, user_deactivate
from api.authentication import BearerAuthentication
from api.exceptions import ServiceUnavailable
from api.models import Device, User
from tests.databases import scratch_database
from tests.processes import DJANGO_SETUP, run_manage, run_python
from tests.services import closed_port, redis_caches
from tests.signing import GET_TOKEN, ME, device_signed, get_token, register

pytestmark = pytest.mark.django_db(transaction=True)


class Abandoned(Exception):
    """Raised inside a transaction after the save: it rolls back, as a failed COMMIT does."""


def rolled_back(change: Callable[[], None]) -> None:
    """Run `change` in a transaction that then rolls back."""
    with contextlib.suppress(Abandoned), transaction.atomic():
        change()
        raise Abandoned


def cached(kind: str, key: object) -> dict[str, Any]:
    entry: dict[str, Any] = caches["security"].get(f"auth:{kind}:{key}")
    return entry


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
    assert device_signed(client, device, GET_TOKEN, {}).json()["code"] == "user_inactive"


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


def test_a_device_given_to_another_user_changes_hands_in_the_auth_state_when_that_commits(client):
    device = register(client)
    with transaction.atomic():
        row = Device.objects.get(pk=device.id)
        row.user = User.objects.create_user("new-owner", password="x")
        row.save(update_fields=["user"])
        # Until then it is the committed owner's.
        assert cached("device", device.id)["user_id"] == device.user_id
    assert cached("device", device.id)["user_id"] == row.user_id


def test_a_revocation_the_auth_state_cannot_hear_of_is_a_503_and_rolls_back(client, settings):
    device = register(client)
    settings.CACHES = redis_caches(f"redis://127.0.0.1:{closed_port()}/0")
    # Better a failed request than a revocation other processes never see.
    with pytest.raises(ServiceUnavailable):
        device_revoke(device=Device.objects.get(pk=device.id))
    assert Device.objects.get(pk=device.id).is_active is True


# Two transactions interleaved at a commit, which needs a database that locks rows: run on a
# scratch MariaDB database in a process of its own, whichever database the suite runs on.
RACE = """
import threading
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
    with scratch_database(mysql_url, "grant") as url:
        env = {"DATABASE_URL": url, "REDIS_URL": redis_url}
        migrated = run_manage("migrate", "--noinput", env=env)
        assert migrated.returncode == 0, migrated.stderr
        raced = run_python(DJANGO_SETUP + RACE, env=env)
    assert raced.returncode == 0, raced.stderr
    # The database and the cache agree: deactivated.
    assert raced.stdout.split() == ["False", "False"]
