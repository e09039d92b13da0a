"""Counts of list queries, kept until their table changes.

Every page of a list says how many rows there are (SPEC §2), and a COUNT reads every row that
matches: 0.3 ms at 1,000 items, 12 ms at 100,000, on every request, for a number that changes
only when the table does. So each process keeps the counts it took, keyed by the query's SQL
and by the table's generation: a random token in the cache that every save or delete of one of
the model's rows replaces, as it is made and again once it commits (signals, below). A count is
used only under the generation it was taken under, which was read before the count was taken:
a count taken across a change is kept under the old generation, which nobody reads again. So
a change is counted on the next request, by every process. Two kinds of count are taken every
time instead: one whose query reads another table as well (a join, a subquery), which only
that table's changes could make stale, and one taken in a transaction that changed the table,
which may count rows a rollback takes back.

Reading the generation is the only cache read of a warm list, and a list view can have it read
in the rate limiter's round trip (`list_read_ahead`): then a warm list costs no round trip of
its own and one SQL query, the page. (Generations live in the security cache because that
round trip is made on its connection.)

Models opt in with the `@counts.tracked` decorator; the others are counted every time
(tracking costs a cache write per saved row). Writes that send no signal (a queryset
`update()`, `bulk_create()`, raw SQL) must call `changed(Model)`. If the cache fails, counts
come from the database.
"""

import hashlib
import logging
import time
import uuid
from collections.abc import Mapping
from typing import Any, TypeVar

from django.core.exceptions import EmptyResultSet, FullResultSet
from django.db import transaction
from django.db.models import Model, QuerySet
from django.db.models.expressions import RawSQL
from django.db.models.signals import post_delete, post_save
from django.db.models.sql import Query
from django.dispatch import receiver
from django.http import HttpRequest

from api import read_ahead
from api.logs import described
from api.utils import now_and_on_commit, table_model, tables_of, thread_cache

logger = logging.getLogger(__name__)

# Counts each process keeps: (generation, query hash) -> (rows, until when). Old generations
# are never read again; past MEMO_SIZE entries the memo starts over. COUNT_TTL bounds how long
# a count can outlive a change whose new generation could not be written (a cache outage).
MEMO_SIZE = 10_000
COUNT_TTL = 300
_memo: dict[tuple[str, str], tuple[int, float]] = {}
# Generations this process started inside a transaction that has not committed (yet, or ever:
# a rollback leaves its generation current). A count under one may see that transaction's own
# rows, so none is kept; past MEMO_SIZE the set starts over, and COUNT_TTL bounds the rest.
_uncommitted: set[str] = set()

_tracked: set[type[Model]] = set()
M = TypeVar("M", bound=type[Model])


def tracked(model: M) -> M:
    """Class decorator: keep the counts of lists of this model (see the module's docstring).
    Counts follow tables: a proxy's lists are counted under its concrete model's generation."""
    _tracked.add(table_model(model))
    return model


def _generation_key(model: type[Model]) -> str:
    return f"count:{table_model(model)._meta.label_lower}:generation"


def generation_redis_keys(model: type[Model]) -> list[str]:
    """For a list view's `read_ahead` hook: the Redis key of `model`'s generation."""
    return read_ahead.redis_keys([_generation_key(model)])


def list_read_ahead(model: type[Model]) -> "staticmethod[[HttpRequest, object], list[str]]":
    """A list view's `read_ahead` hook (`read_ahead = counts.list_read_ahead(Item)`): its GETs
    read `model`'s generation in the rate limiter's round trip (api.read_ahead)."""

    def hook(request: HttpRequest, claims: object) -> list[str]:
        return generation_redis_keys(model) if request.method == "GET" else []

    return staticmethod(hook)


def count(queryset: QuerySet[Any], *, prefetched: Mapping[str, bytes | None] | None = None) -> int:
    """`queryset.count()`, counted once per process while the model's table is unchanged.
    `prefetched`: the request's read-ahead values (api.read_ahead), if any."""
    query = queryset.order_by()
    if table_model(queryset.model) not in _tracked or not _reads_only_its_table(query.query):
        return query.count()
    try:
        sql, params = _counted_rows(query.query, using=query.db)
    except EmptyResultSet:
        return 0  # a query that can match nothing, such as .none()
    key = _generation_key(queryset.model)
    try:
        generation = _generation(key, prefetched)
    except Exception as exc:
        logger.warning("count cache unavailable, counting in the database: %s", described(exc))
        return query.count()
    if generation is None:
        return query.count()
    # The same SQL counts other rows on another database.
    told = f"{query.db}\0{sql}\0{params!r}"
    memo_key = (generation, hashlib.sha256(told.encode()).hexdigest())
    now = time.monotonic()
    kept = _memo.get(memo_key)
    if kept is not None and kept[1] > now:
        return kept[0]
    rows = query.count()
    if generation in _uncommitted:
        return rows  # it may count rows that a rollback takes back, and leave the generation
    if len(_memo) >= MEMO_SIZE:
        _memo.clear()
    _memo[memo_key] = (rows, now + COUNT_TTL)
    return rows


