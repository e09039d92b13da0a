"""`make bench`: the project against the stock peer and the ceiling, in one run on this machine.

For each gunicorn variant (sync workers, one per core; gthread), both servers start, every
scenario is warmed up, then each is measured `--repeats` times, interleaved (every scenario on
every server, then again, the project first in one round and the peer first in the next), so
that the machine's noise falls on all of them alike. The table and the summary lines use the
medians, the ratios the median of each round's ratios (bench/report.py). bench/README.md
describes the method.
"""

import argparse
import json
import math
import os
import shutil
import sys
import tempfile
import time
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

from redis import Redis

from bench import servers, workload, wrk
from bench.profile import profile_worker
from bench.report import APP, CEILING, PEER, Run, round_lines, summarize, summary_lines, table
from bench.servers import Secrets, Server, Variant

ITEMS = 1000
USERS = 100
# Once-pools hold this many times the requests the warm-up rate predicts; a run that still
# empties its pool is run again with a pool twice as big.
POOL_MARGIN = 1.6
POOL_FLOOR = 200
# Requests per second a warm-up's once-pool is sized for; one that runs dry only ends early.
WARM_UP_GUESS = 600
CEILING_SCENARIO = "ceiling"


@dataclass(frozen=True)
class Target:
    server: str
    # Single-use requests (signed: one nonce each); otherwise the pool is cycled.
    once: bool
    # The pool's requests; once-pools get the number wanted.
    requests: Callable[[int], list[bytes]]


@dataclass(frozen=True)
class Scenario:
    name: str
    targets: tuple[Target, ...]


class RefreshTokens:
    """Devices holding an unspent refresh token, prepared in batches as the runs use them."""

    def __init__(self, environment: dict[str, str]) -> None:
        self._environment = environment
        self._devices: deque[dict[str, Any]] = deque()

    def take(self, count: int) -> list[dict[str, Any]]:
        if len(self._devices) < count:
            missing = count - len(self._devices)
            self._devices.extend(prepare_app(self._environment, refreshers=missing)["refreshers"])
        return [self._devices.popleft() for _ in range(count)]


def prepare_app(environment: dict[str, str], **counts: int) -> dict[str, Any]:
    arguments = [f"--{name}={count}" for name, count in counts.items()]
    output = servers.run_python(
        ["-m", "bench.prepare_app", *arguments], cwd=servers.ROOT, env=environment
    )
    return dict(json.loads(output))


def scenarios(
    app: dict[str, Any], peer: dict[str, Any], password: str, refresh: RefreshTokens
) -> list[Scenario]:
    app_access = [device["access"] for device in app["bearer"]]
    login = {"username": peer["username"], "password": password}
    return [
        Scenario(CEILING_SCENARIO, (Target(CEILING, False, lambda _: workload.get("/ceiling/")),)),
        Scenario("health-live", (Target(APP, False, lambda _: workload.get("/health/live/")),)),
        Scenario(
            "me",
            (
                Target(APP, False, lambda _: workload.bearer_gets("/api/v1/me/", app_access)),
                Target(PEER, False, lambda _: workload.bearer_gets("/api/me/", peer["access"])),
            ),
        ),
        Scenario(
            "items",
            (
                Target(APP, False, lambda _: workload.bearer_gets("/api/v1/items/", app_access)),
                Target(PEER, False, lambda _: workload.bearer_gets("/api/items/", peer["access"])),
            ),
        ),
        Scenario(
            "get-token",
            (
                Target(APP, True, lambda count: workload.get_token_requests(app["signers"], count)),
                Target(PEER, False, lambda _: workload.json_posts("/api/token/", [login])),
            ),
        ),
        Scenario(
            "refresh-token",
            (
                Target(APP, True, lambda count: workload.refresh_requests(refresh.take(count))),
                Target(
                    PEER,
                    False,
                    lambda _: workload.json_posts(
                        "/api/token/refresh/", [{"refresh": token} for token in peer["refresh"]]
                    ),
                ),
            ),
        ),
    ]


