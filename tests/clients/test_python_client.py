"""The Python reference client (clients/python/deviceauth) against a live multi-worker server:
the renewals an app relies on, each through the server's real answers."""

import threading
import time
import uuid
from dataclasses import replace

import pytest
from deviceauth import ApiError, DeviceClient, DeviceCredentials, Response, sign_request

from tests.clients.conftest import EXPIRING_TTL
from tests.processes import run_manage
from tests.signing import APP_KEY_ID, APP_SECRET, GET_TOKEN, ME, REFRESH, REGISTER


class RecordingClient(DeviceClient):
    """Records the target and outcome (status, or the problem's code) of every request."""

    def __init__(self, *args, **kwargs) -> None:
        super().__init__(*args, **kwargs)
        self.sent: list[tuple[str, int | str]] = []

    def send(self, method: str, target: str, body: bytes, headers: dict[str, str]) -> Response:
        try:
            response = super().send(method, target, body, headers)
        except ApiError as error:
            self.sent.append((target, error.code or error.status))
            raise
        self.sent.append((target, response.status))
        return response

    def targets(self) -> list[str]:
        return [target for target, _ in self.sent]


def new_client(server, **kwargs) -> RecordingClient:
    return RecordingClient(server.url, app_key_id=APP_KEY_ID, app_secret=APP_SECRET, **kwargs)


def test_a_registered_client_gets_its_first_token_by_itself(server):
    client = new_client(server)
    credentials = client.register(platform="ios", app_version="1.4.0")
    me = client.request("GET", ME).json()
    assert me["device"]["id"] == credentials.device_id
    assert me["device"]["app_version"] == "1.4.0"
    assert client.targets() == [REGISTER, GET_TOKEN, ME]


def test_concurrent_requests_near_expiry_share_one_refresh(server):
    client = new_client(server)
    client.register(platform="android")
    tokens = client.get_token()
    # 30 s left, inside the 60 s margin: the next requests must refresh first.
    client.tokens = replace(tokens, expires_at=time.time() + 30)
    client.sent.clear()
    barrier = threading.Barrier(8)
    results: list[int] = []

    def call() -> None:
        barrier.wait()
        results.append(client.request("GET", ME).status)

    threads = [threading.Thread(target=call) for _ in range(8)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert results == [200] * 8
    # One refresh: a second one would have presented a spent token (token_reused).
    assert client.targets().count(REFRESH) == 1
    assert client.tokens is not None
    assert client.tokens.expires_at > time.time() + 600


def test_an_expired_access_token_is_refreshed_and_the_request_sent_again(expiring_server):
    client = new_client(expiring_server)
    client.register(platform="ios")
    tokens = client.get_token()
    time.sleep(EXPIRING_TTL + 1.1)  # the token has expired on the server's clock
    # A device whose clock runs behind still believes it valid, so only the server can say.
    client.tokens = replace(tokens, expires_at=time.time() + 600)
    client.sent.clear()
    assert client.request("GET", ME).status == 200
    assert client.sent == [(ME, "token_expired"), (REFRESH, 200), (ME, 200)]


def test_a_session_ended_by_another_get_token_is_renewed_with_get_token(server):
    client = new_client(server)
    client.register(platform="ios")
    client.get_token()
    # Another install of the same credentials (or a restore) starts a new session.
    other = new_client(server, credentials=client.credentials)
    other.get_token()
    client.sent.clear()
    assert client.request("GET", ME).status == 200
    assert client.sent == [(ME, "token_revoked"), (GET_TOKEN, 200), (ME, 200)]


def test_a_revoked_device_registers_again_and_hands_over_its_new_credentials(server):
    stored: list[DeviceCredentials] = []
    client = new_client(server, on_credentials=stored.append)
    old = client.register(platform="android", device_model="Pixel 9")
    client.get_token()
    revoked = run_manage(
        "shell",
        "-c",
        "from api.models import Device; from api.apis.auth.services import device_revoke; "
        f"device_revoke(device=Device.objects.get(pk='{old.device_id}'))",
        env={key: server.env[key] for key in ("DATABASE_URL", "REDIS_URL")},
    )
    assert revoked.returncode == 0, revoked.stderr
    client.sent.clear()
    me = client.request("GET", ME).json()
    assert client.sent == [
        (ME, "device_revoked"),
        (REGISTER, 201),
        (GET_TOKEN, 200),
        (ME, 200),
    ]
    new = client.credentials
    assert new is not None
    assert stored == [old, new]
    assert new.device_id != old.device_id
    assert me["device"]["id"] == new.device_id
    assert me["device"]["device_model"] == "Pixel 9"


def test_an_unknown_device_registers_again_when_it_knows_how(server):
    forgotten = DeviceCredentials(str(uuid.uuid4()), "a-secret-the-server-never-issued", 1)
    client = new_client(server, credentials=forgotten, registration={"platform": "web"})
    assert client.request("GET", ME).json()["device"]["platform"] == "web"
    assert client.sent == [
        (GET_TOKEN, "device_unknown"),
        (REGISTER, 201),
        (GET_TOKEN, 200),
        (ME, 200),
    ]


def test_an_unknown_device_without_registration_fields_is_an_error(server):
    forgotten = DeviceCredentials(str(uuid.uuid4()), "a-secret-the-server-never-issued", 1)
    client = new_client(server, credentials=forgotten)
    with pytest.raises(ApiError) as error:
        client.request("GET", ME)
    assert error.value.code == "device_unknown"
    assert client.targets() == [GET_TOKEN]


class NonceReplayingClient(RecordingClient):
    """Signs its second get-token with the nonce of its first, as a buggy nonce source might."""

    used_nonce = ""

    def sign(self, method, target, body, key_id, secret):
        headers = super().sign(method, target, body, key_id, secret)
        if target != GET_TOKEN:
            return headers
        if not self.used_nonce:
            self.used_nonce = headers["X-Nonce"]
            return headers
        nonce, self.used_nonce = self.used_nonce, "spent"
        if nonce == "spent":
            return headers
        # Correctly signed, so that only the nonce check can refuse it.
        timestamp = int(headers["X-Timestamp"])
        return sign_request(
            key_id=key_id,
            secret=secret,
            method=method,
            target=target,
            body=body,
            timestamp=timestamp,
            nonce=nonce,
        )


def test_a_replayed_nonce_is_signed_again_with_a_fresh_one(server):
    client = NonceReplayingClient(server.url, app_key_id=APP_KEY_ID, app_secret=APP_SECRET)
    client.register(platform="ios")
    client.get_token()
    client.sent.clear()
    client.get_token()
    assert client.sent == [(GET_TOKEN, "nonce_reused"), (GET_TOKEN, 200)]
