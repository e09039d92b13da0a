"""`make bench-cpu`: the CPU time one request costs the project's code, measured in one process.

`make bench` measures whole servers under wrk, on a machine whose noise moves a run by ±15 %:
too coarse to see a change that saves 5 % of a request. This calls the project's WSGI
application directly, request after request, in one process with its production settings on
MariaDB and Redis, and divides the process's CPU time by the requests: no gunicorn, no load
generator, no other worker to share the cores with. What is left is what the project's code
costs (and redis-py's and mysqlclient's), to within a few per cent between runs. The access
line goes to /dev/null. It does not replace `make bench` (waiting on Redis and MariaDB costs no
CPU here, and gunicorn's own ~0.3 ms a request is not in it); it says whether a change made the
code cheaper, and by how much. It also times Python's cyclic garbage collector, whose work
follows from what a request leaves in reference cycles: memory-bound, so instruction counts
(--instructions) hardly see it.

    make bench-cpu                                   # every scenario
    make bench-cpu BENCH_ARGS="--scenarios me --requests 5000"
    make bench-cpu BENCH_ARGS="--scenarios me --profile /tmp/prof"   # + cProfile of one run
    make bench-cpu BENCH_ARGS="--scenarios me --instructions --requests 500"   # under valgrind
"""

import argparse
import compileall
import cProfile
import gc
import io
import json
import os
import pstats
import re
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable, Iterable
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

from redis import Redis

from bench import servers, workload

ITEMS = 1000
USERS = 20
WARM_UP = 300
# The child waits this long before its first request: the caches a request reads
# (api/snapshots.py) fill only once the tombstones that preparing the data left behind expire.
WARM_UP_SECONDS = 3.0
# --instructions: the shorter of the two runs whose difference is measured.
BASELINE_REQUESTS = 50
SCENARIOS = ("health-live", "me", "items", "get-token")


def environ(raw: bytes) -> dict[str, Any]:
    """The WSGI environ gunicorn would build for one raw HTTP/1.1 request (bench.workload)."""
    head, _, body = raw.partition(b"\r\n\r\n")
    request_line, *header_lines = head.decode("latin-1").split("\r\n")
    method, target, protocol = request_line.split(" ")
    path, _, query = target.partition("?")
    result: dict[str, Any] = {
        "REQUEST_METHOD": method,
        "PATH_INFO": path,
        "QUERY_STRING": query,
        "SERVER_NAME": workload.HOST,
        "SERVER_PORT": "80",
        "SERVER_PROTOCOL": protocol,
        "REMOTE_ADDR": "127.0.0.1",
        "wsgi.input": io.BytesIO(body),
        "wsgi.url_scheme": "http",
        "wsgi.errors": sys.stderr,
    }
    for line in header_lines:
        name, _, value = line.partition(": ")
        key = name.upper().replace("-", "_")
        result[key if key in ("CONTENT_TYPE", "CONTENT_LENGTH") else f"HTTP_{key}"] = value
    return result


def requests_for(scenario: str, data: dict[str, Any], count: int) -> list[bytes]:
    """`count` raw requests of a scenario; signed ones each with a fresh nonce."""
    tokens = [device["access"] for device in data["bearer"]]
    if scenario == "health-live":
        pool = workload.get("/health/live/")
    elif scenario == "me":
        pool = workload.bearer_gets("/api/v1/me/", tokens)
    elif scenario == "items":
        pool = workload.bearer_gets("/api/v1/items/", tokens)
    elif scenario == "get-token":
        return workload.get_token_requests(data["signers"], count)
    else:
        raise ValueError(f"unknown scenario {scenario!r}")
    return [pool[i % len(pool)] for i in range(count)]


class CollectorClock:
    """Time spent in Python's cyclic garbage collector while it is installed (gc.callbacks)."""

    def __init__(self) -> None:
        self.seconds = 0.0
        self.collections = 0
        self._started = 0.0

    def __enter__(self) -> "CollectorClock":
        gc.callbacks.append(self._callback)
        return self

    def __exit__(self, *exc_info: object) -> None:
        gc.callbacks.remove(self._callback)

    def _callback(self, phase: str, info: dict[str, int]) -> None:
        if phase == "start":
            self._started = time.perf_counter()
        else:
            self.seconds += time.perf_counter() - self._started
            self.collections += 1


