"""Serializers shared by several API features."""

from typing import Any

from rest_framework import serializers

from api.validators import validate_locale, validate_single_line, validate_timezone


def locale_field() -> serializers.CharField:
    """An optional BCP 47 language tag (`en-US`), blank clearing it."""
    return serializers.CharField(
        max_length=16,
        required=False,
        allow_blank=True,
        validators=[validate_locale],
        help_text="A BCP 47 language tag, such as `en-US`; empty clears it.",
    )


def one_line_field(*, max_length: int) -> serializers.CharField:
    """Optional text of one line (api.validators.validate_single_line), blank clearing it."""
    return serializers.CharField(
        max_length=max_length, required=False, allow_blank=True, validators=[validate_single_line]
    )


def timezone_field() -> serializers.CharField:
    """An optional IANA time zone (`Europe/Amsterdam`), blank clearing it."""
    return serializers.CharField(
        max_length=64,
        required=False,
        allow_blank=True,
        validators=[validate_timezone],
        help_text="An IANA time zone name, such as `Europe/Amsterdam`; empty clears it.",
    )


class DeviceSettingsInputSerializer(serializers.Serializer[dict[str, Any]]):
    """What an app reports about its install: sent at registration, updated through /me/."""

    app_version = one_line_field(max_length=32)
    os_version = one_line_field(max_length=32)
    push_token = one_line_field(max_length=512)
    locale = locale_field()
    timezone = timezone_field()
