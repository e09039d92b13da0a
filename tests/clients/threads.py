"""Concurrent callers of a reference client, as an app's threads are."""

import threading
from collections.abc import Callable

from deviceauth import DeviceClient


def concurrently(count: int, call: Callable[[], object]) -> None:
    """Run `call` in `count` threads that start it together; return when all are done."""
    barrier = threading.Barrier(count)

    def start() -> None:
        barrier.wait()
        call()

    threads = [threading.Thread(target=start) for _ in range(count)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()


def errors_of_concurrent_requests(client: DeviceClient, count: int, path: str) -> list[Exception]:
    """`count` concurrent `GET path` through `client`: the errors they raised."""
    errors: list[Exception] = []

    def call() -> None:
        try:
            client.request("GET", path)
        except Exception as error:
            errors.append(error)

    concurrently(count, call)
    return errors
