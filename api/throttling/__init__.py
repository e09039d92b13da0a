"""Rate limiting (SPEC §4): views declare their scopes, `settings.RATE_LIMITS` holds the rates,
and `RateLimitMiddleware` decides each request before authentication, in one Redis round trip.

DRF's throttles cannot keep this contract: they run after authentication (a flood of bad
credentials is never limited), read-modify-write a list in the cache (concurrent requests race
past the limit), key on X-Forwarded-For as sent, and cost a cache round trip per scope.
"""

from api.throttling.middleware import RateLimitMiddleware
from api.throttling.scopes import applicable_scopes, rate_limit_exempt, throttle_scopes

__all__ = ["RateLimitMiddleware", "applicable_scopes", "rate_limit_exempt", "throttle_scopes"]
