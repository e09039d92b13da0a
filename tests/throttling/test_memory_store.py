"""The in-process store's arithmetic (through HTTP: tests/throttling/test_limits.py)."""

from collections import deque

from api.throttling import memory_store
from api.throttling.decision import Limit


def test_a_request_admitted_this_instant_frees_its_unit_in_exactly_the_window():
    # (admitted + window) - now rounded above the window at about 3 % of instants: t=61 for a
    # 60 s window, one second late.
    limit = Limit("burst", 5, 60)
    for step in range(2000):
        now = 1000.0 + step * 0.001371
        assert memory_store._state(limit, deque([now]), now).reset == 60.0
