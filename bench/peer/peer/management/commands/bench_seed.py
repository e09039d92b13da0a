"""Seed the peer like the template for the benchmark, and print the credentials it needs (JSON).

Users share one password hash: hashing a password is what the token endpoint is measured on,
not something seeding needs to repeat. Access tokens are minted here for the same reason.
"""

import json
from argparse import ArgumentParser
from decimal import Decimal
from typing import Any

from django.contrib.auth.hashers import make_password
from django.contrib.auth.models import User
from django.core.management.base import BaseCommand
from rest_framework_simplejwt.tokens import RefreshToken

from peer.models import Category, Item


class Command(BaseCommand):
    help = "Create users, categories and items; print tokens and the password as JSON."

    def add_arguments(self, parser: ArgumentParser) -> None:
        parser.add_argument("--users", type=int, default=100)
        parser.add_argument("--items", type=int, default=1000)
        parser.add_argument("--password", required=True)

    def handle(self, *args: Any, users: int, items: int, password: str, **options: Any) -> None:
        hashed = make_password(password)
        User.objects.all().delete()
        Category.objects.all().delete()
        people = User.objects.bulk_create(
            User(username=f"user-{index}", password=hashed) for index in range(users)
        )
        categories = Category.objects.bulk_create(
            Category(name=f"Category {index}", slug=f"category-{index}") for index in range(10)
        )
        Item.objects.bulk_create(
            Item(
                owner=people[index % users],
                category=categories[index % len(categories)],
                title=f"Item {index}",
                description="A thing worth listing. " * 4,
                price=Decimal(index % 500) + Decimal("0.99"),
                is_published=index % 10 != 0,
            )
            for index in range(items)
        )
        pairs = [RefreshToken.for_user(user) for user in people]
        self.stdout.write(
            json.dumps(
                {
                    "username": people[0].username,
                    "access": [str(pair.access_token) for pair in pairs],
                    "refresh": [str(pair) for pair in pairs],
                }
            )
        )
