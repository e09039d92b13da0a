"""The Python reference client (clients/python/deviceauth) against a live multi-worker server:
the renewals an app relies on, each through the server's real answers. Where only something else
on the way would answer (a redirect, a 503 from a proxy, a 401 without `server_time`), small
local HTTP servers do (tests/clients/local_http.py)."""

import json
import threading
import time
import uuid
from dataclasses import replace

import pytest
from deviceauth import ApiError, DeviceClient, DeviceCredentials, Response, Tokens, sign_request

from tests.clients.conftest import EXPIRING_TTL
from tests.clients.local_http import Answer, Received, forward, problem, serve
from tests.clients.threads import concurrently, errors_of_concurrent_requests
from tests.processes import run_manage
from tests.signing import APP_KEY_ID, APP_SECRET, GET_TOKEN, LOGOUT, ME, REFRESH, REGISTER


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
    results: list[int] = []
    concurrently(8, lambda: results.append(client.request("GET", ME).status))
    assert results == [200] * 8
    # One refresh: a second one would have presented a spent token (token_reused).
    assert client.targets().count(REFRESH) == 1
    assert client.tokens is not None
    assert client.tokens.expires_at > time.time() + 600


def test_a_failed_refresh_fails_every_caller_that_waited_for_it_and_is_not_retried(server):
    failing = threading.Event()
    failing.set()

    def proxy(request: Received) -> Answer:
        """The live server, but for refresh-token: a 503 with Retry-After (as a load balancer
        gives while the API is down), slow enough that every caller is waiting for it."""
        if failing.is_set() and request.path == REFRESH:
            time.sleep(1)
            unavailable = problem(503, code="service_unavailable", detail="Down.")
            return replace(unavailable, headers={**unavailable.headers, "Retry-After": "30"})
        return forward(server.url, request)

    with serve(proxy) as proxied:
        client = new_client(proxied)
        client.register(platform="android")
        tokens = client.get_token()
        client.tokens = replace(tokens, expires_at=time.time() + 30)
        client.sent.clear()
        errors = errors_of_concurrent_requests(client, 8, ME)
        # One attempt, not eight: one after another, they would ignore Retry-After and spend
        # the auth_token rate limit. And its error, for every caller.
        assert client.sent == [(REFRESH, "service_unavailable")]
        assert len(errors) == 8
        assert all(error is errors[0] for error in errors)
        assert isinstance(errors[0], ApiError)
        assert errors[0].status == 503
        assert errors[0].response.headers["Retry-After"] == "30"
        # Later, with the API back, a request refreshes with the unspent refresh token.
        failing.clear()
        client.sent.clear()
        assert client.request("GET", ME).status == 200
        assert client.sent == [(REFRESH, 200), (ME, 200)]


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


def refused_refresh(client: DeviceClient, refresh: str) -> str | None:
    """The code with which the server refuses `refresh`, presented by `client`'s device."""
    assert client.credentials is not None
    device_id, secret = client.credentials.device_id, client.credentials.device_secret
    body = json.dumps({"refresh": refresh}).encode()
    headers = {"Content-Type": "application/json"}
    headers |= client.sign("POST", REFRESH, body, device_id, secret)
    with pytest.raises(ApiError) as refused:
        client.send("POST", REFRESH, body, headers)
    return refused.value.code


def test_a_logout_after_the_access_token_expired_refreshes_first_then_ends_the_session(
    expiring_server,
):
    client = new_client(expiring_server)
    client.register(platform="ios")
    expired = client.get_token()
    time.sleep(EXPIRING_TTL + 1.1)  # the token has expired on the server's clock
    client.sent.clear()
    client.logout()
    assert client.sent == [(REFRESH, 200), (LOGOUT, 204)]
    assert client.tokens is None
    # The chain has ended: the refresh token of before is revoked (while the chain lived,
    # presenting it once spent was token_reused).
    assert refused_refresh(client, expired.refresh) == "token_revoked"


def test_a_logout_that_fails_keeps_the_tokens_so_that_it_can_be_tried_again(server):
    failing = threading.Event()
    failing.set()

    def proxy(request: Received) -> Answer:
        """The live server, but for logout: a 503, as a load balancer gives while the API is
        down."""
        if failing.is_set() and request.path == LOGOUT:
            return problem(503, code="service_unavailable", detail="Down.")
        return forward(server.url, request)

    with serve(proxy) as proxied:
        client = new_client(proxied)
        client.register(platform="web")
        tokens = client.get_token()
        client.sent.clear()
        with pytest.raises(ApiError) as error:
            client.logout()
        assert error.value.code == "service_unavailable"
        assert client.tokens is tokens
        failing.clear()
        client.logout()
        assert client.tokens is None
        assert client.sent == [(LOGOUT, "service_unavailable"), (LOGOUT, 204)]
        with pytest.raises(ApiError) as refused:
            client.send("GET", ME, b"", {"Authorization": f"Bearer {tokens.access}"})
        assert refused.value.code == "token_revoked"


