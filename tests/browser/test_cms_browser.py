"""The staff CMS in a real browser: Debian's Chromium driven by Playwright against a multi-worker
gunicorn on its own database and the real Redis. Takes the README's screenshots: into a
temporary folder, or into docs/screenshots/ with UPDATE_SCREENSHOTS=1 (`make screenshots`), so
that a test run leaves the repository as it found it.

Data arrives the way it does in production: devices register over HTTP with the reference client
(`deviceauth`), the staff account comes from `createsuperuser`, and a month of history from
tests/browser/seed.py run with `manage.py shell`.
"""

import json
import os
import tempfile
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
from deviceauth import ApiError, DeviceClient
from playwright.sync_api import Browser, Page, ViewportSize, expect

from tests.live import LiveServer
from tests.processes import ROOT, run_manage
from tests.signing import APP_KEY_ID, APP_SECRET, ME

SCREENSHOTS = (
    ROOT / "docs" / "screenshots"
    if os.environ.get("UPDATE_SCREENSHOTS") == "1"
    else Path(tempfile.gettempdir()) / "cms-screenshots"
)
DESKTOP: ViewportSize = {"width": 1280, "height": 800}
PHONE: ViewportSize = {"width": 390, "height": 844}
# Phone screenshots stop after this many CSS pixels: the top of a long page says enough.
PHONE_SCREENSHOT_HEIGHT = 2200
STAFF = ("ops.admin", "correct-horse-battery-staple-2026")
NOT_STAFF = ("app.user", "another-long-password-for-tests-2026")

COUNTS = """
import json
from datetime import timedelta
from django.utils import timezone
from api.models import Device, User
first_day = timezone.now().date() - timedelta(days=29)
print(json.dumps({
    "users": User.objects.count(),
    "active_users": User.objects.filter(is_active=True).count(),
    "devices": Device.objects.count(),
    "platforms": {p: Device.objects.filter(platform=p).count() for p in Device.Platform.values},
    "registrations": Device.objects.filter(created_at__date__gte=first_day).count(),
}))
"""


def manage(server: LiveServer, *args: str, **env: str) -> str:
    """Run manage.py against the live server's database and Redis."""
    result = run_manage(*args, env={**server.env, **env})
    assert result.returncode == 0, result.stderr
    return result.stdout


@pytest.fixture(scope="module")
def server(live_server_factory):
    return live_server_factory(
        workers=2,
        # Plain HTTP on loopback: cookies without the Secure flag, or the browser drops them.
        SESSION_COOKIE_SECURE="false",
        CSRF_COOKIE_SECURE="false",
    )


@pytest.fixture(scope="module")
def accounts(server: LiveServer) -> None:
    """A staff account, an app user with a password (not staff), and a month of registrations."""
    manage(
        server,
        "createsuperuser",
        "--noinput",
        f"--username={STAFF[0]}",
        "--email=ops@example.com",
        DJANGO_SUPERUSER_PASSWORD=STAFF[1],
    )
    manage(
        server,
        "shell",
        "-c",
        "from api.models import User; "
        f"User.objects.create_user({NOT_STAFF[0]!r}, password={NOT_STAFF[1]!r}); "
        "from tests.browser.seed import seed; seed()",
    )


@pytest.fixture
def page(browser: Browser, server: LiveServer, accounts: None) -> Iterator[Page]:
    """A desktop-sized page; the test fails if the page breaks its Content-Security-Policy."""
    context = browser.new_context(viewport=DESKTOP, base_url=server.url)
    page = context.new_page()
    violations: list[str] = []
    page.on(
        "console",
        lambda message: (
            violations.append(message.text) if "Content Security Policy" in message.text else None
        ),
    )
    yield page
    context.close()
    assert violations == []


def sign_in(page: Page, username: str, password: str) -> None:
    page.goto("/cms/login/")
    page.get_by_label("Username").fill(username)
    page.get_by_label("Password").fill(password)
    page.get_by_role("button", name="Sign in").click()


def screenshot(page: Page, name: str) -> None:
    """Full-page screenshots of the current page at desktop and phone width."""
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=SCREENSHOTS / f"{name}-desktop.png", full_page=True)
    assert page.context.browser is not None
    phone = page.context.browser.new_context(
        viewport=PHONE,
        device_scale_factor=2,
        is_mobile=True,
        has_touch=True,
        storage_state=page.context.storage_state(),
    )
    try:
        phone_page = phone.new_page()
        phone_page.goto(page.url)
        height = min(phone_page.evaluate("document.body.scrollHeight"), PHONE_SCREENSHOT_HEIGHT)
        phone_page.screenshot(
            path=SCREENSHOTS / f"{name}-phone.png",
            full_page=True,
            clip={"x": 0, "y": 0, "width": PHONE["width"], "height": height},
        )
    finally:
        phone.close()


@dataclass(frozen=True)
class App:
    """A device registered over HTTP, holding tokens."""

    client: DeviceClient
    device_id: str
    username: str


def register(server: LiveServer, **fields: Any) -> App:
    client = DeviceClient(server.url, app_key_id=APP_KEY_ID, app_secret=APP_SECRET)
    credentials = client.register(**fields)
    client.get_token()
    username = client.request("GET", ME).json()["user"]["username"]
    return App(client, credentials.device_id, username)


