"""api/counts.py: list counts kept until their table changes, and never across a change."""

import contextlib
import logging

import pytest
from django.db import connection, transaction
from django.db.models import Exists, OuterRef

from api import counts
from api.models import Device
from tests.factories import UserFactory
from tests.services import closed_port, redis_caches
from tests.signing import open_session
from tests.subjects.factories import PostFactory, TopicFactory
from tests.subjects.models import DraftPost, PinnedPost, Post, Topic
from tests.subjects.urls import POSTS

# Transactional: a change renews the counts once it commits.
pytestmark = pytest.mark.django_db(transaction=True)


def test_a_count_is_kept_until_the_table_changes(django_assert_num_queries):
    PostFactory.create_batch(3)
    published = Post.objects.filter(is_published=True)
    expected = published.count()
    assert counts.count(published) == expected  # counted and kept
    with django_assert_num_queries(0):
        assert counts.count(published) == expected
    PostFactory(is_published=True)
    with django_assert_num_queries(1):
        assert counts.count(published) == expected + 1
    Post.objects.filter(is_published=True)[0].delete()
    with django_assert_num_queries(1):
        assert counts.count(published) == expected


def test_each_query_has_its_own_count():
    PostFactory.create_batch(2, is_published=True)
    PostFactory(is_published=False)
    for _ in range(3):
        assert counts.count(Post.objects.all()) == 3
        assert counts.count(Post.objects.filter(is_published=False)) == 1


def test_writes_without_signals_renew_with_changed(django_assert_num_queries):
    PostFactory.create_batch(2, is_published=True)
    published = Post.objects.filter(is_published=True)
    counts.count(published)
    Post.objects.update(is_published=False)  # no signal...
    counts.changed(Post)  # ...so the writer says so
    with django_assert_num_queries(1):
        assert counts.count(published) == 0


def test_an_empty_query_counts_nothing(django_assert_num_queries):
    with django_assert_num_queries(0):
        assert counts.count(Post.objects.none()) == 0


def test_a_cache_outage_counts_in_the_database(settings, caplog):
    PostFactory.create_batch(2)
    settings.CACHES = redis_caches(f"redis://127.0.0.1:{closed_port()}/0")
    with caplog.at_level(logging.WARNING, logger="api.counts"):
        assert counts.count(Post.objects.all()) == 2
        counts.changed(Post)
    assert len(caplog.records) == 2


@pytest.mark.urls("tests.subjects.urls")
def test_a_new_post_is_in_the_next_page(client):
    session = open_session(client)
    first, _ = PostFactory.create_batch(2, is_published=True)
    assert session.get(POSTS).json()["count"] == 2
    assert session.get(POSTS).json()["count"] == 2  # the kept count
    new = {"topic_id": first.topic_id, "title": "New", "price": "1.00"}
    created = session.call("POST", POSTS, new)
    assert created.status_code == 201
    body = session.get(POSTS).json()
    assert body["count"] == 3
    assert len(body["results"]) == 3


@pytest.mark.urls("tests.subjects.urls")
def test_a_warm_list_reads_its_generation_in_the_limiters_round_trip(
    client, redis_round_trips, django_assert_num_queries
):
    session = open_session(client)
    PostFactory.create_batch(2, is_published=True)
    session.get(POSTS)
    redis_round_trips.clear()
    with django_assert_num_queries(1):  # the page
        assert session.get(POSTS).json()["count"] == 2
    # The limits, the auth state and the posts' generation: one command.
    assert redis_round_trips == [["EVALSHA"]]


def test_a_count_lives_count_ttl_at_most(monkeypatch, django_assert_num_queries):
    # What bounds a count whose table changed while the cache could not be told.
    PostFactory()
    monkeypatch.setattr(counts, "COUNT_TTL", 0)
    for _ in range(2):
        with django_assert_num_queries(1):
            assert counts.count(Post.objects.all()) == 1


def test_an_untracked_model_is_counted_every_time(django_assert_num_queries):
    # Only models decorated with @counts.tracked keep counts (and pay a write per saved row).
    assert Device not in counts._tracked
    for _ in range(2):
        with django_assert_num_queries(1):
            assert counts.count(Device.objects.all()) == 0


def test_queries_that_print_alike_are_counted_apart():
    # str(query) splices parameters in unquoted: a search term can make two queries print the
    # same. Their counts must not be shared.
    quote = connection.ops.quote_name
    column = f"{quote(Post._meta.db_table)}.{quote('title')}"
    first = Post.objects.filter(description=f"y AND {column} = x", title="z")
    second = Post.objects.filter(description="y", title=f"x AND {column} = z")
    assert str(first.query) == str(second.query)
    PostFactory(description="y", title=f"x AND {column} = z")
    assert counts.count(second) == 1
    assert counts.count(first) == 0


