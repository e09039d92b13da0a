"""The server's checks of a signed request, in the order of SPEC §3, on get-token."""

import asyncio
import time
import uuid
from collections.abc import Mapping
from typing import Any

import pytest
from asgiref.sync import async_to_sync
from deviceauth.signing import sign_request
from django.core.cache import caches
from django_redis.cache import RedisCache

from api.apis.auth import views
from api.apis.auth.services import device_revoke, token_issue, user_deactivate
from api.models import Device, User
from api.signature import NONCE_TTL_MARGIN
from tests.asserts import assert_problem
from tests.factories import DeviceFactory
from tests.services import closed_port, redis_caches
from tests.signing import GET_TOKEN, REFRESH, device_signed, register, signed

pytestmark = pytest.mark.django_db


@pytest.fixture
def device(client):
    return register(client)


def assert_nothing_issued(device_id: str) -> None:
    row = Device.objects.get(pk=device_id)
    assert row.token_chain == ""
    assert row.refresh_jti == ""


def test_a_signed_get_token_succeeds(client, device):
    response = device_signed(client, device, GET_TOKEN, {})
    assert response.status_code == 200
    assert Device.objects.get(pk=device.id).token_chain != ""


def test_an_identical_replay_is_nonce_reused(client, device):
    first = device_signed(client, device, GET_TOKEN, {}, timestamp=int(time.time()), nonce="n" * 20)
    chain = Device.objects.get(pk=device.id).token_chain
    replay = device_signed(
        client,
        device,
        GET_TOKEN,
        {},
        timestamp=int(first.request["HTTP_X_TIMESTAMP"]),
        nonce="n" * 20,
    )
    assert first.status_code == 200
    assert_problem(replay, 401, "nonce_reused")
    assert Device.objects.get(pk=device.id).token_chain == chain


def test_the_same_nonce_with_a_new_timestamp_and_valid_signature_is_nonce_reused(client, device):
    now = int(time.time())
    assert (
        device_signed(
            client, device, GET_TOKEN, {}, timestamp=now - 5, nonce="same-nonce-123456"
        ).status_code
        == 200
    )
    chain = Device.objects.get(pk=device.id).token_chain
    again = device_signed(client, device, GET_TOKEN, {}, timestamp=now, nonce="same-nonce-123456")
    assert_problem(again, 401, "nonce_reused")
    assert Device.objects.get(pk=device.id).token_chain == chain


def test_a_bad_signature_does_not_burn_the_nonce(client, device):
    bad = device_signed(
        client, device, GET_TOKEN, {}, nonce="unburnt-nonce-0001", signature="0" * 64
    )
    assert_problem(bad, 401, "signature_invalid")
    good = device_signed(client, device, GET_TOKEN, {}, nonce="unburnt-nonce-0001")
    assert good.status_code == 200


@pytest.mark.parametrize("skew", [300, 45])
def test_a_claimed_nonce_is_remembered_on_redis_for_twice_the_skew_and_a_margin(
    client, device, settings, redis_url, skew
):
    settings.CACHES = redis_caches(redis_url)
    settings.SIGNATURE_MAX_SKEW = skew
    caches["security"].clear()
    response = device_signed(client, device, GET_TOKEN, {}, nonce="remembered-nonce-0001")
    assert response.status_code == 200
    security = caches["security"]
    assert isinstance(security, RedisCache)
    # Milliseconds: a slow run may have spent some of the lifetime, never added to it.
    lifetime = security.pttl(f"nonce:{device.id}:remembered-nonce-0001")
    expected = (2 * skew + NONCE_TTL_MARGIN) * 1000
    assert expected - 2000 < lifetime <= expected


def test_a_nonce_outlives_the_last_second_its_timestamp_is_accepted(client, device, settings):
    # The clock is read in whole seconds: stamped T, a request is accepted until T + skew + 1
    # in real time. Claimed at T - skew, a nonce kept for exactly 2 x skew expired a second
    # early, and the same request was good once more.
    settings.SIGNATURE_MAX_SKEW = 1
    time.sleep(1.01 - time.time() % 1)  # just past a second's start
    start = int(time.time())
    stamp, nonce = start + 1, "edge-of-window-0001"  # the earliest second it is accepted in
    assert (
        device_signed(client, device, GET_TOKEN, {}, timestamp=stamp, nonce=nonce).status_code
        == 200
    )
    # Into the last second, early enough for a slow machine to send the replay within it, and
    # past when a nonce kept for exactly 2 x skew from its claim would have gone.
    time.sleep(max(0.0, start + 2.1 - time.time()))
    replay = device_signed(client, device, GET_TOKEN, {}, timestamp=stamp, nonce=nonce)
    assert int(time.time()) == stamp + 1, "the machine was too slow to reach the window's end"
    assert_problem(replay, 401, "nonce_reused")


