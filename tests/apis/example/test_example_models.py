"""The example's models: what the database itself holds them to."""

from decimal import Decimal

import pytest
from django.core.exceptions import ValidationError
from django.db import IntegrityError, transaction

from tests.apis.example.factories import CategoryFactory, ItemFactory
from tests.factories import UserFactory


@pytest.mark.django_db
def test_an_item_price_is_never_negative_whoever_writes_it():
    # The API's serializer refuses it; the admin's form (full_clean) and the database do too.
    item = ItemFactory.build(category=CategoryFactory(), owner=UserFactory(), price=Decimal("-5"))
    with pytest.raises(ValidationError, match="greater than or equal to 0"):
        item.full_clean()
    with pytest.raises(IntegrityError), transaction.atomic():
        item.save()
