"""HTTP only: parse, call a selector or service, serialize. Policies are declared on the view."""

from django.urls import reverse
from drf_spectacular.utils import extend_schema
from rest_framework import status
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from api import counts
from api.apis.example import selectors, services
from api.apis.example.serializers import (
    CategoryInputSerializer,
    CategoryOutputSerializer,
    ItemFilterSerializer,
    ItemInputSerializer,
    ItemOutputSerializer,
    ItemSearchSerializer,
)
from api.authentication import request_user_id
from api.models import Category, Item
from api.pagination import StandardPagination, paginated_response
from api.permissions import IsStaffOrReadOnly
from api.serialization import serialize, validated


class CategoryPermission(IsStaffOrReadOnly):
    message = "Only staff can change categories."


class CategoryListView(APIView):
    """GET: every category (paginated). POST: create one (staff)."""

    permission_classes = [CategoryPermission]
    throttle_scopes = {"get": "content_listing", "post": "admin"}
    pagination_class = StandardPagination
    read_ahead = counts.list_read_ahead(Category)

    @extend_schema(responses=CategoryOutputSerializer(many=True), operation_id="categories_list")
    def get(self, request: Request) -> Response:
        return paginated_response(
            queryset=selectors.category_list(),
            serializer_class=CategoryOutputSerializer,
            request=request,
            view=self,
        )

    @extend_schema(request=CategoryInputSerializer, responses={201: CategoryOutputSerializer})
    def post(self, request: Request) -> Response:
        category = services.category_create(**validated(CategoryInputSerializer, request.data))
        return Response(
            serialize(CategoryOutputSerializer, category),
            status=status.HTTP_201_CREATED,
            headers={"Location": reverse("category-detail", args=[category.pk])},
        )


class CategoryDetailView(APIView):
    """GET one category; PUT / PATCH / DELETE it (staff)."""

    permission_classes = [CategoryPermission]
    throttle_scopes = {"put": "admin", "patch": "admin", "delete": "admin"}
    extra_problems = {"delete": (409,)}

    @extend_schema(responses=CategoryOutputSerializer)
    def get(self, request: Request, category_id: int) -> Response:
        category = selectors.category_get(category_id=category_id)
        return Response(serialize(CategoryOutputSerializer, category))

    @extend_schema(request=CategoryInputSerializer, responses=CategoryOutputSerializer)
    def put(self, request: Request, category_id: int) -> Response:
        return self._update(request, category_id, partial=False)

    @extend_schema(
        request=CategoryInputSerializer(partial=True), responses=CategoryOutputSerializer
    )
    def patch(self, request: Request, category_id: int) -> Response:
        return self._update(request, category_id, partial=True)

    @extend_schema(responses={204: None})
    def delete(self, request: Request, category_id: int) -> Response:
        services.category_delete(category=selectors.category_get(category_id=category_id))
        return Response(status=status.HTTP_204_NO_CONTENT)

    def _update(self, request: Request, category_id: int, *, partial: bool) -> Response:
        category = selectors.category_get(category_id=category_id)
        data = validated(
            CategoryInputSerializer, request.data, partial=partial, instance_id=category.pk
        )
        category = services.category_update(category=category, data=data)
        return Response(serialize(CategoryOutputSerializer, category))


class ItemListView(APIView):
    """GET: published items and your drafts, filtered and ordered. POST: create one."""

    throttle_scopes = {"get": "content_listing"}
    extra_problems = {"post": (409,)}
    pagination_class = StandardPagination
    # The count's generation rides along the rate limiter's round trip (api/counts.py).
    read_ahead = counts.list_read_ahead(Item)

    @extend_schema(parameters=[ItemFilterSerializer], responses=ItemOutputSerializer(many=True))
    def get(self, request: Request) -> Response:
        filters = validated(ItemFilterSerializer, request.query_params)
        return paginated_response(
            queryset=selectors.item_list(viewer_id=request_user_id(request), **filters),
            serializer_class=ItemOutputSerializer,
            request=request,
            view=self,
        )

    @extend_schema(request=ItemInputSerializer, responses={201: ItemOutputSerializer})
    def post(self, request: Request) -> Response:
        data = validated(ItemInputSerializer, request.data)
        item = services.item_create(owner_id=request_user_id(request), **data)
        return Response(
            serialize(ItemOutputSerializer, item),
            status=status.HTTP_201_CREATED,
            headers={"Location": reverse("item-detail", args=[item.pk])},
        )


class ItemSearchView(APIView):
    """GET /items/search/?q=: published items and your drafts whose text contains q."""

    throttle_scope = "search"
    pagination_class = StandardPagination
    read_ahead = counts.list_read_ahead(Item)

    @extend_schema(parameters=[ItemSearchSerializer], responses=ItemOutputSerializer(many=True))
    def get(self, request: Request) -> Response:
        query = validated(ItemSearchSerializer, request.query_params)
        return paginated_response(
            queryset=selectors.item_search(viewer_id=request_user_id(request), q=query["q"]),
            serializer_class=ItemOutputSerializer,
            request=request,
            view=self,
        )


class ItemDetailView(APIView):
    """GET an item you may see; PUT / PATCH / DELETE your own."""

    extra_problems = {"put": (403, 409), "patch": (403, 409), "delete": (403,)}

    @extend_schema(responses=ItemOutputSerializer)
    def get(self, request: Request, item_id: int) -> Response:
        item = selectors.item_get(item_id=item_id, viewer_id=request_user_id(request))
        return Response(serialize(ItemOutputSerializer, item))

    @extend_schema(request=ItemInputSerializer, responses=ItemOutputSerializer)
    def put(self, request: Request, item_id: int) -> Response:
        return self._update(request, item_id, partial=False)

    @extend_schema(request=ItemInputSerializer(partial=True), responses=ItemOutputSerializer)
    def patch(self, request: Request, item_id: int) -> Response:
        return self._update(request, item_id, partial=True)

    @extend_schema(responses={204: None})
    def delete(self, request: Request, item_id: int) -> Response:
        item = selectors.item_get(item_id=item_id, viewer_id=request_user_id(request))
        services.item_delete(item=item, editor_id=request_user_id(request))
        return Response(status=status.HTTP_204_NO_CONTENT)

    def _update(self, request: Request, item_id: int, *, partial: bool) -> Response:
        editor_id = request_user_id(request)
        item = selectors.item_get(item_id=item_id, viewer_id=editor_id)
        # The owner first: a non-owner gets 403 whatever the body, not a 400 about it.
        services.item_check_editor(item=item, editor_id=editor_id)
        data = validated(ItemInputSerializer, request.data, partial=partial)
        item = services.item_update(item=item, editor_id=editor_id, data=data)
        return Response(serialize(ItemOutputSerializer, item))
