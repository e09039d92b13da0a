"""A staff change committed while a device's request is between its authentication and its
service's write: the request must neither keep nor publish what the staff change undid. The
change is made, and committed, when the view calls the service; everything is the real database
and Redis."""

from collections.abc import Callable
from typing import Any

import pytest
from django.core.cache import caches

from api.apis.auth import views
from api.apis.auth.services import device_revoke
from api.cms.services import staff_user_activate, staff_user_deactivate
from api.models import Device, User
from tests.asserts import assert_problem
from tests.signing import GET_TOKEN, LOGOUT, ME, bearer, device_signed, get_token, register

pytestmark = pytest.mark.django_db(transaction=True)


def commit_first(monkeypatch: pytest.MonkeyPatch, service: str, change: Callable[[], None]) -> None:
    """Make the view's `service` commit `change` before it does its own work."""
    original = getattr(views, service)

    def changed_first(**kwargs):
        change()
        return original(**kwargs)

    monkeypatch.setattr(views, service, changed_first)


def cached_device(device_id: str) -> dict[str, Any]:
    entry: dict[str, Any] = caches["security"].get(f"auth:device:{device_id}")
    return entry


def test_reactivating_a_user_revives_no_chain_a_racing_get_token_started(client, monkeypatch):
    device = register(client)
    staff = User.objects.create_user("boss", password="x", is_staff=True)

    def deactivate() -> None:
        assert staff_user_deactivate(actor=staff, user=User.objects.get(pk=device.user_id))

    commit_first(monkeypatch, "token_issue", deactivate)
    issued = device_signed(client, device, GET_TOKEN, {})
    monkeypatch.undo()
    # It read the user as active; its tokens are refused from the next request on.
    assert issued.status_code == 200
    access = issued.json()["access"]
    assert_problem(bearer(client, access, "GET", ME), 401, "user_inactive")

    staff_user_activate(actor=staff, user=User.objects.get(pk=device.user_id))
    assert Device.objects.get(pk=device.id).token_chain == ""
    assert cached_device(device.id)["token_chain"] == ""
    assert_problem(bearer(client, access, "GET", ME), 401, "token_revoked")
    # The device itself carries on with a new get-token.
    assert bearer(client, get_token(client, device)["access"], "GET", ME).status_code == 200


def reassign(device_id: str) -> Callable[[], None]:
    """What the admin's device form does when staff give the device to another user."""

    def change() -> None:
        row = Device.objects.get(pk=device_id)
        row.user = User.objects.create_user("new-owner", password="x")
        row.save(update_fields=["user"])

    return change


def test_a_get_token_racing_a_change_of_owner_is_retried_and_publishes_nothing(client, monkeypatch):
    device = register(client)
    commit_first(monkeypatch, "token_issue", reassign(device.id))
    refused = device_signed(client, device, GET_TOKEN, {})
    monkeypatch.undo()
    # Not device_revoked: that would send the app to register again, losing the device.
    assert_problem(refused, 503, "service_unavailable")
    assert refused["Retry-After"] == "1"
    owner = Device.objects.get(pk=device.id).user_id
    assert owner != device.user_id
    # The cache says what the database says: the new owner, no chain.
    assert cached_device(device.id)["user_id"] == owner
    assert Device.objects.get(pk=device.id).token_chain == ""
    # Signed again, it gets the new owner's tokens.
    access = get_token(client, device)["access"]
    assert bearer(client, access, "GET", ME).json()["user"]["id"] == owner


@pytest.mark.parametrize(
    ("change", "code"),
    [
        (
            lambda device_id: device_revoke(device=Device.objects.get(pk=device_id)),
            "device_revoked",
        ),
        (lambda device_id: Device.objects.filter(pk=device_id).delete(), "device_unknown"),
    ],
    ids=["revoked", "deleted"],
)
def test_a_get_token_racing_the_end_of_its_device_sends_the_app_to_register(
    client, monkeypatch, change, code
):
    device = register(client)
    commit_first(monkeypatch, "token_issue", lambda: change(device.id))
    refused = device_signed(client, device, GET_TOKEN, {})
    assert refused.status_code == 401
    assert refused.json()["code"] == code


def test_a_logout_racing_a_change_of_owner_publishes_nothing_of_the_old_owner(client, monkeypatch):
    device = register(client)
    access = get_token(client, device)["access"]
    commit_first(monkeypatch, "device_logout", reassign(device.id))
    assert bearer(client, access, "POST", LOGOUT).status_code == 204
    owner = Device.objects.get(pk=device.id).user_id
    assert owner != device.user_id
    assert cached_device(device.id)["user_id"] == owner
    # The chain ended all the same: logged out means logged out.
    assert Device.objects.get(pk=device.id).token_chain == ""
    assert cached_device(device.id)["token_chain"] == ""
