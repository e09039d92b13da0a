"""The JavaScript reference client (clients/js): `node --test` against the signature vectors and
live servers started here. Node 20 or newer is required, as by the client."""

import json
import os
import re
import shutil
import subprocess

import pytest
from deviceauth import DeviceClient

from tests.clients.conftest import EXPIRING_TTL
from tests.processes import ROOT, run_manage
from tests.signing import APP_KEY_ID, APP_SECRET

CLIENT = ROOT / "clients" / "js"


def revoked_device(server) -> dict[str, object]:
    """Credentials of a device registered, then revoked through the auth services."""
    client = DeviceClient(server.url, app_key_id=APP_KEY_ID, app_secret=APP_SECRET)
    credentials = client.register(platform="ios")
    revoked = run_manage(
        "shell",
        "-c",
        "from api.models import Device; from api.apis.auth.services import device_revoke; "
        f"device_revoke(device=Device.objects.get(pk='{credentials.device_id}'))",
        env={key: server.env[key] for key in ("DATABASE_URL", "REDIS_URL")},
    )
    assert revoked.returncode == 0, revoked.stderr
    return {
        "deviceId": credentials.device_id,
        "deviceSecret": credentials.device_secret,
        "userId": credentials.user_id,
    }


@pytest.fixture
def node() -> str:
    """The `node` on the PATH, if it is Node.js 20 or newer; skipped otherwise, as the tests that
    need a service skip where there is none (FAIL_ON_SKIP=1 fails CI's run instead)."""
    path = shutil.which("node")
    version = ""
    if path:
        version = subprocess.run(
            [path, "--version"], capture_output=True, text=True, timeout=30, check=False
        ).stdout.strip()
    major = re.match(r"v(\d+)\.", version)
    if not path or not major or int(major[1]) < 20:
        pytest.skip(f"needs Node.js 20 or newer to test clients/js, found {version or 'none'}")
    return path


def test_the_js_client_passes_its_tests_on_live_servers(node, server, expiring_server):
    env = {
        **os.environ,
        "DEVICEAUTH_SERVER_URL": server.url,
        "DEVICEAUTH_EXPIRING_SERVER_URL": expiring_server.url,
        "DEVICEAUTH_EXPIRING_TTL": str(EXPIRING_TTL),
        "DEVICEAUTH_APP_KEY_ID": APP_KEY_ID,
        "DEVICEAUTH_APP_SECRET": APP_SECRET,
        "DEVICEAUTH_REVOKED_DEVICE": json.dumps(revoked_device(server)),
    }
    # As `npm test` runs them: `node --test` finds test/*.test.js by itself on Node 20 and 22+
    # (given "test/", Node 22 looks for a file of that name).
    result = subprocess.run(
        [node, "--test", "--test-reporter=tap"],
        cwd=CLIENT,
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    summary = dict(
        re.findall(r"^# (tests|pass|fail|skipped|cancelled|todo) (\d+)$", result.stdout, re.M)
    )
    assert result.returncode == 0, result.stdout + result.stderr
    assert summary["fail"] == summary["skipped"] == summary["cancelled"] == "0", result.stdout
    assert summary["todo"] == "0", result.stdout
    # Every test passed: the signature vectors and every live test ran.
    assert summary["pass"] == summary["tests"], result.stdout
    assert int(summary["pass"]) >= 41, result.stdout
