"""Races across processes: a multi-worker gunicorn on the real Redis and a real database."""

import json
import threading
import time
import urllib.error
import urllib.request
from concurrent.futures import ThreadPoolExecutor
from types import SimpleNamespace
from typing import Any

import pytest
from deviceauth import ApiError, DeviceClient
from deviceauth import client as client_module
from deviceauth.signing import sign_request

from tests.signing import APP_KEY_ID, APP_SECRET, GET_TOKEN, ME, REFRESH


def post_all(
    url: str, body: bytes, headers: list[dict[str, str]]
) -> list[tuple[int, dict[str, Any]]]:
    """POST every header set at once (released together by a barrier); (status, body) each."""
    barrier = threading.Barrier(len(headers))

    def send(signed: dict[str, str]) -> tuple[int, dict[str, Any]]:
        request = urllib.request.Request(
            url, data=body, method="POST", headers={"Content-Type": "application/json", **signed}
        )
        barrier.wait()
        try:
            with urllib.request.urlopen(request, timeout=30) as response:
                return response.status, json.loads(response.read())
        except urllib.error.HTTPError as error:
            return error.code, json.loads(error.read())

    with ThreadPoolExecutor(max_workers=len(headers)) as pool:
        return list(pool.map(send, headers))


@pytest.fixture
def server(live_server_factory):
    return live_server_factory(workers=4)


@pytest.fixture
def device_client(server):
    client = DeviceClient(server.url, app_key_id=APP_KEY_ID, app_secret=APP_SECRET)
    client.register(platform="android")
    return client


def test_fifty_concurrent_copies_of_one_signed_request_succeed_exactly_once(server, device_client):
    credentials = device_client.credentials
    headers = sign_request(
        key_id=credentials.device_id,
        secret=credentials.device_secret,
        method="POST",
        target=GET_TOKEN,
        body=b"{}",
    )
    results = post_all(server.url + GET_TOKEN, b"{}", [headers] * 50)
    statuses = sorted(status for status, _ in results)
    assert statuses == [200] + [401] * 49
    assert {body["code"] for status, body in results if status == 401} == {"nonce_reused"}


def test_two_concurrent_refreshes_of_one_token_succeed_exactly_once(server, device_client):
    tokens = device_client.get_token()
    credentials = device_client.credentials
    body = json.dumps({"refresh": tokens.refresh}).encode()
    headers = [
        sign_request(
            key_id=credentials.device_id,
            secret=credentials.device_secret,
            method="POST",
            target=REFRESH,
            body=body,
        )
        for _ in range(2)
    ]
    results = post_all(server.url + REFRESH, body, headers)
    statuses = sorted(status for status, _ in results)
    assert statuses == [200, 401]
    # The loser presented a token the winner had spent: reuse, which ends the chain, the
    # winner's new tokens with it (README, "Choices where the contract leaves room").
    loser = next(body for status, body in results if status == 401)
    assert loser["code"] == "token_reused"
    winner = next(body for status, body in results if status == 200)
    request = urllib.request.Request(
        server.url + ME, headers={"Authorization": f"Bearer {winner['access']}"}
    )
    with pytest.raises(urllib.error.HTTPError) as refused:
        urllib.request.urlopen(request, timeout=30)
    assert refused.value.code == 401
    assert json.loads(refused.value.read())["code"] == "token_revoked"


def test_the_reference_client_runs_the_whole_flow_on_a_live_server(device_client):
    device_client.get_token()
    assert (
        device_client.request("GET", ME).json()["device"]["id"]
        == device_client.credentials.device_id
    )
    device_client.refresh()
    me = device_client.request("PATCH", ME, {"profile": {"display_name": "Live 😀"}}).json()
    assert me["profile"]["display_name"] == "Live 😀"
    access = device_client.tokens.access
    device_client.logout()
    with pytest.raises(ApiError) as error:
        device_client.send("GET", ME, b"", {"Authorization": f"Bearer {access}"})
    assert error.value.status == 401
    assert error.value.code == "token_revoked"


def test_the_reference_client_corrects_its_clock_from_server_time(server, monkeypatch):
    # The device's clock runs an hour behind the server's.
    monkeypatch.setattr(client_module, "time", SimpleNamespace(time=lambda: time.time() - 3600))
    client = DeviceClient(server.url, app_key_id=APP_KEY_ID, app_secret=APP_SECRET)
    client.register(platform="ios")  # refused once with server_time, then signed again
    # Added to the local clock: an hour, give or take the seconds the requests took.
    assert 3598 <= client.clock_offset <= 3602
    # What is signed from then on is in the window.
    client.get_token()
    assert client.request("GET", ME).status == 200
