"""A minimal HTTP client for the API: registration, tokens, and bearer requests."""

import json
import time
import urllib.error
import urllib.request
from dataclasses import dataclass, field
from typing import Any

from deviceauth.signing import sign_request


@dataclass(frozen=True)
class DeviceCredentials:
    """What registration returns. Store the secret like a password (Keychain / Keystore)."""

    device_id: str
    device_secret: str
    user_id: int


@dataclass(frozen=True)
class Tokens:
    access: str
    refresh: str
    expires_at: float
    refresh_expires_at: float


@dataclass(frozen=True)
class Response:
    status: int
    headers: dict[str, str]
    body: bytes

    def json(self) -> Any:
        return json.loads(self.body) if self.body else None


@dataclass
class ApiError(Exception):
    """A non-2xx answer: an RFC 9457 problem with a stable `code`."""

    response: Response
    problem: dict[str, Any] = field(default_factory=dict)

    @property
    def status(self) -> int:
        return self.response.status

    @property
    def code(self) -> str | None:
        return self.problem.get("code")

    def __str__(self) -> str:
        return f"{self.status} {self.code}: {self.problem.get('detail')}"


class DeviceClient:
    """Talks to the API as one device.

    - `register()` signs with the app key and keeps the returned device credentials;
    - `get_token()` / `refresh()` sign with the device secret;
    - `request()` sends a bearer request.
    On `timestamp_out_of_window` it corrects its clock from `server_time` and signs again; on
    `nonce_reused` it signs again with a fresh nonce (once each).
    """

    def __init__(
        self,
        base_url: str,
        *,
        app_key_id: str,
        app_secret: str,
        credentials: DeviceCredentials | None = None,
        timeout: float = 10,
    ) -> None:
        if not base_url.startswith(("http://", "https://")):
            raise ValueError("base_url must be an http:// or https:// URL")
        self.base_url = base_url.rstrip("/")
        self.app_key_id = app_key_id
        self.app_secret = app_secret
        self.credentials = credentials
        self.tokens: Tokens | None = None
        self.timeout = timeout
        self.clock_offset = 0

    # -- the four steps ------------------------------------------------------------------------

    def register(self, **fields: Any) -> DeviceCredentials:
        """POST /api/v1/device/register/ signed with the app key. `platform` is required."""
        body = self._signed(
            "POST", "/api/v1/device/register/", fields, self.app_key_id, self.app_secret
        )
        self.credentials = DeviceCredentials(
            body["device_id"], body["device_secret"], int(body["user_id"])
        )
        return self.credentials

    def get_token(self, **fields: Any) -> Tokens:
        """POST /api/v1/auth/get-token/ signed with the device secret: a new token pair."""
        credentials = self._require_credentials()
        body = self._signed(
            "POST",
            "/api/v1/auth/get-token/",
            fields,
            credentials.device_id,
            credentials.device_secret,
        )
        return self._keep_tokens(body)

    def refresh(self) -> Tokens:
        """POST /api/v1/auth/refresh-token/: rotate; the old refresh token is spent."""
        credentials = self._require_credentials()
        if self.tokens is None:
            raise RuntimeError("no refresh token: call get_token() first")
        body = self._signed(
            "POST",
            "/api/v1/auth/refresh-token/",
            {"refresh": self.tokens.refresh},
            credentials.device_id,
            credentials.device_secret,
        )
        return self._keep_tokens(body)

    def logout(self) -> None:
        """POST /api/v1/auth/logout/: every token of this device stops working."""
        self.request("POST", "/api/v1/auth/logout/")
        self.tokens = None

    def request(self, method: str, path: str, json_body: Any = None) -> Response:
        """A bearer request with the current access token."""
        if self.tokens is None:
            raise RuntimeError("no access token: call get_token() first")
        headers = {"Authorization": f"Bearer {self.tokens.access}"}
        body = b""
        if json_body is not None:
            body = json.dumps(json_body).encode()
            headers["Content-Type"] = "application/json"
        return self.send(method, path, body, headers)

    # -- plumbing ------------------------------------------------------------------------------

    def send(self, method: str, target: str, body: bytes, headers: dict[str, str]) -> Response:
        """One HTTP request; raises ApiError on a non-2xx answer."""
        # base_url is checked to be http(s) in __init__, so no file:// or custom scheme gets here.
        request = urllib.request.Request(  # noqa: S310
            self.base_url + target, data=body or None, method=method, headers=headers
        )
        try:
            with urllib.request.urlopen(request, timeout=self.timeout) as answer:  # noqa: S310
                return Response(answer.status, dict(answer.headers), answer.read())
        except urllib.error.HTTPError as error:
            response = Response(error.code, dict(error.headers), error.read())
            try:
                problem = response.json() or {}
            except ValueError:
                problem = {}
            raise ApiError(response, problem) from None

    def sign(
        self, method: str, target: str, body: bytes, key_id: str, secret: str
    ) -> dict[str, str]:
        """Signature headers with this client's clock correction."""
        timestamp = int(time.time()) + self.clock_offset
        return sign_request(
            key_id=key_id,
            secret=secret,
            method=method,
            target=target,
            body=body,
            timestamp=timestamp,
        )

    def _signed(self, method: str, target: str, payload: Any, key_id: str, secret: str) -> Any:
        body = json.dumps(payload).encode()
        retried: set[str] = set()
        while True:
            headers = {
                "Content-Type": "application/json",
                **self.sign(method, target, body, key_id, secret),
            }
            try:
                return self.send(method, target, body, headers).json()
            except ApiError as error:
                if error.code in retried or error.code not in (
                    "timestamp_out_of_window",
                    "nonce_reused",
                ):
                    raise
                retried.add(str(error.code))
                if error.code == "timestamp_out_of_window":
                    self.clock_offset = int(error.problem["server_time"]) - int(time.time())

    def _keep_tokens(self, body: dict[str, Any]) -> Tokens:
        now = time.time()
        self.tokens = Tokens(
            body["access"],
            body["refresh"],
            now + int(body["expires_in"]),
            now + int(body["refresh_expires_in"]),
        )
        return self.tokens

    def _require_credentials(self) -> DeviceCredentials:
        if self.credentials is None:
            raise RuntimeError("no device credentials: call register() first")
        return self.credentials
