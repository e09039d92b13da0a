"""factory_boy factories for the models tests need."""

from factory import LazyAttribute, Sequence, SubFactory
from factory.django import DjangoModelFactory

from api.models import Category, Device, Item, User


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


class CategoryFactory(DjangoModelFactory[Category]):  # type: ignore[misc]
    class Meta:
        model = Category

    name = Sequence(lambda n: f"Category {n}")
    slug = Sequence(lambda n: f"category-{n}")


class ItemFactory(DjangoModelFactory[Item]):  # type: ignore[misc]
    class Meta:
        model = Item

    owner = SubFactory(UserFactory)
    category = SubFactory(CategoryFactory)
    title = Sequence(lambda n: f"Item {n}")
    price = "9.99"
    is_published = True
