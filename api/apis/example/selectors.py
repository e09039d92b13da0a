"""Reads. A list page is one SELECT; its count comes from api.counts (a COUNT only after the
table changed)."""

from django.db.models import Q, QuerySet
from django.shortcuts import get_object_or_404

from api.models import Category, Item


def category_list() -> QuerySet[Category]:
    return Category.objects.order_by("name", "id")


def category_get(*, category_id: int) -> Category:
    return get_object_or_404(Category, pk=category_id)


def _visible_items(*, viewer_id: int) -> QuerySet[Item]:
    """Published items, and the viewer's own drafts."""
    return Item.objects.filter(Q(is_published=True) | Q(owner_id=viewer_id))


def item_list(
    *,
    viewer_id: int,
    category: int | None = None,
    owner: int | None = None,
    published: bool | None = None,
    ordering: str = "-created_at",
) -> QuerySet[Item]:
    items = _visible_items(viewer_id=viewer_id)
    if category is not None:
        items = items.filter(category_id=category)
    if owner is not None:
        items = items.filter(owner_id=owner)
    if published is not None:
        items = items.filter(is_published=published)
    return items.order_by(ordering, "-id")


def item_get(*, item_id: int, viewer_id: int) -> Item:
    """An item the viewer may see; someone else's draft is a 404, not a 403."""
    return get_object_or_404(_visible_items(viewer_id=viewer_id), pk=item_id)


def item_search(*, viewer_id: int, q: str) -> QuerySet[Item]:
    """Items whose title or description contains `q` (case-insensitive).

    A LIKE scan is fine for a template; at scale, use a FULLTEXT index or a search engine.
    """
    matches = Q(title__icontains=q) | Q(description__icontains=q)
    return _visible_items(viewer_id=viewer_id).filter(matches).order_by("-created_at", "-id")
