"""DeviceClient against a small local server standing in for the API, for what a live server
cannot be made to say on demand: short token lifetimes, a new device refused too, targets with
non-ASCII characters, answers that trickle in, headers in any case. The live tests are in
test_python_client.py."""

import json
import socket
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import replace
from typing import Any

import pytest
from deviceauth import ApiError, DeviceClient, DeviceCredentials, Tokens, sign_request
from deviceauth.client import GET_TOKEN, LOGOUT, REFRESH, REGISTER

from tests.clients.local_http import Answer, LocalServer, problem, serve, serve_raw
from tests.clients.threads import errors_of_concurrent_requests

ME = "/api/v1/me/"
APP_KEY_ID = "ios-dev"
APP_SECRET = "an-app-secret-for-tests"


def ok(status: int = 200, **members: object) -> Answer:
    return Answer(status, {"Content-Type": "application/json"}, json.dumps(members).encode())


@contextmanager
def fake_api(answers: dict[str, Answer]) -> Iterator[LocalServer]:
    """A server that answers each path with its answer in `answers`, and 404 to the others."""
    with serve(lambda request: answers.get(request.path, problem(404))) as api:
        yield api


def issued(expires_in: int) -> Answer:
    return ok(
        access="an-access-token",
        refresh="a-refresh-token",
        expires_in=expires_in,
        refresh_expires_in=86400,
    )


REGISTERED = ok(201, device_id="a-new-device", device_secret="a-new-secret", user_id=7)


def new_client(url: str, **options: Any) -> DeviceClient:
    return DeviceClient(url, app_key_id=APP_KEY_ID, app_secret=APP_SECRET, **options)


def valid_tokens() -> Tokens:
    return Tokens("an-access-token", "a-refresh-token", time.time() + 900, time.time() + 86400)


def paths(api: LocalServer) -> list[str]:
    return [request.path for request in api.received]


def test_a_token_issued_for_the_refresh_margin_is_not_refreshed_before_every_request() -> None:
    # JWT_ACCESS_TTL=60, the default margin: refreshing before each request would soon hit the
    # auth_token rate limit (5/min).
    answers = {REGISTER: REGISTERED, GET_TOKEN: issued(60), REFRESH: issued(60), ME: ok()}
    with fake_api(answers) as api:
        client = new_client(api.url)
        client.register(platform="ios")
        for _ in range(4):
            assert client.request("GET", ME).status == 200
        assert paths(api) == [REGISTER, GET_TOKEN, ME, ME, ME, ME]
        # Once half its lifetime is gone, it is refreshed.
        assert client.tokens is not None
        client.tokens = replace(client.tokens, expires_at=time.time() + 29)
        client.request("GET", ME)
        assert paths(api)[-2:] == [REFRESH, ME]


def test_a_new_device_refused_too_registers_once_and_raises_the_refusal() -> None:
    answers = {
        ME: problem(401, code="device_revoked"),
        REGISTER: REGISTERED,
        GET_TOKEN: problem(401, code="device_unknown"),
    }
    stored: list[DeviceCredentials] = []
    with fake_api(answers) as api:
        client = new_client(
            api.url,
            credentials=DeviceCredentials("a-revoked-device", "its-secret", 7),
            registration={"platform": "ios"},
            on_credentials=stored.append,
        )
        client.tokens = valid_tokens()
        with pytest.raises(ApiError) as raised:
            client.request("GET", ME)
    assert raised.value.code == "device_unknown"
    assert paths(api) == [ME, REGISTER, GET_TOKEN]
    assert stored == [DeviceCredentials("a-new-device", "a-new-secret", 7)]


def test_non_ascii_characters_of_a_bearer_target_are_sent_percent_encoded() -> None:
    with serve(lambda request: ok()) as api:
        client = new_client(api.url)
        client.tokens = valid_tokens()
        assert client.request("GET", f"{ME}?q=café&tag=50%25").status == 200
    # UTF-8, percent-encoded; an escape already there and the ASCII stay as they were.
    assert paths(api) == [f"{ME}?q=caf%C3%A9&tag=50%25"]


