from drf_spectacular.utils import extend_schema
from rest_framework import status
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from api.apis.onboarding.serializers import (
    DeviceRegisterInputSerializer,
    DeviceRegisterOutputSerializer,
)
from api.apis.onboarding.services import device_register
from api.authentication import AppSignatureAuthentication, IsAppSigned
from api.serialization import serialize, validated
from api.utils import NO_STORE, client_ip


class DeviceRegisterView(APIView):
    """POST /api/v1/device/register/ (app-signed): a new device and its secret."""

    authentication_classes = [AppSignatureAuthentication]
    permission_classes = [IsAppSigned]
    throttle_scope = "auth_token"

    @extend_schema(
        request=DeviceRegisterInputSerializer, responses={201: DeviceRegisterOutputSerializer}
    )
    def post(self, request: Request) -> Response:
        fields = validated(DeviceRegisterInputSerializer, request.data)
        registered = device_register(**fields, ip=client_ip(request))
        body = serialize(DeviceRegisterOutputSerializer, registered)
        return Response(body, status=status.HTTP_201_CREATED, headers=NO_STORE)
