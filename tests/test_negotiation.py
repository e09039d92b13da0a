"""api.negotiation: DRF's content negotiation, its choices remembered per Accept header."""

from collections.abc import Iterator, Sequence

import pytest
from django.test import RequestFactory
from rest_framework.negotiation import DefaultContentNegotiation
from rest_framework.renderers import BaseRenderer, BrowsableAPIRenderer, JSONRenderer
from rest_framework.request import Request

from api import negotiation
from api.negotiation import CachedContentNegotiation
from tests.subjects.factories import PostFactory
from tests.subjects.urls import POSTS

ACCEPTS = [
    None,
    "*/*",
    "application/json",
    "application/json; indent=4",
    "application/*",
    "text/html",
    "text/html, application/json;q=0.9",
    "application/json;q=0.5, text/html",
]
RENDERER_SETS = [
    [JSONRenderer()],
    [JSONRenderer(), BrowsableAPIRenderer()],
    [BrowsableAPIRenderer(), JSONRenderer()],
]


@pytest.fixture(autouse=True)
def _forget_choices() -> Iterator[None]:
    negotiation._choices.clear()
    yield
    negotiation._choices.clear()


def request(accept: str | None = None, query: str = "") -> Request:
    headers = None if accept is None else {"Accept": accept}
    return Request(RequestFactory().get(f"/api/v1/me/{query}", headers=headers))


def choice(negotiator, accept: str | None, renderers: Sequence[BaseRenderer], query: str = ""):
    try:
        renderer, media_type = negotiator.select_renderer(request(accept, query), renderers)
    except Exception as error:  # the outcome compared: the exception's type
        return type(error)
    return type(renderer), media_type


@pytest.mark.parametrize("renderers", RENDERER_SETS, ids=["json", "json+html", "html+json"])
@pytest.mark.parametrize("accept", ACCEPTS)
def test_it_chooses_what_drf_chooses_first_time_and_from_memory(accept, renderers) -> None:
    expected = choice(DefaultContentNegotiation(), accept, renderers)

    first = choice(CachedContentNegotiation(), accept, renderers)
    again = choice(CachedContentNegotiation(), accept, renderers)

    assert first == again == expected


def test_the_same_accept_header_is_negotiated_apart_for_other_renderers() -> None:
    negotiator = CachedContentNegotiation()

    html_first = choice(negotiator, "*/*", [BrowsableAPIRenderer(), JSONRenderer()])
    json_first = choice(negotiator, "*/*", [JSONRenderer(), BrowsableAPIRenderer()])

    assert html_first == (BrowsableAPIRenderer, "text/html")
    assert json_first == (JSONRenderer, "application/json")


def test_a_refusal_is_not_remembered() -> None:
    from rest_framework.exceptions import NotAcceptable

    assert choice(CachedContentNegotiation(), "text/html", [JSONRenderer()]) is NotAcceptable
    assert negotiation._choices == {}


def test_a_format_in_the_query_is_ignored_as_drf_ignores_it() -> None:
    renderers = [BrowsableAPIRenderer(), JSONRenderer()]

    chosen = choice(CachedContentNegotiation(), "*/*", renderers, query="?format=json")

    # URL_FORMAT_OVERRIDE is off: Accept alone decides, remembered as without the query.
    assert chosen == (BrowsableAPIRenderer, "text/html")
    assert chosen == choice(DefaultContentNegotiation(), "*/*", renderers, query="?format=json")
    assert choice(CachedContentNegotiation(), "*/*", renderers) == chosen
    assert len(negotiation._choices) == 1


def test_a_format_suffix_overrides_accept_and_is_not_remembered() -> None:
    renderers = [BrowsableAPIRenderer(), JSONRenderer()]

    chosen = CachedContentNegotiation().select_renderer(request("*/*"), renderers, "json")

    assert (type(chosen[0]), chosen[1]) == (JSONRenderer, "application/json")
    assert negotiation._choices == {}
    assert choice(CachedContentNegotiation(), "*/*", renderers) == (
        BrowsableAPIRenderer,
        "text/html",
    )


def test_it_remembers_a_bounded_number_of_accept_headers() -> None:
    negotiator = CachedContentNegotiation()
    renderers = [JSONRenderer()]

    for n in range(negotiation.MAX_REMEMBERED + 10):
        assert choice(negotiator, f"application/json; v={n}", renderers)[0] is JSONRenderer

    assert len(negotiation._choices) == negotiation.MAX_REMEMBERED


@pytest.mark.django_db
def test_the_api_answers_406_as_a_problem_to_an_accept_it_cannot_serve(session) -> None:
    for _ in range(2):
        response = session.client.get(
            "/api/v1/me/", HTTP_AUTHORIZATION=f"Bearer {session.access}", HTTP_ACCEPT="text/html"
        )
        assert response.status_code == 406
        assert response["Content-Type"] == "application/problem+json"


@pytest.mark.django_db
@pytest.mark.urls("tests.subjects.urls")
@pytest.mark.parametrize("format_name", ["csv", "api"])
def test_a_format_query_parameter_does_not_hide_an_existing_list(session, format_name) -> None:
    post = PostFactory()

    response = session.get(f"{POSTS}?format={format_name}")

    assert response.status_code == 200
    assert response["Content-Type"] == "application/json"
    assert [row["id"] for row in response.json()["results"]] == [post.pk]
