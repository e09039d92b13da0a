"""Tokens and revocation: the one place that changes who may act for a user.

The API, the CMS, the admin and cron jobs all call these, so a device is revoked or a user
deactivated the same way everywhere. Every change reaches the shared auth state (api.auth_state)
inside its transaction, so other processes see it on their next request.
"""

import dataclasses
import uuid
from collections.abc import Callable
from datetime import datetime, timedelta

from django.conf import settings
from django.contrib.auth import SESSION_KEY
from django.contrib.sessions.models import Session
from django.db import transaction
from django.db.models import QuerySet
from django.utils import timezone

from api import auth_state, snapshots
from api.auth_state import DeviceState
from api.db import update_rows
from api.exceptions import (
    ApiError,
    DeviceRevoked,
    DeviceUnknown,
    ServiceUnavailable,
    TokenInvalid,
    TokenReused,
    TokenRevoked,
)
from api.models import Device, User
from api.tokens import TokenPair, decode_refresh, issue_pair, new_chain_id


def token_issue(
    *,
    device: DeviceState,
    ip: str | None,
    push_token: str | None = None,
    app_version: str | None = None,
) -> TokenPair:
    """Start a new refresh chain for the device; the previous chain and its tokens die."""
    chain = new_chain_id()
    device_id = uuid.UUID(device.device_id)
    pair = issue_pair(user_id=device.user_id, device_id=device_id, chain=chain)
    changes: dict[str, object] = {
        "token_chain": chain,
        "refresh_jti": pair.refresh_jti,
        "last_seen_at": timezone.now(),
        "last_ip": ip,
    }
    if push_token is not None:
        changes["push_token"] = push_token
    if app_version is not None:
        changes["app_version"] = app_version
    # The state published below is the request's copy with the new chain: the UPDATE matches
    # only while the row still says what that copy says, so a device revoked, or given to
    # another user, since the request read it is refused instead of published as it was.
    where = {"pk": device_id, "is_active": True, "user": device.user_id}
    where["secret_kid"] = device.secret_kid
    with transaction.atomic():
        if not update_rows(Device, where=where, values=changes):
            raise _why_unchanged(device_id)
        auth_state.publish_device_state(dataclasses.replace(device, token_chain=chain))
    snapshots.forget_device(device_id)
    return pair


def _why_unchanged(device_id: uuid.UUID) -> ApiError:
    """Why a write conditioned on the request's copy of a device matched no row: the device
    was deleted or revoked since (the app must register again), or it changed in a way a new
    attempt survives (another owner, by staff), which must not send the app to register."""
    row = Device.objects.filter(pk=device_id).values("is_active").first()
    if row is None:
        return DeviceUnknown()
    if not row["is_active"]:
        return DeviceRevoked()
    return ServiceUnavailable(
        "This device changed while the request ran; sign it again.",
        headers={"Retry-After": "1"},
    )


def token_refresh(*, device: DeviceState, refresh: str) -> TokenPair:
    """Rotate: spend `refresh` and return a new pair of the same chain.

    Rotation is one conditional UPDATE, so of two concurrent refreshes with one token exactly
    one wins. A spent token of the live chain means a copy exists elsewhere: the chain is
    revoked, with its access tokens, and the caller gets `token_reused`.
    """
    claims = decode_refresh(refresh)
    if str(claims.device_id) != device.device_id or claims.user_id != device.user_id:
        raise TokenInvalid("This refresh token belongs to another device.")
    if claims.chain != device.token_chain:
        raise TokenRevoked()
    pair = issue_pair(user_id=device.user_id, device_id=claims.device_id, chain=claims.chain)
    rotated = update_rows(
        Device,
        where={
            "pk": claims.device_id,
            "is_active": True,
            "token_chain": claims.chain,
            "refresh_jti": claims.jti,
        },
        values={"refresh_jti": pair.refresh_jti, "last_seen_at": timezone.now()},
    )
    if rotated:
        snapshots.forget_device(claims.device_id)
        return pair
    if _chain_end(device, chain=claims.chain):
        raise TokenReused()
    raise TokenRevoked()


def device_logout(*, device: DeviceState) -> None:
    """End the device's refresh chain: its refresh and access tokens stop working at once."""
    if not device.token_chain or _chain_end(device, chain=device.token_chain):
        return
    # The row changed since the request read it (staff gave the device to another user, say):
    # the chain, if it still lives, ends all the same, under the row's lock, and the save
    # publishes the row as it stands.
    with transaction.atomic():
        row = Device.objects.select_for_update().filter(pk=device.device_id).first()
        if row is not None and row.token_chain == device.token_chain:
            _chain_clear(row)


