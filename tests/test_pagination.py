"""api/pagination.py: a list paginates as its view's pagination_class (its schema's) says."""

import pytest
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.test import APIRequestFactory
from rest_framework.views import APIView

from api.apis.me.serializers import MeUserOutputSerializer
from api.models import User
from api.pagination import StandardPagination, paginated_response
from tests.factories import UserFactory

pytestmark = pytest.mark.django_db


class FivePerPage(StandardPagination):
    page_size = 5


class Users(APIView):
    authentication_classes = ()
    permission_classes = ()

    def get(self, request: Request) -> Response:
        return paginated_response(
            queryset=User.objects.order_by("pk"),
            serializer_class=MeUserOutputSerializer,
            request=request,
            view=self,
        )


class FiveUsers(Users):
    pagination_class = FivePerPage


@pytest.mark.parametrize(("view", "size"), [(Users, 20), (FiveUsers, 5)])
def test_a_page_is_as_long_as_the_views_pagination_class_says(view, size):
    UserFactory.create_batch(23)
    response = view.as_view()(APIRequestFactory().get("/users/"))
    assert response.status_code == 200
    assert response.data["count"] == 23
    assert len(response.data["results"]) == size