def send_at_offset(client, device, offset: int):
    """A request stamped `offset` seconds from now, retried if the clock ticked meanwhile."""
    for _ in range(3):
        before = int(time.time())
        response = device_signed(client, device, GET_TOKEN, {}, timestamp=before + offset)
        if int(time.time()) == before:
            return response, before
    raise AssertionError("the clock kept ticking during the request")


@pytest.mark.parametrize("offset", [300, -300])
def test_timestamps_at_the_skew_limit_are_accepted(client, device, offset):
    response, _ = send_at_offset(client, device, offset)
    assert response.status_code == 200


@pytest.mark.parametrize("offset", [301, -301])
def test_timestamps_past_the_skew_are_refused_with_server_time(client, device, offset):
    response, now = send_at_offset(client, device, offset)
    problem = assert_problem(response, 401, "timestamp_out_of_window")
    assert problem["server_time"] == now
    assert_nothing_issued(device.id)


@pytest.mark.parametrize(
    "timestamp",
    [
        str(int(time.time() * 1000)),
        "-100",
        f"{int(time.time())}.5",
        f" {int(time.time())}",
        f"{int(time.time())} ",
        "1e9",
        "abc",
        # One instant, one spelling: the string signed is the one checked.
        f"0{int(time.time())}",
    ],
    ids=[
        "milliseconds",
        "negative",
        "float",
        "leading-space",
        "trailing-space",
        "exponent",
        "text",
        "zero-padded",
    ],
)
def test_malformed_timestamps_are_signature_invalid(client, device, timestamp):
    response = device_signed(client, device, GET_TOKEN, {}, HTTP_X_TIMESTAMP=timestamp)
    problem = assert_problem(response, 401, "signature_invalid")
    assert "whole seconds" in problem["detail"]
    assert_nothing_issued(device.id)


@pytest.mark.parametrize(
    ("header", "value", "detail"),
    [
        ("HTTP_X_SIGNATURE", "A" * 64, "X-Signature must be 64 lower-case hex digits."),
        ("HTTP_X_SIGNATURE", "ab" * 16, "X-Signature must be 64 lower-case hex digits."),
        ("HTTP_X_KEY_ID", "has space", "X-Key-Id must be 1-128 characters"),
    ],
)
def test_malformed_headers_are_signature_invalid(client, device, header, value, detail):
    response = device_signed(client, device, GET_TOKEN, {}, **{header: value})
    assert detail in assert_problem(response, 401, "signature_invalid")["detail"]
    assert_nothing_issued(device.id)


@pytest.mark.parametrize(
    "nonce", ["short-nonce-15c", "n" * 65, "has.a.dot.in.it.0001", "padded=nonce=000001"]
)
def test_a_malformed_nonce_is_refused_even_when_the_signature_covers_it(client, device, nonce):
    response = device_signed(client, device, GET_TOKEN, {}, nonce=nonce)
    problem = assert_problem(response, 401, "signature_invalid")
    assert "X-Nonce must be 16-64 characters" in problem["detail"]
    assert_nothing_issued(device.id)


def test_uppercase_hex_of_the_right_signature_is_refused(client, device):
    headers = sign_request(
        key_id=device.id, secret=device.secret, method="POST", target=GET_TOKEN, body=b"{}"
    )
    headers["X-Signature"] = headers["X-Signature"].upper()
    assert_problem(send_with_headers(client, headers, b"{}"), 401, "signature_invalid")


@pytest.mark.parametrize("header", ["X-Key-Id", "X-Timestamp", "X-Nonce", "X-Signature"])
def test_each_missing_header_is_signature_missing(client, device, header):
    response = device_signed(client, device, GET_TOKEN, {}, drop=(header,))
    problem = assert_problem(response, 401, "signature_missing")
    assert header in problem["detail"]
    assert response["WWW-Authenticate"] == 'Device-HMAC realm="api"'
    assert_nothing_issued(device.id)


def send_with_headers(client, headers: dict[str, str], body: bytes):
    """POST get-token with `body` and signature headers computed for something else."""
    meta = {"HTTP_" + name.upper().replace("-", "_"): value for name, value in headers.items()}
    return client.generic("POST", GET_TOKEN, body, content_type="application/json", **meta)


