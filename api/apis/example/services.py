"""Writes, with the ownership rules: categories are staff-managed, items belong to their owner.

A write that loses a race with another request's is refused with a 4xx, never a 500: the
serializer's checks ran before the write, so the database has the last word, and each write
catches its `IntegrityError` here, where it knows which constraint it can break. Each such
write runs in its own `transaction.atomic()`: SQLite checks foreign keys only at commit, which
is the end of that block (inside a caller's transaction it is the caller's commit, out of reach
here), and inside a caller's transaction the block is a savepoint, so a refused statement
spoils nothing.
"""

from decimal import Decimal
from typing import Any

from django.core.exceptions import ValidationError
from django.db import IntegrityError, transaction
from django.db.models import ProtectedError

from api.exceptions import Conflict, PermissionDenied
from api.models import Category, Item
from api.utils import save_fields

# What the serializer's UniqueValidator says: a slug taken meanwhile answers the same.
SLUG_TAKEN = "This field must be unique."
CATEGORY_HAS_ITEMS = "This category still has items; move or delete them first."
CATEGORY_GONE = "The item's category was deleted meanwhile; choose another one."


def _slug_taken() -> ValidationError:
    # A field error, as Django's own unique check raises it; the exception handler answers it
    # as the serializer's: 400 validation_error on `slug`, code `unique`.
    return ValidationError({"slug": ValidationError(SLUG_TAKEN, code="unique")})


def category_create(*, name: str, slug: str, description: str = "") -> Category:
    try:
        with transaction.atomic():
            return Category.objects.create(name=name, slug=slug, description=description)
    except IntegrityError as exc:
        # The only constraint a validated category can break: its slug was taken meanwhile.
        raise _slug_taken() from exc


def category_update(*, category: Category, data: dict[str, Any]) -> Category:
    for field, value in data.items():
        setattr(category, field, value)
    try:
        save_fields(category, list(data))
    except IntegrityError as exc:
        raise _slug_taken() from exc
    return category


def category_delete(*, category: Category) -> None:
    try:
        with transaction.atomic():
            category.delete()
    except (ProtectedError, IntegrityError) as exc:
        # IntegrityError: an item was added after delete() checked for items, before its DELETE.
        raise Conflict(CATEGORY_HAS_ITEMS) from exc


def item_create(
    *,
    owner_id: int,
    category: Category,
    title: str,
    price: Decimal,
    description: str = "",
    is_published: bool = False,
) -> Item:
    try:
        with transaction.atomic():
            return Item.objects.create(
                owner_id=owner_id,
                category=category,
                title=title,
                description=description,
                price=price,
                is_published=is_published,
            )
    except IntegrityError as exc:
        # A foreign key: the category was deleted after the serializer found it (or the
        # owner's account was, which leaves nobody to read the answer).
        raise Conflict(CATEGORY_GONE) from exc


def item_check_editor(*, item: Item, editor_id: int) -> None:
    """Raise PermissionDenied unless `editor_id` owns `item`.

    The writes below check it; a view checks it before it reads the body, so that whatever a
    non-owner sends, the answer is 403.
    """
    if item.owner_id != editor_id:
        raise PermissionDenied("Only the owner of this item can change it.")


def item_update(*, item: Item, editor_id: int, data: dict[str, Any]) -> Item:
    item_check_editor(item=item, editor_id=editor_id)
    for field, value in data.items():
        setattr(item, field, value)
    try:
        save_fields(item, [*data, "updated_at"])
    except IntegrityError as exc:
        raise Conflict(CATEGORY_GONE) from exc
    return item


def item_delete(*, item: Item, editor_id: int) -> None:
    item_check_editor(item=item, editor_id=editor_id)
    item.delete()
