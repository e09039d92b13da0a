"""Bearer tokens (SPEC §3 Tokens): claims, and every way a forged or misused token is refused."""

import base64
import hashlib
import hmac
import json
import time
import urllib.error
import urllib.request
from typing import Any

import jwt
import pytest
from deviceauth import DeviceClient
from django.core.cache import caches

from api.exceptions import TokenInvalid
from api.models import Device
from api.signature import derive_device_secret
from api.tokens import MAX_TOKEN_LENGTH, decode_refresh
from tests.asserts import assert_problem
from tests.factories import DeviceFactory, UserFactory
from tests.keys import pem_pair, private_key
from tests.processes import DJANGO_SETUP, run_manage, run_python
from tests.signing import (
    APP_KEY_ID,
    APP_SECRET,
    GET_TOKEN,
    ME,
    REFRESH,
    bearer,
    device_signed,
    get_token,
    register,
)
from tests.signing import Device as SignedDevice

pytestmark = pytest.mark.django_db


@pytest.fixture
def device(client):
    return register(client)


@pytest.fixture
def tokens(client, device):
    return get_token(client, device)


def claims_of(token: str) -> dict[str, Any]:
    return jwt.decode(token, options={"verify_signature": False})


def forge(claims: dict[str, Any], key: str, algorithm: str = "HS256") -> str:
    return jwt.encode(claims, key, algorithm=algorithm)


def test_token_response_shape(tokens, settings):
    assert set(tokens) == {"access", "refresh", "token_type", "expires_in", "refresh_expires_in"}
    assert tokens["token_type"] == "Bearer"
    assert tokens["expires_in"] == settings.JWT_ACCESS_TTL == 900
    assert tokens["refresh_expires_in"] == settings.JWT_REFRESH_TTL == 30 * 24 * 3600


def test_get_token_answers_with_cache_control_no_store(client, device):
    # The response carries a token pair: no cache on the way may keep it.
    response = device_signed(client, device, GET_TOKEN, {})
    assert response.status_code == 200
    assert response["Content-Type"] == "application/json"
    assert response["Cache-Control"] == "no-store"
    assert set(response.json()) >= {"access", "refresh"}


def test_claims_follow_the_spec(tokens, device, settings):
    header = jwt.get_unverified_header(tokens["access"])
    assert header["alg"] == "HS256"
    for kind in ("access", "refresh"):
        claims = claims_of(tokens[kind])
        assert claims["token_type"] == kind
        assert claims["sub"] == str(device.user_id)
        assert claims["did"] == device.id
        assert claims["iss"] == settings.JWT_ISSUER
        assert claims["aud"] == settings.JWT_AUDIENCE
        assert len(claims["jti"]) == 32
        assert time.time() - 60 <= claims["iat"] <= time.time() + 1
    access, refresh = claims_of(tokens["access"]), claims_of(tokens["refresh"])
    assert access["exp"] - access["iat"] == 900
    assert refresh["exp"] - refresh["iat"] == 30 * 24 * 3600
    assert access["jti"] != refresh["jti"]
    assert access["cid"] == refresh["cid"]


def test_tokens_are_signed_with_the_jwt_key_not_the_secret_key(tokens, settings):
    jwt.decode(
        tokens["access"],
        settings.JWT_SIGNING_KEY,
        algorithms=["HS256"],
        audience=settings.JWT_AUDIENCE,
    )
    with pytest.raises(jwt.InvalidSignatureError):
        jwt.decode(
            tokens["access"],
            settings.SECRET_KEY,
            algorithms=["HS256"],
            audience=settings.JWT_AUDIENCE,
        )


def test_a_valid_access_token_authenticates(client, tokens):
    assert bearer(client, tokens["access"], "GET", ME).status_code == 200


def test_no_token_is_not_authenticated_with_a_bearer_challenge(client):
    response = client.get(ME)
    assert_problem(response, 401, "not_authenticated")
    assert response["WWW-Authenticate"] == 'Bearer realm="api"'


