"""Who gets into the CMS: active staff only; everyone else lands on its login page (SPEC §8)."""

import uuid
from urllib.parse import quote

import pytest
from django.contrib.admin.models import LogEntry
from django.test import Client

from api.cms.middleware import CONTENT_SECURITY_POLICY
from api.models import User, UserProfile
from tests.cms.conftest import page_text
from tests.factories import DeviceFactory, UserFactory

pytestmark = pytest.mark.django_db

PAGES = ["/cms/", "/cms/users/", "/cms/users/{user}/"]
ACTIONS = [
    "/cms/users/{user}/deactivate/",
    "/cms/users/{user}/activate/",
    "/cms/users/{user}/profile/",
    "/cms/devices/{device}/revoke/",
]
PASSWORD = "a-password-long-enough-2026"


def url(template: str, device=None) -> str:
    device = device or DeviceFactory()
    return template.format(user=device.user_id, device=device.pk)


@pytest.mark.parametrize("page", PAGES)
def test_anonymous_visitors_are_sent_to_the_login_page_and_back(page):
    target = url(page)
    response = Client().get(target)
    assert response.status_code == 302
    assert response["Location"] == f"/cms/login/?next={target}"


def assert_refused_and_nothing_changed(client: Client, action: str) -> None:
    """POST `action` on a target it would change (an inactive user for "activate"), with a
    profile to save: the answer is the login page, and no state or admin log changed."""
    device = DeviceFactory(user__is_active="/activate/" not in action)
    before = (device.is_active, device.user.is_active, device.user.profile.display_name)
    response = client.post(url(action, device), {"display_name": "changed", "locale": "en"})
    assert response.status_code == 302
    assert response["Location"].startswith("/cms/login/?next=")
    device.refresh_from_db()
    profile = UserProfile.objects.get(user=device.user)
    assert (device.is_active, device.user.is_active, profile.display_name) == before
    assert not LogEntry.objects.exists()


@pytest.mark.parametrize("action", ACTIONS)
def test_anonymous_posts_change_nothing(action):
    assert_refused_and_nothing_changed(Client(), action)


@pytest.mark.parametrize(
    ("referer", "back_to"),
    [
        ("http://testserver/cms/users/?q=ada", "/cms/users/?q=ada"),
        # Another site's page, or none: the dashboard.
        ("https://evil.example/cms/users/", "/cms/"),
        # This site's URL of a path that reads as another site's.
        ("http://testserver//evil.example/x", "/cms/"),
        ("http://testserver/\\evil.example/x", "/cms/"),
        (None, "/cms/"),
    ],
)
def test_a_form_sent_after_the_session_ended_leads_back_to_its_page_once_signed_in(
    referer, back_to
):
    # Not to the action's URL, which takes only POST: signing in would lead to a blank 405.
    headers = {} if referer is None else {"HTTP_REFERER": referer}
    response = Client().post(url(ACTIONS[0]), **headers)
    assert response.status_code == 302
    assert response["Location"] == f"/cms/login/?next={quote(back_to, safe='/')}"


@pytest.mark.parametrize("page", PAGES)
def test_signed_in_users_who_are_not_staff_are_sent_to_the_login_page(app_user_client, page):
    response = app_user_client.get(url(page))
    assert response.status_code == 302
    assert response["Location"].startswith("/cms/login/?next=")


@pytest.mark.parametrize("action", ACTIONS)
def test_posts_of_users_who_are_not_staff_change_nothing(app_user_client, action):
    assert_refused_and_nothing_changed(app_user_client, action)


def test_the_login_page_tells_a_signed_in_user_who_is_not_staff_why_they_are_there(
    app_user_client,
):
    response = app_user_client.get("/cms/login/?next=/cms/")
    assert response.status_code == 200
    assert "You are signed in as not-staff, which is not a staff account." in page_text(response)


def test_the_login_page_shows_no_such_notice_to_anonymous_visitors():
    response = Client().get("/cms/login/")
    assert response.status_code == 200
    assert "not a staff account" not in page_text(response)


def test_deactivated_staff_are_sent_to_the_login_page():
    client = Client()
    client.force_login(UserFactory(is_staff=True))
    client.get("/cms/")  # the session is valid
    User.objects.update(is_active=False)
    response = client.get("/cms/")
    assert response.status_code == 302


def test_staff_sign_in_with_their_password_and_go_where_they_were_headed():
    User.objects.create_user("ops", password=PASSWORD, is_staff=True)
    client = Client()
    response = client.post(
        "/cms/login/", {"username": "ops", "password": PASSWORD, "next": "/cms/users/"}
    )
    assert response.status_code == 302
    assert response["Location"] == "/cms/users/"
    assert client.get("/cms/users/").status_code == 200


