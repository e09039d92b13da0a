from django.contrib.auth.models import User
from rest_framework import serializers

from peer.models import Item


class UserSerializer(serializers.ModelSerializer[User]):
    class Meta:
        model = User
        fields = ["id", "username", "email", "is_staff", "date_joined"]


class ItemSerializer(serializers.ModelSerializer[Item]):
    class Meta:
        model = Item
        fields = [
            "id",
            "owner",
            "category",
            "title",
            "description",
            "price",
            "is_published",
            "created_at",
            "updated_at",
        ]
