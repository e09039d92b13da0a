"""The example's output serializers go through the shared serialization (api/serialization.py)
as the project's own do: checked here, with the shared tests' helper, so that they are deleted
with the example."""

from typing import Any

import pytest

from api.apis.example.serializers import CategoryOutputSerializer, ItemOutputSerializer
from api.models import Item
from api.serialization import OutputModelSerializer
from tests.apis.example.factories import ItemFactory
from tests.test_serialization import assert_renders_what_drf_renders

pytestmark = pytest.mark.django_db


def test_the_example_output_serializers_render_what_drf_renders() -> None:
    # Read back: what the list renders is what MariaDB returned.
    item = Item.objects.get(pk=ItemFactory(description="").pk)
    cases: list[tuple[type[OutputModelSerializer[Any]], Any]] = [
        (ItemOutputSerializer, item),
        (CategoryOutputSerializer, item.category),
    ]
    for serializer_class, instance in cases:
        assert_renders_what_drf_renders(serializer_class, instance)


def test_the_item_columns_are_read_straight_off_the_instance() -> None:
    # Each of the item's output fields (`owner` and `category` by their `_id` source, the price
    # declared for its schema) is one of its columns, in the model's order: all read directly.
    plan = ItemOutputSerializer()._reading_plan

    assert [column for _, _, column in plan] == [
        field.attname for field in Item._meta.concrete_fields
    ]