def test_sign_in_without_next_goes_to_the_dashboard():
    User.objects.create_user("ops", password=PASSWORD, is_staff=True)
    response = Client().post("/cms/login/", {"username": "ops", "password": PASSWORD})
    assert response["Location"] == "/cms/"


def test_sign_in_never_redirects_to_another_site():
    User.objects.create_user("ops", password=PASSWORD, is_staff=True)
    response = Client().post(
        "/cms/login/",
        {"username": "ops", "password": PASSWORD, "next": "https://evil.example/"},
    )
    assert response["Location"] == "/cms/"


def test_a_correct_password_of_an_account_that_is_not_staff_does_not_sign_in():
    User.objects.create_user("app", password=PASSWORD)
    client = Client()
    response = client.post("/cms/login/", {"username": "app", "password": PASSWORD})
    assert response.status_code == 200
    assert "for a staff account" in page_text(response)
    assert "_auth_user_id" not in client.session


def test_a_wrong_password_does_not_sign_in():
    User.objects.create_user("ops", password=PASSWORD, is_staff=True)
    response = Client().post("/cms/login/", {"username": "ops", "password": "wrong"})
    assert response.status_code == 200
    assert "for a staff account" in page_text(response)


def test_sign_out_is_a_post_that_ends_the_session(staff_client):
    assert staff_client.get("/cms/logout/").status_code == 405
    response = staff_client.post("/cms/logout/", follow=True)
    assert response.redirect_chain == [("/cms/login/", 302)]
    assert b"You are signed out." in response.content
    assert staff_client.get("/cms/").status_code == 302


@pytest.mark.parametrize("action", [*ACTIONS, "/cms/logout/", "/cms/login/"])
def test_posts_without_a_csrf_token_are_refused(staff, action):
    device = DeviceFactory()
    client = Client(enforce_csrf_checks=True)
    client.force_login(staff)
    response = client.post(url(action, device), {"display_name": "changed"})
    assert response.status_code == 403
    assert "This form has expired" in page_text(response)
    device.refresh_from_db()
    assert device.is_active
    assert device.user.is_active
    assert device.user.profile.display_name == ""


def test_posts_with_the_csrf_token_of_the_page_are_accepted(staff):
    device = DeviceFactory()
    client = Client(enforce_csrf_checks=True)
    client.force_login(staff)
    page = client.get(f"/cms/users/{device.user_id}/")
    token = page.context["csrf_token"]
    response = client.post(f"/cms/devices/{device.pk}/revoke/", {"csrfmiddlewaretoken": token})
    assert response.status_code == 302
    device.refresh_from_db()
    assert not device.is_active


@pytest.mark.parametrize("action", ACTIONS)
def test_actions_only_answer_post(staff_client, action):
    assert staff_client.get(url(action)).status_code == 405


@pytest.mark.parametrize("page", PAGES)
def test_pages_do_not_answer_post(staff_client, page):
    assert staff_client.post(url(page)).status_code == 405


@pytest.mark.parametrize("path", ["/cms/", "/cms/login/", "/cms/users/0/", "/cms/nothing/"])
def test_cms_responses_carry_a_strict_content_security_policy(staff_client, path):
    response = staff_client.get(path)
    assert response["Content-Security-Policy"] == CONTENT_SECURITY_POLICY
    assert response["X-Frame-Options"] == "DENY"
    for directive in ("script-src 'none'", "frame-ancestors 'none'", "style-src 'self'"):
        assert directive in CONTENT_SECURITY_POLICY
    assert "unsafe" not in CONTENT_SECURITY_POLICY


def test_the_policy_is_only_sent_on_cms_paths(client):
    assert "Content-Security-Policy" not in client.get("/health/live/")
    assert "Content-Security-Policy" not in Client().get("/admin/login/")


@pytest.mark.parametrize("path", ["/cms/", "/cms/users/", "/cms/login/"])
def test_pages_with_personal_data_are_never_cached(staff_client, path):
    assert "no-store" in staff_client.get(path)["Cache-Control"]


def test_unknown_users_and_devices_are_404(staff_client):
    assert staff_client.get("/cms/users/999999/").status_code == 404
    assert staff_client.post(f"/cms/devices/{uuid.uuid4()}/revoke/").status_code == 404
    assert staff_client.post("/cms/users/999999/deactivate/").status_code == 404