class Bench:
    def __init__(self, options: argparse.Namespace, work: Path) -> None:
        self.options = options
        self.work = work
        self.runs: list[Run] = []
        # Requests per second each (scenario, server) reached in its warm-up.
        self.warm_rates: dict[tuple[str, str], float] = {}
        # The variant's running servers.
        self.servers: tuple[Server, ...] = ()

    def drive(
        self, variant: Variant, scenario: Scenario, target: Target, server: Server, seconds: float
    ) -> tuple[wrk.Measurement, float]:
        """One wrk run, and the CPU seconds the server's workers used in it. A once-pool is
        sized from the warm-up rate, and grown if it ran dry. Each run starts with both servers
        idle (and a local database) and every client's rate-limit windows empty."""
        rate = self.warm_rates.get((scenario.name, target.server))
        size = math.ceil((rate or WARM_UP_GUESS) * seconds * POOL_MARGIN) + POOL_FLOOR
        pool = self.work / f"{scenario.name}-{target.server}.pool"
        while True:
            workload.write_pool(pool, target.requests(size))
            servers.wait_idle(
                [pid for running in self.servers for pid in running.worker_pids()]
                + servers.database_pids()
            )
            servers.reset_limits(self.options.redis_url)
            cpu_before = server.worker_cpu_seconds()
            measurement = wrk.run(
                server.url, pool, once=target.once, connections=variant.connections, seconds=seconds
            )
            cpu = server.worker_cpu_seconds() - cpu_before
            if not (measurement.exhausted and rate is not None):
                return measurement, cpu
            print(f"  {scenario.name} on {target.server}: pool of {size} ran dry, again")
            size *= 2

    def variant(self, variant: Variant, plan: list[Scenario], app: Server, peer: Server) -> None:
        by_name = {APP: app, PEER: peer, CEILING: peer}
        self.servers = (app, peer)
        print(
            f"\n== {variant.name}: {variant.workers} workers x {variant.threads} thread(s), "
            f"{variant.connections} connections"
        )
        for scenario in plan:
            for target in scenario.targets:
                warm, _ = self.drive(
                    variant, scenario, target, by_name[target.server], self.options.warmup
                )
                if warm.failures and not warm.exhausted:
                    raise RuntimeError(
                        f"{scenario.name} on {target.server}: {warm.failures} failures in the "
                        f"warm-up, first: {warm.first_error}"
                    )
                self.warm_rates[(scenario.name, target.server)] = warm.rate
                print(f"  warm-up {scenario.name:14} {target.server:8} {warm.rate:8.0f} req/s")
        for repeat in range(1, self.options.repeats + 1):
            for scenario in plan:
                # The project first in odd rounds, the peer first in even ones.
                in_order = scenario.targets if repeat % 2 else scenario.targets[::-1]
                for target in in_order:
                    server = by_name[target.server]
                    measurement, cpu = self.drive(
                        variant, scenario, target, server, self.options.duration
                    )
                    rss = server.worker_rss_mib()
                    cpu_ms = 1000 * cpu / max(1, measurement.requests)
                    self.runs.append(
                        Run(
                            variant.name,
                            scenario.name,
                            target.server,
                            measurement,
                            rss,
                            cpu_ms,
                            repeat,
                        )
                    )
                    print(
                        f"  run {repeat} {scenario.name:14} {target.server:8} "
                        f"{measurement.rate:8.0f} req/s  p50 {measurement.p50_ms:7.2f} ms  "
                        f"p99 {measurement.p99_ms:7.2f} ms  non-2xx {measurement.failures}  "
                        f"CPU {cpu_ms:5.2f} ms/req  "
                        f"RSS {rss:5.1f} MiB"
                        + (f"  first: {measurement.first_error}" if measurement.failures else "")
                    )
        if self.options.profile:
            self.profile(variant, plan, by_name)

    def profile(self, variant: Variant, plan: list[Scenario], by_name: dict[str, Server]) -> None:
        """py-spy on one worker of each server during one more run of each profiled scenario."""
        for scenario in plan:
            if scenario.name not in self.options.profile:
                continue
            for target in scenario.targets:
                server = by_name[target.server]
                output = self.work / f"profile-{variant.name}-{scenario.name}-{target.server}.txt"
                with profile_worker(server.worker_pids()[0], self.options.duration, output):
                    self.drive(variant, scenario, target, server, self.options.duration)
                print(f"\n-- profile of {scenario.name} on {target.server} [{variant.name}]")
                print(output.read_text())


