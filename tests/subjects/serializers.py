from rest_framework import serializers

from api.serialization import OutputModelSerializer
from tests.subjects.models import Post, Topic


class TopicOutputSerializer(OutputModelSerializer[Topic]):
    class Meta:
        model = Topic
        fields = ["id", "name", "slug"]


class PostOutputSerializer(OutputModelSerializer[Post]):
    class Meta:
        model = Post
        fields = [
            "id",
            "owner_id",
            "topic_id",
            "title",
            "description",
            "price",
            "is_published",
            "created_at",
            "updated_at",
        ]


class PostInputSerializer(serializers.Serializer[None]):
    topic_id = serializers.IntegerField()
    title = serializers.CharField(max_length=200)
    price = serializers.DecimalField(max_digits=10, decimal_places=2, min_value=0)
