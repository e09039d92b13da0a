"""Gunicorn's logs as one JSON object a line with LOG_FORMAT=json, for the same log shippers as
the app's: its access line for a request it refused itself, and its own messages."""

import json
import os
from datetime import UTC, datetime, timedelta
from typing import Any

from gunicorn.glogging import Logger
from pythonjsonlogger.orjson import OrjsonFormatter

from api.logs import request_id_for


def answered_by_the_app(response: Any) -> bool:
    """The app's outermost middleware (api.middleware.RequestIdMiddleware) puts `X-Request-ID`
    on every response it lets out, and writes its own access line for it."""
    return any(name.lower() == "x-request-id" for name, _ in response.headers)


class JsonAccessLogger(Logger):  # type: ignore[misc]  # gunicorn ships no type hints
    """Writes, as JSON, the access line of a request the app did not answer: one gunicorn
    refused itself after reading its request line (a malformed header: 400; a request line it
    cannot read gets only gunicorn's warning on stderr). The app writes the line of every
    request it answers, with the request id and the client's address behind proxies, so a
    request gets one access line, not two. `json.dumps` escapes what a client put in the path.

    With LOG_FORMAT=json its own messages (workers booting, a request line it cannot read) are
    JSON too, with the fields of the app's lines, on stderr."""

    def setup(self, cfg: Any) -> None:
        super().setup(cfg)
        if os.environ.get("LOG_FORMAT") == "json":
            # The app's formatter (core/settings.py, LOGGING), with no request to name.
            formatter = OrjsonFormatter(
                "%(levelname)s %(name)s %(message)s",
                rename_fields={"levelname": "level", "name": "logger"},
                timestamp="time",
                static_fields={"request_id": "-"},
            )
            for handler in self.error_log.handlers:
                handler.setFormatter(formatter)

    def access(self, resp: Any, req: Any, environ: dict[str, Any], request_time: timedelta) -> None:
        if not self.access_log_enabled or answered_by_the_app(resp):
            return
        atoms = self.atoms(resp, req, environ, request_time)
        line = {
            "time": datetime.now(UTC).isoformat(timespec="milliseconds"),
            "level": "INFO",
            "logger": "gunicorn.access",
            "message": f"{req.method} {req.path} {atoms['s']}",
            # From the parsed request: a request refused before the app has no WSGI environ.
            "method": req.method,
            "path": req.path,
            "query": req.query,
            "status": int(atoms["s"]),
            "bytes": atoms["B"],
            "duration_ms": round(request_time.total_seconds() * 1000, 1),
            "remote_addr": atoms["h"],
            "user_agent": atoms.get("{user-agent}i"),
            # The app never saw the request: the id follows its rule, the client's if well
            # formed, else a new one (gunicorn's answer cannot carry it, though).
            "request_id": request_id_for(atoms.get("{x-request-id}i")),
        }
        self.access_log.info(json.dumps(line))
