"""Live servers the reference clients are tested against (clients/python, clients/js)."""

import pytest

from tests.live import LiveServer


@pytest.fixture
def server(live_server_factory) -> LiveServer:
    """A multi-worker gunicorn with the default token lifetimes."""
    return live_server_factory(workers=4)


@pytest.fixture
def expiring_server(live_server_factory) -> LiveServer:
    """One whose access tokens expire after a second, so a client meets `token_expired`."""
    return live_server_factory(workers=2, JWT_ACCESS_TTL="1")