def test_staff_signs_in_and_the_dashboard_matches_the_database(server, page):
    sign_in(page, *STAFF)
    expect(page).to_have_url(f"{server.url}/cms/")
    counts = json.loads(manage(server, "shell", "-c", COUNTS).strip().splitlines()[-1])
    expect(page.locator("#stat-users")).to_have_text(str(counts["users"]))
    expect(page.locator("#stat-active-users")).to_have_text(str(counts["active_users"]))
    expect(page.locator("#stat-devices")).to_have_text(str(counts["devices"]))
    expect(page.locator("#stat-registrations")).to_have_text(str(counts["registrations"]))
    for platform, devices in counts["platforms"].items():
        expect(page.locator(f"#platform-{platform}")).to_have_text(str(devices))
    chart = page.get_by_role("img", name="Registrations per day, last 30 days")
    expect(chart.locator(".chart__day")).to_have_count(30)
    screenshot(page, "dashboard")


def test_staff_finds_a_user_by_device_id_filters_by_platform_and_deactivates_them(server, page):
    app = register(server, platform="web", app_version="2.5.1", device_model="Safari 18")
    app.client.request("PATCH", ME, {"profile": {"display_name": "Robin Fischer"}})
    username, android_username = app.username, register(server, platform="android").username
    sign_in(page, *STAFF)

    page.goto("/cms/users/")
    screenshot(page, "users")
    page.get_by_label("Search").fill(app.device_id)
    page.get_by_role("button", name="Apply").click()
    rows = page.locator("table.users tbody tr")
    expect(rows).to_have_count(1)
    expect(rows.first).to_contain_text(username)
    expect(rows.first).to_contain_text("Robin Fischer")

    page.goto("/cms/users/")
    page.get_by_label("Platform").select_option(label="Web")
    page.get_by_role("button", name="Apply").click()
    expect(page).to_have_url(f"{server.url}/cms/users/?q=&active=&staff=&platform=web&sort=")
    expect(rows.filter(has_text=username)).to_have_count(1)
    expect(rows.filter(has_text=android_username)).to_have_count(0)
    for platforms in rows.locator('td[data-label="Platforms"]').all():
        expect(platforms).to_contain_text("Web")

    rows.get_by_role("link", name=username).click()
    expect(page.get_by_role("heading", level=1)).to_have_text("Robin Fischer")
    page.get_by_text("Deactivate…").click()
    page.get_by_role("button", name=f"Deactivate {username}").click()
    expect(page.get_by_role("status")).to_contain_text(f"{username} is deactivated")
    expect(page.locator(".page-header .badges")).to_contain_text("Deactivated")

    # The app's very next request, a real one to the server, is refused.
    with pytest.raises(ApiError) as refused:
        app.client.request("GET", ME)
    assert (refused.value.status, refused.value.code) == (401, "user_inactive")


def test_staff_edits_a_profile_and_revokes_a_device(server, page):
    app = register(
        server, platform="ios", app_version="2.5.1", device_model="iPhone16,1", locale="en-GB"
    )
    app.client.request("PATCH", ME, {"profile": {"display_name": "Ines Duarte"}})
    sign_in(page, *STAFF)
    page.goto("/cms/users/")
    page.get_by_label("Search").fill(app.device_id)
    page.get_by_role("button", name="Apply").click()
    page.get_by_role("link", name=app.username).click()

    page.get_by_label("Time zone").fill("Mars/Olympus")
    page.get_by_role("button", name="Save profile").click()
    expect(page.locator(".field--invalid")).to_contain_text("Not an IANA time zone name")
    page.get_by_label("Time zone").fill("Europe/Lisbon")
    page.get_by_role("button", name="Save profile").click()
    expect(page.get_by_role("status")).to_contain_text(f"Profile of {app.username} saved")
    assert app.client.request("GET", ME).json()["profile"]["timezone"] == "Europe/Lisbon"

    page.get_by_text("Revoke…").click()
    page.get_by_role("button", name="Revoke device").click()
    expect(page.get_by_role("status")).to_contain_text("is revoked")
    expect(page.locator("table.devices")).to_contain_text("Revoked")
    history = page.locator(".history")
    expect(history).to_contain_text("Revoked the device.")
    expect(history).to_contain_text("Changed Time zone")
    screenshot(page, "user-detail")

    # The token the app holds is refused on its very next request...
    assert app.client.tokens is not None
    held = {"Authorization": f"Bearer {app.client.tokens.access}"}
    with pytest.raises(ApiError) as refused:
        app.client.send("GET", ME, b"", held)
    assert (refused.value.status, refused.value.code) == (401, "device_revoked")
    # ...and the reference client recovers as an app should: it registers a new device.
    revoked_id = app.device_id
    assert app.client.request("GET", ME).json()["device"]["id"] != revoked_id


def test_anonymous_and_non_staff_visitors_are_sent_to_the_login_page(server, page):
    page.goto("/cms/users/")
    expect(page).to_have_url(f"{server.url}/cms/login/?next=/cms/users/")
    sign_in(page, *NOT_STAFF)
    expect(page).to_have_url(f"{server.url}/cms/login/")
    expect(page.get_by_role("alert")).to_contain_text("staff account")
    page.goto("/cms/")
    expect(page).to_have_url(f"{server.url}/cms/login/?next=/cms/")


def test_pages_are_served_with_a_strict_content_security_policy(server, page):
    response = page.goto("/cms/login/")
    assert response is not None
    policy = response.headers["content-security-policy"]
    assert "script-src 'none'" in policy
    assert "frame-ancestors 'none'" in policy
    assert "unsafe-inline" not in policy
    assert response.headers["x-frame-options"] == "DENY"
    stylesheet = page.request.get(page.locator('link[rel="stylesheet"]').get_attribute("href"))
    assert stylesheet.status == 200
    assert stylesheet.headers["content-type"].startswith("text/css")
