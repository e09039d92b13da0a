"""What get-token and refresh-token take and answer."""

from typing import Any

from rest_framework import serializers

from api.serializers import one_line_field
from api.tokens import MAX_TOKEN_LENGTH


class TokenIssueInputSerializer(serializers.Serializer[dict[str, Any]]):
    """get-token body: `{}`, or device details to update on the way."""

    push_token = one_line_field(max_length=512)
    app_version = one_line_field(max_length=32)


class TokenRefreshInputSerializer(serializers.Serializer[dict[str, Any]]):
    refresh = serializers.CharField(max_length=MAX_TOKEN_LENGTH)


class TokenPairOutputSerializer(serializers.Serializer[Any]):
    access = serializers.CharField()
    refresh = serializers.CharField()
    token_type = serializers.ChoiceField(choices=["Bearer"])
    expires_in = serializers.IntegerField(help_text="Seconds the access token is valid.")
    refresh_expires_in = serializers.IntegerField(help_text="Seconds the refresh token is valid.")
