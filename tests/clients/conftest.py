"""Live servers the reference clients are tested against (clients/python, clients/js)."""

import pytest

# Seconds the expiring server's access tokens live.
EXPIRING_TTL = 4


@pytest.fixture
def server(live_server_factory):
    """A multi-worker gunicorn with the default token lifetimes."""
    return live_server_factory(workers=4)


@pytest.fixture
def expiring_server(live_server_factory):
    """One whose access tokens expire after 4 s, so a client meets `token_expired` soon. (With
    1 s, `exp` truncated to whole seconds could leave a fresh token a fraction of one.)"""
    return live_server_factory(workers=2, JWT_ACCESS_TTL=str(EXPIRING_TTL))