@pytest.mark.parametrize(
    ("target", "on_the_wire"),
    [
        (f"{REGISTER}?q=Zoë 日本", f"{REGISTER}?q=Zo%C3%AB%20%E6%97%A5%E6%9C%AC"),
        (f"{REGISTER}?q=1#part", f"{REGISTER}?q=1"),  # a fragment is never sent
    ],
    ids=["non-ASCII", "a fragment"],
)
def test_a_signed_target_is_signed_as_sent(target: str, on_the_wire: str) -> None:
    with serve(lambda request: ok()) as api:
        client = new_client(api.url)
        headers = client.sign("POST", target, b"{}", APP_KEY_ID, APP_SECRET)
        client.send("POST", target, b"{}", headers)
    [received] = api.received
    assert received.path == on_the_wire
    # The server verifies the target it receives.
    sent = {name.lower(): value for name, value in received.headers.items()}
    expected = sign_request(
        key_id=APP_KEY_ID,
        secret=APP_SECRET,
        method="POST",
        target=received.path,
        body=received.body,
        timestamp=int(sent["x-timestamp"]),
        nonce=sent["x-nonce"],
    )
    assert sent["x-signature"] == expected["X-Signature"]


def test_a_server_that_never_answers_times_out_after_the_clients_timeout() -> None:
    # It takes the connection (the kernel's backlog does) and reads nothing back.
    with socket.create_server(("127.0.0.1", 0)) as silent:
        host, port = silent.getsockname()
        client = new_client(f"http://{host}:{port}", timeout=0.3)
        started = time.monotonic()
        with pytest.raises(TimeoutError):
            client.register(platform="ios")
        assert time.monotonic() - started < 3
        assert client.credentials is None


# An answer that never ends in time: each byte comes well within the timeout of a socket read.
TRICKLES = {
    "in the head": (b"HTTP/1.1 200 OK\r\n", b"X-Slow: " + b"a" * 100),
    "in the body": (b"HTTP/1.1 200 OK\r\nContent-Length: 100\r\n\r\n", b" " * 100),
}


@pytest.mark.parametrize("trickle", TRICKLES.values(), ids=TRICKLES.keys())
def test_an_answer_that_trickles_in_times_out_for_every_caller_waiting_on_it(
    trickle: tuple[bytes, bytes],
) -> None:
    head, rest = trickle

    def reply(connection: socket.socket) -> None:
        connection.sendall(head)
        for byte in rest:  # 5 s in all
            time.sleep(0.05)
            connection.sendall(bytes([byte]))

    with serve_raw(reply) as url:
        client = new_client(url, credentials=DeviceCredentials("a-device", "its-secret", 7))
        client.timeout = 0.5
        # Inside the refresh margin: three requests wait on one refresh, the one that trickles.
        client.tokens = replace(valid_tokens(), expires_at=time.time() + 30)
        started = time.monotonic()
        errors = errors_of_concurrent_requests(client, 3, ME)
        elapsed = time.monotonic() - started
    assert len(errors) == 3
    assert all(error is errors[0] for error in errors)
    assert isinstance(errors[0], TimeoutError)
    assert str(errors[0]) == f"POST {REFRESH}: no answer within 0.5 s"
    assert elapsed < 2


def test_a_connection_that_is_not_accepted_in_time_is_a_timeout_error() -> None:
    with socket.create_server(("127.0.0.1", 0), backlog=0) as full:
        # Connections the server never accepts, until its queue is full and the next one waits.
        waiting = []
        for _ in range(10):
            connection = socket.socket()
            connection.settimeout(0.2)
            waiting.append(connection)
            try:
                connection.connect(full.getsockname())
            except TimeoutError:
                break
        host, port = full.getsockname()
        client = new_client(f"http://{host}:{port}", timeout=0.3)
        started = time.monotonic()
        with pytest.raises(TimeoutError):
            client.register(platform="ios")
        assert time.monotonic() - started < 3
        for connection in waiting:
            connection.close()


def test_headers_are_found_whatever_their_case_and_repeated_ones_all_kept() -> None:
    body = json.dumps({"status": 503, "code": "service_unavailable"}).encode()

    def reply(connection: socket.socket) -> None:
        connection.sendall(
            b"HTTP/1.1 503 Service Unavailable\r\n"
            b"content-type: application/problem+json\r\n"
            b"retry-after: 30\r\n"
            b"link: <https://example.com/a>\r\n"
            b"link: <https://example.com/b>\r\n"
            b"content-length: " + str(len(body)).encode() + b"\r\n\r\n" + body
        )

    with serve_raw(reply) as url:
        client = new_client(url)
        with pytest.raises(ApiError) as raised:
            client.send("GET", ME, b"", {})
    headers = raised.value.response.headers
    assert raised.value.code == "service_unavailable"
    assert headers.get("Retry-After") == headers["RETRY-AFTER"] == "30"
    assert headers.get_all("Link") == ["<https://example.com/a>", "<https://example.com/b>"]


