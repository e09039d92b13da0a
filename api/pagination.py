"""Page-number pagination for every list (SPEC §2): `page`, `page_size` (default 20, max 100)."""

import functools
import re
from collections.abc import Callable, Mapping
from typing import TYPE_CHECKING, Any

from django.core.paginator import Paginator
from django.db.models import QuerySet
from django.utils.functional import cached_property
from rest_framework.exceptions import ValidationError
from rest_framework.pagination import PageNumberPagination
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.serializers import BaseSerializer

from api import counts, read_ahead
from api.converters import LARGEST_ID, IdConverter
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


# 1 and up, no sign, no padding; 18 digits at most, as the ids.
WHOLE_NUMBER = re.compile(IdConverter.regex)


def query_number(request: Request, name: str) -> int | None:
    """The query parameter `name` as a whole number of at least 1; None when absent or empty."""
    value = request.query_params.get(name)
    if not value:
        return None
    if not WHOLE_NUMBER.fullmatch(value):
        raise ValidationError({name: [f"A whole number from 1 to {LARGEST_ID}."]})
    return int(value)


class StandardPagination(PageNumberPagination):
    """DRF's page-number pagination, with a malformed `page` or `page_size` a 400
    `validation_error` naming it, as a malformed filter is. DRF answers `page=abc` with a 404
    ("Invalid page.") and reads `page_size=abc` as the default; a page past the end is still a
    404, and a `page_size` over 100 is cut to 100."""

    page_size = 20
    page_size_query_param = "page_size"
    max_page_size = 100
    page_query_description = (
        "A page number from 1; a page past the last is a 404. `last` (not in the type: a client"
        " generated from a parameter of two types cannot send it) is the last page."
    )
    page_size_query_description = "Items a page: 20 unless given; more than 100 is cut to 100."

    def get_schema_operation_parameters(self, view: Any) -> list[dict[str, Any]]:
        parameters: list[dict[str, Any]] = super().get_schema_operation_parameters(view)
        number = {"type": "integer", "minimum": 1, "maximum": LARGEST_ID}
        for parameter in parameters:
            if parameter["name"] == self.page_size_query_param:
                parameter["schema"] = {**number, "default": self.page_size}
            else:
                # One type: Kotlin's client generated from `oneOf: [integer, "last"]` drops the
                # page, Swift's sends it as base64 JSON. `last` is in the description.
                parameter["schema"] = number
        return parameters

    def get_paginated_response_schema(self, schema: dict[str, Any]) -> dict[str, Any]:
        paginated: dict[str, Any] = super().get_paginated_response_schema(schema)
        # Every page has all four keys; `next` and `previous` are null at either end.
        paginated["required"] = ["count", "next", "previous", "results"]
        properties = paginated["properties"]
        # DRF's examples are of another API's URLs (http://api.example.org/accounts/?page=4).
        for name, description in (
            ("next", "The next page's URL; null on the last page."),
            ("previous", "The previous page's URL; null on the first page."),
        ):
            properties[name].pop("example", None)
            properties[name]["description"] = description
        properties["count"]["description"] = "Items in the whole list."
        return paginated

    def get_page_number(self, request: Request, paginator: Paginator[Any]) -> int | str:
        if request.query_params.get(self.page_query_param) in self.last_page_strings:
            return paginator.num_pages
        return query_number(request, self.page_query_param) or 1

    def get_page_size(self, request: Request) -> int:
        size = query_number(request, self.page_size_query_param)
        return self.page_size if size is None else min(size, self.max_page_size)

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
