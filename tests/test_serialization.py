"""api.serialization: output serializers built once, and datetimes rendered in UTC."""

from datetime import UTC, datetime, timedelta, timezone

import pytest
from rest_framework import serializers

from api.apis.example.serializers import ItemOutputSerializer
from api.models import Item
from api.serialization import UTCDateTimeField, serialize, serialize_many
from tests.factories import ItemFactory

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