def forged_cases(tokens, settings):
    claims = claims_of(tokens["access"])
    key = settings.JWT_SIGNING_KEY
    rsa_pem, _ = pem_pair(private_key("RS256"))
    head, _, signature = tokens["access"].split(".")
    edited = dict(claims, sub=str(int(claims["sub"]) + 1))
    edited_payload = base64.urlsafe_b64encode(json.dumps(edited).encode()).rstrip(b"=").decode()
    return {
        "alg-none": forge(claims, "", "none"),
        "another-key": forge(claims, "another-signing-key-0123456789abcdef"),
        "secret-key": forge(claims, settings.SECRET_KEY),
        "rs256-swap": forge(claims, rsa_pem, "RS256"),
        # The right key under another algorithm of the same family: only HS256 is accepted.
        "hs384-same-key": forge(claims, key, "HS384"),
        "hs512-same-key": forge(claims, key, "HS512"),
        # Header fields that name a key are never followed: the configured key verifies.
        "jku-and-kid": jwt.encode(
            claims,
            "attacker-signing-key-0123456789abcdef",
            algorithm="HS256",
            headers={"kid": "attacker", "jku": "https://attacker.example/jwks.json"},
        ),
        "wrong-iss": forge(dict(claims, iss="someone-else"), key),
        "wrong-aud": forge(dict(claims, aud="another-app"), key),
        "no-aud": forge({k: v for k, v in claims.items() if k != "aud"}, key),
        "no-iss": forge({k: v for k, v in claims.items() if k != "iss"}, key),
        "wrong-type": forge(dict(claims, token_type="id"), key),
        "edited-payload": f"{head}.{edited_payload}.{signature}",
        "garbage": "not.a.jwt",
        "refresh-as-bearer": tokens["refresh"],
        # Integers to PyJWT, which lets them by; not dates to simplejwt.
        "exp-as-text": forge(dict(claims, exp=str(claims["exp"])), key),
        "exp-out-of-range": forge(dict(claims, exp=10**30), key),
    }


CASES = [
    "alg-none",
    "another-key",
    "secret-key",
    "rs256-swap",
    "hs384-same-key",
    "hs512-same-key",
    "jku-and-kid",
    "wrong-iss",
    "wrong-aud",
    "no-aud",
    "no-iss",
    "wrong-type",
    "edited-payload",
    "garbage",
    "refresh-as-bearer",
    "exp-as-text",
    "exp-out-of-range",
]


# HS512 with the HS256 key, which PyJWT finds short for it: what a forger would send all the same.
@pytest.mark.filterwarnings("ignore::jwt.warnings.InsecureKeyLengthWarning")
@pytest.mark.parametrize("case", CASES)
def test_forged_or_misused_tokens_are_token_invalid(client, tokens, settings, case):
    token = forged_cases(tokens, settings)[case]
    response = bearer(client, token, "GET", ME)
    assert_problem(response, 401, "token_invalid")
    assert response["WWW-Authenticate"] == 'Bearer realm="api", error="invalid_token"'


def test_a_token_longer_than_any_issued_is_refused_unread(client, device, tokens, settings):
    # Signed with the right key, so only its size is wrong: the rate limiter decodes a bearer
    # token before it decides, and decoding must not cost with what a client chooses to send.
    padding = "x" * MAX_TOKEN_LENGTH
    key = settings.JWT_SIGNING_KEY
    access = forge(dict(claims_of(tokens["access"]), padding=padding), key)
    response = bearer(client, access, "GET", ME)
    assert_problem(response, 401, "token_invalid")
    assert response["WWW-Authenticate"] == 'Bearer realm="api", error="invalid_token"'
    # Issued tokens stay well below the limit.
    assert len(tokens["access"]) < MAX_TOKEN_LENGTH // 4
    assert len(tokens["refresh"]) < MAX_TOKEN_LENGTH // 4
    with pytest.raises(TokenInvalid):
        decode_refresh(forge(dict(claims_of(tokens["refresh"]), padding=padding), key))


def test_an_expired_token_is_token_expired(client, tokens, settings):
    claims = claims_of(tokens["access"])
    expired = forge(
        dict(claims, iat=int(time.time()) - 1000, exp=int(time.time()) - 1),
        settings.JWT_SIGNING_KEY,
    )
    assert_problem(bearer(client, expired, "GET", ME), 401, "token_expired")


@pytest.mark.parametrize("exp", ["text", "out-of-range"])
def test_a_refresh_token_with_an_exp_that_is_no_date_is_token_invalid(
    client, device, tokens, settings, exp
):
    claims = claims_of(tokens["refresh"])
    claims["exp"] = str(claims["exp"]) if exp == "text" else 10**30
    forged = forge(claims, settings.JWT_SIGNING_KEY)
    response = device_signed(client, device, REFRESH, {"refresh": forged})
    assert_problem(response, 401, "token_invalid")


def test_a_token_issued_by_a_host_whose_clock_is_ahead_is_accepted(
    client, device, tokens, settings
):
    # `iat` is whole seconds: a host a few milliseconds behind the issuer finds a token issued
    # just after a second began dated a second ahead of its clock.
    key = settings.JWT_SIGNING_KEY
    ahead = int(time.time()) + 2
    access = forge(dict(claims_of(tokens["access"]), iat=ahead), key)
    assert bearer(client, access, "GET", ME).status_code == 200
    refresh = forge(dict(claims_of(tokens["refresh"]), iat=ahead), key)
    assert device_signed(client, device, REFRESH, {"refresh": refresh}).status_code == 200


