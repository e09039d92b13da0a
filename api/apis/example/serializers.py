"""Input serializers validate what comes in; output serializers shape what goes out."""

from decimal import Decimal
from typing import Any

from rest_framework import serializers
from rest_framework.validators import UniqueValidator

from api.models import Category, Item
from api.serialization import OutputModelSerializer
from api.validators import MAX_ID


class CategoryInputSerializer(serializers.Serializer[dict[str, Any]]):
    name = serializers.CharField(max_length=100)
    slug = serializers.SlugField(
        max_length=100, validators=[UniqueValidator(queryset=Category.objects.all())]
    )
    # PUT replaces the whole category: a description it leaves out is "", as for a POST.
    # (PATCH, partial, skips defaults: it changes only what it sends.)
    description = serializers.CharField(allow_blank=True, max_length=5000, default="")

    def __init__(self, *args: Any, instance_id: int | None = None, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        if instance_id is not None:
            # An update may keep its own slug: swap the uniqueness check only, keeping the
            # slug's own format check (replacing the whole list dropped it).
            slug = self.fields["slug"]
            slug.validators = [
                *(v for v in slug.validators if not isinstance(v, UniqueValidator)),
                UniqueValidator(queryset=Category.objects.exclude(pk=instance_id)),
            ]


class CategoryOutputSerializer(OutputModelSerializer[Category]):
    class Meta:
        model = Category
        fields = ["id", "name", "slug", "description"]


class ItemInputSerializer(serializers.Serializer[dict[str, Any]]):
    category = serializers.PrimaryKeyRelatedField(
        queryset=Category.objects.all(),
        pk_field=serializers.IntegerField(min_value=1, max_value=MAX_ID),
    )
    title = serializers.CharField(max_length=200)
    # PUT replaces the whole item: every field it leaves out takes its default, as for a POST.
    description = serializers.CharField(allow_blank=True, max_length=5000, default="")
    price = serializers.DecimalField(max_digits=10, decimal_places=2, min_value=0)
    is_published = serializers.BooleanField(default=False)

    def validate_price(self, value: Decimal) -> Decimal:
        # min_value lets -0 through (-0 >= 0), which MySQL keeps as 0.00: answer what a later
        # read will.
        return value.copy_abs()


class ItemOutputSerializer(OutputModelSerializer[Item]):
    owner = serializers.IntegerField(source="owner_id", read_only=True)
    category = serializers.IntegerField(source="category_id")
    # min_value: the schema says a price is never negative.
    price = serializers.DecimalField(
        max_digits=10, decimal_places=2, coerce_to_string=True, min_value=0
    )

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


class ItemFilterSerializer(serializers.Serializer[dict[str, Any]]):
    """Query parameters of the item list."""

    ORDERINGS = ["created_at", "-created_at", "price", "-price", "title", "-title"]

    category = serializers.IntegerField(required=False, min_value=1, max_value=MAX_ID)
    owner = serializers.IntegerField(required=False, min_value=1, max_value=MAX_ID)
    published = serializers.BooleanField(required=False, allow_null=True, default=None)
    ordering = serializers.ChoiceField(choices=ORDERINGS, required=False, default="-created_at")


class ItemSearchSerializer(serializers.Serializer[dict[str, Any]]):
    q = serializers.CharField(
        min_length=1, max_length=100, help_text="Text to find in title or description."
    )
