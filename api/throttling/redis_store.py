"""The Redis rate-limit store: one Lua script decides every scope of a request in one round trip."""

import hashlib
import random
import threading
from collections.abc import Sequence

from django.core.cache import BaseCache
from django_redis import get_redis_connection
from redis import Redis
from redis.exceptions import NoScriptError

from api.redis_client import HeldConnectionRedis
from api.throttling.decision import Decision, Limit, ScopeState
from api.utils import thread_cache

MICROSECONDS = 1_000_000

# Each scope's window is a sorted set of admissions (member: a token unique to the request,
# score: its time in µs). The script trims every window, admits only if all have room, and only
# then records the request in each: exact and all-or-nothing, since Redis runs a script alone.
# Time comes from the Redis server (TIME), so the clocks of app hosts do not matter; scripts
# that write after TIME need effects replication, the default since Redis 5.
# It also reads the keys the request will need next (the device's and user's auth state, a
# view's snapshots or list count, api.read_ahead): one
# command instead of a pipeline of EVALSHA and MGET, whose redis-py bookkeeping cost 3.7 % of
# the instructions of a GET /api/v1/me/ (bench/README.md).
#   ARGV[1]              the request's member
#   ARGV[2i, 2i+1]       quota and window (µs) of scope i, for the n = (#ARGV - 1) / 2 scopes
#   KEYS[1..n]           the window of scope i for this client (all share the client's hash tag)
#   KEYS[n+1..]          keys to read, as MGET would
# Returns {{admitted (1|0), remaining_1, reset_1 (µs), remaining_2, reset_2, ...}, {values}}.
SLIDING_WINDOW_SCRIPT = """
local clock = redis.call('TIME')
local now = tonumber(clock[1]) * 1000000 + tonumber(clock[2])
local scopes = (#ARGV - 1) / 2
local counts = {}
local admitted = 1
for i = 1, scopes do
  local quota, window = tonumber(ARGV[2 * i]), tonumber(ARGV[2 * i + 1])
  redis.call('ZREMRANGEBYSCORE', KEYS[i], '-inf', now - window)
  counts[i] = redis.call('ZCARD', KEYS[i])
  if counts[i] >= quota then admitted = 0 end
end
-- A command sent again after its reply was lost (api.redis_client) finds its own member: the
-- request was admitted, and its admission may be what fills a window now.
if admitted == 0 and redis.call('ZSCORE', KEYS[1], ARGV[1]) then admitted = 1 end
local result = {admitted}
for i = 1, scopes do
  local key, quota, window = KEYS[i], tonumber(ARGV[2 * i]), tonumber(ARGV[2 * i + 1])
  local count = counts[i]
  if admitted == 1 then
    -- 0 for a member already there (the same command again): counted once.
    count = count + redis.call('ZADD', key, now, ARGV[1])
    -- The newest admission leaves the window last: the key is useless after that.
    redis.call('PEXPIRE', key, math.ceil(window / 1000))
  end
  -- Under quota the oldest admission frees the next unit; over it (a lowered quota) enough of
  -- the oldest must leave for the count to drop below the quota.
  local index = math.max(0, count - quota)
  local frees = redis.call('ZRANGE', key, index, index, 'WITHSCORES')
  local reset = window
  if frees[2] then reset = tonumber(frees[2]) + window - now end
  result[2 * i] = math.max(0, quota - count)
  result[2 * i + 1] = reset
end
local values = {}
if #KEYS > scopes then values = redis.call('MGET', unpack(KEYS, scopes + 1)) end
return {result, values}
"""


def window_key(client: str, scope: str) -> str:
    """The Redis key of a client's window in a scope. `{client}` is a Redis Cluster hash tag:
    all windows of a client live on one node, as a script's keys must."""
    return f"ratelimit:{{{client}}}:{scope}"


class _HeldClient(threading.local):
    """This thread's client of the security cache, holding one connection of its pool."""

    cache: BaseCache | None = None
    client: Redis | None = None


class RedisRateLimitStore:
    """Sliding windows in Redis, shared by every process and host: one EVALSHA per request.

    Each thread sends it on the connection its security cache's client holds
    (api.redis_client), and loads the script on NOSCRIPT (a restarted or new Redis). Going
    through the pool for every request, with redis-py's Script, cost ~25 µs of CPU more, 5 %
    of a `GET /api/v1/me/` (bench/README.md). A connection that failed is replaced. Errors
    propagate: whether an outage blocks or passes requests is the caller's policy.
    """

    def __init__(self, script: str = SLIDING_WINDOW_SCRIPT) -> None:
        self._source = script
        self._sha = hashlib.sha1(script.encode()).hexdigest()  # noqa: S324 (Redis names it so)
        self._held = _HeldClient()

    def decide(self, client: str, limits: Sequence[Limit]) -> Decision:
        return self.decide_and_read(client, limits, ())[0]

    def decide_and_read(
        self, client: str, limits: Sequence[Limit], read_keys: Sequence[str]
    ) -> tuple[Decision, list[bytes | None]]:
        """`decide`, and the raw values of `read_keys` (full Redis keys), in one command.

        The read keys are declared to the script, as Redis requires. They are not under the
        client's hash tag, so a Redis Cluster would refuse the command (CROSSSLOT): the store is
        for one Redis (REDIS_URL), as the pipeline of EVALSHA and MGET it replaced was.
        """
        connection = self._client()
        keys, args = self._arguments(client, limits)
        keys += read_keys
        try:
            decided, values = connection.evalsha(self._sha, len(keys), *keys, *args)
        except NoScriptError:
            connection.script_load(self._source)
            decided, values = connection.evalsha(self._sha, len(keys), *keys, *args)
        return _decision(limits, decided), values

    def _client(self) -> Redis:
        # The security cache's client: it raises on error (api.checks refuses otherwise). A
        # new cache (other settings) brings a new one; a forked child, a new connection.
        cache = thread_cache("security")
        held = self._held
        if held.client is None or held.cache is not cache:
            client = get_redis_connection("security")
            if not isinstance(client, HeldConnectionRedis):  # a client using its pool per command
                client = HeldConnectionRedis(connection_pool=client.connection_pool)
            held.client, held.cache = client, cache
        return held.client

    @staticmethod
    def _arguments(client: str, limits: Sequence[Limit]) -> tuple[list[str], list[str | int]]:
        # 64 random bits: unique among the admissions of a window, even within one microsecond.
        # Not a secret, so from `random` (reseeded in every forked worker), not os.urandom: its
        # system call makes a gthread worker's threads queue for the GIL (api.middleware).
        args: list[str | int] = [f"{random.getrandbits(64):016x}"]
        for limit in limits:
            args += [limit.quota, limit.window * MICROSECONDS]
        return [window_key(client, limit.scope) for limit in limits], args


def _decision(limits: Sequence[Limit], reply: list[int]) -> Decision:
    admitted, *per_scope = reply
    remaining, reset = per_scope[0::2], per_scope[1::2]
    return Decision(
        admitted=admitted == 1,
        states=tuple(
            ScopeState(limit, int(remaining[i]), int(reset[i]) / MICROSECONDS)
            for i, limit in enumerate(limits)
        ),
    )
