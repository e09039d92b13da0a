"""Page-number pagination for every list (SPEC §2): `page`, `page_size` (default 20, max 100)."""

import functools
from collections.abc import Callable, Mapping
from typing import TYPE_CHECKING, Any

from django.core.paginator import Paginator
from django.db.models import QuerySet
from django.utils.functional import cached_property
from rest_framework.pagination import PageNumberPagination
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.serializers import BaseSerializer

from api import counts, read_ahead
from api.serialization import serialize_many

if TYPE_CHECKING:
    # Not at run time: DRF's generic views import this module through their settings.
    from rest_framework.views import APIView


class CachedCountPaginator(Paginator[Any]):
    """Django's paginator, counting with api.counts: no COUNT query while the table is unchanged.
    `prefetched`: the request's read-ahead values, where the model's generation may be."""

    def __init__(
        self,
        object_list: Any,
        per_page: int,
        *,
        prefetched: Mapping[str, bytes | None] | None = None,
    ) -> None:
        super().__init__(object_list, per_page)
        self.prefetched = prefetched

    @cached_property
    def count(self) -> int:
        if isinstance(self.object_list, QuerySet):
            return counts.count(self.object_list, prefetched=self.prefetched)
        return len(self.object_list)


class StandardPagination(PageNumberPagination):
    page_size = 20
    page_size_query_param = "page_size"
    max_page_size = 100

    @property
    def django_paginator_class(self) -> Callable[..., CachedCountPaginator]:  # type: ignore[override]
        # DRF sets self.request before it builds the paginator.
        request = self.request
        prefetched = None if request is None else read_ahead.values(request._request)
        return functools.partial(CachedCountPaginator, prefetched=prefetched)


def paginated_response(
    *,
    queryset: QuerySet[Any],
    serializer_class: type[BaseSerializer[Any]],
    request: Request,
    view: "APIView",
) -> Response:
    """`{"count", "next", "previous", "results"}` for one page of `queryset`, paginated by the
    view's `pagination_class` (the one its schema documents), StandardPagination by default."""
    paginator = getattr(view, "pagination_class", None) or StandardPagination
    pager = paginator()
    page = pager.paginate_queryset(queryset, request, view=view)
    # No page only when pagination is off, which a list view's class never is.
    return pager.get_paginated_response(serialize_many(serializer_class, page or []))
