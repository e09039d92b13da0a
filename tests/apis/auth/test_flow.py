"""The whole flow, and rotation, reuse detection and revocation (SPEC §3 Endpoints)."""

import pytest
from django.core.cache import caches
from django.db.models.signals import post_delete
from django.test import RequestFactory
from django.utils import timezone
from rest_framework.request import Request

from api import auth_state
from api.apis.auth.services import device_revoke, user_activate, user_deactivate
from api.authentication import ApiUser, BearerAuthentication
from api.models import Device, User
from tests.asserts import assert_problem
from tests.signing import GET_TOKEN, LOGOUT, ME, REFRESH, bearer, device_signed, get_token, register
from tests.subjects.models import KioskDevice, StaffUser
from tests.subjects.urls import POSTS

pytestmark = pytest.mark.django_db


def refresh(client, device, token):
    return device_signed(client, device, REFRESH, {"refresh": token})


def test_register_get_token_me_refresh_me_logout(client):
    device = register(client, platform="android", app_version="2.0.0")
    tokens = get_token(client, device)
    me = bearer(client, tokens["access"], "GET", ME)
    assert me.status_code == 200
    assert me.json()["device"]["id"] == device.id

    rotated = refresh(client, device, tokens["refresh"])
    assert rotated.status_code == 200
    assert rotated["Cache-Control"] == "no-store"
    new = rotated.json()
    assert new["refresh"] != tokens["refresh"]
    assert bearer(client, new["access"], "GET", ME).status_code == 200
    # The access token from before the refresh is of the same session: it lives until it expires.
    assert bearer(client, tokens["access"], "GET", ME).status_code == 200

    logout = bearer(client, new["access"], "POST", LOGOUT)
    assert logout.status_code == 204
    assert logout.content == b""
    assert_problem(bearer(client, new["access"], "GET", ME), 401, "token_revoked")
    assert_problem(bearer(client, tokens["access"], "GET", ME), 401, "token_revoked")
    assert_problem(refresh(client, device, new["refresh"]), 401, "token_revoked")
    row = Device.objects.get(pk=device.id)
    assert row.token_chain == ""
    assert row.refresh_jti == ""


@pytest.mark.parametrize(
    ("field", "value"), [("push_token", "apns\r\nnew"), ("app_version", "1.1\u202e0")]
)
def test_get_token_refuses_what_registration_refuses_and_writes_nothing(client, field, value):
    # One line each, as at registration and through /me/: staff read them in the CMS.
    device = register(client)
    before = Device.objects.get(pk=device.id)
    problem = assert_problem(
        device_signed(client, device, GET_TOKEN, {field: value}), 400, "validation_error"
    )
    assert [error["field"] for error in problem["errors"]] == [field]
    after = Device.objects.get(pk=device.id)
    assert (getattr(after, field), after.token_chain) == (getattr(before, field), "")


def test_get_token_updates_last_seen_push_token_and_app_version(client):
    device = register(client, app_version="1.0.0")
    before = Device.objects.get(pk=device.id).last_seen_at
    get_token(client, device, push_token="apns-new", app_version="1.1.0")
    row = Device.objects.get(pk=device.id)
    assert row.push_token == "apns-new"
    assert row.app_version == "1.1.0"
    assert before is not None
    assert row.last_seen_at is not None
    assert row.last_seen_at > before


def test_get_token_starts_a_new_chain_and_ends_the_old_one(client):
    device = register(client)
    first = get_token(client, device)
    second = get_token(client, device)
    assert bearer(client, second["access"], "GET", ME).status_code == 200
    assert_problem(bearer(client, first["access"], "GET", ME), 401, "token_revoked")
    assert_problem(refresh(client, device, first["refresh"]), 401, "token_revoked")
    assert refresh(client, device, second["refresh"]).status_code == 200


def test_access_tokens_of_the_chain_survive_rotation(client):
    device = register(client)
    tokens = get_token(client, device)
    rotated = refresh(client, device, tokens["refresh"])
    assert rotated.status_code == 200
    assert rotated.json()["refresh"] != tokens["refresh"]
    assert bearer(client, tokens["access"], "GET", ME).status_code == 200


def test_reuse_of_a_spent_refresh_token_revokes_the_chain(client):
    device = register(client)
    tokens = get_token(client, device)
    newest = refresh(client, device, tokens["refresh"]).json()
    reuse = refresh(client, device, tokens["refresh"])
    assert_problem(reuse, 401, "token_reused")
    assert_problem(refresh(client, device, newest["refresh"]), 401, "token_revoked")
    assert_problem(bearer(client, newest["access"], "GET", ME), 401, "token_revoked")
    recovered = get_token(client, device)
    assert bearer(client, recovered["access"], "GET", ME).status_code == 200