def parse_options() -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--duration", type=float, default=6, help="seconds per measured run")
    parser.add_argument("--warmup", type=float, default=2, help="seconds of warm-up per run")
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--variants", default="sync,gthread")
    parser.add_argument("--scenarios", default="", help="comma-separated; default: all")
    parser.add_argument("--profile", default="", help="comma-separated scenarios to profile")
    servers.add_service_options(parser, databases="<name>_app and <name>_peer are")
    return parser.parse_args()


def main() -> None:
    options = parse_options()
    options.profile = [name for name in options.profile.split(",") if name]
    if shutil.which("wrk") is None:
        sys.exit("wrk is not installed (apt-get install wrk; `make bench` does it)")
    work = Path(tempfile.mkdtemp(prefix="bench-"))
    keys = Secrets.generate()
    password = keys.device_master_key[:24]
    base = urlsplit(options.database_url).path.strip("/") or "bench"
    databases = {name: f"{base}_{name}" for name in ("app", "peer")}
    for name in databases.values():
        servers.recreate_database(options.database_url, name)
    Redis.from_url(options.redis_url).flushdb()
    static_root = work / "static"
    static_root.mkdir()
    app_env = servers.app_environment(
        keys,
        database=servers.database_url(options.database_url, databases["app"]),
        redis=options.redis_url,
        static_root=static_root,
    )
    peer_env = servers.peer_environment(
        keys,
        database=servers.database_url(options.database_url, databases["peer"]),
        redis=options.redis_url,
        static_root=static_root,
    )
    print(f"Preparing databases {', '.join(databases.values())} (work directory {work})")
    servers.run_python(["manage.py", "migrate", "--noinput"], cwd=servers.ROOT, env=app_env)
    servers.run_python(["manage.py", "migrate", "--noinput"], cwd=servers.PEER, env=peer_env)
    app_data = prepare_app(app_env, items=ITEMS, bearer=USERS, signers=USERS)
    peer_data = json.loads(
        servers.run_python(
            [
                "manage.py",
                "bench_seed",
                f"--users={USERS}",
                f"--items={ITEMS}",
                f"--password={password}",
            ],
            cwd=servers.PEER,
            env=peer_env,
        )
    )
    plan = scenarios(app_data, peer_data, password, RefreshTokens(app_env))
    if options.scenarios:
        wanted = {CEILING_SCENARIO, *options.scenarios.split(",")}
        plan = [scenario for scenario in plan if scenario.name in wanted]
    bench = Bench(options, work)
    started = time.monotonic()
    for name in options.variants.split(","):
        variant = servers.variants()[name]
        app = servers.start_server(
            "project",
            wsgi="core.wsgi:application",
            cwd=servers.ROOT,
            env=app_env,
            variant=variant,
            log=work / "project.log",
            probe="/health/live/",
        )
        peer = servers.start_server(
            "peer",
            wsgi="peer.wsgi:application",
            cwd=servers.PEER,
            env=peer_env,
            variant=variant,
            log=work / "peer.log",
            probe="/ceiling/",
        )
        try:
            bench.variant(variant, plan, app, peer)
        finally:
            app.stop()
            peer.stop()
    rows = summarize(bench.runs, CEILING_SCENARIO)
    print(
        f"\nMedians of {options.repeats} interleaved runs of {options.duration:g} s each "
        f"({(time.monotonic() - started) / 60:.1f} min); CPU: {os.cpu_count()} cores\n"
    )
    print(table(rows))
    print()
    print("\n".join(summary_lines(rows)))
    print()
    print("\n".join(round_lines(rows)))
    (work / "results.json").write_text(
        json.dumps([run.__dict__ | {"measurement": run.measurement.__dict__} for run in bench.runs])
    )
    print(f"\nRaw runs: {work / 'results.json'}")


if __name__ == "__main__":
    main()
