"""Routes whose views declare rate-limit scopes wrongly, for the system check's tests."""

from django.http import HttpRequest, HttpResponse
from django.urls import include, path
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView
from rest_framework.viewsets import ViewSet

from api.throttling import throttle_scopes


class TypoView(APIView):
    throttle_scopes = {"get": "serach", "post": ("admin", "admni")}


@throttle_scopes("content-listing")
def dashed(request: HttpRequest) -> HttpResponse:
    return HttpResponse("never limited: the check refuses it first")


class DictScopeView(APIView):
    throttle_scope = {"get": "search"}


class UpperCaseMethodView(APIView):
    throttle_scopes = {"GET": "search", "post": "admin"}


class ListAndRetrieve(ViewSet):
    def list(self, request: Request) -> Response:
        return Response([])

    def retrieve(self, request: Request, pk: str) -> Response:
        return Response({})


class MisspeltActionViewSet(ListAndRetrieve):
    throttle_scopes = {"lists": "content_listing", "retrieve": "search"}


class RetrieveOnlyOnItsDetailRoute(ListAndRetrieve):
    # Each route of a ViewSet has some of its actions: the keys are checked against them all.
    throttle_scopes = {"list": "content_listing", "retrieve": "search"}


urlpatterns = [
    path(
        "nested/",
        include([path("typo/", TypoView.as_view()), path("dict/", DictScopeView.as_view())]),
    ),
    path("dashed/", dashed),
    path("upper/", UpperCaseMethodView.as_view()),
    path("misspelt/", MisspeltActionViewSet.as_view({"get": "list"})),
    path("misspelt/<str:pk>/", MisspeltActionViewSet.as_view({"get": "retrieve"})),
    path("both/", RetrieveOnlyOnItsDetailRoute.as_view({"get": "list"})),
    path("both/<str:pk>/", RetrieveOnlyOnItsDetailRoute.as_view({"get": "retrieve"})),
]
