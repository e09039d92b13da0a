"""Prepare the project for the benchmark, in its own process and settings; prints JSON.

`python -m bench.prepare_app --items 1000 --bearer 100 --signers 100 --refreshers 5000`

Devices are registered and given tokens by the project's own services (`device_register`,
`token_issue`): the rows and the shared auth state are exactly what the HTTP endpoints write,
without spending the benchmark's time on thousands of signed requests. The example items are
plain rows: they are data, not an API path.
"""

import argparse
import json
import os
from decimal import Decimal
from typing import Any

import django

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "core.settings")
django.setup()

from api.apis.auth.services import token_issue  # noqa: E402
from api.apis.onboarding.services import device_register  # noqa: E402
from api.auth_state import DeviceState  # noqa: E402
from api.models import Category, Item  # noqa: E402


def new_device(*, with_tokens: bool) -> dict[str, Any]:
    registered = device_register(platform="ios", ip="127.0.0.1", app_version="1.0.0")
    device = registered.device
    entry: dict[str, Any] = {
        "device_id": str(device.id),
        "secret": registered.secret,
        "user_id": device.user_id,
    }
    if with_tokens:
        state = DeviceState(str(device.id), device.user_id, True, device.secret_kid, "")
        pair = token_issue(device=state, ip="127.0.0.1")
        entry.update(access=pair.access, refresh=pair.refresh)
    return entry


def seed_items(count: int, owners: list[int]) -> None:
    """`count` items over ten categories and the given owners, one in ten a draft."""
    if Item.objects.exists() or not count:
        return
    categories = Category.objects.bulk_create(
        Category(name=f"Category {index}", slug=f"category-{index}") for index in range(10)
    )
    Item.objects.bulk_create(
        Item(
            owner_id=owners[index % len(owners)],
            category=categories[index % len(categories)],
            title=f"Item {index}",
            description="A thing worth listing. " * 4,
            price=Decimal(index % 500) + Decimal("0.99"),
            is_published=index % 10 != 0,
        )
        for index in range(count)
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--items", type=int, default=0)
    parser.add_argument("--bearer", type=int, default=0, help="devices with an access token")
    parser.add_argument("--signers", type=int, default=0, help="devices that sign get-token")
    parser.add_argument("--refreshers", type=int, default=0, help="devices with a refresh token")
    options = parser.parse_args()
    bearer = [new_device(with_tokens=True) for _ in range(options.bearer)]
    signers = [new_device(with_tokens=False) for _ in range(options.signers)]
    refreshers = [new_device(with_tokens=True) for _ in range(options.refreshers)]
    seed_items(options.items, [device["user_id"] for device in bearer])
    print(json.dumps({"bearer": bearer, "signers": signers, "refreshers": refreshers}))


if __name__ == "__main__":
    main()
