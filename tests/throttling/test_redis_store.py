"""The Redis store: one command per request, keys that expire and stay small, and an outage
that lets requests through (SPEC §4)."""

import logging
import os
import re
import time
import uuid
from concurrent.futures import ThreadPoolExecutor
from urllib.parse import urlsplit

import pytest
from django.core.cache import caches
from django_redis import get_redis_connection
from redis.exceptions import RedisError, ResponseError

from api.redis_client import HeldConnectionRedis
from api.throttling.decision import Limit
from api.throttling.middleware import OutageLog
from api.throttling.redis_store import SLIDING_WINDOW_SCRIPT, RedisRateLimitStore, window_key
from tests.asserts import assert_problem
from tests.relay import TcpRelay
from tests.services import closed_port, redis_caches
from tests.throttling.asserts import (
    assert_throttled,
    has_rate_limit_fields,
)

pytestmark = pytest.mark.urls("tests.throttling.urls")

OPEN = "/api/v1/test/open/"


def test_every_scope_of_a_request_is_decided_in_one_redis_command(client, redis_round_trips):
    client.get(OPEN)  # on a Redis that has never seen the script, the first request loads it
    redis_round_trips.clear()
    # burst, sustained, admin, search and data_modification
    response = client.post("/api/v1/test/by-method/")
    assert response.status_code == 201
    assert has_rate_limit_fields(response)
    assert redis_round_trips == [["EVALSHA"]]


def test_a_redis_without_the_script_gets_it_loaded_once(redis_round_trips):
    # A script Redis has never seen, as after a restart or a failover.
    store = RedisRateLimitStore(script=f"{SLIDING_WINDOW_SCRIPT}-- {uuid.uuid4().hex}\n")
    limits = [Limit("burst", 5, 60)]
    assert store.decide("192.0.2.1", limits).admitted
    assert redis_round_trips == [["EVALSHA"], ["SCRIPT"], ["EVALSHA"]]
    redis_round_trips.clear()
    assert store.decide("192.0.2.1", limits).states[0].remaining == 3
    assert redis_round_trips == [["EVALSHA"]]


def test_windows_share_the_clients_hash_tag_expire_and_hold_at_most_the_quota(
    client, rates, real_redis
):
    rates(burst=(3, 60), sustained=(1000, 3600))
    for _ in range(6):
        client.post(OPEN, REMOTE_ADDR="203.0.113.9")
    keys = sorted(key.decode() for key in real_redis.scan_iter("ratelimit:*"))
    assert keys == [
        "ratelimit:{203.0.113.9}:burst",
        "ratelimit:{203.0.113.9}:data_modification",
        "ratelimit:{203.0.113.9}:sustained",
    ]
    # Only admitted requests are recorded, so no window holds more than its quota.
    assert [real_redis.zcard(key) for key in keys] == [3, 3, 3]
    assert 59_000 < real_redis.pttl("ratelimit:{203.0.113.9}:burst") <= 60_000
    assert 3_599_000 < real_redis.pttl("ratelimit:{203.0.113.9}:sustained") <= 3_600_000


@pytest.mark.django_db
def test_with_redis_down_requests_pass_and_the_outage_is_logged_once(
    client, settings, rates, caplog
):
    settings.CACHES = redis_caches(f"redis://127.0.0.1:{closed_port()}/0")
    rates(burst=(1, 60), auth_token=(1, 60))
    with caplog.at_level(logging.ERROR, logger="api.throttling"):
        for _ in range(5):
            response = client.get(OPEN)
            assert response.status_code == 200
            assert not has_rate_limit_fields(response)
            assert_problem(client.post("/api/v1/test/get-token/"), 401, "signature_invalid")
    outage = [record for record in caplog.records if record.name.startswith("api.throttling")]
    assert len(outage) == 1
    assert outage[0].levelname == "ERROR"
    message = outage[0].getMessage()
    assert "Rate limiting is failing open, its Redis does not answer: ConnectionError: " in message
    assert "Connection refused. 1 request(s) passed unlimited since the last report." in message
    health = client.get("/health/")
    assert health.status_code == 503
    assert health.json()["checks"]["cache"]["status"] == "unhealthy"