def cpu_per_request(
    application: Callable[..., Iterable[bytes]], raws: list[bytes]
) -> tuple[float, float, float]:
    """CPU, wall and cyclic-GC µs per request over `raws`, each answered with a 2xx or an error
    raised."""

    def start_response(status: str, headers: list[tuple[str, str]]) -> None:
        if not status.startswith("2"):
            raise RuntimeError(f"{status} for a benchmark request")

    environs = [environ(raw) for raw in raws]
    with CollectorClock() as collector:
        cpu, wall = time.process_time(), time.perf_counter()
        for request in environs:
            response = application(request, start_response)
            b"".join(response)
            # As gunicorn does (PEP 3333): Django's request_finished receivers run then.
            close = getattr(response, "close", None)
            if close is not None:
                close()
        cpu, wall = time.process_time() - cpu, time.perf_counter() - wall
    return cpu * 1e6 / len(raws), wall * 1e6 / len(raws), collector.seconds * 1e6 / len(raws)


def profile(
    application: Callable[..., Iterable[bytes]], scenario: str, raws: list[bytes], output: Path
) -> None:
    """One more run under cProfile, after the measured ones: its slowest functions, by own time.

    Timed by the process's CPU clock, as the measured runs are: waiting for Redis or MariaDB
    costs nothing here, as it costs a worker's core nothing (by the wall clock, the rate
    limiter's EVALSHA looked like a quarter of a `GET /me/`; by CPU it is a sixth). cProfile
    makes every Python call dearer, so the shares lean towards code with many small calls; the
    call counts are exact, and show work repeated that need not be."""
    profiler = cProfile.Profile(time.process_time)
    profiler.runcall(cpu_per_request, application, raws)
    output.parent.mkdir(parents=True, exist_ok=True)
    profiler.dump_stats(output.with_suffix(".prof"))  # for pstats, snakeviz, ...
    with output.open("w") as stream:
        stats = pstats.Stats(profiler, stream=stream).strip_dirs()
        stream.write(f"{len(raws)} requests to {scenario}\n")
        stats.sort_stats("tottime").print_stats(40)
        stats.sort_stats("cumulative").print_stats(60)


def child(options: argparse.Namespace) -> None:
    """In the project's environment: measure each scenario, print one JSON line each."""
    import logging

    from django.core.wsgi import get_wsgi_application

    application = get_wsgi_application()
    with open(os.devnull, "w") as devnull:
        for handler in logging.getLogger().handlers:
            if isinstance(handler, logging.StreamHandler):
                handler.setStream(devnull)
        data = json.loads(Path(options.data).read_text())
        time.sleep(WARM_UP_SECONDS)
        for scenario in options.scenarios.split(","):
            # A set number of requests, not a time: under valgrind (--instructions) both runs
            # must warm up alike.
            cpu_per_request(application, requests_for(scenario, data, WARM_UP))
            runs = [
                cpu_per_request(application, requests_for(scenario, data, options.requests))
                for _ in range(options.repeats)
            ]
            cpus = [cpu for cpu, _, _ in runs]
            if options.profile:
                raws = requests_for(scenario, data, options.requests)
                profile(application, scenario, raws, Path(options.profile) / f"{scenario}.txt")
            print(
                json.dumps(
                    {
                        "scenario": scenario,
                        "cpu_us": min(cpus),
                        "cpu_us_median": statistics.median(cpus),
                        "wall_us": min(wall for _, wall, _ in runs),
                        "gc_us_median": statistics.median(collector for _, _, collector in runs),
                    }
                ),
                flush=True,
            )


def parse_options() -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--scenarios", default=",".join(SCENARIOS))
    parser.add_argument("--requests", type=int, default=2000, help="per measured run")
    parser.add_argument("--repeats", type=int, default=3)
    servers.add_service_options(parser, databases="<name>_cpu is")
    parser.add_argument(
        "--profile",
        metavar="DIR",
        help="also write DIR/<scenario>.txt and .prof: cProfile of one more run",
    )
    parser.add_argument(
        "--instructions",
        action="store_true",
        help="count instructions per request under valgrind instead: slow, but the same in "
        "every run (use --requests 500)",
    )
    parser.add_argument("--data", help=argparse.SUPPRESS)
    return parser.parse_args()


