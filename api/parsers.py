"""The API's JSON parser: DRF's, with a body nested deeper than MAX_DEPTH refused as a parse
error."""

from collections.abc import Mapping
from typing import IO, Any

from rest_framework import parsers
from rest_framework.exceptions import ParseError

# Deeper than any body an API takes, and well short of the depths at which Python's json module
# gives up (near 1,000 levels on Python 3.11, 30,000 on 3.13, raising RecursionError, which DRF
# leaves a 500) or orjson cannot render a value back (255): one answer whatever the Python.
MAX_DEPTH = 100


def nested_deeper_than(value: Any, limit: int) -> bool:
    """Whether `value`'s lists and objects nest more than `limit` levels (iteratively: a deep
    value must not exhaust the stack here either)."""
    pending = [(value, 1)]
    while pending:
        node, depth = pending.pop()
        if not isinstance(node, dict | list):
            continue
        if depth > limit:
            return True
        children = node.values() if isinstance(node, dict) else node
        pending.extend((child, depth + 1) for child in children)
    return False


class JSONParser(parsers.JSONParser):
    """DRF's JSONParser turns the json module's ValueError into a 400 `parse_error`, but not its
    RecursionError, and where the json module copes, a value nested thousands deep would reach
    the view: both are the same 400 here."""

    def parse(
        self,
        stream: IO[Any],
        media_type: str | None = None,
        parser_context: Mapping[str, Any] | None = None,
    ) -> Any:
        try:
            value = super().parse(stream, media_type, parser_context)
            too_deep = nested_deeper_than(value, MAX_DEPTH)
        except RecursionError:
            too_deep = True
        if too_deep:
            raise ParseError(f"JSON parse error - nested more than {MAX_DEPTH} levels deep.")
        return value