def test_that_leeway_leaves_expiry_exact(client, device, tokens, settings):
    # A token expired a second ago is refused, at refresh as with a bearer.
    key, expired = settings.JWT_SIGNING_KEY, int(time.time()) - 1
    access = forge(dict(claims_of(tokens["access"]), exp=expired), key)
    assert_problem(bearer(client, access, "GET", ME), 401, "token_expired")
    refresh = forge(dict(claims_of(tokens["refresh"]), exp=expired), key)
    response = device_signed(client, device, REFRESH, {"refresh": refresh})
    assert_problem(response, 401, "token_expired")


def test_a_token_that_expires_after_use_is_token_expired(client, tokens, settings):
    # Verified once while valid, then remembered by the process (api.tokens): its expiry is
    # still checked on every request.
    claims = claims_of(tokens["access"])
    soon = forge(dict(claims, exp=int(time.time()) + 2), settings.JWT_SIGNING_KEY)
    assert bearer(client, soon, "GET", ME).status_code == 200
    time.sleep(max(0.0, claims_of(soon)["exp"] - time.time()) + 0.05)
    assert_problem(bearer(client, soon, "GET", ME), 401, "token_expired")


@pytest.mark.parametrize("header", ["Basic dXNlcjpwYXNz", "Bearer", "Token abc", "Bearer  "])
def test_malformed_authorization_headers_are_token_invalid(client, header):
    response = client.get(ME, HTTP_AUTHORIZATION=header)
    assert_problem(response, 401, "token_invalid")


def test_an_access_token_at_refresh_is_token_invalid(client, device, tokens):
    response = device_signed(client, device, REFRESH, {"refresh": tokens["access"]})
    assert_problem(response, 401, "token_invalid")


def test_a_refresh_token_of_device_a_signed_by_device_b_is_token_invalid(client, device, tokens):
    other = register(client)
    get_token(client, other)
    response = device_signed(client, other, REFRESH, {"refresh": tokens["refresh"]})
    problem = assert_problem(response, 401, "token_invalid")
    assert "another device" in problem["detail"]
    # Device A's own chain is untouched.
    assert device_signed(client, device, REFRESH, {"refresh": tokens["refresh"]}).status_code == 200


def test_a_token_for_a_deleted_device_is_revoked(client, device, tokens):

    Device.objects.filter(pk=device.id).delete()

    caches["security"].clear()
    assert_problem(bearer(client, tokens["access"], "GET", ME), 401, "token_revoked")


@pytest.mark.parametrize("algorithm", ["RS256", "ES256"])
def test_rs256_or_es256_with_a_key_pair(tmp_path, algorithm):
    """JWT_ALGORITHM=RS256 (an RSA key) or ES256 (an EC P-256 key) signs with the private key
    and verifies with the public key."""

    private, public = pem_pair(private_key(algorithm))
    code = DJANGO_SETUP + (
        "import uuid\n"
        "from api.tokens import issue_pair, decode_access\n"
        "pair = issue_pair(user_id=7, device_id=uuid.uuid4(), chain='c' * 32)\n"
        "print(decode_access(pair.access).user_id, pair.access)\n"
    )
    env = {
        "JWT_ALGORITHM": algorithm,
        "JWT_SIGNING_KEY": private,
        "JWT_VERIFYING_KEY": public,
        "LOG_LEVEL": "CRITICAL",
    }
    result = run_python(code, env)
    assert result.returncode == 0, result.stderr
    user_id, token = result.stdout.split()
    assert user_id == "7"
    assert jwt.get_unverified_header(token)["alg"] == algorithm
    jwt.decode(token, public, algorithms=[algorithm], options={"verify_aud": False})


def hs256_by_hand(claims: dict[str, Any], secret: str) -> str:
    """An HS256 token with `secret` as the HMAC key: PyJWT refuses to sign with a PEM key."""

    def b64(raw: bytes) -> str:
        return base64.urlsafe_b64encode(raw).rstrip(b"=").decode()

    signing_input = b64(b'{"alg":"HS256","typ":"JWT"}') + "." + b64(json.dumps(claims).encode())
    signature = hmac.new(secret.encode(), signing_input.encode(), hashlib.sha256).digest()
    return f"{signing_input}.{b64(signature)}"