def test_a_logout_whose_refresh_finds_the_device_revoked_forgets_the_tokens() -> None:
    answers = {REFRESH: problem(401, code="device_revoked"), REGISTER: REGISTERED}
    credentials = DeviceCredentials("a-device", "its-secret", 7)
    with fake_api(answers) as api:
        client = new_client(api.url, credentials=credentials, registration={"platform": "ios"})
        # About to expire: logout() refreshes first.
        client.tokens = replace(valid_tokens(), expires_at=time.time() + 30)
        client.logout()
    assert client.tokens is None
    # Not registered again, to end the session of a new device.
    assert paths(api) == [REFRESH]
    assert client.credentials == credentials


class LockedStorage:
    """An `on_credentials` that fails `failures` times (a Keychain locked during a background
    fetch), then stores."""

    def __init__(self, failures: int) -> None:
        self.failures = failures
        self.stored: list[DeviceCredentials] = []

    def __call__(self, credentials: DeviceCredentials) -> None:
        if self.failures:
            self.failures -= 1
            raise OSError("the keychain is locked")
        self.stored.append(credentials)


def test_credentials_the_app_failed_to_store_are_handed_over_again_before_the_next_request() -> (
    None
):
    answers = {REGISTER: REGISTERED, GET_TOKEN: issued(900), ME: ok()}
    storage = LockedStorage(failures=1)
    with fake_api(answers) as api:
        client = new_client(api.url, on_credentials=storage)
        with pytest.raises(OSError, match="locked"):
            client.register(platform="ios")
        assert storage.stored == []
        assert client.request("GET", ME).status == 200
        assert client.request("GET", ME).status == 200
    new = DeviceCredentials("a-new-device", "a-new-secret", 7)
    # Stored once, before the first request went out; not registered again.
    assert storage.stored == [new]
    assert paths(api) == [REGISTER, GET_TOKEN, ME, ME]


def test_while_the_app_cannot_store_new_credentials_nothing_is_sent_with_them() -> None:
    answers = {REGISTER: REGISTERED, GET_TOKEN: issued(900), ME: ok()}
    storage = LockedStorage(failures=3)
    with fake_api(answers) as api:
        client = new_client(api.url, on_credentials=storage)
        for step in (lambda: client.register(platform="ios"), client.get_token, client.logout):
            with pytest.raises(OSError, match="locked"):
                step()
        client.tokens = valid_tokens()
        assert client.request("GET", ME).status == 200
    assert storage.stored == [DeviceCredentials("a-new-device", "a-new-secret", 7)]
    assert paths(api) == [REGISTER, ME]


def test_a_refresh_token_expired_by_the_local_clock_is_not_sent() -> None:
    # The server would only refuse it (token_expired), and spend an auth_token request on it.
    answers = {GET_TOKEN: issued(900), REFRESH: issued(900), ME: ok()}
    with fake_api(answers) as api:
        client = new_client(api.url, credentials=DeviceCredentials("a-device", "its-secret", 7))
        client.tokens = replace(valid_tokens(), expires_at=time.time() - 60)
        client.tokens = replace(client.tokens, refresh_expires_at=time.time() - 1)
        assert client.request("GET", ME).status == 200
        assert paths(api) == [GET_TOKEN, ME]
        client.tokens = replace(client.tokens, refresh_expires_at=time.time() - 1)
        client.refresh()
        assert paths(api)[-1] == GET_TOKEN


def test_an_error_answer_without_problem_details_says_its_status() -> None:
    page = Answer(502, {"Content-Type": "text/html"}, b"<html>Bad Gateway</html>")
    with serve(lambda request: page) as api:
        client = new_client(api.url)
        with pytest.raises(ApiError) as raised:
            client.register(platform="ios")
    assert (raised.value.status, raised.value.code) == (502, None)
    assert str(raised.value) == "502 error: no problem details in the answer"


def test_a_session_another_thread_starts_during_a_logout_is_kept() -> None:
    # The new session is live on the server: forgotten, it would stay there unknown.
    credentials = DeviceCredentials("a-device", "its-secret", 7)
    started: list[Tokens] = []

    def answer(request: Any) -> Answer:
        if request.path == LOGOUT:
            started.append(client.get_token())  # another thread, while the logout is on the wire
            return Answer(204, {}, b"")
        return ok(access="a-new-session", refresh="r", expires_in=900, refresh_expires_in=86400)

    with serve(answer) as api:
        client = new_client(api.url, credentials=credentials)
        client.tokens = valid_tokens()
        client.logout()
    assert paths(api) == [LOGOUT, GET_TOKEN]
    assert client.tokens is not None
    assert client.tokens is started[0]
    assert client.tokens.access == "a-new-session"
