"""factory_boy factories for the project's models and the tests' own (tests/subjects)."""

from factory import LazyAttribute, Sequence, SubFactory
from factory.django import DjangoModelFactory

from api.models import Device, User
from tests.subjects.models import Post, Topic


class UserFactory(DjangoModelFactory[User]):  # type: ignore[misc]
    class Meta:
        model = User

    username = Sequence(lambda n: f"user{n}")
    email = LazyAttribute(lambda user: f"{user.username}@example.com")


class DeviceFactory(DjangoModelFactory[Device]):  # type: ignore[misc]
    class Meta:
        model = Device

    user = SubFactory(UserFactory)
    platform = Device.Platform.IOS
    app_version = "1.0.0"
    os_version = "18.1"
    device_model = "iPhone16,1"
    secret_kid = "k2026"


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