def _reads_only_its_table(query: Query) -> bool:
    """Whether `query` reads its model's table alone: no join in use, no subquery, no raw SQL.

    A count is kept under its model's generation, which only a change of that table renews: a
    count that read another table too (`filter(topic__name=...)`, `pk__in=<a queryset>`,
    `Exists(...)`) would outlive a change there, so such counts are taken every time.
    """
    table = query.get_meta().db_table
    if query.extra or query.extra_tables:
        return False
    for alias, join in query.alias_map.items():
        if query.alias_refcount[alias] and join.table_name != table:
            return False
    expressions: list[Any] = [query.where, *query.annotations.values()]
    while expressions:
        expression = expressions.pop()
        if isinstance(expression, Query | RawSQL) or not hasattr(
            expression, "get_source_expressions"
        ):
            return False  # a subquery, or SQL that could name any table (extra(where=...))
        expressions.extend(e for e in expression.get_source_expressions() if e is not None)
    return True


def _counted_rows(query: Query, *, using: str) -> tuple[str, tuple[Any, ...]]:
    """SQL that says which rows `query` counts, with its parameters apart (str(query) splices
    them in unquoted, and two queries could print alike).

    A query of one table (no join in use) with no grouping, DISTINCT, annotation, extra or
    slice counts the rows its WHERE clause selects: that clause alone says it, for a third of
    what compiling the whole SELECT costs (4 % of the instructions of a page of items,
    bench/README.md, finding 21). Any other query is told by its whole SQL.
    """
    # Django keeps the aliases of joins it set up and then trimmed, unused (refcount 0).
    in_use = [alias for alias in query.alias_map if query.alias_refcount[alias]]
    if (
        len(in_use) <= 1
        and not (query.distinct or query.annotations or query.extra or query.extra_tables)
        and query.group_by is None
        and query.combinator is None
        and query.low_mark == 0
        and query.high_mark is None
    ):
        try:
            where, params = query.get_compiler(using).compile(query.where)
        except FullResultSet:
            where, params = "", ()  # no condition: every row
        return f"{query.get_meta().db_table} WHERE {where}", tuple(params)
    sql, params = query.get_compiler(using).as_sql()
    return sql, tuple(params)


def _generation(key: str, prefetched: Mapping[str, bytes | None] | None) -> str | None:
    cache = thread_cache("security")
    found = read_ahead.entries(cache, prefetched, [key])
    generation = found[key] if key in found else cache.get(key)
    if generation is None:
        # The table's first count (or its generation was evicted): start one, and read back
        # whichever start won.
        cache.add(key, uuid.uuid4().hex, None)
        generation = cache.get(key)
    return None if generation is None else str(generation)


def changed(model: type[Model], using: str | None = None) -> None:
    """Start a new generation of `model`'s counts (now, and again once the transaction on
    database `using` commits: api.utils.now_and_on_commit)."""

    started: list[str] = []

    def renew() -> None:
        generation = uuid.uuid4().hex
        if transaction.get_connection(using).in_atomic_block:  # now, before the commit
            if len(_uncommitted) >= MEMO_SIZE:
                _uncommitted.clear()
            _uncommitted.add(generation)
            started.append(generation)
        else:  # committed (or in autocommit)
            _uncommitted.difference_update(started)
        try:
            thread_cache("security").set(_generation_key(model), generation, None)
        except Exception as exc:
            logger.warning(
                "could not renew the counts of %s: %s", model._meta.label, described(exc)
            )

    now_and_on_commit(renew, using)


@receiver(post_save, dispatch_uid="counts_row_saved")
@receiver(post_delete, dispatch_uid="counts_row_deleted")
def _row_changed(sender: type[Model], using: str, **kwargs: Any) -> None:
    # Saved through a proxy or a child model too (api.utils.tables_of).
    for model in tables_of(sender) & _tracked:
        changed(model, using)
