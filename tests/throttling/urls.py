"""Views that exist only in the rate-limit tests: one for each way of declaring scopes."""

from django.http import HttpRequest, HttpResponse
from django.urls import include, path
from django.views.decorators.http import require_POST
from rest_framework import viewsets
from rest_framework.authentication import BaseAuthentication
from rest_framework.decorators import action, api_view, authentication_classes, permission_classes
from rest_framework.exceptions import AuthenticationFailed
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.routers import SimpleRouter
from rest_framework.views import APIView

from api.throttling import rate_limit_exempt, throttle_scopes


class RejectEveryCredential(BaseAuthentication):
    """Fails every request, as a bad signature or a bad token does."""

    def authenticate(self, request: Request) -> None:
        raise AuthenticationFailed("Signature does not match.", code="signature_invalid")

    def authenticate_header(self, request: Request) -> str:
        return "Device-HMAC"


class OpenView(APIView):
    """No declaration: burst and sustained, plus data_modification on writes."""

    authentication_classes = []
    permission_classes = []

    def get(self, request: Request) -> Response:
        return Response({"ok": True})

    def post(self, request: Request) -> Response:
        return Response({"ok": True}, status=201)

    def delete(self, request: Request) -> Response:
        return Response(status=204)


class GetTokenView(OpenView):
    """Like the auth endpoints: auth_token, and credentials checked only after the limit."""

    authentication_classes = [RejectEveryCredential]
    throttle_scope = "auth_token"


class StaffWriteView(OpenView):
    """`throttle_scope` as a tuple, for every method."""

    throttle_scope = ("admin", "content_listing")


class ByMethodView(OpenView):
    """`throttle_scopes` keyed by HTTP method."""

    throttle_scopes = {"get": "content_listing", "post": ("admin", "search")}


class EveryScopeView(OpenView):
    """Declares every scope, so one request uses a unit of each."""

    throttle_scope = ("auth_token", "data_modification", "content_listing", "search", "admin")


class ItemViewSet(viewsets.ViewSet):
    """`throttle_scopes` keyed by ViewSet action, an extra action included."""

    authentication_classes = []
    permission_classes = []
    throttle_scopes = {"list": "content_listing", "create": "admin", "search": "search"}

    def list(self, request: Request) -> Response:
        return Response([])

    def create(self, request: Request) -> Response:
        return Response({}, status=201)

    def retrieve(self, request: Request, pk: str) -> Response:
        return Response({"id": pk})

    def destroy(self, request: Request, pk: str) -> Response:
        return Response(status=204)

    @action(detail=False)
    def search(self, request: Request) -> Response:
        return Response([])


@throttle_scopes("admin")
def cms_action(request: HttpRequest) -> HttpResponse:
    """A plain Django function view, as the staff CMS has."""
    return HttpResponse("done")


@throttle_scopes("search")
@api_view(["GET"])
@authentication_classes([])
@permission_classes([])
def search_function(request: Request) -> Response:
    """A DRF function view, with the declaration outermost."""
    return Response([])


@require_POST
def post_only(request: HttpRequest) -> HttpResponse:
    """Answers other methods with Django's plain 405, which becomes problem+json on the way out."""
    return HttpResponse("posted")


@rate_limit_exempt
def exempt(request: HttpRequest) -> HttpResponse:
    return HttpResponse("never limited")


router = SimpleRouter()
router.register("api/v1/test/items", ItemViewSet, basename="item")

urlpatterns = [
    path("api/v1/test/open/", OpenView.as_view()),
    path("api/v1/test/get-token/", GetTokenView.as_view()),
    path("api/v1/test/staff-write/", StaffWriteView.as_view()),
    path("api/v1/test/by-method/", ByMethodView.as_view()),
    path("api/v1/test/every-scope/", EveryScopeView.as_view()),
    path("api/v1/test/search/", search_function),
    path("cms/action/", cms_action),
    path("api/v1/test/exempt/", exempt),
    path("api/v1/test/post-only/", post_only),
    *router.urls,
    path("", include("core.urls")),
]

handler404 = "api.problems.page_not_found"
handler500 = "api.problems.server_error"
