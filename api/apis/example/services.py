"""Writes, with the ownership rules: categories are staff-managed, items belong to their owner."""

from decimal import Decimal
from typing import Any

from django.db import transaction
from django.db.models import ProtectedError

from api.exceptions import Conflict, PermissionDenied
from api.models import Category, Item


def category_create(*, name: str, slug: str, description: str = "") -> Category:
    return Category.objects.create(name=name, slug=slug, description=description)


def category_update(*, category: Category, data: dict[str, Any]) -> Category:
    for field, value in data.items():
        setattr(category, field, value)
    category.save(update_fields=list(data))
    return category


def category_delete(*, category: Category) -> None:
    try:
        with transaction.atomic():
            category.delete()
    except ProtectedError as exc:
        raise Conflict("This category still has items; move or delete them first.") from exc


def item_create(
    *,
    owner_id: int,
    category: Category,
    title: str,
    price: Decimal,
    description: str = "",
    is_published: bool = False,
) -> Item:
    return Item.objects.create(
        owner_id=owner_id,
        category=category,
        title=title,
        description=description,
        price=price,
        is_published=is_published,
    )


def _require_owner(item: Item, user_id: int) -> None:
    if item.owner_id != user_id:
        raise PermissionDenied("Only the owner of this item can change it.")


def item_update(*, item: Item, editor_id: int, data: dict[str, Any]) -> Item:
    _require_owner(item, editor_id)
    for field, value in data.items():
        setattr(item, field, value)
    item.save(update_fields=[*data, "updated_at"])
    return item


def item_delete(*, item: Item, editor_id: int) -> None:
    _require_owner(item, editor_id)
    item.delete()