def test_a_spent_refresh_token_of_an_ended_chain_is_revoked_and_spares_the_live_one(client):
    # A copy of a token spent before the device's last get-token: its chain ended with that
    # get-token, so it says nothing of the live chain, and whoever holds it (with the device
    # secret, or it is useless) cannot end the device's session with it.
    device = register(client)
    old = get_token(client, device)
    assert refresh(client, device, old["refresh"]).status_code == 200  # spent
    live = get_token(client, device)
    assert_problem(refresh(client, device, old["refresh"]), 401, "token_revoked")
    assert bearer(client, live["access"], "GET", ME).status_code == 200
    assert refresh(client, device, live["refresh"]).status_code == 200


def test_refresh_without_a_token_is_a_validation_error(client):
    device = register(client)
    problem = assert_problem(device_signed(client, device, REFRESH, {}), 400, "validation_error")
    assert problem["errors"][0]["field"] == "refresh"


def test_refresh_needs_the_device_signature(client):
    device = register(client)
    tokens = get_token(client, device)
    response = client.post(REFRESH, {"refresh": tokens["refresh"]}, format="json")
    assert_problem(response, 401, "signature_missing")
    assert refresh(client, device, tokens["refresh"]).status_code == 200


def test_logout_needs_a_bearer_token(client):
    assert_problem(client.post(LOGOUT), 401, "not_authenticated")


def test_revoked_device_loses_access_on_the_next_request(client):
    device = register(client)
    tokens = get_token(client, device)
    device_revoke(device=Device.objects.get(pk=device.id))
    assert_problem(bearer(client, tokens["access"], "GET", ME), 401, "device_revoked")
    assert_problem(device_signed(client, device, GET_TOKEN, {}), 401, "device_revoked")


def test_a_bulk_revocation_takes_effect_once_its_rows_are_published(client):
    # A queryset update() bypasses the signals the auth state follows (README, "Revoke through
    # the services"): the cached state holds until it expires, or until each row is published.
    device = register(client)
    tokens = get_token(client, device)
    assert bearer(client, tokens["access"], "GET", ME).status_code == 200
    Device.objects.filter(pk=device.id).update(is_active=False)
    assert bearer(client, tokens["access"], "GET", ME).status_code == 200
    auth_state.publish_row(Device, device.id, "default")
    assert_problem(bearer(client, tokens["access"], "GET", ME), 401, "device_revoked")


@pytest.mark.urls("tests.subjects.urls")
def test_a_deleted_device_loses_access_on_the_next_request(client):
    # As the admin deletes it: the device's state is cached (warm), nothing is cleared by hand.
    device = register(client)
    tokens = get_token(client, device)
    assert bearer(client, tokens["access"], "GET", ME).status_code == 200
    Device.objects.get(pk=device.id).delete()
    # A feature's list reads neither the device nor the user: the refusal is authentication's.
    assert_problem(bearer(client, tokens["access"], "GET", POSTS), 401, "token_revoked")
    assert_problem(bearer(client, tokens["access"], "GET", ME), 401, "token_revoked")
    assert_problem(device_signed(client, device, GET_TOKEN, {}), 401, "device_unknown")


def test_a_deleted_user_loses_access_on_the_next_request(client):
    device = register(client)
    tokens = get_token(client, device)
    assert bearer(client, tokens["access"], "GET", ME).status_code == 200
    User.objects.filter(pk=device.user_id).delete()  # a queryset, as the admin's bulk delete
    assert not Device.objects.filter(pk=device.id).exists()
    assert_problem(bearer(client, tokens["access"], "GET", ME), 401, "token_revoked")
    assert_problem(device_signed(client, device, GET_TOKEN, {}), 401, "device_unknown")


def test_a_deleted_users_tombstone_refuses_a_device_whose_own_entry_is_still_cached(client):
    device = register(client)
    tokens = get_token(client, device)
    assert bearer(client, tokens["access"], "GET", ME).status_code == 200
    user = User.objects.get(pk=device.user_id)
    auth_state.publish_row(User, user.pk, "default")
    # The user's tombstone alone, as if the device's entry had been written after it.
    post_delete.send(sender=User, instance=user, using="default")
    assert_problem(bearer(client, tokens["access"], "GET", ME), 401, "token_revoked")


def test_deactivated_user_loses_access_on_the_next_request_and_reactivation_needs_new_tokens(
    client, django_capture_on_commit_callbacks
):
    device = register(client)
    tokens = get_token(client, device)
    user = User.objects.get(pk=device.user_id)
    user_deactivate(user=user)
    assert_problem(bearer(client, tokens["access"], "GET", ME), 401, "user_inactive")
    # A grant reaches the auth state once it commits: run what the commit runs.
    with django_capture_on_commit_callbacks(execute=True):
        user_activate(user=user)
    assert_problem(bearer(client, tokens["access"], "GET", ME), 401, "token_revoked")
    assert bearer(client, get_token(client, device)["access"], "GET", ME).status_code == 200