@pytest.mark.parametrize(
    ("method", "target", "signed_body", "sent_body"),
    [
        ("POST", GET_TOKEN, b'{"app_version":"1.0"}', b'{"app_version":"1.1"}'),
        ("POST", REFRESH, b"{}", b"{}"),
        ("PUT", GET_TOKEN, b"{}", b"{}"),
    ],
    ids=["one-body-byte-altered", "another-path", "another-method"],
)
def test_a_signature_over_other_bytes_than_those_sent_is_refused(
    client, device, method, target, signed_body, sent_body
):
    headers = sign_request(
        key_id=device.id, secret=device.secret, method=method, target=target, body=signed_body
    )
    assert_problem(send_with_headers(client, headers, sent_body), 401, "signature_invalid")
    assert_nothing_issued(device.id)


def test_a_content_length_that_is_not_a_number_is_400_not_500(client, device):
    # gunicorn refuses it itself; Django's runserver (`make run`) passes it through.
    response = device_signed(client, device, GET_TOKEN, {}, CONTENT_LENGTH="2x")
    assert_problem(response, 400, "bad_request")
    assert_nothing_issued(device.id)


@pytest.mark.parametrize("charset", ["utf-7", "utf-16", "latin-1"])
def test_a_signed_body_in_another_charset_than_utf8_is_refused(client, device, charset):
    # The Content-Type header is not signed: its charset would change how the signed bytes read.
    response = device_signed(
        client, device, GET_TOKEN, {}, content_type=f"application/json; charset={charset}"
    )
    assert_problem(response, 415, "unsupported_media_type")
    assert_nothing_issued(device.id)


@pytest.mark.parametrize("charset", ["utf-8", "UTF-8", "utf8"])
def test_a_signed_body_declared_utf8_is_accepted(client, device, charset):
    response = device_signed(
        client, device, GET_TOKEN, {}, content_type=f"application/json; charset={charset}"
    )
    assert response.status_code == 200


def test_method_override_headers_are_ignored(client, device):
    response = device_signed(
        client,
        device,
        GET_TOKEN,
        {},
        HTTP_X_HTTP_METHOD_OVERRIDE="GET",
        HTTP_X_METHOD_OVERRIDE="DELETE",
    )
    assert response.status_code == 200


def test_a_method_the_endpoint_lacks_is_its_authentications_error_then_a_405(client, device):
    # DRF authenticates before it looks at the method (README, Choices...): an unsigned GET is
    # the signature's 401; a signed one, a 405. Both say which methods there are.
    unsigned = client.get(GET_TOKEN, content_type="application/json")
    assert_problem(unsigned, 401, "signature_missing")
    assert unsigned["Allow"] == "POST, OPTIONS"
    signed_get = device_signed(client, device, GET_TOKEN, method="GET")
    assert_problem(signed_get, 405, "method_not_allowed")
    assert signed_get["Allow"] == "POST, OPTIONS"
    assert_nothing_issued(device.id)


def test_another_devices_secret_is_signature_invalid(client, device):
    other = register(client)
    response = signed(client, GET_TOKEN, {}, key_id=device.id, secret=other.secret)
    assert_problem(response, 401, "signature_invalid")
    assert_nothing_issued(device.id)
    assert_nothing_issued(other.id)


@pytest.mark.parametrize("key_id", [str(uuid.uuid4()), "not-a-uuid"])
def test_an_unknown_device_is_device_unknown(client, key_id):
    response = signed(client, GET_TOKEN, {}, key_id=key_id, secret="x" * 43)
    assert_problem(response, 401, "device_unknown")


@pytest.mark.parametrize(
    "spelling",
    [str.upper, lambda key: key.replace("-", ""), lambda key: f"urn:uuid:{key}"],
)
def test_a_device_id_is_only_its_own_spelling(client, device, spelling):
    # Signed with the right secret, yet another spelling of the id is another key id: a nonce
    # is good once per key id, so each spelling would have given a request a second use.
    response = signed(client, GET_TOKEN, {}, key_id=spelling(device.id), secret=device.secret)
    assert_problem(response, 401, "device_unknown")
    assert_nothing_issued(device.id)


def test_a_deactivated_device_is_device_revoked(client, device):

    device_revoke(device=Device.objects.get(pk=device.id))
    response = device_signed(client, device, GET_TOKEN, {})
    assert_problem(response, 401, "device_revoked")
    assert_nothing_issued(device.id)