def get_me(server_url: str, access: str) -> tuple[int, dict[str, Any]]:
    request = urllib.request.Request(server_url + ME, headers={"Authorization": f"Bearer {access}"})
    try:
        with urllib.request.urlopen(request, timeout=10) as response:
            return response.status, json.loads(response.read())
    except urllib.error.HTTPError as error:
        return error.code, json.loads(error.read())


@pytest.mark.parametrize("algorithm", ["RS256", "ES256"])
def test_a_key_pair_carries_the_whole_flow_and_refuses_hs256_made_with_either_key(
    live_server_factory, algorithm
):
    """The settings' RS256/ES256 path end to end, on gunicorn: register, get-token, a bearer
    request, refresh, logout. An HS256 token whose HMAC key is the public key (which a verifier
    that let the token pick its algorithm would use), or the private key's text, is refused."""
    private, public = pem_pair(private_key(algorithm))
    server = live_server_factory(
        workers=1, JWT_ALGORITHM=algorithm, JWT_SIGNING_KEY=private, JWT_VERIFYING_KEY=public
    )
    client = DeviceClient(server.url, app_key_id=APP_KEY_ID, app_secret=APP_SECRET)
    client.register(platform="ios")
    first = client.get_token()
    for token in (first.access, first.refresh):
        assert jwt.get_unverified_header(token)["alg"] == algorithm
        jwt.decode(token, public, algorithms=[algorithm], audience="mobile-app")
    assert get_me(server.url, first.access)[0] == 200

    claims = claims_of(first.access)
    for secret in (public, private):
        status, problem = get_me(server.url, hs256_by_hand(claims, secret))
        assert (status, problem["code"]) == (401, "token_invalid")

    rotated = client.refresh()
    assert rotated.refresh != first.refresh
    assert get_me(server.url, rotated.access)[0] == 200
    client.logout()
    status, problem = get_me(server.url, rotated.access)
    assert (status, problem["code"]) == (401, "token_revoked")


def test_rs256_without_a_public_key_refuses_to_start():

    result = run_manage("check", env={"JWT_ALGORITHM": "RS256"})
    assert result.returncode != 0
    assert "JWT_VERIFYING_KEY" in result.stderr


@pytest.mark.parametrize("scheme", ["Token", "JWT", "Basic"])
def test_a_valid_access_token_under_another_scheme_is_token_invalid(client, tokens, scheme):
    response = client.get(ME, HTTP_AUTHORIZATION=f"{scheme} {tokens['access']}")
    problem = assert_problem(response, 401, "token_invalid")
    assert "Bearer <access token>" in problem["detail"]


def test_a_refresh_token_of_another_device_of_the_same_user_is_token_invalid(
    client, device, tokens, settings
):
    # Same user, another device: the token's `did` decides, not its `sub`.
    user = Device.objects.get(pk=device.id).user
    row = DeviceFactory(user=user, secret_kid="k2026")
    secret = derive_device_secret(settings.DEVICE_SECRET_KEYS["k2026"], str(row.id))
    sibling = SignedDevice(str(row.id), secret, user.pk)
    get_token(client, sibling)
    response = device_signed(client, sibling, REFRESH, {"refresh": tokens["refresh"]})
    problem = assert_problem(response, 401, "token_invalid")
    assert "another device" in problem["detail"]
    assert device_signed(client, device, REFRESH, {"refresh": tokens["refresh"]}).status_code == 200


def test_after_a_change_of_owner_the_previous_owners_refresh_token_is_token_invalid(
    client, device, tokens
):
    # Staff give the device to another user (the admin's device form): the chain lives on, but
    # a refresh token naming the previous owner must not be rotated into the new owner's tokens.
    row = Device.objects.get(pk=device.id)
    row.user = UserFactory()
    row.save(update_fields=["user"])
    response = device_signed(client, device, REFRESH, {"refresh": tokens["refresh"]})
    assert_problem(response, 401, "token_invalid")
    assert Device.objects.get(pk=device.id).refresh_jti == claims_of(tokens["refresh"])["jti"]


def test_a_token_expired_long_ago_is_token_expired_not_token_invalid(
    client, device, tokens, settings
):
    # Past simplejwt's leeway, its own check refuses the token first: still token_expired, which
    # sends the app to refresh (an access token) or to get-token (a refresh token).
    key, long_ago = settings.JWT_SIGNING_KEY, int(time.time()) - 3600
    for kind in ("access", "refresh"):
        claims = dict(claims_of(tokens[kind]), iat=long_ago - 60, exp=long_ago)
        if kind == "access":
            response = bearer(client, forge(claims, key), "GET", ME)
        else:
            response = device_signed(client, device, REFRESH, {"refresh": forge(claims, key)})
        assert_problem(response, 401, "token_expired")
