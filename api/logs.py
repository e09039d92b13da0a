"""Request-scoped logging: the request id travels in a context variable onto every log line."""

import logging
from contextvars import ContextVar

request_id_var: ContextVar[str] = ContextVar("request_id", default="-")


class RequestIdFilter(logging.Filter):
    """Adds `request_id` to every record: the id of the request being served, or "-"."""

    def filter(self, record: logging.LogRecord) -> bool:
        # Django logs a 4xx or 5xx ("django.request") once the middleware, and the request's
        # context with it, has returned; the request itself rides along on that record.
        request_id = getattr(getattr(record, "request", None), "request_id", None)
        record.request_id = request_id or request_id_var.get()
        return True
