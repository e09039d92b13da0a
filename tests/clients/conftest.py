"""Live servers the reference clients are tested against (clients/python, clients/js)."""

import pytest


@pytest.fixture
def server(live_server_factory):
    """A multi-worker gunicorn with the default token lifetimes."""
    return live_server_factory(workers=4)


@pytest.fixture
def expiring_server(live_server_factory):
    """One whose access tokens expire after a second, so a client meets `token_expired`."""
    return live_server_factory(workers=2, JWT_ACCESS_TTL="1")
