from typing import Any

from django.contrib.auth.models import User
from django.db.models import Q, QuerySet
from django.http import HttpRequest, JsonResponse
from rest_framework import generics
from rest_framework_simplejwt.views import TokenObtainPairView, TokenRefreshView

from peer.models import Item
from peer.serializers import ItemSerializer, UserSerializer


class TokenObtainView(TokenObtainPairView):
    """simplejwt's username + password endpoint."""

    throttle_scope = "auth_token"


class TokenRefreshScopedView(TokenRefreshView):
    """simplejwt's refresh endpoint (its default: no rotation)."""

    throttle_scope = "auth_token"


class MeView(generics.RetrieveAPIView[User]):
    serializer_class = UserSerializer

    def get_object(self) -> User:
        return self.request.user  # type: ignore[return-value]


class ItemListView(generics.ListAPIView[Item]):
    """Published items and the caller's drafts, newest first: the template's item list."""

    serializer_class = ItemSerializer
    throttle_scope = "content_listing"

    def get_queryset(self) -> QuerySet[Item]:
        visible = Q(is_published=True) | Q(owner_id=self.request.user.pk)
        return Item.objects.filter(visible).order_by("-created_at", "-id")


def ceiling(request: HttpRequest, *args: Any) -> JsonResponse:
    """The ceiling: a bare Django view behind Django's default middleware, nothing else."""
    return JsonResponse({"status": "ok"})
