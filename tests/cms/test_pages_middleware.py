"""Django's session, CSRF, auth and message middleware serve the pages people sign in to, and
stay off the API (api.cms.middleware.PagesOnly)."""

import pytest

from tests.asserts import assert_problem

pytestmark = pytest.mark.django_db


def test_an_api_request_gets_no_session_no_session_user_and_no_messages(session):
    response = session.get("/api/v1/me/")

    assert response.status_code == 200
    request = response.wsgi_request
    assert not hasattr(request, "session")
    assert not hasattr(request, "_messages")
    assert not response.cookies
    assert "Cookie" not in response.get("Vary", "")


def test_a_staff_session_does_not_authenticate_an_api_request(staff_client):
    response = staff_client.get("/api/v1/me/")

    body = assert_problem(response, 401, "not_authenticated")
    assert "session" not in vars(response.wsgi_request)
    assert body["status"] == 401


def test_pages_keep_their_session_user_and_csrf_token(staff, staff_client):
    page = staff_client.get(f"/cms/users/{staff.pk}/")

    assert page.status_code == 200
    assert page.wsgi_request.session.session_key
    assert page.wsgi_request.user == staff
    assert page.context["csrf_token"]
