"""The in-process rate-limit store, for the embedded default (no REDIS_URL): one process only."""

import threading
import time
from collections import deque
from collections.abc import Sequence

from api.throttling.decision import Decision, Limit, ScopeState

# How often windows that have emptied are dropped, so clients that went away cost no memory.
SWEEP_INTERVAL = 60.0


class MemoryRateLimitStore:
    """Sliding windows in a dict under one lock: the semantics of the Redis script, per process."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        # "<client>:<scope>" -> (window in seconds, admission times, oldest first)
        self._windows: dict[str, tuple[int, deque[float]]] = {}
        self._next_sweep = 0.0

    def decide(self, client: str, limits: Sequence[Limit]) -> Decision:
        with self._lock:
            now = time.monotonic()
            self._sweep(now)
            windows = [self._admissions(f"{client}:{limit.scope}", limit, now) for limit in limits]
            admitted = all(
                len(times) < limit.quota for times, limit in zip(windows, limits, strict=True)
            )
            states = []
            for times, limit in zip(windows, limits, strict=True):
                if admitted:
                    times.append(now)
                states.append(_state(limit, times, now))
            return Decision(admitted, tuple(states))

    def clear(self) -> None:
        """Forget every admission (tests start from a clean slate)."""
        with self._lock:
            self._windows.clear()

    def _admissions(self, key: str, limit: Limit, now: float) -> deque[float]:
        """The admissions of `key` still inside its window, oldest first."""
        _, times = self._windows.get(key, (limit.window, deque()))
        self._windows[key] = (limit.window, times)
        while times and times[0] <= now - limit.window:
            times.popleft()
        return times

    def _sweep(self, now: float) -> None:
        if now < self._next_sweep:
            return
        self._next_sweep = now + SWEEP_INTERVAL
        for key, (window, times) in list(self._windows.items()):
            if not times or times[-1] <= now - window:
                del self._windows[key]


def _state(limit: Limit, times: deque[float], now: float) -> ScopeState:
    # Under quota the oldest admission frees the next unit; over it (a lowered quota) enough
    # of the oldest must leave for the count to drop below the quota.
    index = max(0, len(times) - limit.quota)
    # window - elapsed, not (admitted + window) - now: with `now` in the sum, rounding made a
    # request admitted this instant report a reset of 60.000000000001 s, `t=61`.
    reset = limit.window - (now - times[index]) if times else float(limit.window)
    return ScopeState(limit, max(0, limit.quota - len(times)), reset)