def test_a_redis_that_refuses_the_script_is_logged_in_its_own_words(real_redis, caplog):
    # Not an outage: a Redis whose ACL forbids scripts, say. Requests pass, as in an outage,
    # but the log must say what Redis said, or nobody will find out why limits stopped.
    with pytest.raises(ResponseError) as refused:
        real_redis.eval("return redis.call('NO-SUCH-COMMAND')", 0)
    with caplog.at_level(logging.ERROR, logger="api.throttling"):
        OutageLog().report(refused.value)
    (message,) = [record.getMessage() for record in caplog.records]
    assert "its Redis refuses the limiter's script: ResponseError: Unknown Redis command" in message


def test_limits_apply_again_once_redis_answers(client, settings, rates, redis_url):
    settings.CACHES = redis_caches(f"redis://127.0.0.1:{closed_port()}/0")
    rates(burst=(1, 60))
    assert client.get(OPEN).status_code == 200
    assert client.get(OPEN).status_code == 200
    settings.CACHES = redis_caches(redis_url)
    caches["security"].clear()
    assert client.get(OPEN).status_code == 200
    assert_throttled(client.get(OPEN), "burst", retry_after=range(59, 61))


def test_the_outage_log_reports_again_after_its_interval_with_the_requests_let_through(caplog):
    outage_log = OutageLog(interval=0.5)
    error = ConnectionError("Connection refused")
    with caplog.at_level(logging.ERROR, logger="api.throttling"):
        for _ in range(3):
            outage_log.report(error)
        time.sleep(0.6)
        outage_log.report(error)
    messages = [record.getMessage() for record in caplog.records]
    assert len(messages) == 2
    assert "1 request(s) passed unlimited" in messages[0]
    assert "3 request(s) passed unlimited" in messages[1]


def test_a_decision_with_a_read_loads_a_missing_script_and_sends_it_again(redis_round_trips):
    store = RedisRateLimitStore(script=f"{SLIDING_WINDOW_SCRIPT}-- {uuid.uuid4().hex}\n")
    caches["security"].set("piggyback", 42)
    key = caches["security"].make_key("piggyback")
    redis_round_trips.clear()
    decision, values = store.decide_and_read("192.0.2.1", [Limit("burst", 5, 60)], [key, "none"])
    assert decision.admitted
    assert decision.states[0].remaining == 4
    # django-redis stores integers as their digits.
    assert values == [b"42", None]
    assert redis_round_trips == [["EVALSHA"], ["SCRIPT"], ["EVALSHA"]]
    redis_round_trips.clear()
    assert store.decide_and_read("192.0.2.1", [Limit("burst", 5, 60)], [key])[0].admitted
    assert redis_round_trips == [["EVALSHA"]]


@pytest.mark.parametrize("quota", [1, 3])
def test_the_same_command_sent_again_is_one_admission(real_redis, quota):
    # A reply lost after Redis ran the script: the client sends the command once more
    # (api.redis_client). The request stays admitted, even if its own admission filled a
    # window, and counts once.
    keys, args = RedisRateLimitStore._arguments(
        f"again-{uuid.uuid4().hex}", [Limit("burst", quota, 60), Limit("sustained", 100, 3600)]
    )
    first, _ = real_redis.eval(SLIDING_WINDOW_SCRIPT, len(keys), *keys, *args)
    again, _ = real_redis.eval(SLIDING_WINDOW_SCRIPT, len(keys), *keys, *args)
    assert first[0] == again[0] == 1
    assert again[1] == first[1] == quota - 1  # remaining in burst
    assert again[3] == first[3] == 99  # and in sustained
    assert [real_redis.zcard(key) for key in keys] == [1, 1]


