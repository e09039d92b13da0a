"""The API's JSON parser: DRF's, with a body nested deeper than MAX_DEPTH or holding a lone
surrogate refused as a parse error, and one declared in a charset other than UTF-8 refused as an
unsupported media type."""

import json
import re
from collections.abc import Mapping
from typing import IO, Any

from django.utils.http import parse_header_parameters
from rest_framework import parsers
from rest_framework.exceptions import ParseError

from api.exceptions import UnsupportedMediaType

# Deeper than any body an API takes, and well short of the depths at which Python's json module
# gives up (near 1,000 levels on Python 3.11, 30,000 on 3.13, raising RecursionError, which DRF
# leaves a 500) or orjson cannot render a value back (255): one answer whatever the Python.
MAX_DEPTH = 100


# Half of a UTF-16 surrogate pair, alone: `"\ud800"` is valid JSON, but no Unicode text. Stored,
# it fails MySQL's utf8mb4; echoed in an error (a key, a choice), orjson cannot render it.
_LONE_SURROGATE = re.compile("[\ud800-\udfff]")


def flaw_of(value: Any, limit: int) -> str | None:
    """What makes a parsed body unfit, in one walk (iteratively: a deep value must not exhaust
    the stack here either): "depth" (lists and objects nested more than `limit` levels),
    "surrogate" (a key or string holding a lone surrogate), or None."""
    pending = [(value, 1)]
    while pending:
        node, depth = pending.pop()
        if isinstance(node, str):
            if not node.isascii() and _LONE_SURROGATE.search(node):
                return "surrogate"
            continue
        if not isinstance(node, dict | list):
            continue
        if depth > limit:
            return "depth"
        if isinstance(node, dict):
            pending.extend((key, depth) for key in node)
            pending.extend((child, depth + 1) for child in node.values())
        else:
            pending.extend((child, depth + 1) for child in node)
    return None


def charset_of(media_type: str | None) -> str:
    """The charset a Content-Type names, lower case; UTF-8's name when it names none."""
    _, params = parse_header_parameters(media_type or "")
    return params.get("charset", "utf-8").strip().lower()


class JSONParser(parsers.JSONParser):
    """DRF's JSONParser turns the json module's ValueError into a 400 `parse_error`, but not its
    RecursionError, and where the json module copes, a value nested thousands deep would reach
    the view: both are the same 400 here.

    DRF also decodes the body in whatever charset the Content-Type names: UTF-8 bytes sent as
    `charset=latin-1` would be stored as other text ("cafÃ©"). JSON is UTF-8 (RFC 8259), so
    another charset is a 415, as it is for signed requests (api.signature)."""

    def parse(
        self,
        stream: IO[Any],
        media_type: str | None = None,
        parser_context: Mapping[str, Any] | None = None,
    ) -> Any:
        # Most clients send the bare type: no parameters to parse.
        if media_type != "application/json" and charset_of(media_type) not in ("utf-8", "utf8"):
            raise UnsupportedMediaType("JSON bodies are UTF-8: send charset=utf-8, or no charset.")
        try:
            value = super().parse(stream, media_type, parser_context)
            flaw = flaw_of(value, MAX_DEPTH)
        except RecursionError:
            flaw = "depth"
        except ParseError as exc:
            # DRF's detail is the ValueError's text. The json module's says where the syntax
            # broke, which helps; the rest speak Python ("'utf-8' codec can't decode byte 0xff",
            # "use sys.set_int_max_str_digits() to increase the limit").
            if isinstance(exc.__context__, json.JSONDecodeError):
                raise
            raise ParseError(
                "JSON parse error - the body is not UTF-8 JSON, or holds a number of more than "
                "4,300 digits."
            ) from None
        if flaw == "depth":
            raise ParseError(f"JSON parse error - nested more than {MAX_DEPTH} levels deep.")
        if flaw == "surrogate":
            raise ParseError(
                "JSON parse error - a \\u escape names half of a surrogate pair alone."
            )
        return value
