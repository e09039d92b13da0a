"""factory_boy factories for the example's models."""

from factory import Sequence, SubFactory
from factory.django import DjangoModelFactory

from api.models import Category, Item
from tests.factories import UserFactory


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
