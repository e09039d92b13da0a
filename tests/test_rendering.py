"""API responses are rendered by orjson (drf-orjson-renderer), byte for byte as DRF's own
JSONRenderer renders what the API's serializers and errors produce, but for two differences."""

import uuid
from collections import OrderedDict
from datetime import UTC, datetime

from django.utils.translation import gettext_lazy
from drf_orjson_renderer.renderers import ORJSONRenderer
from rest_framework import serializers
from rest_framework.exceptions import ErrorDetail
from rest_framework.renderers import JSONRenderer
from rest_framework.settings import api_settings
from rest_framework.utils.serializer_helpers import ReturnDict, ReturnList


def test_the_api_renders_json_with_orjson():
    assert [ORJSONRenderer] == api_settings.DEFAULT_RENDERER_CLASSES


def test_orjson_renders_the_bytes_drfs_json_renderer_does():
    body = {
        "type": "https://example.com/problems/validation_failed",
        "title": gettext_lazy("Not found."),
        "detail": ErrorDetail('Un café ✓ 😀 "quoted" \\ </script>', code="invalid"),
        "errors": ReturnList(
            [OrderedDict(field="name", code="blank"), {"field": "age", "code": "min_value"}],
            serializer=serializers.Serializer(),
        ),
        "user": ReturnDict(
            {"id": 7, "is_staff": False, "bio": None}, serializer=serializers.Serializer()
        ),
        "device_id": uuid.UUID(int=7),
        "ratio": 0.25,
        "big": 2**53 + 1,
        "control": "tab\tnewline\n\x00",
        "empty": [],
    }
    drf = JSONRenderer().render(body, "application/json", {})
    assert ORJSONRenderer().render(body, "application/json", {}) == drf


def test_no_content_renders_as_no_bytes():
    assert ORJSONRenderer().render(None, "application/json", {}) == b""


def test_where_orjson_differs_from_drf():
    # Line and paragraph separators are valid in JSON strings; DRF escapes them for JavaScript.
    separators = {"bio": "one\u2028two\u2029"}
    assert ORJSONRenderer().render(separators, "application/json", {}) == (
        '{"bio":"one\u2028two\u2029"}'.encode()
    )
    assert JSONRenderer().render(separators, "application/json", {}) == (
        b'{"bio":"one\\u2028two\\u2029"}'
    )
    # A datetime left to the renderer; the API's serializers render theirs with "Z".
    moment = {"at": datetime(2026, 11, 27, 1, 2, 3, tzinfo=UTC)}
    assert ORJSONRenderer().render(moment, "application/json", {}) == (
        b'{"at":"2026-11-27T01:02:03+00:00"}'
    )
    assert JSONRenderer().render(moment, "application/json", {}) == b'{"at":"2026-11-27T01:02:03Z"}'
