"""What /me/ answers, and what its PATCH takes."""

from collections.abc import Mapping
from typing import Any

from rest_framework import serializers
from rest_framework.exceptions import ErrorDetail

from api.models import Device, User, UserProfile
from api.serialization import OutputModelSerializer
from api.serializers import DeviceSettingsInputSerializer, locale_field, timezone_field
from api.validators import validate_single_line


class MeUserOutputSerializer(OutputModelSerializer[User]):
    class Meta:
        model = User
        fields = ["id", "username", "email", "is_staff", "date_joined"]


class MeProfileOutputSerializer(OutputModelSerializer[UserProfile]):
    class Meta:
        model = UserProfile
        fields = ["display_name", "avatar_url", "locale", "timezone", "bio", "updated_at"]


class MeDeviceOutputSerializer(OutputModelSerializer[Device]):
    class Meta:
        model = Device
        fields = [
            "id",
            "platform",
            "app_version",
            "os_version",
            "device_model",
            "push_token",
            "locale",
            "timezone",
            "created_at",
            "last_seen_at",
        ]


class MeOutputSerializer(serializers.Serializer[Device]):
    """The caller: their user, profile and the device making the request."""

    user = MeUserOutputSerializer()
    profile = MeProfileOutputSerializer(source="user.profile")
    device = MeDeviceOutputSerializer(source="*")


class MeProfileInputSerializer(serializers.Serializer[dict[str, Any]]):
    display_name = serializers.CharField(
        max_length=150, required=False, allow_blank=True, validators=[validate_single_line]
    )
    avatar_url = serializers.URLField(max_length=500, required=False, allow_blank=True)
    locale = locale_field()
    timezone = timezone_field()
    bio = serializers.CharField(max_length=2000, required=False, allow_blank=True)


class MeDeviceInputSerializer(DeviceSettingsInputSerializer):
    """The calling device's settings; platform and model are fixed at registration."""


class MeUpdateInputSerializer(serializers.Serializer[dict[str, Any]]):
    """PATCH /me/: any subset of the profile and of the calling device's settings, each in its
    object. Other keys at the top are refused: a flat `{"display_name": ...}` would otherwise
    answer 200 and change nothing. Inside the two objects unknown keys are ignored, as DRF does,
    so an app that sends a field this server does not know yet still updates the rest."""

    profile = MeProfileInputSerializer(required=False)
    device = MeDeviceInputSerializer(required=False)

    def to_internal_value(self, data: Any) -> dict[str, Any]:
        if isinstance(data, Mapping):
            unknown = sorted(set(data) - set(self.fields))
            if unknown:
                raise serializers.ValidationError(
                    {
                        key: ErrorDetail(
                            "Unknown field: PATCH /me/ takes `profile` and `device` objects.",
                            code="unknown_field",
                        )
                        for key in unknown
                    }
                )
        validated: dict[str, Any] = super().to_internal_value(data)
        return validated