def instructions(scenario: str, requests: int, data: Path, env: dict[str, str]) -> int:
    """Instructions the child executes, start to exit, when it serves `requests` (valgrind)."""
    valgrind = shutil.which("valgrind")
    if valgrind is None:
        raise RuntimeError("--instructions needs valgrind: apt-get install valgrind")
    command = [valgrind, "--tool=cachegrind", "--cache-sim=no", "--cachegrind-out-file=/dev/null"]
    command += [sys.executable, "-m", "bench.cpu", f"--data={data}", f"--scenarios={scenario}"]
    command += [f"--requests={requests}", "--repeats=1"]
    # A fixed hash seed: the same dict and set layouts, so the same work, in every run.
    env = {**env, "PYTHONHASHSEED": "0"}
    result = subprocess.run(command, cwd=servers.ROOT, env=env, capture_output=True, text=True)
    count = instructions_reported(result.stderr)
    if result.returncode != 0 or count is None:
        raise RuntimeError(f"valgrind failed:\n{result.stderr[-3000:]}")
    return count


def instructions_reported(output: str) -> int | None:
    """The total of cachegrind's summary line (`==42== I   refs:      3,078,238,160`)."""
    found = re.search(r"^==\d+== I\s+refs:\s+([\d,]+)$", output, re.MULTILINE)
    return int(found.group(1).replace(",", "")) if found else None


def compile_bytecode(*directories: Path) -> None:
    """Write the bytecode of every module under `directories` now. Otherwise the first child
    to import a module not imported yet (the views, on the first request) compiles it, and in a
    fresh checkout the shorter run paid for that: ~90,000 instructions a `/me/` fewer."""
    for directory in directories:
        compileall.compile_dir(directory, quiet=1)


def report_instructions(options: argparse.Namespace, data: Path, env: dict[str, str]) -> None:
    """Instructions per request: the difference between a run of BASELINE_REQUESTS and one of
    `--requests` more, whose start-up, warm-up and exit are the same, over `--requests`."""
    compile_bytecode(*(servers.ROOT / name for name in ("api", "core", "bench", "clients/python")))
    print(f"Instructions per request (valgrind), over {options.requests} requests:")
    print("\n| scenario | instructions/req |\n|---|---:|")
    for scenario in options.scenarios.split(","):
        short = instructions(scenario, BASELINE_REQUESTS, data, env)
        long = instructions(scenario, BASELINE_REQUESTS + options.requests, data, env)
        print(f"| {scenario} | {(long - short) / options.requests:,.0f} |", flush=True)


def main() -> None:
    options = parse_options()
    if options.data:
        child(options)
        return
    work = Path(tempfile.mkdtemp(prefix="bench-cpu-"))
    base = urlsplit(options.database_url).path.strip("/") or "bench"
    database = f"{base}_cpu"
    servers.recreate_database(options.database_url, database)
    Redis.from_url(options.redis_url).flushdb()
    static_root = work / "static"
    static_root.mkdir()
    env = servers.app_environment(
        servers.Secrets.generate(),
        database=servers.database_url(options.database_url, database),
        redis=options.redis_url,
        static_root=static_root,
    )
    env["DJANGO_SETTINGS_MODULE"] = "core.settings"
    env["PYTHONPATH"] = os.pathsep.join([str(servers.ROOT), str(servers.ROOT / "clients/python")])
    servers.run_python(["manage.py", "migrate", "--noinput"], cwd=servers.ROOT, env=env)
    prepared = servers.run_python(
        ["-m", "bench.prepare_app", f"--items={ITEMS}", f"--bearer={USERS}", "--signers=5"],
        cwd=servers.ROOT,
        env=env,
    )
    data = work / "data.json"
    data.write_text(prepared)
    if options.instructions:
        report_instructions(options, data, env)
        return
    output = servers.run_python(
        [
            "-m",
            "bench.cpu",
            f"--data={data}",
            f"--scenarios={options.scenarios}",
            f"--requests={options.requests}",
            f"--repeats={options.repeats}",
            *([f"--profile={Path(options.profile).resolve()}"] if options.profile else []),
        ],
        cwd=servers.ROOT,
        env=env,
    )
    print(f"CPU per request in one process, best of {options.repeats} runs of {options.requests}:")
    print(
        "\n| scenario | CPU µs/req (best) | CPU µs/req (median) | wall µs/req (best) "
        "| cyclic GC µs/req (median) |"
    )
    print("|---|---:|---:|---:|---:|")
    for line in output.splitlines():
        row = json.loads(line)
        print(
            f"| {row['scenario']} | {row['cpu_us']:.0f} | {row['cpu_us_median']:.0f} "
            f"| {row['wall_us']:.0f} | {row['gc_us_median']:.1f} |"
        )


if __name__ == "__main__":
    main()
