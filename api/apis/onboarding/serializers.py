"""What device registration takes and answers."""

from typing import Any

from rest_framework import serializers

from api.models import Device
from api.serializers import DeviceSettingsInputSerializer, one_line_field


class DeviceRegisterInputSerializer(DeviceSettingsInputSerializer):
    """Registration body. A device id sent by the client is ignored: the server chooses it."""

    platform = serializers.ChoiceField(choices=Device.Platform.choices)
    device_model = one_line_field(max_length=64)


class DeviceRegisterOutputSerializer(serializers.Serializer[Any]):
    """The one response that carries the device secret; the client must store it securely."""

    device_id = serializers.UUIDField(source="device.id")
    device_secret = serializers.CharField(source="secret")
    user_id = serializers.IntegerField(source="device.user_id")
    created_at = serializers.DateTimeField(source="device.created_at")
