"""A request's objects are freed once the server drops its response (api.middleware).

Each request goes through Django's WSGI handler as gunicorn calls it (iterate, close), and then
the cyclic garbage collector says what reference counting could not free.
"""

import gc
from collections.abc import Callable
from typing import Any

import pytest
from django.conf import settings
from django.core.handlers.wsgi import WSGIHandler
from django.core.signals import request_finished, request_started
from django.db import close_old_connections
from django.http import HttpRequest, HttpResponseBase
from django.test import RequestFactory
from rest_framework.request import Request
from rest_framework.views import APIView

from tests.signing import ME, get_token, register

pytestmark = pytest.mark.django_db

RELEASE = "api.middleware.ReleaseViewMiddleware"
REQUEST_OBJECTS = (APIView, Request, HttpRequest, HttpResponseBase)


def left_to_the_collector(environ: dict[str, object], status: int) -> list[str]:
    """The views, requests and responses one request, answered with `status`, left in
    reference cycles, by type."""
    application = WSGIHandler()
    statuses = []

    def start_response(
        status: str, headers: list[tuple[str, str]], exc_info: Any = None
    ) -> Callable[[bytes], object]:
        statuses.append(status)
        return lambda data: None

    gc.collect()
    gc.set_debug(gc.DEBUG_SAVEALL)  # keep what it collects in gc.garbage, to look at
    # As Django's test client does: the test's database transaction must survive the request.
    request_started.disconnect(close_old_connections)
    request_finished.disconnect(close_old_connections)
    try:
        response = application(environ, start_response)
        b"".join(response)
        response.close()
        del response
        gc.collect()
        found = [type(o).__name__ for o in gc.garbage if isinstance(o, REQUEST_OBJECTS)]
    finally:
        request_started.connect(close_old_connections)
        request_finished.connect(close_old_connections)
        gc.set_debug(0)
        gc.garbage.clear()
    assert [int(answered.split()[0]) for answered in statuses] == [status]
    return found


@pytest.fixture
def access(client) -> str:
    return str(get_token(client, register(client))["access"])


Environ = Callable[[str], dict[str, object]]

# name: (status, the request's WSGI environ for a bearer token)
REQUESTS: dict[str, tuple[int, Environ]] = {
    "GET /me/": (
        200,
        lambda access: RequestFactory().get(ME, HTTP_AUTHORIZATION=f"Bearer {access}").environ,
    ),
    "PATCH /me/ (a parsed body)": (
        200,
        lambda access: (
            RequestFactory()
            .patch(
                ME,
                b'{"profile": {"locale": "fr-FR"}}',
                content_type="application/json",
                HTTP_AUTHORIZATION=f"Bearer {access}",
            )
            .environ
        ),
    ),
    "a page of items": (
        200,
        lambda access: (
            RequestFactory().get("/api/v1/items/", HTTP_AUTHORIZATION=f"Bearer {access}").environ
        ),
    ),
    "an error DRF renders": (401, lambda access: RequestFactory().get(ME).environ),
    "an invalid body": (
        400,
        lambda access: (
            RequestFactory()
            .patch(ME, b"{", content_type="application/json", HTTP_AUTHORIZATION=f"Bearer {access}")
            .environ
        ),
    ),
}


@pytest.mark.parametrize("name", REQUESTS)
def test_an_api_request_leaves_nothing_to_the_cyclic_collector(access, name):
    status, environ = REQUESTS[name]
    assert left_to_the_collector(environ(access), status) == []


@pytest.mark.parametrize("name", ["GET /me/", "an error DRF renders"])
def test_without_the_middleware_drf_leaves_its_request_in_cycles(settings, access, name):
    # What the middleware is for, and proof that the test above can fail.
    settings.MIDDLEWARE = [m for m in settings.MIDDLEWARE if m != RELEASE]
    status, environ = REQUESTS[name]
    left = left_to_the_collector(environ(access), status)
    assert {"MeView", "Request", "WSGIRequest", "Response"} <= set(left)


def test_the_middleware_is_innermost():
    # Django renders a DRF response before the innermost middleware gets it; an outer one
    # could see a response another middleware replaced, and miss the DRF one.
    assert settings.MIDDLEWARE[-1] == RELEASE


def test_the_response_keeps_what_clients_and_tests_read(client, access):
    response = client.get(ME, HTTP_AUTHORIZATION=f"Bearer {access}")
    assert response.status_code == 200
    assert response.data["user"]["id"] == response.json()["user"]["id"]
    assert response["Content-Type"] == "application/json"
    assert response.renderer_context == {}
