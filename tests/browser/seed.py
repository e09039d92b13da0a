"""A month of believable users and devices for the browser tests and their screenshots.

Runs inside the live server's database: `manage.py shell -c "from tests.browser.seed import
seed; seed()"`. Deterministic, and a no-op when the data is already there.
"""

import random
from datetime import timedelta

from django.db import transaction
from django.utils import timezone

from api.models import Device, User, UserProfile

NAMED = [
    ("maria.santos", "Maria Santos"),
    ("kenji.watanabe", "Kenji Watanabe"),
    ("amara.okafor", "Amara Okafor"),
    ("lukas.becker", "Lukas Becker"),
    ("sofia.rossi", "Sofia Rossi"),
    ("noah.jensen", "Noah Jensen"),
    ("priya.raman", "Priya Raman"),
    ("tomas.novak", "Tomáš Novák"),
    ("leila.haddad", "Leila Haddad"),
    ("owen.price", "Owen Price"),
]
MODELS = {
    Device.Platform.IOS: ["iPhone16,1", "iPhone15,4", "iPhone17,3", "iPad14,1"],
    Device.Platform.ANDROID: ["Pixel 9", "SM-S921B", "Pixel 8a", "moto g84"],
    Device.Platform.WEB: ["Chrome 131", "Safari 18", "Firefox 133"],
    Device.Platform.OTHER: ["Kiosk v2"],
}
OS_VERSIONS = {
    Device.Platform.IOS: ["18.1", "18.2", "17.6"],
    Device.Platform.ANDROID: ["15", "14", "13"],
    Device.Platform.WEB: ["macOS 15", "Windows 11", "Linux"],
    Device.Platform.OTHER: ["1.0"],
}
PLATFORM_WEIGHTS = {
    Device.Platform.IOS: 46,
    Device.Platform.ANDROID: 40,
    Device.Platform.WEB: 11,
    Device.Platform.OTHER: 3,
}


@transaction.atomic
def seed(days: int = 30) -> None:
    if User.objects.filter(username__in=[username for username, _ in NAMED]).exists():
        return
    rng = random.Random(2026)
    now = timezone.now()
    named = iter(NAMED)
    platforms, weights = zip(*PLATFORM_WEIGHTS.items(), strict=True)
    for day in range(days - 1, 0, -1):
        # Growth over the month, quieter weekends.
        joined_day = now - timedelta(days=day)
        expected = 1 + (days - day) / 6 - (1.2 if joined_day.weekday() >= 5 else 0)
        for _ in range(max(0, round(rng.gauss(expected, 1.1)))):
            joined = joined_day.replace(hour=rng.randrange(6, 23), minute=rng.randrange(60))
            # Most users stay guests; the few with a name and an email joined lately.
            name = next(named, None) if day <= 5 and rng.random() < 0.45 else None
            username = name[0] if name else f"guest-{rng.getrandbits(80):020x}"
            user = User.objects.create(
                username=username,
                email=f"{username}@example.com" if name else "",
                date_joined=joined,
                is_active=rng.random() > 0.06,
            )
            if name:
                UserProfile.objects.filter(user=user).update(
                    display_name=name[1], locale="en-GB", timezone="Europe/London"
                )
            for index in range(1 if rng.random() < 0.8 else 2):
                platform = rng.choices(platforms, weights)[0]
                created = joined + timedelta(days=index * rng.randrange(1, 5))
                seen = min(now, created + timedelta(hours=rng.randrange(1, 24 * day + 2)))
                device = Device.objects.create(
                    user=user,
                    platform=platform,
                    app_version=rng.choice(["2.3.0", "2.4.1", "2.5.0", "2.5.1"]),
                    os_version=rng.choice(OS_VERSIONS[platform]),
                    device_model=rng.choice(MODELS[platform]),
                    secret_kid="k2026",
                    last_seen_at=seen,
                    last_ip=f"203.0.113.{rng.randrange(1, 255)}",
                    is_active=rng.random() > 0.05,
                )
                Device.objects.filter(pk=device.pk).update(created_at=min(created, now))