def test_a_logout_of_a_session_that_has_ended_already_forgets_its_tokens(server):
    client = new_client(server)
    client.register(platform="web")
    client.get_token()
    new_client(server, credentials=client.credentials).get_token()
    client.sent.clear()
    client.logout()
    assert client.tokens is None
    # Without a new session started just to end it.
    assert client.sent == [(LOGOUT, "token_revoked")]


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


def test_after_the_jwt_signing_key_is_rotated_a_client_carries_on_with_get_token(
    live_server_factory,
):
    # Two servers on one database and Redis: before and after a deploy with a new
    # JWT_SIGNING_KEY (README: Rotating keys). Tokens signed with the old key are invalid;
    # the device's secret is not, so the client gets new ones by itself.
    before = live_server_factory(workers=1, JWT_SIGNING_KEY="jwt-key-before-rotation-0123456789")
    after = live_server_factory(workers=1, JWT_SIGNING_KEY="jwt-key-after-rotation-0123456789")
    client = new_client(before)
    client.register(platform="ios")
    assert client.request("GET", ME).status == 200
    rotated = new_client(after, credentials=client.credentials)
    rotated.tokens = client.tokens
    assert rotated.request("GET", ME).status == 200
    assert rotated.sent == [(ME, "token_invalid"), (GET_TOKEN, 200), (ME, 200)]


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


@pytest.mark.parametrize(
    "members",
    [{}, {"server_time": "soon"}, {"server_time": None}, {"server_time": True}],
    ids=["missing", "a string", "null", "a boolean"],
)
def test_timestamp_out_of_window_without_a_server_time_is_an_error(members):
    """Something other than this API answered: no clock correction, no second attempt."""
    answer = problem(401, code="timestamp_out_of_window", detail="Not the API.", **members)
    with serve(lambda request: answer) as other:
        client = new_client(other)
        with pytest.raises(ApiError) as error:
            client.register(platform="ios")
    assert error.value.code == "timestamp_out_of_window"
    assert client.clock_offset == 0
    assert len(other.received) == 1


def test_a_redirect_is_not_followed_and_nothing_reaches_its_target():
    with (
        serve(lambda request: Answer(200, {}, b"{}")) as target,
        serve(lambda request: Answer(302, {"Location": target.url + request.path})) as redirecting,
    ):
        client = new_client(redirecting)
        client.tokens = Tokens("an-access-token", "a-refresh-token", time.time() + 900, 0)
        # A bearer request: the token must not travel on.
        with pytest.raises(ApiError) as bearer:
            client.request("GET", ME)
        # A signed POST: neither sent on as a POST nor turned into a GET.
        with pytest.raises(ApiError) as signed:
            client.register(platform="ios")
    assert (bearer.value.status, bearer.value.response.headers["Location"]) == (
        302,
        target.url + ME,
    )
    assert (signed.value.status, signed.value.response.headers["Location"]) == (
        302,
        target.url + REGISTER,
    )
    assert [(r.method, r.path) for r in redirecting.received] == [("GET", ME), ("POST", REGISTER)]
    assert redirecting.received[0].headers["Authorization"] == "Bearer an-access-token"
    assert target.received == []


def test_secrets_stay_out_of_repr():
    credentials = DeviceCredentials(str(uuid.uuid4()), "the-device-secret", 7)
    tokens = Tokens("the-access-token", "the-refresh-token", 1.0, 2.0)
    shown = " ".join([repr(credentials), str(credentials), repr(tokens), str(tokens)])
    for secret in ("the-device-secret", "the-access-token", "the-refresh-token"):
        assert secret not in shown
    assert credentials.device_id in repr(credentials)
    assert "user_id=7" in repr(credentials)
    assert "expires_at=1.0" in repr(tokens)
    # Still values: equal by every field, the hidden ones included.
    assert credentials == DeviceCredentials(credentials.device_id, "the-device-secret", 7)
    assert credentials != DeviceCredentials(credentials.device_id, "another-secret", 7)
