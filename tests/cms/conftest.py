"""Fixtures of the CMS tests: staff and non-staff sessions through Django's test client."""

import pytest
from django.test import Client
from django.utils.html import strip_tags

from tests.factories import UserFactory


@pytest.fixture
def staff():
    return UserFactory(username="ops", is_staff=True)


@pytest.fixture
def staff_client(staff) -> Client:
    client = Client()
    client.force_login(staff)
    return client


@pytest.fixture
def app_user_client() -> Client:
    """Signed in (a session from elsewhere), but not staff."""
    client = Client()
    client.force_login(UserFactory(username="not-staff"))
    return client


def page_text(response) -> str:
    """The response's text without tags, whitespace collapsed: sentences as a reader sees them."""
    return " ".join(strip_tags(response.content.decode()).split())
