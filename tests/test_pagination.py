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


def page(query: str) -> Response:
    response: Response = Users.as_view()(APIRequestFactory().get(f"/users/{query}"))
    return response


@pytest.mark.parametrize(
    "query",
    [
        *("?page=abc", "?page=0", "?page=-1", "?page=01", "?page=1.5"),
        *("?page=1000000000000000000", "?page_size=abc", "?page_size=0"),  # 19 digits
    ],
)
def test_a_malformed_page_or_page_size_is_a_validation_error_naming_it(query):
    response = page(query)
    assert response.status_code == 400
    assert response.data["code"] == "validation_error"
    name = query[1:].partition("=")[0]
    assert response.data["errors"] == [
        {
            "field": name,
            "code": "invalid",
            "message": "A whole number from 1 to 999999999999999999.",
        }
    ]


@pytest.mark.parametrize(
    ("query", "status", "size"),
    [
        ("", 200, 20),
        ("?page=", 200, 20),
        ("?page=2", 200, 3),
        ("?page=last", 200, 3),
        ("?page_size=", 200, 20),
        ("?page_size=7", 200, 7),
        ("?page_size=500", 200, 23),
        ("?page=3", 404, None),
        ("?page=999999999999999999", 404, None),
    ],
)
def test_well_formed_pages_and_sizes_are_read(query, status, size):
    UserFactory.create_batch(23)
    response = page(query)
    assert response.status_code == status
    if size is not None:
        assert len(response.data["results"]) == size