def _chain_end(device: DeviceState, *, chain: str) -> bool:
    """Revoke `chain` if it is still the device's live one; False if it no longer was."""
    # As in token_issue: only while the row is the request's copy, which is what is published.
    where = {"pk": device.device_id, "token_chain": chain, "user": device.user_id}
    where |= {"is_active": device.active, "secret_kid": device.secret_kid}
    with transaction.atomic():
        ended = update_rows(Device, where=where, values={"token_chain": "", "refresh_jti": ""})
        if ended:
            auth_state.publish_device_state(dataclasses.replace(device, token_chain=""))
    return bool(ended)


def _chain_clear(device: Device, *, also: tuple[str, ...] = ()) -> None:
    """Save `device` without a refresh chain (and the fields named in `also`); its save signal
    publishes the new state."""
    device.token_chain = ""
    device.refresh_jti = ""
    device.save(update_fields=["token_chain", "refresh_jti", *also])


@transaction.atomic
def device_revoke(*, device: Device) -> None:
    """Deactivate a device for good: its tokens and signed requests are refused from now on."""
    device.is_active = False
    _chain_clear(device, also=("is_active",))


def _sessions_end(user: User) -> None:
    """Delete the user's Django sessions. They live in the database (SESSION_ENGINE's default),
    and only people who sign in to the CMS or the admin have any, so reading them all is cheap;
    Django keeps no index of sessions by user."""
    for session in Session.objects.filter(expire_date__gt=timezone.now()).iterator():
        if session.get_decoded().get(SESSION_KEY) == str(user.pk):
            session.delete()


@transaction.atomic
def user_deactivate(*, user: User) -> None:
    """Deactivate a user: every device of theirs is refused from the next request on.

    Their refresh chains end too, and their sessions (the CMS, the admin), so reactivating the
    account revives neither old tokens nor a session someone may have stolen.
    """
    user.is_active = False
    user.save(update_fields=["is_active"])
    _sessions_end(user)
    _chains_end(user)


@transaction.atomic
def user_activate(*, user: User) -> None:
    """Reactivate a user; their devices get tokens again with get-token.

    Any refresh chain a device still has ends here: one that a get-token started while the
    account was being deactivated (it had read the user as active) outlived
    `user_deactivate`, and reactivating must not revive it."""
    user.is_active = True
    user.save(update_fields=["is_active"])
    _chains_end(user)


def _chains_end(user: User) -> None:
    """End the refresh chain of each of the user's devices that has one."""
    for device in Device.objects.filter(user=user).exclude(token_chain=""):
        _chain_clear(device)


def devices_revoke_stale(*, unseen_for: timedelta, batch_size: int = 500) -> int:
    """Revoke the active devices not seen (no get-token, refresh or registration) for
    `unseen_for`; returns how many. Their apps must register again."""
    cutoff = timezone.now() - unseen_for
    stale = Device.objects.filter(is_active=True, last_seen_at__lt=cutoff)
    return _each_in_batches(stale, lambda pk: _revoke_if_stale(pk, cutoff=cutoff), batch_size)


def _each_in_batches(
    devices: QuerySet[Device], action: Callable[[uuid.UUID], bool], batch_size: int
) -> int:
    """Call `action` with the primary key of each device of `devices`, read `batch_size` at a
    time; how many calls returned True. `action` must take its device out of `devices` (or
    find it already out, and return False): the next batch is read again from the start."""
    done = 0
    while batch := list(devices.order_by("pk").values_list("pk", flat=True)[:batch_size]):
        for pk in batch:
            done += action(pk)
    return done


@transaction.atomic
def _revoke_if_stale(pk: uuid.UUID, *, cutoff: datetime) -> bool:
    """Revoke the device if it is still active and unseen since `cutoff` (its row locked): one
    seen since the batch was read, by a get-token an instant ago, keeps its session."""
    device = (
        Device.objects.select_for_update()
        .filter(pk=pk, is_active=True, last_seen_at__lt=cutoff)
        .first()
    )
    if device is None:
        return False
    device_revoke(device=device)
    return True


def refresh_chains_end_expired(*, batch_size: int = 500) -> int:
    """Clear the refresh chains whose newest refresh token has expired; returns how many.

    The tokens are dead already (their `exp` passed); this keeps no stale session in the
    database. A chain's newest token was issued when the device was last seen.
    """
    cutoff = timezone.now() - timedelta(seconds=settings.JWT_REFRESH_TTL)
    expired = Device.objects.exclude(token_chain="").filter(last_seen_at__lt=cutoff)
    return _each_in_batches(
        expired, lambda pk: _end_chain_if_expired(pk, cutoff=cutoff), batch_size
    )


@transaction.atomic
def _end_chain_if_expired(pk: uuid.UUID, *, cutoff: datetime) -> bool:
    """End the device's chain if it still has one unused since `cutoff` (its row locked): a
    chain started or refreshed since the batch was read stays."""
    device = (
        Device.objects.select_for_update()
        .exclude(token_chain="")
        .filter(pk=pk, last_seen_at__lt=cutoff)
        .first()
    )
    if device is None:
        return False
    _chain_clear(device)
    return True
