"""Assertions on rate-limited responses: the IETF RateLimit fields, and 429 `throttled`."""

import re
from typing import Any

from tests.asserts import assert_problem

RATE_LIMIT_ITEM = re.compile(r'"(?P<name>[a-z_]+)";(?P<params>.*)')


def has_rate_limit_fields(response: Any) -> bool:
    return bool(response.has_header("RateLimit-Policy") or response.has_header("RateLimit"))


def rate_limit_fields(response: Any) -> dict[str, Any]:
    """The RateLimit-Policy and RateLimit fields, parsed and checked to describe one policy:
    {"policy": "burst", "q": 60, "w": 60, "r": 59, "t": 60}."""
    fields: dict[str, Any] = {}
    for header in ("RateLimit-Policy", "RateLimit"):
        match = RATE_LIMIT_ITEM.fullmatch(response[header])
        assert match, f"malformed {header}: {response[header]}"
        fields.setdefault("policy", match["name"])
        assert fields["policy"] == match["name"], "the two fields name different policies"
        for parameter in match["params"].split(";"):
            key, _, value = parameter.partition("=")
            fields[key] = int(value)
    assert set(fields) == {"policy", "q", "w", "r", "t"}
    return fields


def assert_throttled(response: Any, scope: str, *, retry_after: range) -> dict[str, Any]:
    """A 429 `throttled` problem with `Retry-After` in `retry_after`, its RateLimit fields naming
    `scope` with nothing left until then; returns the problem body."""
    body = assert_problem(response, 429, "throttled")
    wait = int(response["Retry-After"])
    assert wait in retry_after, (wait, retry_after)
    fields = rate_limit_fields(response)
    assert fields["policy"] == scope
    assert (fields["r"], fields["t"]) == (0, wait)
    return body
