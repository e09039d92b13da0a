"""api.serialization: output serializers built once, and datetimes rendered in UTC."""

from datetime import UTC, datetime, timedelta, timezone
from decimal import Decimal
from types import SimpleNamespace
from typing import Any

import pytest
from rest_framework import serializers

from api.apis.me.serializers import (
    MeDeviceOutputSerializer,
    MeProfileOutputSerializer,
    MeUserOutputSerializer,
)
from api.models import Device, UserProfile
from api.serialization import OutputModelSerializer, UTCDateTimeField, serialize, serialize_many
from tests.factories import DeviceFactory
from tests.subjects.factories import PostFactory
from tests.subjects.models import Post
from tests.subjects.serializers import PostOutputSerializer, TopicOutputSerializer

pytestmark = pytest.mark.django_db

PARIS_SUMMER = timezone(timedelta(hours=2))


def test_an_aware_datetime_renders_in_utc_whatever_its_zone() -> None:
    value = datetime(2026, 7, 1, 12, 30, 5, 123456, tzinfo=PARIS_SUMMER)

    assert UTCDateTimeField().to_representation(value) == "2026-07-01T10:30:05.123456Z"


def test_it_renders_what_drf_renders_under_the_project_settings() -> None:
    value = datetime(2026, 1, 2, 3, 4, 5, 6, tzinfo=UTC)

    fast = UTCDateTimeField().to_representation(value)

    assert fast == serializers.DateTimeField().to_representation(value)
    assert fast == "2026-01-02T03:04:05.000006Z"


def test_a_field_format_is_kept() -> None:
    value = datetime(2026, 7, 1, 12, 0, tzinfo=PARIS_SUMMER)

    assert UTCDateTimeField(format="%Y-%m-%d %H:%M").to_representation(value) == "2026-07-01 10:00"
    assert UTCDateTimeField(format="iso-8601").to_representation(value) == (
        serializers.DateTimeField(format="iso-8601").to_representation(value)
    )


def test_a_naive_datetime_goes_drfs_way() -> None:
    value = datetime(2026, 7, 1, 12, 0)

    assert UTCDateTimeField().to_representation(value) == (
        serializers.DateTimeField().to_representation(value)
    )


def test_output_model_serializers_render_model_datetimes_with_it() -> None:
    # Read back: what the list renders is a datetime MariaDB returned, in UTC.
    post = Post.objects.get(pk=PostFactory().pk)

    fields = PostOutputSerializer().fields
    data = serialize(PostOutputSerializer, post)

    assert isinstance(fields["created_at"], UTCDateTimeField)
    assert data["created_at"] == post.created_at.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%S.%fZ")
    assert serialize_many(PostOutputSerializer, [post]) == [data]
    assert data == PostOutputSerializer(post).data


def drf_renders(serializer: serializers.Serializer[Any], instance: Any) -> Any:
    """What DRF's own `Serializer.to_representation` makes of `instance`."""
    return serializers.Serializer.to_representation(serializer, instance)


def assert_renders_what_drf_renders(
    serializer_class: type[OutputModelSerializer[Any]], instance: Any
) -> None:
    """`serialize` makes of `instance` what DRF's own `to_representation` makes of it."""
    data = serialize(serializer_class, instance)

    assert data == drf_renders(serializer_class(), instance), serializer_class.__name__


def test_every_output_serializer_renders_what_drf_renders() -> None:
    # The project's own; a feature checks its serializers beside its tests, with the same helper
    # (tests/apis/example/test_example_serializers.py).
    device = Device.objects.get(pk=DeviceFactory(last_seen_at=None).pk)
    profile, _ = UserProfile.objects.get_or_create(user=device.user)
    # The tests' own too: their columns (foreign keys, a decimal) are kinds the project's lack.
    post = Post.objects.get(pk=PostFactory(description="").pk)
    cases: list[tuple[type[OutputModelSerializer[Any]], Any]] = [
        (MeUserOutputSerializer, device.user),
        (MeProfileOutputSerializer, profile),
        (MeDeviceOutputSerializer, device),
        (PostOutputSerializer, post),
        (TopicOutputSerializer, post.topic),
    ]
    for serializer_class, instance in cases:
        assert_renders_what_drf_renders(serializer_class, instance)
    assert serialize(MeDeviceOutputSerializer, device)["last_seen_at"] is None


def test_the_columns_are_read_straight_off_the_instance() -> None:
    # The post's output shows each of its columns, in the model's order: all read directly.
    plan = PostOutputSerializer()._reading_plan

    assert [column for _, _, column in plan] == [
        field.attname for field in Post._meta.concrete_fields
    ]


class MixedOutputSerializer(OutputModelSerializer[Post]):
    """Every kind of field that is not a plain column, beside columns."""

    topic_key = serializers.IntegerField(source="topic_id")  # a column under another name
    topic_name = serializers.CharField(source="topic.name")
    text = serializers.CharField(source="__str__")
    shouting = serializers.SerializerMethodField()
    secret = serializers.CharField(write_only=True)
    missing = serializers.CharField(source="no_such_attribute", required=False)

    class Meta:
        model = Post
        fields = [
            "id",
            "owner",
            "topic",
            "topic_key",
            "topic_name",
            "text",
            "shouting",
            "secret",
            "missing",
            "price",
        ]

    def get_shouting(self, post: Post) -> str:
        return post.title.upper()


def test_other_fields_go_drfs_way() -> None:
    post = Post.objects.get(pk=PostFactory(title="lamp").pk)
    serializer = MixedOutputSerializer()

    data = serializer.to_representation(post)

    assert data == drf_renders(MixedOutputSerializer(), post)
    assert data["owner"] == post.owner_id  # a relation's primary key
    assert data["topic"] == data["topic_key"] == post.topic_id
    assert data["topic_name"] == post.topic.name
    assert (data["text"], data["shouting"]) == ("lamp", "LAMP")
    assert "secret" not in data
    assert "missing" not in data
    columns = {name: column for name, _, column in serializer._reading_plan}
    assert columns["price"] == "price"
    assert columns["topic_key"] == "topic_id"
    assert columns["owner"] is None


def test_what_is_not_an_instance_of_the_model_renders_as_drf_renders_it() -> None:
    row = {"id": 1, "name": "Lamps", "slug": "lamps"}
    # No description, created_at or updated_at.
    partial = SimpleNamespace(
        id=2, owner_id=3, topic_id=4, title="Desk", price=Decimal("5"), is_published=True
    )

    assert serialize(TopicOutputSerializer, row) == row
    # An optional field the object lacks is left out, as DRF leaves it out.
    assert serialize(PostOutputSerializer, partial) == {
        "id": 2,
        "owner_id": 3,
        "topic_id": 4,
        "title": "Desk",
        "price": "5.00",
        "is_published": True,
    }
    assert serialize(PostOutputSerializer, partial) == drf_renders(PostOutputSerializer(), partial)
