"""What a rate-limit store decides for one request: admitted or not, and per scope what is left."""

import math
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Protocol


@dataclass(frozen=True)
class Limit:
    """At most `quota` admitted requests of one client in any sliding window of `window` seconds."""

    scope: str
    quota: int
    window: int


@dataclass(frozen=True)
class ScopeState:
    """A scope's window once the request is decided."""

    limit: Limit
    # Requests the client may still make in the window (this one counted if it was admitted).
    remaining: int
    # Seconds until the admission whose ageing out frees the next unit leaves the window.
    reset: float


@dataclass(frozen=True)
class Decision:
    """Admitted only if every scope had room; a denied request consumed nothing anywhere."""

    admitted: bool
    states: tuple[ScopeState, ...]

    @property
    def most_restrictive(self) -> ScopeState:
        """The scope with the fewest requests left (the longest wait among equals)."""
        return min(self.states, key=lambda state: (state.remaining, -state.reset))

    @property
    def retry_after(self) -> int:
        """Whole seconds (>= 1) until every scope that denied the request has room again."""
        # In a denied request the scopes without room are exactly those with nothing remaining.
        denying = [] if self.admitted else [s.reset for s in self.states if s.remaining == 0]
        return max(1, math.ceil(max(denying, default=0.0)))


class RateLimitStore(Protocol):
    """Where admissions are kept: Redis, or this process's memory."""

    def decide(self, client: str, limits: Sequence[Limit]) -> Decision:
        """Admit a request of `client` if every limit has room, and record it in each; else
        record nothing. Raises when the store cannot be reached."""
        ...
