"""The Redis rate-limit store: one Lua script decides every scope of a request in one round trip."""

import random
from collections.abc import Sequence

from django_redis import get_redis_connection
from redis import Redis
from redis.commands.core import Script
from redis.exceptions import NoScriptError

from api.throttling.decision import Decision, Limit, ScopeState

MICROSECONDS = 1_000_000

# Each scope's window is a sorted set of admissions (member: a token unique to the request,
# score: its time in µs). The script trims every window, admits only if all have room, and only
# then records the request in each: exact and all-or-nothing, since Redis runs a script alone.
# Time comes from the Redis server (TIME), so the clocks of app hosts do not matter; scripts
# that write after TIME need effects replication, the default since Redis 5.
#   KEYS[i]         the window of scope i for this client (all share the client's hash tag)
#   ARGV[1]         the request's member
#   ARGV[2i, 2i+1]  quota and window (µs) of scope i
# Returns {admitted (1|0), remaining_1, reset_1 (µs), remaining_2, reset_2, ...}.
SLIDING_WINDOW_SCRIPT = """
local clock = redis.call('TIME')
local now = tonumber(clock[1]) * 1000000 + tonumber(clock[2])
local counts = {}
local admitted = 1
for i, key in ipairs(KEYS) do
  local quota, window = tonumber(ARGV[2 * i]), tonumber(ARGV[2 * i + 1])
  redis.call('ZREMRANGEBYSCORE', key, '-inf', now - window)
  counts[i] = redis.call('ZCARD', key)
  if counts[i] >= quota then admitted = 0 end
end
local result = {admitted}
for i, key in ipairs(KEYS) do
  local quota, window = tonumber(ARGV[2 * i]), tonumber(ARGV[2 * i + 1])
  local count = counts[i]
  if admitted == 1 then
    redis.call('ZADD', key, now, ARGV[1])
    -- The newest admission leaves the window last: the key is useless after that.
    redis.call('PEXPIRE', key, math.ceil(window / 1000))
    count = count + 1
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
return result
"""


def window_key(client: str, scope: str) -> str:
    """The Redis key of a client's window in a scope. `{client}` is a Redis Cluster hash tag:
    all windows of a client live on one node, as a script's keys must."""
    return f"ratelimit:{{{client}}}:{scope}"


class RedisRateLimitStore:
    """Sliding windows in Redis, shared by every process and host: one EVALSHA per request.

    redis-py's Script sends EVALSHA and loads the script on NOSCRIPT (a restarted or new Redis).
    Errors propagate: whether an outage blocks or passes requests is the caller's policy.
    """

    def __init__(self, script: str = SLIDING_WINDOW_SCRIPT) -> None:
        self._source = script
        self._script: Script | None = None

    def decide(self, client: str, limits: Sequence[Limit]) -> Decision:
        # The security cache's raw client: it raises on error (api.checks refuses otherwise).
        connection = get_redis_connection("security")
        keys, args = self._arguments(client, limits)
        reply = self._script_for(connection)(keys=keys, args=args, client=connection)
        return _decision(limits, reply)

    def decide_and_read(
        self, client: str, limits: Sequence[Limit], read_keys: Sequence[str]
    ) -> tuple[Decision, list[bytes | None]]:
        """`decide`, and the raw values of `read_keys` (full Redis keys), in one round trip.

        A pipeline of EVALSHA and MGET. Not redis-py's Script in a pipeline: that asks SCRIPT
        EXISTS first, a round trip of its own; a NOSCRIPT reply loads the script here instead.
        """
        connection = get_redis_connection("security")
        script = self._script_for(connection)
        keys, args = self._arguments(client, limits)
        for attempt in range(2):
            pipeline = connection.pipeline(transaction=False)
            pipeline.evalsha(script.sha, len(keys), *keys, *args)
            pipeline.mget(read_keys)
            reply, values = pipeline.execute(raise_on_error=False)
            if isinstance(reply, NoScriptError) and attempt == 0:
                connection.script_load(self._source)
                continue
            for result in (reply, values):
                if isinstance(result, Exception):
                    raise result
            return _decision(limits, reply), values
        raise NoScriptError("the rate-limit script could not be loaded")

    def _script_for(self, connection: Redis) -> Script:
        if self._script is None:
            self._script = connection.register_script(self._source)
        return self._script

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
