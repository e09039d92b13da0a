"""factory_boy factories for the tests' own models (tests/subjects): not the names a project's
feature would give its own (tests/apis/<feature>/factories.py)."""

from factory import Sequence, SubFactory
from factory.django import DjangoModelFactory

from tests.factories import UserFactory
from tests.subjects.models import Post, Topic


class TopicFactory(DjangoModelFactory[Topic]):  # type: ignore[misc]
    class Meta:
        model = Topic

    name = Sequence(lambda n: f"Topic {n}")
    slug = Sequence(lambda n: f"topic-{n}")


class PostFactory(DjangoModelFactory[Post]):  # type: ignore[misc]
    class Meta:
        model = Post

    owner = SubFactory(UserFactory)
    topic = SubFactory(TopicFactory)
    title = Sequence(lambda n: f"Post {n}")
    price = "9.99"
    is_published = True
