"""The permissions features share (api/permissions.py), on a view of their own."""

import pytest
from rest_framework.permissions import BasePermission
from rest_framework.response import Response
from rest_framework.test import APIRequestFactory, force_authenticate
from rest_framework.views import APIView

from api.models import User
from api.permissions import IsStaff, IsStaffOrReadOnly
from tests.factories import UserFactory

pytestmark = pytest.mark.django_db


def status_of(permission: type[BasePermission], method: str, user: User | None) -> int:
    class View(APIView):
        permission_classes = [permission]

        def get(self, request: object) -> Response:
            return Response({})

        def post(self, request: object) -> Response:
            return Response({})

    request = getattr(APIRequestFactory(), method.lower())("/api/v1/anything/")
    if user is not None:
        force_authenticate(request, user=user)
    return View.as_view()(request).status_code


@pytest.mark.parametrize(
    ("permission", "method", "who", "status"),
    [
        (IsStaffOrReadOnly, "GET", None, 401),
        (IsStaffOrReadOnly, "GET", "user", 200),
        (IsStaffOrReadOnly, "POST", "user", 403),
        (IsStaffOrReadOnly, "POST", "staff", 200),
        (IsStaff, "GET", None, 401),
        (IsStaff, "GET", "user", 403),
        (IsStaff, "POST", "user", 403),
        (IsStaff, "GET", "staff", 200),
        (IsStaff, "POST", "staff", 200),
    ],
)
def test_staff_permissions(permission, method, who, status):
    user = None if who is None else UserFactory(is_staff=who == "staff")
    assert status_of(permission, method, user) == status
