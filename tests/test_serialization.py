"""api.serialization: output serializers built once, and datetimes rendered in UTC."""

from datetime import UTC, datetime, timedelta, timezone
from types import SimpleNamespace
from typing import Any

import pytest
from rest_framework import serializers

from api.apis.example.serializers import CategoryOutputSerializer, ItemOutputSerializer
from api.apis.me.serializers import (
    MeDeviceOutputSerializer,
    MeProfileOutputSerializer,
    MeUserOutputSerializer,
)
from api.models import Device, Item, UserProfile
from api.serialization import OutputModelSerializer, UTCDateTimeField, serialize, serialize_many
from tests.factories import DeviceFactory, ItemFactory

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
    item = Item.objects.get(pk=ItemFactory().pk)

    fields = ItemOutputSerializer().fields
    data = serialize(ItemOutputSerializer, item)

    assert isinstance(fields["created_at"], UTCDateTimeField)
    assert data["created_at"] == item.created_at.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%S.%fZ")
    assert serialize_many(ItemOutputSerializer, [item]) == [data]
    assert data == ItemOutputSerializer(item).data


def drf_renders(serializer: serializers.Serializer[Any], instance: Any) -> Any:
    """What DRF's own `Serializer.to_representation` makes of `instance`."""
    return serializers.Serializer.to_representation(serializer, instance)


def test_every_output_serializer_renders_what_drf_renders() -> None:
    item = Item.objects.get(pk=ItemFactory(description="").pk)
    device = Device.objects.get(pk=DeviceFactory(last_seen_at=None).pk)
    profile, _ = UserProfile.objects.get_or_create(user=device.user)
    cases: list[tuple[type[OutputModelSerializer[Any]], Any]] = [
        (ItemOutputSerializer, item),
        (CategoryOutputSerializer, item.category),
        (MeUserOutputSerializer, device.user),
        (MeProfileOutputSerializer, profile),
        (MeDeviceOutputSerializer, device),
    ]
    for serializer_class, instance in cases:
        data = serialize(serializer_class, instance)

        assert data == drf_renders(serializer_class(), instance), serializer_class.__name__
    assert serialize(MeDeviceOutputSerializer, device)["last_seen_at"] is None


def test_the_columns_are_read_straight_off_the_instance() -> None:
    # The item's output shows each of its columns, in the model's order: all read directly.
    plan = ItemOutputSerializer()._reading_plan

    assert [column for _, _, column in plan] == [
        field.attname for field in Item._meta.concrete_fields
    ]


class MixedOutputSerializer(OutputModelSerializer[Item]):
    """Every kind of field that is not a plain column, beside columns."""

    category_name = serializers.CharField(source="category.name")
    text = serializers.CharField(source="__str__")
    shouting = serializers.SerializerMethodField()
    secret = serializers.CharField(write_only=True)
    missing = serializers.CharField(source="no_such_attribute", required=False)

    class Meta:
        model = Item
        fields = [
            "id",
            "owner",
            "category",
            "category_name",
            "text",
            "shouting",
            "secret",
            "missing",
            "price",
        ]

    def get_shouting(self, item: Item) -> str:
        return item.title.upper()


def test_other_fields_go_drfs_way() -> None:
    item = Item.objects.get(pk=ItemFactory(title="lamp").pk)
    serializer = MixedOutputSerializer()

    data = serializer.to_representation(item)

    assert data == drf_renders(MixedOutputSerializer(), item)
    assert data["owner"] == item.owner_id  # a relation's primary key
    assert data["category_name"] == item.category.name
    assert (data["text"], data["shouting"]) == ("lamp", "LAMP")
    assert "secret" not in data
    assert "missing" not in data
    columns = {name: column for name, _, column in serializer._reading_plan}
    assert columns["price"] == "price"
    assert columns["owner"] is None


def test_what_is_not_an_instance_of_the_model_renders_as_drf_renders_it() -> None:
    row = {"id": 1, "name": "Lamps", "slug": "lamps", "description": ""}
    partial = SimpleNamespace(id=2, name="Desks", slug="desks")  # no description

    assert serialize(CategoryOutputSerializer, row) == row
    # An optional field the object lacks is left out, as DRF leaves it out.
    assert serialize(CategoryOutputSerializer, partial) == {
        "id": 2,
        "name": "Desks",
        "slug": "desks",
    }
    assert serialize(CategoryOutputSerializer, partial) == drf_renders(
        CategoryOutputSerializer(), partial
    )
