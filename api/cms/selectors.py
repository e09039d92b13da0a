"""Reads behind the CMS pages. Each returns what a page shows in a fixed number of queries."""

import uuid
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import date, datetime, time, timedelta

from django.contrib.admin.models import LogEntry
from django.contrib.contenttypes.models import ContentType
from django.db.models import Count, F, Max, Q, QuerySet
from django.db.models.expressions import OrderBy
from django.db.models.functions import TruncDate
from django.utils import timezone

from api.models import Device, User, UserProfile

# Sort keys the users list accepts, and the column each orders by. Anything else is ignored,
# so a query string never reaches order_by().
USER_SORTS = {
    "username": "username",
    "joined": "date_joined",
    "last_seen": "last_seen",
    "devices": "device_count",
}
DEFAULT_USER_SORT = "-joined"


@dataclass(frozen=True)
class UserTotals:
    users: int
    active_users: int
    staff: int
    devices: int
    active_devices: int

    @property
    def inactive_users(self) -> int:
        return self.users - self.active_users

    @property
    def revoked_devices(self) -> int:
        return self.devices - self.active_devices


@dataclass(frozen=True)
class PlatformCount:
    platform: str
    label: str
    devices: int
    active: int
    # Share of all devices, 0-100.
    percent: float


@dataclass(frozen=True)
class DayCount:
    day: date
    count: int


@dataclass(frozen=True)
class UserRow:
    """A line of the users list."""

    user: User
    devices: int
    active_devices: int
    last_seen: datetime | None
    # (platform label, devices) for each platform the user has a device on.
    platforms: list[tuple[str, int]]


@dataclass(frozen=True)
class UserFilters:
    """What the users list is narrowed and ordered by; empty values filter nothing."""

    query: str = ""
    active: bool | None = None
    staff: bool | None = None
    platform: str = ""
    sort: str = DEFAULT_USER_SORT


def user_totals() -> UserTotals:
    """Users (all, active, staff) and devices (all, active): two queries."""
    users = User.objects.aggregate(
        total=Count("id"),
        active=Count("id", filter=Q(is_active=True)),
        staff=Count("id", filter=Q(is_staff=True)),
    )
    devices = Device.objects.aggregate(
        total=Count("id"), active=Count("id", filter=Q(is_active=True))
    )
    return UserTotals(
        users=users["total"],
        active_users=users["active"],
        staff=users["staff"],
        devices=devices["total"],
        active_devices=devices["active"],
    )


def devices_by_platform() -> list[PlatformCount]:
    """Every platform, with none left out when it has no device, in the order of the choices."""
    rows = {
        row["platform"]: row
        for row in Device.objects.values("platform")
        .annotate(total=Count("id"), active=Count("id", filter=Q(is_active=True)))
        .order_by()
    }
    total = sum(row["total"] for row in rows.values())
    counts = []
    for platform, label in Device.Platform.choices:
        row = rows.get(platform, {"total": 0, "active": 0})
        percent = 100 * row["total"] / total if total else 0.0
        counts.append(PlatformCount(platform, str(label), row["total"], row["active"], percent))
    return counts


def registrations_per_day(*, days: int = 30, today: date | None = None) -> list[DayCount]:
    """Device registrations per day (in TIME_ZONE), oldest first, `days` days up to today, gaps
    as zero. A registration creates a device (and its guest user): devices by creation day.
    """
    today = today or timezone.localdate()
    first = today - timedelta(days=days - 1)
    # A range on the column itself (not on its date) lets the database use its index.
    since = timezone.make_aware(datetime.combine(first, time.min))
    counted = dict(
        Device.objects.filter(created_at__gte=since)
        .annotate(day=TruncDate("created_at"))
        .values_list("day")
        .annotate(count=Count("id"))
        .order_by()
    )
    return [DayCount(day, counted.get(day, 0)) for day in _days(first, today)]


def _days(first: date, last: date) -> list[date]:
    return [first + timedelta(days=offset) for offset in range((last - first).days + 1)]


