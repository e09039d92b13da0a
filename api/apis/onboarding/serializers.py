from typing import Any

from rest_framework import serializers

from api.models import Device
from api.validators import validate_locale, validate_timezone


class DeviceRegisterInputSerializer(serializers.Serializer[dict[str, Any]]):
    """Registration body. A device id sent by the client is ignored: the server chooses it."""

    platform = serializers.ChoiceField(choices=Device.Platform.choices)
    app_version = serializers.CharField(max_length=32, required=False, allow_blank=True)
    os_version = serializers.CharField(max_length=32, required=False, allow_blank=True)
    device_model = serializers.CharField(max_length=64, required=False, allow_blank=True)
    push_token = serializers.CharField(max_length=512, required=False, allow_blank=True)
    locale = serializers.CharField(
        max_length=16, required=False, allow_blank=True, validators=[validate_locale]
    )
    timezone = serializers.CharField(
        max_length=64, required=False, allow_blank=True, validators=[validate_timezone]
    )


class DeviceRegisterOutputSerializer(serializers.Serializer[Any]):
    """The one response that carries the device secret; the client must store it securely."""

    device_id = serializers.UUIDField(source="device.id")
    device_secret = serializers.CharField(source="secret")
    user_id = serializers.IntegerField(source="device.user_id")
    created_at = serializers.DateTimeField(source="device.created_at")
