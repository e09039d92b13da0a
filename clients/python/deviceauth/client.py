"""DeviceClient: registration, tokens and bearer requests, with the recoveries an app needs.

Thread-safe: one client may serve every thread of an app. Token renewals are single-flight:
callers that find the token about to expire (or refused) while another caller renews it wait
for that renewal and use its result, so a refresh token is never presented twice (which the
server answers with `token_reused`, revoking the session). If that renewal fails, they all get
its error: none tries again on its own, one after another.
"""

import json
import math
import threading
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any, TypeGuard

from deviceauth.signing import sign_request
from deviceauth.transport import ApiError, Response, ascii_target, check_base_url, exchange

REGISTER = "/api/v1/device/register/"
GET_TOKEN = "/api/v1/auth/get-token/"  # noqa: S105  (a path, not a secret)
REFRESH = "/api/v1/auth/refresh-token/"
LOGOUT = "/api/v1/auth/logout/"

# Answers that a new token pair (get-token) cures, and those only a new device cures.
SESSION_ENDED = frozenset({"token_expired", "token_invalid", "token_revoked", "token_reused"})
DEVICE_GONE = frozenset({"device_unknown", "device_revoked"})
# Answers that say there is no session left for logout() to end: these tokens are refused for
# good (the server ends a deactivated user's sessions too).
NOTHING_TO_END = SESSION_ENDED | DEVICE_GONE | {"user_inactive"}


@dataclass(frozen=True)
class DeviceCredentials:
    """What registration returns. Store the secret like a password (Keychain / Keystore)."""

    device_id: str
    device_secret: str = field(repr=False)  # kept out of logs and tracebacks
    user_id: int


@dataclass(frozen=True)
class Tokens:
    # Out of repr, so that logging the tokens object leaks neither token.
    access: str = field(repr=False)
    refresh: str = field(repr=False)
    # Local clock (time.time()) at which each token expires.
    expires_at: float
    refresh_expires_at: float
    # Seconds the access token was issued for: caps the refresh margin at half of it.
    lifetime: float = math.inf


