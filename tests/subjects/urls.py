"""The project's routes plus a list of posts built as a feature's list is: published posts and
the caller's, paginated, the count kept (api/counts.py) and its generation read in the rate
limiter's round trip. Tests use it with `@pytest.mark.urls("tests.subjects.urls")`."""

from django.db.models import Q, QuerySet
from django.urls import path
from rest_framework import status
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from api import counts
from api.authentication import request_user_id
from api.pagination import StandardPagination, paginated_response
from api.serialization import serialize, validated
from core.urls import urlpatterns as project_urlpatterns
from tests.subjects.models import Post
from tests.subjects.serializers import PostInputSerializer, PostOutputSerializer

POSTS = "/api/v1/test/posts/"


def visible_posts(viewer_id: int) -> QuerySet[Post]:
    return Post.objects.filter(Q(is_published=True) | Q(owner_id=viewer_id))


class PostListView(APIView):
    throttle_scopes = {"get": "content_listing"}
    pagination_class = StandardPagination
    read_ahead = counts.list_read_ahead(Post)

    def get(self, request: Request) -> Response:
        return paginated_response(
            queryset=visible_posts(request_user_id(request)),
            serializer_class=PostOutputSerializer,
            request=request,
            view=self,
        )

    def post(self, request: Request) -> Response:
        data = validated(PostInputSerializer, request.data)
        post = Post.objects.create(owner_id=request_user_id(request), **data)
        return Response(serialize(PostOutputSerializer, post), status=status.HTTP_201_CREATED)


urlpatterns = [*project_urlpatterns, path(POSTS.lstrip("/"), PostListView.as_view())]
