"""A project with a second database: what follows a save (the auth state, the /me/ snapshots, a
user's profile) follows the database it was saved to, its transaction included."""

import contextlib
from typing import Any

import pytest
from django.core.cache import caches
from django.db import transaction

from api.models import Device, User, UserProfile

pytestmark = pytest.mark.django_db(transaction=True, databases=["default", "other"])


class Abandoned(Exception):
    pass


def cached(kind: str, key: object) -> Any:
    return caches["security"].get(f"auth:{kind}:{key}")


def test_a_user_created_on_another_database_has_its_profile_there():
    user = User.objects.db_manager("other").create_user("elsewhere", password="x")
    assert UserProfile.objects.using("other").filter(user_id=user.pk).exists()
    assert not User.objects.filter(pk=user.pk).exists()


def test_a_grant_on_another_database_waits_for_its_commit():
    user = User.objects.db_manager("other").create_user("elsewhere", password="x")
    user.is_active = False
    user.save(using="other")
    assert cached("user", user.pk)["active"] is False

    with contextlib.suppress(Abandoned), transaction.atomic(using="other"):
        user.is_active = True
        user.save(using="other")
        assert cached("user", user.pk)["active"] is False
        raise Abandoned
    assert cached("user", user.pk)["active"] is False

    with transaction.atomic(using="other"):
        user.save(using="other")
        assert cached("user", user.pk)["active"] is False
    assert cached("user", user.pk)["active"] is True


def test_a_device_given_to_another_user_on_another_database_is_pending_until_the_commit():
    users = User.objects.db_manager("other")
    owner, heir = users.create_user("owner", password="x"), users.create_user("heir", password="x")
    device = Device.objects.using("other").create(user=owner, platform="ios", secret_kid="k1")
    with transaction.atomic(using="other"):
        device.user = heir
        device.save(using="other", update_fields=["user"])
        assert cached("device", device.pk) == "pending"
    assert cached("device", device.pk)["user_id"] == heir.pk
