"""The API docs in a real browser (SPEC §7): Swagger UI and ReDoc render the schema, loading
nothing from another host, not even what the libraries themselves would fetch."""

import pytest
from playwright.sync_api import Browser, Request, expect

from tests.live import LiveServer

DOCS = "/docs-browser-test"
TITLE = "Django Backend Template API"


@pytest.fixture(scope="module")
def server(live_server_factory) -> LiveServer:
    server: LiveServer = live_server_factory(
        workers=1, API_DOCS_PATH=DOCS, API_DOCS_STAFF_ONLY="false"
    )
    return server


@pytest.mark.parametrize(
    ("page_path", "operation"),
    [("swagger/", "/api/v1/auth/get-token/"), ("redoc/", "/api/v1/auth/get-token/")],
)
def test_the_docs_render_with_nothing_from_another_host(
    browser: Browser, server, page_path, operation
):
    context = browser.new_context(base_url=server.url)
    page = context.new_page()
    elsewhere: list[str] = []

    def note(request: Request) -> None:
        # Requests the page's Content-Security-Policy stopped never left the browser.
        left = request.failure != "csp"
        if left and not request.url.startswith((f"{server.url}/", "data:", "blob:")):
            elsewhere.append(request.url)

    page.on("requestfinished", note)
    page.on("requestfailed", note)
    try:
        response = page.goto(f"{DOCS}/{page_path}")
        assert response is not None
        assert response.status == 200
        assert "default-src 'self'" in response.headers["content-security-policy"]
        expect(page.get_by_text(TITLE).first).to_be_visible(timeout=20_000)
        expect(page.get_by_text(operation).first).to_be_visible()
        page.wait_for_load_state("networkidle")
    finally:
        context.close()
    assert elsewhere == []
