from drf_spectacular.utils import extend_schema
from rest_framework import status
from rest_framework.permissions import IsAuthenticated
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from api.apis.auth.serializers import (
    TokenIssueInputSerializer,
    TokenPairOutputSerializer,
    TokenRefreshInputSerializer,
)
from api.apis.auth.services import device_logout, token_issue, token_refresh
from api.authentication import DeviceSignatureAuthentication, IsDeviceSigned, request_device
from api.serialization import serialize, validated
from api.utils import NO_STORE, client_ip


class _DeviceSignedView(APIView):
    authentication_classes = [DeviceSignatureAuthentication]
    permission_classes = [IsDeviceSigned]
    throttle_scope = "auth_token"


class TokenIssueView(_DeviceSignedView):
    """POST /api/v1/auth/get-token/ (device-signed): a new access and refresh token."""

    @extend_schema(request=TokenIssueInputSerializer, responses=TokenPairOutputSerializer)
    def post(self, request: Request) -> Response:
        pair = token_issue(
            device=request_device(request),
            ip=client_ip(request),
            **validated(TokenIssueInputSerializer, request.data),
        )
        return Response(serialize(TokenPairOutputSerializer, pair.as_response()), headers=NO_STORE)


class TokenRefreshView(_DeviceSignedView):
    """POST /api/v1/auth/refresh-token/ (device-signed): rotate the refresh token."""

    @extend_schema(request=TokenRefreshInputSerializer, responses=TokenPairOutputSerializer)
    def post(self, request: Request) -> Response:
        refresh = validated(TokenRefreshInputSerializer, request.data)["refresh"]
        pair = token_refresh(device=request_device(request), refresh=refresh)
        return Response(serialize(TokenPairOutputSerializer, pair.as_response()), headers=NO_STORE)


class LogoutView(APIView):
    """POST /api/v1/auth/logout/ (bearer): revoke every token of the calling device."""

    permission_classes = [IsAuthenticated]
    throttle_scope = "auth_token"

    @extend_schema(request=None, responses={204: None})
    def post(self, request: Request) -> Response:
        device_logout(device=request_device(request))
        return Response(status=status.HTTP_204_NO_CONTENT)
