import time
from typing import Any

from django.http import HttpRequest
from drf_spectacular.utils import extend_schema
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from api import read_ahead, snapshots
from api.apis.me.selectors import me_get
from api.apis.me.serializers import MeOutputSerializer, MeUpdateInputSerializer
from api.apis.me.services import me_update
from api.auth_state import DeviceState
from api.authentication import request_device
from api.serialization import serialize, validated
from api.tokens import TokenClaims


def me_representation(device: DeviceState, request: HttpRequest) -> dict[str, Any]:
    """The caller as `MeOutputSerializer` renders them, from their snapshots (api.snapshots)
    when both are cached, else from one query, kept for the next time."""
    user_key, device_key = (
        snapshots.user_key(device.user_id),
        snapshots.device_key(device.device_id),
    )
    cached = snapshots.read([user_key, device_key], read_ahead.values(request))
    if snapshots.usable(cached[user_key]) and snapshots.usable(cached[device_key]):
        return {**cached[user_key], "device": cached[device_key]}
    read_at = time.monotonic()
    me = serialize(MeOutputSerializer, me_get(user_id=device.user_id, device_id=device.device_id))
    snapshots.fill(
        {
            key: part
            for key, part in [
                (user_key, {"user": me["user"], "profile": me["profile"]}),
                (device_key, me["device"]),
            ]
            if cached[key] is None
        },
        read_at=read_at,
    )
    return dict(me)


class MeView(APIView):
    """GET /api/v1/me/: the caller. PATCH: update their profile and device settings."""

    @staticmethod
    def read_ahead(request: HttpRequest, claims: TokenClaims) -> list[str]:
        """A GET's snapshots ride along the rate limiter's round trip (api.read_ahead)."""
        if request.method != "GET":
            return []
        keys = [snapshots.user_key(claims.user_id), snapshots.device_key(claims.device_id)]
        return read_ahead.redis_keys(keys)

    @extend_schema(responses=MeOutputSerializer)
    def get(self, request: Request) -> Response:
        return Response(me_representation(request_device(request), request._request))

    @extend_schema(request=MeUpdateInputSerializer, responses=MeOutputSerializer)
    def patch(self, request: Request) -> Response:
        changes = validated(MeUpdateInputSerializer, request.data)
        device = request_device(request)
        me_update(
            user_id=device.user_id,
            device_id=device.device_id,
            profile=changes.get("profile", {}),
            device=changes.get("device", {}),
        )
        me = me_get(user_id=device.user_id, device_id=device.device_id)
        return Response(serialize(MeOutputSerializer, me))
