"""Exact under concurrency, across processes (SPEC §4): gunicorn with four workers on the real
Redis, 200 requests at once against a limit of 60."""

import json
import urllib.error
import urllib.request
from collections import Counter
from concurrent.futures import ThreadPoolExecutor
from typing import NamedTuple

from redis import Redis


class Answer(NamedTuple):
    status: int
    headers: dict[str, str]
    body: bytes


def fetch(url: str) -> Answer:
    try:
        with urllib.request.urlopen(url, timeout=60) as response:
            return Answer(response.status, dict(response.headers), response.read())
    except urllib.error.HTTPError as error:
        return Answer(error.code, dict(error.headers), error.read())


def test_parallel_requests_to_several_processes_admit_exactly_the_quota(
    live_server_factory, redis_url
):
    server = live_server_factory(
        workers=4, RATE_LIMIT_BURST="60/min", RATE_LIMIT_SUSTAINED="1000/hour"
    )
    redis = Redis.from_url(redis_url)
    windows = ["ratelimit:{127.0.0.1}:burst", "ratelimit:{127.0.0.1}:sustained"]
    redis.delete(*windows)
    # Half to a view (the admin's login page), half to API paths that resolve to no view:
    # both count against the same burst and sustained windows.
    urls = [
        f"{server.url}/api/v1/probe-{index}/" if index % 2 else f"{server.url}/admin/login/"
        for index in range(200)
    ]
    with ThreadPoolExecutor(max_workers=50) as pool:
        answers = list(pool.map(fetch, urls))

    statuses = Counter(answer.status for answer in answers)
    assert statuses[429] == 140, statuses
    assert statuses[200] + statuses[404] == 60, statuses
    for url, answer in zip(urls, answers, strict=True):
        assert answer.headers["RateLimit-Policy"] == '"burst";q=60;w=60'
        if answer.status == 429:
            assert int(answer.headers["Retry-After"]) >= 1
        if answer.status == 429 and "/api/" in url:
            assert answer.headers["Content-Type"] == "application/problem+json"
            assert json.loads(answer.body)["code"] == "throttled"
    # All or nothing: sustained recorded exactly the admitted requests too.
    assert [redis.zcard(window) for window in windows] == [60, 60]