def latest_registrations(*, limit: int = 8) -> list[Device]:
    """The newest devices with their users, one query."""
    return list(Device.objects.select_related("user").order_by("-created_at")[:limit])


def user_list(filters: UserFilters) -> QuerySet[User]:
    """Users matching `filters`, with their device counts and last activity, in one query.

    Filters on devices use subqueries, not joins, so the counts stay right and a user with
    several matching devices is listed once.
    """
    users = User.objects.select_related("profile").annotate(
        device_count=Count("devices"),
        active_device_count=Count("devices", filter=Q(devices__is_active=True)),
        last_seen=Max("devices__last_seen_at"),
        **{
            f"{platform}_count": Count("devices", filter=Q(devices__platform=platform))
            for platform in Device.Platform.values
        },
    )
    if filters.query:
        users = users.filter(_search(filters.query))
    if filters.active is not None:
        users = users.filter(is_active=filters.active)
    if filters.staff is not None:
        users = users.filter(is_staff=filters.staff)
    if filters.platform:
        users = users.filter(pk__in=Device.objects.filter(platform=filters.platform).values("user"))
    return users.order_by(*_ordering(filters.sort))


def user_rows(users: Iterable[User]) -> list[UserRow]:
    """Rows for users annotated by `user_list` (no further query)."""
    return [
        UserRow(
            user=user,
            devices=user.device_count,  # type: ignore[attr-defined]
            active_devices=user.active_device_count,  # type: ignore[attr-defined]
            last_seen=user.last_seen,  # type: ignore[attr-defined]
            platforms=[
                (str(label), count)
                for platform, label in Device.Platform.choices
                if (count := getattr(user, f"{platform}_count"))
            ],
        )
        for user in users
    ]


def _search(query: str) -> Q:
    """A full device id finds that device's user; other text matches username or email."""
    try:
        device_id = uuid.UUID(query)
    except ValueError:
        return Q(username__icontains=query) | Q(email__icontains=query)
    return Q(pk__in=Device.objects.filter(pk=device_id).values("user"))


def _ordering(sort: str) -> list[OrderBy | str]:
    key = sort.removeprefix("-")
    if key not in USER_SORTS:
        return _ordering(DEFAULT_USER_SORT)
    column = F(USER_SORTS[key])
    # Users without a device have no last-seen time: they go last in either direction.
    first = column.desc(nulls_last=True) if sort.startswith("-") else column.asc(nulls_last=True)
    # The primary key breaks ties, so pages never share or skip a row.
    return [first, "-pk" if sort.startswith("-") else "pk"]


def user_detail(user_id: int) -> User:
    """One user with their profile; raises User.DoesNotExist.

    A user inserted without a profile (by bulk_create, loaddata or a migration's historical
    model, none of which run User.save()) gets a blank one in memory, which the first edit saves.
    """
    user = User.objects.select_related("profile").get(pk=user_id)
    if not hasattr(user, "profile"):
        user.profile = UserProfile(user=user)
    return user


def device_detail(device_id: uuid.UUID) -> Device:
    """One device with its user; raises Device.DoesNotExist."""
    return Device.objects.select_related("user").get(pk=device_id)


def user_devices(user: User) -> list[Device]:
    """The user's devices, active first, most recently seen first."""
    return list(
        Device.objects.filter(user=user).order_by(
            "-is_active", F("last_seen_at").desc(nulls_last=True), "-created_at"
        )
    )


def user_history(user: User, devices: list[Device], *, limit: int = 10) -> list[LogEntry]:
    """The latest admin-log entries about the user or any of their devices (CMS and admin)."""
    user_type = ContentType.objects.get_for_model(User)
    device_type = ContentType.objects.get_for_model(Device)
    about = Q(content_type=user_type, object_id=str(user.pk)) | Q(
        content_type=device_type, object_id__in=[str(device.pk) for device in devices]
    )
    return list(
        LogEntry.objects.filter(about).select_related("user").order_by("-action_time")[:limit]
    )