def test_a_deactivated_user_is_user_inactive(client, device):

    user_deactivate(user=User.objects.get(pk=device.user_id))
    response = device_signed(client, device, GET_TOKEN, {})
    assert_problem(response, 401, "user_inactive")
    assert_nothing_issued(device.id)


def test_a_device_whose_master_key_was_retired_must_register_again(client, settings):
    row = DeviceFactory(secret_kid="k2019")
    response = signed(client, GET_TOKEN, {}, key_id=str(row.id), secret="x" * 43)
    assert_problem(response, 401, "device_revoked")


def test_devices_keep_working_after_a_new_master_key_is_added(client, device, settings):
    settings.DEVICE_SECRET_KEYS = {
        "k2027": "a-brand-new-master-key-0123456789abcdef",
        **settings.DEVICE_SECRET_KEYS,
    }
    assert device_signed(client, device, GET_TOKEN, {}).status_code == 200
    newer = register(client)
    assert Device.objects.get(pk=newer.id).secret_kid == "k2027"
    assert device_signed(client, newer, GET_TOKEN, {}).status_code == 200


def test_checks_run_in_order_timestamp_before_device(client):
    response = signed(
        client,
        GET_TOKEN,
        {},
        key_id=str(uuid.uuid4()),
        secret="x" * 43,
        timestamp=int(time.time()) - 3600,
    )
    assert_problem(response, 401, "timestamp_out_of_window")


def test_checks_run_in_order_device_before_signature(client, device):

    device_revoke(device=Device.objects.get(pk=device.id))
    response = device_signed(client, device, GET_TOKEN, {}, signature="0" * 64)
    assert_problem(response, 401, "device_revoked")


def test_a_body_over_64_kib_is_413(client, device):
    body = b'{"push_token": "' + b"x" * (65 * 1024) + b'"}'
    response = device_signed(client, device, GET_TOKEN, body)
    assert_problem(response, 413, "payload_too_large")
    assert_nothing_issued(device.id)


def test_a_text_plain_body_is_415(client, device):
    response = device_signed(client, device, GET_TOKEN, b"{}", content_type="text/plain")
    assert_problem(response, 415, "unsupported_media_type")
    assert_nothing_issued(device.id)


def test_an_empty_body_declared_text_plain_is_415(client, device):
    response = device_signed(client, device, GET_TOKEN, b"", content_type="text/plain")
    assert_problem(response, 415, "unsupported_media_type")
    assert_nothing_issued(device.id)


def test_an_empty_body_without_a_content_type_is_accepted(client, device):
    response = device_signed(client, device, GET_TOKEN, b"", content_type=None)
    assert "CONTENT_TYPE" not in response.wsgi_request.META
    assert response.status_code == 200


def test_invalid_json_with_a_valid_signature_is_parse_error(client, device):
    response = device_signed(client, device, GET_TOKEN, b'{"push_token": ')
    assert_problem(response, 400, "parse_error")
    assert_nothing_issued(device.id)


def test_json_nested_too_deeply_with_a_valid_signature_is_parse_error(client, device):
    response = device_signed(client, device, GET_TOKEN, b"[" * 5_000 + b"]" * 5_000)
    assert_problem(response, 400, "parse_error")
    assert_nothing_issued(device.id)


def test_nonce_store_down_is_503_and_no_token_is_issued(client, device, settings):
    security = {
        "BACKEND": "django_redis.cache.RedisCache",
        "LOCATION": f"redis://127.0.0.1:{closed_port()}/0",
        "OPTIONS": {"SOCKET_CONNECT_TIMEOUT": 0.5, "SOCKET_TIMEOUT": 0.5},
    }
    settings.CACHES = {**settings.CACHES, "security": security}
    response = device_signed(client, device, GET_TOKEN, {})
    problem = assert_problem(response, 503, "service_unavailable")
    assert response["Retry-After"] == "5"
    assert "access" not in problem
    assert_nothing_issued(device.id)


