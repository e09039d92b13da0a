from drf_spectacular.utils import extend_schema
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from api.apis.me.selectors import me_get
from api.apis.me.serializers import MeOutputSerializer, MeUpdateInputSerializer
from api.apis.me.services import me_update
from api.authentication import request_device
from api.serialization import serialize


class MeView(APIView):
    """GET /api/v1/me/: the caller. PATCH: update their profile and device settings."""

    @extend_schema(responses=MeOutputSerializer)
    def get(self, request: Request) -> Response:
        device = request_device(request)
        me = me_get(user_id=device.user_id, device_id=device.device_id)
        return Response(serialize(MeOutputSerializer, me))

    @extend_schema(request=MeUpdateInputSerializer, responses=MeOutputSerializer)
    def patch(self, request: Request) -> Response:
        serializer = MeUpdateInputSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        device = request_device(request)
        me_update(
            user_id=device.user_id,
            device_id=device.device_id,
            profile=serializer.validated_data.get("profile", {}),
            device=serializer.validated_data.get("device", {}),
        )
        me = me_get(user_id=device.user_id, device_id=device.device_id)
        return Response(serialize(MeOutputSerializer, me))