def test_forked_workers_record_admissions_under_different_members():
    # A window counts distinct members: two gunicorn workers forked from one process must not
    # draw the same sequence, or their admissions would overwrite each other.
    limits = [Limit("burst", 60, 60)]
    read_end, write_end = os.pipe()
    pid = os.fork()
    if pid == 0:  # the child
        os.write(write_end, str(RedisRateLimitStore._arguments("c", limits)[1][0]).encode())
        os._exit(0)
    os.close(write_end)
    os.waitpid(pid, 0)
    child = os.read(read_end, 64).decode()
    os.close(read_end)
    ours = RedisRateLimitStore._arguments("c", limits)[1][0]
    assert isinstance(ours, str)
    assert re.fullmatch(r"[0-9a-f]{16}", child)
    assert child != ours


def test_each_thread_decides_on_its_own_connection(real_redis):
    # gthread workers: replies on a shared connection would reach the wrong thread.
    store = RedisRateLimitStore()
    limits = [Limit("burst", 100, 60)]
    client = f"threads-{uuid.uuid4().hex}"

    def decide_25_times(_: int) -> list[bool]:
        return [store.decide(client, limits).admitted for _ in range(25)]

    with ThreadPoolExecutor(max_workers=8) as pool:
        admitted = [a for answers in pool.map(decide_25_times, range(8)) for a in answers]
    assert admitted.count(True) == 100
    assert real_redis.zcard(window_key(client, "burst")) == 100


def test_a_cut_connection_fails_the_decision_and_is_made_again(settings, redis_url):
    target = urlsplit(redis_url)
    port = closed_port()
    relay = TcpRelay(port, (target.hostname or "127.0.0.1", target.port or 6379))
    settings.CACHES = redis_caches(f"redis://127.0.0.1:{port}{target.path}")
    store = RedisRateLimitStore()
    limits = [Limit("burst", 5, 60)]
    client = f"cut-{uuid.uuid4().hex}"
    assert store.decide(client, limits).states[0].remaining == 4
    relay.close()  # Redis restarts, or the network between drops every connection
    with pytest.raises(RedisError):
        store.decide(client, limits)
    relay = TcpRelay(port, (target.hostname or "127.0.0.1", target.port or 6379))
    try:
        # The window, kept by Redis, counts on: the request while cut was not admitted.
        assert store.decide(client, limits).states[0].remaining == 3
    finally:
        relay.close()


def test_a_forked_worker_does_not_share_its_parents_connection(real_redis):
    store = RedisRateLimitStore()
    store.decide("fork", [Limit("burst", 5, 60)])
    parent = store._client().client_id()
    read_end, write_end = os.pipe()
    pid = os.fork()
    if pid == 0:  # the child
        os.write(write_end, str(store._client().client_id()).encode())
        os._exit(0)
    os.close(write_end)
    os.waitpid(pid, 0)
    child = os.read(read_end, 64).decode()
    os.close(read_end)
    assert child.isdigit()
    assert int(child) != parent
    assert store._client().client_id() == parent


def test_with_a_cache_client_that_holds_no_connection_the_store_still_keeps_one(
    settings, redis_url
):
    # django-redis's own client takes a connection from the pool for every command.
    configured = redis_caches(redis_url)
    configured["security"] = {
        **configured["security"],
        "OPTIONS": {
            **configured["security"]["OPTIONS"],  # type: ignore[dict-item]
            "CLIENT_CLASS": "django_redis.client.DefaultClient",
        },
    }
    settings.CACHES = configured
    store = RedisRateLimitStore()
    limits = [Limit("burst", 5, 60)]
    store.decide("pooled", limits)
    client = store._client()
    assert isinstance(client, HeldConnectionRedis)
    assert client is not get_redis_connection("security")
    first = client.client_id()
    assert store.decide("pooled", limits).states[0].remaining == 3
    assert store._client() is client
    assert client.client_id() == first
