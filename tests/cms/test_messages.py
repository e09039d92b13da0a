"""Flash messages (api.cms.middleware.LazyMessageMiddleware): built only where they are used."""

import pytest
from django.utils.functional import empty

pytestmark = pytest.mark.django_db

MESSAGES_COOKIE = "messages"


def test_an_api_request_never_builds_the_message_storage(session):
    response = session.get("/api/v1/me/")

    assert response.status_code == 200
    assert response.wsgi_request._messages._wrapped is empty
    assert MESSAGES_COOKIE not in response.cookies


def test_a_message_survives_api_requests_until_a_page_shows_it(staff_client):
    staff_client.post("/cms/logout/")
    assert MESSAGES_COOKIE in staff_client.cookies

    api_response = staff_client.get("/api/v1/items/")
    page = staff_client.get("/cms/login/")
    again = staff_client.get("/cms/login/")

    assert MESSAGES_COOKIE not in api_response.cookies
    assert b"You are signed out." in page.content
    assert page.cookies[MESSAGES_COOKIE].value == ""
    assert b"You are signed out." not in again.content
