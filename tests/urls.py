"""URLs that exist only in tests: views that fail in the ways the error handling must cover."""

import logging

from django.http import HttpRequest, HttpResponse
from django.urls import include, path
from django.views.decorators.csrf import csrf_protect
from rest_framework import serializers
from rest_framework.decorators import api_view, authentication_classes, permission_classes
from rest_framework.request import Request
from rest_framework.response import Response

logger = logging.getLogger("tests.views")


class AddressSerializer(serializers.Serializer[dict[str, object]]):
    city = serializers.CharField(max_length=5)


class PersonSerializer(serializers.Serializer[dict[str, object]]):
    platform = serializers.ChoiceField(choices=["ios", "android"])
    address = AddressSerializer()
    tags = serializers.ListField(child=serializers.IntegerField())

    def validate(self, attrs: dict[str, object]) -> dict[str, object]:
        if attrs.get("platform") == "android" and not attrs.get("tags"):
            raise serializers.ValidationError("android needs tags")
        return attrs


@api_view(["GET"])
@authentication_classes([])
@permission_classes([])
def explode(request: Request) -> Response:
    raise RuntimeError("SELECT password FROM secrets -- must never reach a client")


def explode_plain(request: HttpRequest) -> HttpResponse:
    raise RuntimeError("SELECT password FROM secrets -- must never reach a client")


@api_view(["POST"])
@authentication_classes([])
@permission_classes([])
def validate(request: Request) -> Response:
    serializer = PersonSerializer(data=request.data)
    serializer.is_valid(raise_exception=True)
    return Response(serializer.validated_data)


@api_view(["GET"])
@authentication_classes([])
@permission_classes([])
def chatty(request: Request) -> Response:
    logger.info("working on it")
    return Response({"ok": True})


@csrf_protect
def form(request: HttpRequest) -> HttpResponse:
    return HttpResponse("accepted")


urlpatterns = [
    path("api/v1/test/explode/", explode),
    path("api/v1/test/explode-plain/", explode_plain),
    path("api/v1/test/validate/", validate),
    path("api/v1/test/chatty/", chatty),
    path("api/v1/test/form/", form),
    path("", include("core.urls")),
]

handler400 = "api.problems.bad_request"
handler403 = "api.problems.permission_denied"
handler404 = "api.problems.page_not_found"
handler500 = "api.problems.server_error"
