"""drf-spectacular's POSTPROCESSING_HOOKS: what the schema holds that no view declares.

`health_paths` adds the probes, which middleware answers; `response_headers` the headers
middleware sets on responses (request id, rate limits) and those some statuses always carry.
"""

from collections.abc import Iterable
from typing import Any

from api.problems import PROBLEM_CONTENT_TYPE


def _json(schema: dict[str, Any], description: str) -> dict[str, Any]:
    return {"description": description, "content": {"application/json": {"schema": schema}}}


def health_paths(
    result: dict[str, Any], generator: Any, request: Any, public: bool
) -> dict[str, Any]:
    """A POSTPROCESSING_HOOKS entry: the health probes (SPEC §5). The middleware answers them
    before any view (api.health), so the generator never sees them: no auth, no limits, their
    own report shape, also when they answer 503."""
    schemas = result.setdefault("components", {}).setdefault("schemas", {})
    schemas["HealthCheck"] = {
        "type": "object",
        "properties": {
            "status": {"type": "string", "enum": ["ok", "unhealthy"]},
            "latency_ms": {"type": "number"},
            "error": {"type": "string", "description": "Why it is unhealthy."},
        },
        "required": ["status", "latency_ms"],
    }
    schemas["HealthReport"] = {
        "type": "object",
        "properties": {
            "status": {"type": "string", "enum": ["ok", "unhealthy"]},
            "checks": {
                "type": "object",
                "additionalProperties": {"$ref": "#/components/schemas/HealthCheck"},
            },
        },
        "required": ["status", "checks"],
    }
    live = {
        "type": "object",
        "properties": {"status": {"type": "string", "enum": ["ok"]}},
        "required": ["status"],
    }
    report = {"$ref": "#/components/schemas/HealthReport"}
    not_allowed = {
        "description": "Only GET and HEAD.",
        "content": {PROBLEM_CONTENT_TYPE: {"schema": {"$ref": "#/components/schemas/Problem"}}},
    }
    probes = (
        ("/health/", "health", "Every dependency: the database and the cache.", report),
        ("/health/ready/", "health_ready", "Ready for traffic: the database answers.", report),
        ("/health/live/", "health_live", "The process is up; touches nothing.", live),
    )
    for path, operation_id, summary, body in probes:
        responses = {"200": _json(body, "Healthy."), "405": not_allowed}
        if body is report:
            responses["503"] = _json(report, "A check failed or gave no answer within 2 s.")
        result["paths"][path] = {
            "get": {
                "operationId": operation_id,
                "summary": summary,
                "tags": ["health"],
                "security": [],
                "responses": responses,
            }
        }
    return result


# The headers of components/headers, by the name they have in a response.
HEADERS: dict[str, tuple[str, dict[str, Any]]] = {
    "X-Request-ID": (
        "RequestId",
        {
            "description": "The request's id: the one the client sent, if it was 1-128 "
            "characters of `[A-Za-z0-9._-]`, else a new one. It is in every log line of the "
            "request: quote it in reports.",
            "required": True,
            "schema": {"type": "string", "pattern": "^[A-Za-z0-9._-]{1,128}$"},
        },
    ),
    "RateLimit": (
        "RateLimit",
        {
            "description": 'The scope nearest its limit: `"<scope>";r=<requests left>;'
            "t=<seconds until one more is allowed>` (IETF RateLimit header fields). Absent "
            "when limiting is off.",
            "schema": {"type": "string"},
        },
    ),
    "RateLimit-Policy": (
        "RateLimitPolicy",
        {
            "description": 'That scope\'s quota: `"<scope>";q=<requests>;w=<window in seconds>`.',
            "schema": {"type": "string"},
        },
    ),
    "Retry-After": (
        "RetryAfter",
        {
            "description": "Seconds to wait before trying again.",
            "required": True,
            "schema": {"type": "integer", "minimum": 1},
        },
    ),
    "WWW-Authenticate": (
        "WWWAuthenticate",
        {
            "description": '`Bearer realm="api"`, with `error="invalid_token"` where a token '
            'was sent (RFC 6750); `Device-HMAC realm="api"` on signed operations.',
            "required": True,
            "schema": {"type": "string"},
        },
    ),
    "Location": (
        "Location",
        {
            "description": "The path of what was created (its own URL, for GET, PATCH...).",
            "required": True,
            "schema": {"type": "string", "format": "uri-reference"},
        },
    ),
}


def _headers_of(path: str, status: str, paths: Iterable[str]) -> list[str]:
    names = ["X-Request-ID"]
    if path.startswith("/health/"):
        return names
    names += ["RateLimit", "RateLimit-Policy"]
    if status in ("429", "503"):
        names.append("Retry-After")
    if status == "401":
        names.append("WWW-Authenticate")
    # A create on a collection whose members have their own path (items/ and items/{id}/)
    # says where the new member lives, as the example's views and startapi's do.
    if status == "201" and any(other.startswith(f"{path}{{") for other in paths):
        names.append("Location")
    return names


def response_headers(
    result: dict[str, Any], generator: Any, request: Any, public: bool
) -> dict[str, Any]:
    """A POSTPROCESSING_HOOKS entry, after `health_paths`: the headers each response carries.
    Every response has `X-Request-ID` (api.middleware); an API response the limits it passed
    (api.throttling), a 429 or 503 `Retry-After`, a 401 `WWW-Authenticate` (SPEC §2), a create
    on a collection `Location`."""
    components = result.setdefault("components", {}).setdefault("headers", {})
    for component, header in HEADERS.values():
        components[component] = header
    for path, methods in result["paths"].items():
        for operation in methods.values():
            for status, response in operation["responses"].items():
                headers = response.setdefault("headers", {})
                for name in _headers_of(path, status, result["paths"]):
                    headers[name] = {"$ref": f"#/components/headers/{HEADERS[name][0]}"}
    return result
