"""Staff actions on accounts, shared by the CMS and the Django admin.

Each one changes state through the auth services (api/apis/auth/services.py), which publish the
change to every process, and records who did it in Django's admin log, in one transaction.
"""

from collections.abc import Sequence

from django.contrib.admin.models import CHANGE, LogEntry
from django.db import transaction

from api.apis.auth.services import device_revoke, user_activate, user_deactivate
from api.models import Device, User, UserProfile


class ActionRefused(Exception):
    """A staff action that must not run; the message says why, for the person who tried."""


def _log(*, actor: User, target: User | Device, message: str | list[object]) -> None:
    LogEntry.objects.log_actions(
        user_id=actor.pk, queryset=[target], action_flag=CHANGE, change_message=message
    )


def _require_may_act_on(actor: User, user: User, action: str) -> None:
    """Only a superuser acts on a superuser's account: a staff member must not undo a
    superuser's deactivation, sign their devices out or edit them."""
    if user.is_superuser and not actor.is_superuser:
        raise ActionRefused(f"Only a superuser can {action} a superuser.")


@transaction.atomic
def staff_user_deactivate(*, actor: User, user: User) -> bool:
    """Deactivate `user` (their devices are refused from the next request on, their sessions
    end).

    False when they already were inactive. Nobody deactivates their own account (it would lock
    them out halfway through), and only a superuser deactivates a superuser.
    """
    if user.pk == actor.pk:
        raise ActionRefused("You cannot deactivate your own account.")
    _require_may_act_on(actor, user, "deactivate")
    if not user.is_active:
        return False
    user_deactivate(user=user)
    _log(actor=actor, target=user, message="Deactivated the account.")
    return True


@transaction.atomic
def staff_user_activate(*, actor: User, user: User) -> bool:
    """Reactivate `user`; False when they already were active."""
    _require_may_act_on(actor, user, "reactivate")
    if user.is_active:
        return False
    user_activate(user=user)
    _log(actor=actor, target=user, message="Reactivated the account.")
    return True


@transaction.atomic
def staff_device_revoke(*, actor: User, device: Device) -> bool:
    """Revoke `device` for good; False when it already was revoked."""
    _require_may_act_on(actor, device.user, "revoke a device of")
    if not device.is_active:
        return False
    device_revoke(device=device)
    _log(actor=actor, target=device, message="Revoked the device.")
    return True


@transaction.atomic
def staff_profile_update(
    *, actor: User, profile: UserProfile, changes: dict[str, str], labels: Sequence[str]
) -> None:
    """Save `changes` to the profile and log them against its user, as the admin logs an inline
    (so the admin's history of the user reads the same). `labels` name the changed fields."""
    _require_may_act_on(actor, profile.user, "edit the profile of")
    if profile.pk is None:
        # A blank one standing in for a user inserted without a profile (selectors.user_detail):
        # made now, unless a concurrent save made it first.
        profile, _ = UserProfile.objects.get_or_create(user=profile.user)
    for field, value in changes.items():
        setattr(profile, field, value)
    profile.save(update_fields=[*changes, "updated_at"])
    message: list[object] = [
        {"changed": {"name": "user profile", "object": str(profile), "fields": list(labels)}}
    ]
    _log(actor=actor, target=profile.user, message=message)
