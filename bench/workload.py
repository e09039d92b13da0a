"""The requests wrk sends, as raw HTTP/1.1 in pool files that bench/requests.lua reads.

A pool is its requests separated by NUL bytes (which no HTTP request here contains). Pools of
signed requests are sent once each (every request carries its own nonce); the others cycle.
"""

import json
from collections.abc import Iterable, Sequence
from itertools import cycle, islice
from pathlib import Path
from typing import Any

from deviceauth import sign_request

HOST = "127.0.0.1"
JSON = {"Content-Type": "application/json"}


def raw_request(
    method: str, target: str, headers: dict[str, str] | None = None, body: bytes = b""
) -> bytes:
    lines = [f"{method} {target} HTTP/1.1", f"Host: {HOST}"]
    lines += [f"{name}: {value}" for name, value in (headers or {}).items()]
    if body or method == "POST":
        lines.append(f"Content-Length: {len(body)}")
    return ("\r\n".join(lines) + "\r\n\r\n").encode() + body


def write_pool(path: Path, requests: Iterable[bytes]) -> int:
    """Write a pool file; returns how many requests it holds."""
    count = 0
    with path.open("wb") as pool:
        for request in requests:
            assert b"\0" not in request
            pool.write(request + b"\0")
            count += 1
    return count


def get(target: str) -> list[bytes]:
    return [raw_request("GET", target)]


def bearer_gets(target: str, access_tokens: Sequence[str]) -> list[bytes]:
    """One GET per token: the load comes from many users, as it would in production."""
    return [
        raw_request("GET", target, {"Authorization": f"Bearer {token}"}) for token in access_tokens
    ]


def json_posts(target: str, bodies: Iterable[Any]) -> list[bytes]:
    return [raw_request("POST", target, JSON, json.dumps(body).encode()) for body in bodies]


def signed_post(target: str, body: bytes, *, key_id: str, secret: str) -> bytes:
    """A device-signed POST with a fresh nonce and the current time."""
    headers = sign_request(key_id=key_id, secret=secret, method="POST", target=target, body=body)
    return raw_request("POST", target, {**JSON, **headers}, body)


def get_token_requests(devices: Sequence[dict[str, Any]], count: int) -> list[bytes]:
    """`count` get-token requests, round robin over the devices."""
    return [
        signed_post(
            "/api/v1/auth/get-token/", b"{}", key_id=device["device_id"], secret=device["secret"]
        )
        for device in islice(cycle(devices), count)
    ]


def refresh_requests(devices: Sequence[dict[str, Any]]) -> list[bytes]:
    """One refresh per device: each refresh token can be spent once."""
    return [
        signed_post(
            "/api/v1/auth/refresh-token/",
            json.dumps({"refresh": device["refresh"]}).encode(),
            key_id=device["device_id"],
            secret=device["secret"],
        )
        for device in devices
    ]