# As the admin's form saves it; and through a proxy model, which signals name as their sender:
# the auth state must hear of it all the same.
@pytest.mark.parametrize("model", [User, StaffUser])
def test_a_deactivation_saved_on_the_model_takes_effect_at_once(client, model):
    device = register(client)
    tokens = get_token(client, device)
    user = model.objects.get(pk=device.user_id)
    user.is_active = False
    user.save()
    assert_problem(bearer(client, tokens["access"], "GET", ME), 401, "user_inactive")


def test_a_device_revoked_or_deleted_through_a_proxy_model_loses_access_at_once(client):
    revoked, deleted = register(client), register(client)
    revoked_tokens, deleted_tokens = get_token(client, revoked), get_token(client, deleted)
    kiosk = KioskDevice.objects.get(pk=revoked.id)
    kiosk.is_active = False
    kiosk.save(update_fields=["is_active"])
    KioskDevice.objects.get(pk=deleted.id).delete()
    assert_problem(bearer(client, revoked_tokens["access"], "GET", ME), 401, "device_revoked")
    assert_problem(bearer(client, deleted_tokens["access"], "GET", ME), 401, "token_revoked")


def test_a_save_from_an_instance_loaded_before_a_deactivation_does_not_bring_the_user_back(
    client,
):
    # Two staff members at once: one deactivates the user, the other, who loaded the user just
    # before, makes them staff. The second save writes is_staff only, so the row stays inactive,
    # and the cache must say so too, not what the second instance still held.
    device = register(client)
    tokens = get_token(client, device)
    loaded_before = User.objects.get(pk=device.user_id)
    user_deactivate(user=User.objects.get(pk=device.user_id))
    loaded_before.is_staff = True
    loaded_before.save(update_fields=["is_staff"])
    assert_problem(bearer(client, tokens["access"], "GET", ME), 401, "user_inactive")


def test_a_device_saved_from_a_stale_instance_keeps_its_revocation(client):
    device = register(client)
    tokens = get_token(client, device)
    loaded_before = Device.objects.get(pk=device.id)
    device_revoke(device=Device.objects.get(pk=device.id))
    loaded_before.push_token = "a-token"
    loaded_before.save(update_fields=["push_token"])
    assert_problem(bearer(client, tokens["access"], "GET", ME), 401, "device_revoked")


# Transactional: a row is published once it commits (the user, at registration).
@pytest.mark.django_db(transaction=True)
def test_a_save_that_writes_nothing_authentication_reads_publishes_nothing(client):
    user = User.objects.get(pk=register(client).user_id)
    security, key = caches["security"], f"auth:user:{user.pk}"
    security.delete(key)
    user.last_login = timezone.now()
    user.save(update_fields=["last_login"])  # what signing in to the CMS saves
    assert security.get(key) is None
    user.save(update_fields=["is_staff"])
    assert security.get(key) == {"active": True, "staff": False, "superuser": False}


def authenticated_as(access: str) -> ApiUser:
    request = Request(RequestFactory().get(ME, HTTP_AUTHORIZATION=f"Bearer {access}"))
    authenticated = BearerAuthentication().authenticate(request)
    assert authenticated is not None
    return authenticated[0]


def test_changes_are_read_through_once_the_auth_state_is_lost_then_cost_no_query(
    client, django_assert_num_queries, django_capture_on_commit_callbacks
):
    # As after a Redis restart, or its eviction of the entries: each change is read from the
    # database on the next request, which keeps it for the requests after.
    staff, revoked, inactive = register(client), register(client), register(client)
    tokens = {
        device.id: get_token(client, device)["access"] for device in (staff, revoked, inactive)
    }
    user = User.objects.get(pk=staff.user_id)
    user.is_staff = True
    with django_capture_on_commit_callbacks(execute=True):
        user.save(update_fields=["is_staff"])
    device_revoke(device=Device.objects.get(pk=revoked.id))
    user_deactivate(user=User.objects.get(pk=inactive.user_id))
    caches["security"].clear()
    with django_assert_num_queries(1):
        assert authenticated_as(tokens[staff.id]).is_staff is True
    with django_assert_num_queries(0):
        assert authenticated_as(tokens[staff.id]).is_staff is True
    for device, code in ((revoked, "device_revoked"), (inactive, "user_inactive")):
        for queries in (1, 0):
            with django_assert_num_queries(queries):
                assert_problem(bearer(client, tokens[device.id], "GET", ME), 401, code)


def test_staff_status_takes_effect_on_the_next_request_without_a_new_token(
    client, django_capture_on_commit_callbacks
):
    device = register(client)
    tokens = get_token(client, device)
    assert bearer(client, tokens["access"], "GET", ME).json()["user"]["is_staff"] is False
    user = User.objects.get(pk=device.user_id)
    user.is_staff = True
    with django_capture_on_commit_callbacks(execute=True):
        user.save()
    request = Request(RequestFactory().get(ME, HTTP_AUTHORIZATION=f"Bearer {tokens['access']}"))
    authenticated = BearerAuthentication().authenticate(request)
    assert authenticated is not None
    assert authenticated[0].is_staff is True