class DeviceClient:
    """Talks to the API as one device.

    - `register()` signs with the app key and keeps the returned credentials (and hands them to
      `on_credentials`, for the app to store: it runs inside the renewal under way, so it must
      store them and return, never send a request through this client. If it raises, the
      credentials stay pending and are handed over again before the client's next step, which
      raises too until they are stored);
    - `get_token()` / `refresh()` sign with the device secret;
    - `request()` sends a bearer request: it gets a token if there is none, refreshes it
      `refresh_margin` seconds (at most half its lifetime) before it expires, and on a 401
      renews once and sends again
      (token_expired: refresh; token_revoked / token_invalid / token_reused: get-token;
      device_unknown / device_revoked: register again with `registration`, then get-token).
    Signed requests correct the clock from `server_time` on `timestamp_out_of_window`, and sign
    again with a fresh nonce on `nonce_reused` (once each).
    """

    def __init__(
        self,
        base_url: str,
        *,
        app_key_id: str,
        app_secret: str,
        credentials: DeviceCredentials | None = None,
        registration: Mapping[str, Any] | None = None,
        on_credentials: Callable[[DeviceCredentials], None] | None = None,
        refresh_margin: float = 60.0,
        timeout: float = 10,
    ) -> None:
        self.base_url = check_base_url(base_url)
        self.app_key_id = app_key_id
        self.app_secret = app_secret
        self.credentials = credentials
        # The body registration sends; kept so the client can register again by itself.
        self.registration = dict(registration) if registration is not None else None
        self.on_credentials = on_credentials
        self.refresh_margin = refresh_margin
        self.timeout = timeout
        self.tokens: Tokens | None = None
        # Seconds to add to the local clock for X-Timestamp (learnt from `server_time`).
        self.clock_offset = 0
        # Reentrant: a renewal may chain (refresh -> get-token -> register) under one hold.
        self._renewal = threading.RLock()
        # How many renewals on behalf of request() have ended, and the error of the last one if
        # it failed: the callers that waited for it raise that error too.
        self._renewals = 0
        self._failure: Exception | None = None
        # Credentials that `on_credentials` has not yet taken (it raised).
        self._unsaved: DeviceCredentials | None = None

    # -- the four steps ------------------------------------------------------------------------

    def register(self, **fields: Any) -> DeviceCredentials:
        """POST /api/v1/device/register/ signed with the app key. `platform` is required."""
        with self._renewal:
            body = self._signed(REGISTER, fields, self.app_key_id, self.app_secret)
            self.registration = fields
            self.credentials = DeviceCredentials(
                body["device_id"], body["device_secret"], int(body["user_id"])
            )
            self.tokens = None
            self._unsaved = self.credentials
            self._hand_over_credentials()
            return self.credentials

    def get_token(self, **fields: Any) -> Tokens:
        """POST /api/v1/auth/get-token/ signed with the device secret: a new session.

        A device that is unknown or revoked registers again (with `registration`) first.
        """
        with self._renewal:
            self._hand_over_credentials()
            try:
                return self._get_token(fields)
            except ApiError as error:
                if error.code not in DEVICE_GONE or self.registration is None:
                    raise
            self.register(**self.registration)
            return self._get_token(fields)

    def refresh(self) -> Tokens:
        """POST /api/v1/auth/refresh-token/: rotate; the old refresh token is spent.

        A refresh token that no longer works (expired, revoked, reused) falls back to get-token,
        straight away when it has expired by the local clock (the server would only refuse it).
        """
        with self._renewal:
            self._hand_over_credentials()
            tokens = self.tokens
            if tokens is None or tokens.refresh_expires_at > time.time():
                try:
                    return self._rotate()
                except ApiError as error:
                    if error.code not in SESSION_ENDED | DEVICE_GONE:
                        raise
            return self.get_token()

    def logout(self) -> None:
        """POST /api/v1/auth/logout/: every token of this device stops working.

        Sent with tokens refreshed first if they are about to expire, as request() does. The
        tokens are forgotten (unless a get-token replaced them meanwhile) once the server
        confirms, or answers that they are refused for good (`token_revoked`, `device_revoked`,
        `user_inactive`...: nothing is left to end). Any other failure raises and keeps them, so
        that logout() can be tried again.
        """
        self._hand_over_credentials()
        tokens = self.tokens
        if tokens is None:
            return
        renewals = self._renewals
        try:
            # Rotation only: a refresh that fell back to get-token, or to registering again,
            # would start a session (or a device) just to end it.
            if not self._lasts(tokens):
                tokens = self._renew(tokens, renewals, self._rotate)
            try:
                self.send("POST", LOGOUT, b"", _bearer(tokens))
            except ApiError as error:
                if error.status != 401 or error.code != "token_expired":
                    raise
                # Expired by the server's clock, not yet by ours: the refresh token still works.
                tokens = self._renew(tokens, renewals, self._rotate)
                self.send("POST", LOGOUT, b"", _bearer(tokens))
        except ApiError as error:
            if error.status != 401 or error.code not in NOTHING_TO_END:
                raise
        with self._renewal:
            # Only the tokens it ended: a session that another thread started meanwhile is live
            # on the server, and forgetting it would leave it there unknown.
            if self.tokens is tokens:
                self.tokens = None

    def request(self, method: str, path: str, json_body: Any = None) -> Response:
        """A bearer request; see the class docstring for what it renews on its own."""
        body = b"" if json_body is None else json.dumps(json_body).encode()
        headers = {"Content-Type": "application/json"} if json_body is not None else {}
        self._hand_over_credentials()
        # A renewal that fails from here on fails this request too, rather than being tried again.
        renewals = self._renewals
        tokens = self._fresh_tokens(renewals)
        try:
            return self.send(method, path, body, {**headers, **_bearer(tokens)})
        except ApiError as error:
            if error.status != 401 or error.code not in SESSION_ENDED | DEVICE_GONE:
                raise
            renewed = self._renew_after(tokens, error.code, renewals)
        return self.send(method, path, body, {**headers, **_bearer(renewed)})

    # -- renewals ------------------------------------------------------------------------------

    def _hand_over_credentials(self) -> None:
        """Give `on_credentials` the credentials it has not taken yet, if any. Until it returns
        they stay pending, and every step begins here: an app whose secure storage was locked
        when the device registered again stores them later, rather than restoring the revoked
        device on its next launch and registering yet another user."""
        if self._unsaved is None:
            return
        with self._renewal:
            pending = self._unsaved
            if pending is not None and self.on_credentials is not None:
                self.on_credentials(pending)
            self._unsaved = None

    def _fresh_tokens(self, renewals: int) -> Tokens:
        """Tokens good for at least `refresh_margin` more seconds, or half their lifetime if that
        is shorter; one renewal for all callers."""
        tokens = self.tokens
        if tokens is not None and self._lasts(tokens):
            return tokens
        return self._renew(tokens, renewals, self.refresh if tokens is not None else self.get_token)

    def _lasts(self, tokens: Tokens) -> bool:
        """Whether `tokens` are good for `refresh_margin` more seconds, or half their lifetime."""
        # Capped: a token issued for the margin or less would otherwise be refreshed before every
        # request, and the refreshes would soon hit the auth_token rate limit.
        margin = min(self.refresh_margin, tokens.lifetime / 2)
        return tokens.expires_at - margin > time.time()

    def _renew_after(self, refused: Tokens, code: str | None, renewals: int) -> Tokens:
        """New tokens after the server refused `refused` with `code`, unless already renewed."""

        def renew() -> Tokens:
            if code == "token_expired":
                return self.refresh()
            if code in DEVICE_GONE and self.registration is not None:
                self.register(**self.registration)
                # Not get_token(): a new device that is refused too does not register again.
                return self._get_token({})
            return self.get_token()

        return self._renew(refused, renewals, renew)

    def _renew(self, seen: Tokens | None, renewals: int, action: Callable[[], Tokens]) -> Tokens:
        """Tokens renewed since `seen`: by whoever held the lock before us, else by `action`.

        If a renewal failed since `renewals` (the count when the caller began), raise its error
        instead: the callers that waited for it share its outcome, and none tries again on its
        own (one after another, they would hammer a failing or rate-limited server).
        """
        with self._renewal:
            if self.tokens is not seen and self.tokens is not None:
                return self.tokens
            if self._failure is not None and self._renewals != renewals:
                raise self._failure
            try:
                tokens = action()
            except Exception as error:
                self._renewals, self._failure = self._renewals + 1, error
                raise
            self._renewals, self._failure = self._renewals + 1, None
            return tokens

    # -- plumbing ------------------------------------------------------------------------------

    def send(self, method: str, target: str, body: bytes, headers: dict[str, str]) -> Response:
        """One HTTP request; raises ApiError on a non-2xx answer. What a request line cannot carry
        in `target` (non-ASCII characters, spaces) is sent percent-encoded."""
        url = self.base_url + ascii_target(target)
        return exchange(url, method, body, headers, timeout=self.timeout)

    def sign(
        self, method: str, target: str, body: bytes, key_id: str, secret: str
    ) -> dict[str, str]:
        """Signature headers with this client's clock correction and a fresh nonce, for `target`
        as send() puts it on the wire (the server verifies the target it receives)."""
        return sign_request(
            key_id=key_id,
            secret=secret,
            method=method,
            target=ascii_target(target),
            body=body,
            timestamp=int(time.time()) + self.clock_offset,
        )

    def _rotate(self) -> Tokens:
        """Refresh-token alone, without falling back to get-token; the caller holds `_renewal`."""
        if self.tokens is None:
            raise RuntimeError("no refresh token: call get_token() first")
        credentials = self._require_credentials()
        body = self._signed(
            REFRESH,
            {"refresh": self.tokens.refresh},
            credentials.device_id,
            credentials.device_secret,
        )
        return self._keep_tokens(body)

    def _get_token(self, fields: dict[str, Any]) -> Tokens:
        credentials = self._require_credentials()
        body = self._signed(GET_TOKEN, fields, credentials.device_id, credentials.device_secret)
        return self._keep_tokens(body)

    def _signed(self, target: str, payload: Any, key_id: str, secret: str) -> Any:
        """POST a signed JSON body; retry once each after a clock correction or a used nonce."""
        body = json.dumps(payload).encode()
        retried: set[str] = set()
        while True:
            headers = {
                "Content-Type": "application/json",
                **self.sign("POST", target, body, key_id, secret),
            }
            try:
                return self.send("POST", target, body, headers).json()
            except ApiError as error:
                code = error.code
                if code in retried or code not in ("timestamp_out_of_window", "nonce_reused"):
                    raise
                if code == "timestamp_out_of_window":
                    # Without a number of seconds (not this API's answer) nothing can be corrected.
                    server_time = error.problem.get("server_time")
                    if not _is_seconds(server_time):
                        raise
                    self.clock_offset = int(server_time) - int(time.time())
                retried.add(code)

    def _keep_tokens(self, body: dict[str, Any]) -> Tokens:
        now, lifetime = time.time(), int(body["expires_in"])
        self.tokens = Tokens(
            body["access"],
            body["refresh"],
            now + lifetime,
            now + int(body["refresh_expires_in"]),
            lifetime,
        )
        return self.tokens

    def _require_credentials(self) -> DeviceCredentials:
        if self.credentials is None:
            raise RuntimeError("no device credentials: call register() first")
        return self.credentials


def _bearer(tokens: Tokens) -> dict[str, str]:
    return {"Authorization": f"Bearer {tokens.access}"}


def _is_seconds(value: object) -> TypeGuard[int | float]:
    """A finite JSON number (bool, NaN and infinities excluded)."""
    return isinstance(value, int | float) and not isinstance(value, bool) and math.isfinite(value)