def test_queries_of_one_table_are_told_apart_by_what_they_select():
    # A query of one table is keyed by its WHERE clause alone; anything else that changes
    # which rows are counted (DISTINCT, say) is keyed by its whole SQL, and a join is counted
    # every time (below).
    lamps, desks = TopicFactory(name="lamps"), TopicFactory(name="desks")
    PostFactory.create_batch(2, topic=lamps, title="lamp", is_published=True)
    PostFactory(topic=desks, title="desk", is_published=True)
    published = Post.objects.filter(is_published=True)
    topics = Topic.objects.filter(slug__isnull=False)
    cases = [
        (published, 3),
        (published.values("title").distinct(), 2),
        (published.filter(topic__name="lamps"), 2),
        (topics, 2),
        (topics.values("posts__title"), 3),  # the same WHERE, and a join
        (Post.objects.exclude(pk__in=[]), 3),  # a condition that holds for every row
    ]
    for _ in range(2):  # counted, then kept
        assert [counts.count(query) for query, _ in cases] == [rows for _, rows in cases]


def new_post_fields() -> dict[str, object]:
    return {"owner": UserFactory(), "topic": TopicFactory(), "title": "New", "price": "1.00"}


def test_a_row_saved_through_a_proxy_renews_its_tables_counts(django_assert_num_queries):
    PostFactory()
    every_post = Post.objects.all()
    assert counts.count(every_post) == 1
    draft = DraftPost.objects.create(**new_post_fields())
    with django_assert_num_queries(1):
        assert counts.count(every_post) == 2
    draft.delete()
    with django_assert_num_queries(1):
        assert counts.count(every_post) == 1


def test_a_proxys_lists_are_kept_under_its_tables_generation(django_assert_num_queries):
    PostFactory()
    drafts = DraftPost.objects.all()
    assert counts.count(drafts) == 1
    with django_assert_num_queries(0):
        assert counts.count(drafts) == 1
    PostFactory()  # saved through Post, not the proxy
    with django_assert_num_queries(1):
        assert counts.count(drafts) == 2


def test_a_child_models_row_renews_its_parents_counts(django_assert_num_queries):
    PostFactory()
    every_post = Post.objects.all()
    assert counts.count(every_post) == 1
    pinned = PinnedPost.objects.create(**new_post_fields())  # a row in both tables
    with django_assert_num_queries(1):
        assert counts.count(every_post) == 2
    pinned.delete()
    with django_assert_num_queries(1):
        assert counts.count(every_post) == 1


@pytest.mark.parametrize(
    "reads_topics",
    [
        lambda: Post.objects.filter(topic__name="lamps"),  # a join
        lambda: Post.objects.filter(topic__in=Topic.objects.filter(name="lamps")),  # a subquery
        lambda: Post.objects.filter(
            Exists(Topic.objects.filter(pk=OuterRef("topic_id"), name="lamps"))
        ),
    ],
    ids=["join", "in-subquery", "exists"],
)
def test_a_count_that_reads_another_table_is_taken_every_time(
    reads_topics, django_assert_num_queries
):
    # Only the posts' table renews the posts' generation: a count that read the topics' table
    # too would outlive a change there.
    lamps = TopicFactory(name="lamps")
    PostFactory.create_batch(2, topic=lamps)
    assert counts.count(reads_topics()) == 2
    lamps.name = "chairs"
    lamps.save()
    with django_assert_num_queries(1):
        assert counts.count(reads_topics()) == 0


class Abandoned(Exception):
    pass


def test_a_count_taken_in_a_transaction_that_rolls_back_is_not_kept():
    # The post's creation starts a generation at once; the rollback starts none.
    PostFactory.create_batch(2)
    every_post = Post.objects.all()
    assert counts.count(every_post) == 2
    with contextlib.suppress(Abandoned), transaction.atomic():
        PostFactory()
        assert counts.count(every_post) == 3  # the transaction sees its own row
        raise Abandoned
    assert counts.count(every_post) == 2


@pytest.mark.django_db(transaction=True, databases=["default", "other"])
def test_each_database_has_its_own_counts():
    PostFactory.create_batch(3)
    assert counts.count(Post.objects.all()) == 3
    assert counts.count(Post.objects.using("other")) == 0


def test_a_count_in_a_transaction_that_changed_nothing_is_kept(django_assert_num_queries):
    # As under ATOMIC_REQUESTS: a list read in a transaction still keeps its count.
    PostFactory.create_batch(2)
    with transaction.atomic():
        assert counts.count(Post.objects.all()) == 2
        with django_assert_num_queries(0):
            assert counts.count(Post.objects.all()) == 2
