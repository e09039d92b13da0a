"""Flash messages (api.cms.middleware.PagesMessageMiddleware): the API neither reads them nor
clears them."""

import pytest

from tests.signing import ME

pytestmark = pytest.mark.django_db

MESSAGES_COOKIE = "messages"


def test_a_message_survives_api_requests_until_a_page_shows_it(staff_client):
    staff_client.post("/cms/logout/")
    assert MESSAGES_COOKIE in staff_client.cookies

    api_response = staff_client.get(ME)
    page = staff_client.get("/cms/login/")
    again = staff_client.get("/cms/login/")

    assert MESSAGES_COOKIE not in api_response.cookies
    assert b"You are signed out." in page.content
    assert page.cookies[MESSAGES_COOKIE].value == ""
    assert b"You are signed out." not in again.content
