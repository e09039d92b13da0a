"""The app's cron jobs (api/cron/jobs.py), run through `manage.py runcron` as a scheduler would."""

import uuid
from datetime import timedelta

import pytest
from django.contrib.sessions.models import Session
from django.core.management import call_command
from django.utils import timezone

from api.models import Device
from tests.asserts import assert_problem
from tests.factories import DeviceFactory
from tests.signing import ME, REFRESH, bearer, device_signed, get_token, register

pytestmark = pytest.mark.django_db


def days_ago(days: int):
    return timezone.now() - timedelta(days=days)


def test_the_app_registers_both_jobs(capsys):
    call_command("runcron", "--list")
    listed = capsys.readouterr().out.split()
    assert {"deactivate_stale_devices", "purge_auth_state"} <= set(listed)


def test_devices_unseen_for_the_stale_period_are_revoked_at_once(client, settings):
    settings.DEVICE_STALE_DAYS = 90
    stale = register(client)
    access = get_token(client, stale)["access"]
    Device.objects.filter(pk=stale.id).update(last_seen_at=days_ago(91))
    recent = DeviceFactory(last_seen_at=days_ago(89))
    never_seen = DeviceFactory(last_seen_at=None)

    call_command("runcron", "deactivate_stale_devices")

    assert not Device.objects.get(pk=stale.id).is_active
    assert Device.objects.get(pk=recent.pk).is_active
    assert Device.objects.get(pk=never_seen.pk).is_active
    # Through the same service as the CMS: the token in hand is refused on the next request.
    assert_problem(bearer(client, access, "GET", ME), 401, "device_revoked")


def test_stale_devices_are_revoked_in_batches(settings):
    from api.apis.auth.services import devices_revoke_stale

    DeviceFactory.create_batch(5, last_seen_at=days_ago(400))
    assert devices_revoke_stale(unseen_for=timedelta(days=90), batch_size=2) == 5
    assert not Device.objects.filter(is_active=True).exists()


def test_purge_ends_refresh_chains_whose_tokens_expired(client, settings):
    expired = register(client)
    old_refresh = get_token(client, expired)["refresh"]
    Device.objects.filter(pk=expired.id).update(
        last_seen_at=timezone.now() - timedelta(seconds=settings.JWT_REFRESH_TTL + 60)
    )
    live = register(client)
    get_token(client, live)

    call_command("runcron", "purge_auth_state")

    assert Device.objects.get(pk=expired.id).token_chain == ""
    assert Device.objects.get(pk=live.id).token_chain != ""
    assert_problem(
        device_signed(client, expired, REFRESH, {"refresh": old_refresh}), 401, "token_revoked"
    )


def test_purge_clears_expired_sessions():
    Session.objects.create(session_key="expired", session_data="", expire_date=days_ago(1))
    Session.objects.create(
        session_key="current", session_data="", expire_date=timezone.now() + timedelta(days=1)
    )
    call_command("runcron", "purge_auth_state")
    assert list(Session.objects.values_list("session_key", flat=True)) == ["current"]


def test_a_chain_started_after_the_purge_read_its_batch_is_kept(client, settings):
    # The purge reads a batch of ids, then ends each chain under its row's lock: a get-token
    # in between (simulated by calling the per-device step after it) keeps its new session.
    from api.apis.auth.services import _end_chain_if_expired

    device = register(client)
    get_token(client, device)
    cutoff = timezone.now() - timedelta(seconds=settings.JWT_REFRESH_TTL)
    Device.objects.filter(pk=device.id).update(last_seen_at=cutoff - timedelta(days=1))
    fresh = get_token(client, device)  # the device is back, just after the batch was read
    assert _end_chain_if_expired(uuid.UUID(device.id), cutoff=cutoff) is False
    assert bearer(client, fresh["access"], "GET", ME).status_code == 200
    assert device_signed(client, device, REFRESH, {"refresh": fresh["refresh"]}).status_code == 200


def test_a_device_seen_after_the_stale_check_read_its_batch_stays_active(client):
    from api.apis.auth.services import _revoke_if_stale

    device = register(client)
    cutoff = days_ago(90)
    Device.objects.filter(pk=device.id).update(last_seen_at=days_ago(91))
    tokens = get_token(client, device)  # seen again, just after the batch was read
    assert _revoke_if_stale(uuid.UUID(device.id), cutoff=cutoff) is False
    assert Device.objects.get(pk=device.id).is_active
    assert bearer(client, tokens["access"], "GET", ME).status_code == 200
