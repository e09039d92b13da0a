"""A project with a second database. The auth state mirrors the database users and devices are
written to (the router's, "default" without one), following its transactions; what follows any
save (the /me/ snapshots, a user's profile) follows the database it was saved to."""

import contextlib
from typing import Any

import pytest
from django.core.cache import caches
from django.db import transaction
from django.db.models import Model

from api.models import Device, User, UserProfile

pytestmark = pytest.mark.django_db(transaction=True, databases=["default", "other"])


class AccountsOnOther:
    """A router that keeps the accounts' tables on "other"."""

    def _route(self, model: type[Model], **hints: Any) -> str | None:
        return "other" if model in (User, UserProfile, Device) else None

    db_for_read = db_for_write = _route

    def allow_relation(self, *objects: Any, **hints: Any) -> bool:
        return True


@pytest.fixture
def accounts_on_other(settings):
    settings.DATABASE_ROUTERS = [f"{__name__}.AccountsOnOther"]


class Abandoned(Exception):
    pass


def cached(kind: str, key: object) -> Any:
    return caches["security"].get(f"auth:{kind}:{key}")


def test_a_user_created_on_another_database_has_its_profile_there():
    user = User.objects.db_manager("other").create_user("elsewhere", password="x")
    assert UserProfile.objects.using("other").filter(user_id=user.pk).exists()
    assert not User.objects.filter(pk=user.pk).exists()


def test_a_grant_waits_for_the_commit_of_the_database_accounts_are_written_to(accounts_on_other):
    user = User.objects.create_user("elsewhere", password="x")
    assert user._state.db == "other"
    user.is_active = False
    user.save()
    assert cached("user", user.pk)["active"] is False

    with contextlib.suppress(Abandoned), transaction.atomic(using="other"):
        user.is_active = True
        user.save()
        assert cached("user", user.pk)["active"] is False
        raise Abandoned
    assert cached("user", user.pk)["active"] is False

    with transaction.atomic(using="other"):
        user.save()
        assert cached("user", user.pk)["active"] is False
    assert cached("user", user.pk)["active"] is True


def test_a_device_changing_hands_on_that_database_is_pending_until_its_commit(accounts_on_other):
    owner = User.objects.create_user("owner", password="x")
    heir = User.objects.create_user("heir", password="x")
    device = Device.objects.create(user=owner, platform="ios", secret_kid="k1")
    with transaction.atomic(using="other"):
        device.user = heir
        device.save(update_fields=["user"])
        assert cached("device", device.pk)["pending"] is True
    assert cached("device", device.pk)["user_id"] == heir.pk


def test_a_copy_of_the_accounts_elsewhere_shares_no_entries_with_them():
    user = User.objects.create_user("here", password="x")
    entry = cached("user", user.pk)
    assert entry == {"active": True, "staff": False, "superuser": False}
    # The same id on another database: another user, whom authentication never reads.
    twin = User(pk=user.pk, username="twin", is_staff=True, is_superuser=True)
    twin.save(using="other")
    assert cached("user", user.pk) == entry
    twin.delete()
    assert cached("user", user.pk) == entry
