"""Routes whose views declare rate-limit scopes wrongly, for the system check's tests."""

from django.http import HttpRequest, HttpResponse
from django.urls import include, path
from rest_framework.views import APIView

from api.throttling import throttle_scopes


class TypoView(APIView):
    throttle_scopes = {"get": "serach", "post": ("admin", "admni")}


@throttle_scopes("content-listing")
def dashed(request: HttpRequest) -> HttpResponse:
    return HttpResponse("never limited: the check refuses it first")


class DictScopeView(APIView):
    throttle_scope = {"get": "search"}


urlpatterns = [
    path(
        "nested/",
        include([path("typo/", TypoView.as_view()), path("dict/", DictScopeView.as_view())]),
    ),
    path("dashed/", dashed),
]