def asgi_post(path: str, headers: dict[str, str], chunks: list[bytes]) -> tuple[int, bytes]:
    """POST through core.asgi's application, the body in `chunks` with no Content-Length, as
    HTTP/2 or a chunked HTTP/1.1 request brings it."""
    from core.asgi import application

    scope = {
        "type": "http",
        "asgi": {"version": "3.0"},
        "http_version": "2",
        "method": "POST",
        "scheme": "http",
        "path": path,
        "raw_path": path.encode(),
        "query_string": b"",
        "headers": [(name.lower().encode(), value.encode()) for name, value in headers.items()],
        "client": ("127.0.0.1", 50000),
        "server": ("testserver", 80),
    }
    messages = [
        {"type": "http.request", "body": chunk, "more_body": index < len(chunks) - 1}
        for index, chunk in enumerate(chunks)
    ]
    sent: list[Mapping[str, Any]] = []

    async def receive() -> Mapping[str, Any]:
        if messages:
            return messages.pop(0)
        await asyncio.Event().wait()  # the client stays: Django cancels a disconnected request
        raise AssertionError

    async def send(message: Mapping[str, Any]) -> None:
        sent.append(message)

    async_to_sync(application)(scope, receive, send)
    return sent[0]["status"], b"".join(message.get("body", b"") for message in sent[1:])


# Committed for real: Django's ASGI handler closes connections that are not in autocommit mode
# at the start of a request, which marks a test's wrapping transaction for rollback.
@pytest.mark.django_db(transaction=True)
def test_under_asgi_a_signed_body_without_content_length_is_read(device):
    body = b'{"push_token": "token-from-an-http2-client"}'
    headers = sign_request(
        key_id=device.id, secret=device.secret, method="POST", target=GET_TOKEN, body=body
    )
    status, content = asgi_post(
        GET_TOKEN,
        {"Host": "testserver", "Content-Type": "application/json", **headers},
        [body[:10], body[10:]],
    )
    assert status == 200, content
    assert Device.objects.get(pk=device.id).push_token == "token-from-an-http2-client"


def test_a_key_id_longer_than_128_characters_is_signature_invalid(client):
    # 128 characters are a well-formed key id (unknown here); one more is not looked up at all.
    longest = signed(client, GET_TOKEN, {}, key_id="k" * 128, secret="x" * 43)
    assert_problem(longest, 401, "device_unknown")
    response = signed(client, GET_TOKEN, {}, key_id="k" * 129, secret="x" * 43)
    problem = assert_problem(response, 401, "signature_invalid")
    assert "X-Key-Id must be 1-128 characters" in problem["detail"]


def test_a_body_of_exactly_64_kib_is_accepted_and_one_byte_more_is_413(client, device, settings):
    limit = settings.SIGNED_BODY_MAX_BYTES
    assert limit == 64 * 1024
    # "{}" and whitespace: valid JSON of any length.
    response = device_signed(client, device, GET_TOKEN, b"{}" + b" " * (limit - 2))
    assert response.status_code == 200, response.content[:500]
    chain = Device.objects.get(pk=device.id).token_chain
    over = device_signed(client, device, GET_TOKEN, b"{}" + b" " * (limit - 1))
    assert_problem(over, 413, "payload_too_large")
    assert Device.objects.get(pk=device.id).token_chain == chain


# Committed for real, as staff commit it while the request runs (tests/apis/auth/
# test_races_with_staff.py does the same for other changes).
@pytest.mark.django_db(transaction=True)
def test_a_get_token_racing_a_change_of_master_key_publishes_nothing_of_the_old_key(
    client, device, settings, monkeypatch
):
    settings.DEVICE_SECRET_KEYS = {
        **settings.DEVICE_SECRET_KEYS,
        "k2027": "a-brand-new-master-key-0123456789abcdef",
    }

    def rekeyed_first(**kwargs):
        row = Device.objects.get(pk=device.id)
        row.secret_kid = "k2027"
        row.save(update_fields=["secret_kid"])
        return token_issue(**kwargs)

    monkeypatch.setattr(views, "token_issue", rekeyed_first)
    refused = device_signed(client, device, GET_TOKEN, {})
    monkeypatch.undo()
    assert_problem(refused, 503, "service_unavailable")
    assert_nothing_issued(device.id)
    assert caches["security"].get(f"auth:device:{device.id}")["secret_kid"] == "k2027"
    # The secret derived from the old master key signs nothing any more.
    assert_problem(device_signed(client, device, GET_TOKEN, {}), 401, "signature_invalid")


@pytest.mark.parametrize(
    "content_type", ["text/json", "application/jsonp", "application/x-json", "application/json-seq"]
)
def test_a_type_that_merely_mentions_json_is_415(client, device, content_type):
    for body in (b"", b"{}"):
        response = device_signed(client, device, GET_TOKEN, body, content_type=content_type)
        assert_problem(response, 415, "unsupported_media_type")
    assert_nothing_issued(device.id)
