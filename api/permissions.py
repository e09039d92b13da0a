"""Permissions that API features share, declared on the view (`permission_classes`)."""

from rest_framework.permissions import SAFE_METHODS, BasePermission
from rest_framework.request import Request
from rest_framework.views import APIView


class IsStaffOrReadOnly(BasePermission):
    """Anyone authenticated reads; only staff write (403 `permission_denied` otherwise)."""

    message = "Only staff can make this change."

    def has_permission(self, request: Request, view: APIView) -> bool:
        user = request.user
        if not (user and user.is_authenticated):
            return False
        return request.method in SAFE_METHODS or bool(user.is_staff)


class IsStaff(BasePermission):
    """Staff only, reads included (403 `permission_denied` otherwise)."""

    message = "Only staff can do this."

    def has_permission(self, request: Request, view: APIView) -> bool:
        user = request.user
        return bool(user and user.is_authenticated and user.is_staff)
