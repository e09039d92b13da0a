"""CMS POSTs count against the `admin` rate-limit scope (SPEC §4): a staff session that runs
amok, or a password guesser at the login form, is slowed down; reading pages is not."""

import pytest
from django.test import Client

from api.models import User
from tests.factories import UserFactory

pytestmark = pytest.mark.django_db


def test_staff_actions_are_limited_by_the_admin_scope(staff_client, settings):
    settings.RATE_LIMITS = {**settings.RATE_LIMITS, "admin": (2, 3600)}
    target = UserFactory()
    path = f"/cms/users/{target.pk}/deactivate/"
    assert staff_client.post(path).status_code == 302
    assert staff_client.post(f"/cms/users/{target.pk}/activate/").status_code == 302
    refused = staff_client.post(path)
    assert refused.status_code == 429
    assert refused["Content-Type"].startswith("text/html")
    assert int(refused["Retry-After"]) >= 1
    assert User.objects.get(pk=target.pk).is_active
    # Pages still load: GETs are not staff operations.
    assert staff_client.get(f"/cms/users/{target.pk}/").status_code == 200


def test_a_get_of_an_action_spends_nothing_of_the_admin_scope(staff_client, settings):
    # The actions take POST only: a GET is a 405 that changes nothing, so it is no staff
    # operation, and whoever shares the staff's address cannot spend their budget with it.
    settings.RATE_LIMITS = {**settings.RATE_LIMITS, "admin": (1, 3600)}
    target = UserFactory()
    path = f"/cms/users/{target.pk}/deactivate/"
    for _ in range(3):
        refused = staff_client.get(path)
        assert refused.status_code == 405
        assert "admin" not in refused["RateLimit-Policy"]
        assert Client().get(path).status_code in (302, 405)
    assert staff_client.post(path).status_code == 302
    assert not User.objects.get(pk=target.pk).is_active


def test_sign_in_attempts_are_limited_by_the_admin_scope(settings):
    settings.RATE_LIMITS = {**settings.RATE_LIMITS, "admin": (3, 3600)}
    client = Client()
    for _ in range(3):
        attempt = client.post("/cms/login/", {"username": "ops", "password": "guess"})
        assert attempt.status_code == 200
    assert client.post("/cms/login/", {"username": "ops", "password": "guess"}).status_code == 429
    assert client.get("/cms/login/").status_code == 200


def test_staff_actions_do_not_count_against_data_modification(staff_client, settings):
    # SPEC §1: the CMS's writes take `admin` only; `data_modification` is the API's.
    settings.RATE_LIMITS = {**settings.RATE_LIMITS, "data_modification": (1, 3600)}
    target = UserFactory()
    assert staff_client.post(f"/cms/users/{target.pk}/deactivate/").status_code == 302
    assert staff_client.post(f"/cms/users/{target.pk}/activate/").status_code == 302


def test_the_admins_forms_do_not_count_against_data_modification(settings):
    settings.RATE_LIMITS = {**settings.RATE_LIMITS, "data_modification": (1, 3600)}
    client = Client()
    for _ in range(2):
        attempt = client.post("/admin/login/", {"username": "ops", "password": "guess"})
        assert attempt.status_code == 200


def test_signing_out_counts_against_the_admin_scope(staff_client, settings):
    settings.RATE_LIMITS = {**settings.RATE_LIMITS, "admin": (1, 3600)}
    assert staff_client.post("/cms/logout/").status_code == 302
    assert staff_client.post("/cms/logout/").status_code == 429


def test_the_admins_sign_in_is_limited_by_the_admin_scope_too(settings):
    # The same staff passwords as the CMS's sign-in: not a wider door for a guesser.
    settings.RATE_LIMITS = {**settings.RATE_LIMITS, "admin": (3, 3600)}
    client = Client()
    for _ in range(3):
        attempt = client.post("/admin/login/", {"username": "ops", "password": "guess"})
        assert attempt.status_code == 200
    assert client.post("/admin/login/", {"username": "ops", "password": "guess"}).status_code == 429
    assert client.get("/admin/login/").status_code == 200


def test_showing_the_admins_sign_in_form_spends_nothing_of_the_admin_scope(settings):
    # Its budget is staff's actions' too: views of the form and redirects to it leave it alone.
    settings.RATE_LIMITS = {**settings.RATE_LIMITS, "admin": (1, 3600)}
    client = Client()
    for _ in range(3):
        assert client.get("/admin/login/").status_code == 200
    assert client.post("/admin/login/", {"username": "ops", "password": "guess"}).status_code == 200
