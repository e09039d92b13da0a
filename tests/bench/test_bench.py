"""The benchmark's own logic (bench/): what it sends, how it reads wrk, how it reports. The
benchmark itself runs with `make bench`, never in the test suite."""

import ast
import gc
import importlib.util
import pstats
import re
import subprocess
import sys
import time
from pathlib import Path

import pytest

from bench import cpu, servers, workload, wrk
from bench.report import APP, CEILING, PEER, Run, round_lines, summarize, summary_lines, table
from bench.servers import Server
from tests.processes import ROOT

WRK_OUTPUT = """Running 6s test @ http://127.0.0.1:8000
  1 threads and 4 connections
BENCH_RESULT {"requests": 3000, "duration_us": 6000000, "p50_us": 1250, "p99_us": 4000, \
"non2xx": 2, "socket_errors": 1, "exhausted": 0}
BENCH_FIRST_ERROR 401 {"code": "nonce_reused"}
"""


def measurement(rate: float, requests: int = 0) -> wrk.Measurement:
    return wrk.Measurement(requests or round(rate * 6), 6.0, 1.0, 2.0, 0, 0, False, "")


def test_wrk_results_are_read_from_the_lua_scripts_summary():
    result = wrk.parse(WRK_OUTPUT)
    assert result.rate == 500
    assert (result.p50_ms, result.p99_ms) == (1.25, 4.0)
    # Error statuses and connection errors both count as requests without a 2xx.
    assert result.failures == 3
    assert result.first_error == '401 {"code": "nonce_reused"}'
    assert not result.exhausted


def test_pools_hold_raw_requests_separated_by_nul(tmp_path):
    pool = tmp_path / "pool"
    requests = workload.json_posts("/api/token/", [{"username": "u", "password": "p"}] * 2)
    assert workload.write_pool(pool, requests) == 2
    first, second, rest = pool.read_bytes().split(b"\0")
    assert first == second
    assert rest == b""
    head, body = first.split(b"\r\n\r\n")
    assert head.startswith(b"POST /api/token/ HTTP/1.1\r\nHost: 127.0.0.1\r\n")
    assert f"Content-Length: {len(body)}".encode() in head


def test_signed_requests_each_carry_their_own_nonce():
    devices = [{"device_id": "3f2b8c1e-9d4a-4c6b-8e2f-1a7d5c9b0e34", "secret": "s"}]
    requests = workload.get_token_requests(devices, 3)
    nonces = {nonce for request in requests for nonce in re.findall(rb"X-Nonce: (\S+)", request)}
    assert len(nonces) == 3


def test_ratios_are_the_medians_of_each_rounds_ratios_not_ratios_of_medians():
    rounds = (1, 2, 3)
    runs = [
        Run("sync", "ceiling", CEILING, measurement(rate), 70.0, 0.3, repeat)
        for rate, repeat in zip((900, 1000, 5000), rounds, strict=True)
    ]
    runs += [
        Run("sync", "me", APP, measurement(rate), 80.0, cpu, repeat)
        for (rate, cpu), repeat in zip(((500, 0.7), (100, 0.9), (600, 0.8)), rounds, strict=True)
    ]
    runs += [
        Run("sync", "me", PEER, measurement(rate), 75.0, 1.9, repeat)
        for rate, repeat in zip((250, 240, 300), rounds, strict=True)
    ]
    rows = {(row.scenario, row.server): row for row in summarize(runs, "ceiling")}
    project = rows[("me", APP)]
    assert project.rate == 500
    # Round by round: 500/250, 100/240, 600/300 and 500/900, 100/1000, 600/5000. The ratios of
    # the medians would be 500/250 = 2.00 and 500/1000 = 0.50.
    assert project.vs_peer_runs == (2.0, 100 / 240, 2.0)
    assert project.vs_peer == 2.0
    assert project.vs_ceiling_runs == (500 / 900, 0.1, 0.12)
    assert project.vs_ceiling == 0.12
    assert project.worker_cpu_ms == 0.8
    assert rows[("me", PEER)].vs_peer is None
    assert summary_lines(list(rows.values())) == [
        "bench: me[sync] 500 req/s, 2.00x peer, 0.12 of ceiling"
    ]
    assert round_lines(list(rows.values())) == [
        "rounds: me[sync] x peer 2.00, 0.42, 2.00; of ceiling 0.56, 0.10, 0.12"
    ]
    assert "| sync | me | project | 500 | 1.00 | 2.00 | 0 | 0.80 | 80.0 | 0.12 | 2.00 |" in table(
        list(rows.values())
    )


def test_a_round_the_other_server_did_not_run_is_not_paired():
    runs = [
        Run("sync", "me", APP, measurement(500), 80.0, 0.7, 1),
        Run("sync", "me", APP, measurement(600), 80.0, 0.7, 2),
        Run("sync", "me", PEER, measurement(250), 80.0, 1.9, 2),
    ]
    (project,) = (row for row in summarize(runs, "ceiling") if row.server == APP)
    assert project.vs_peer_runs == (2.4,)
    assert project.vs_ceiling is None


def test_the_peer_imports_nothing_of_the_project():
    imported = set()
    for path in (ROOT / "bench" / "peer").rglob("*.py"):
        for node in ast.walk(ast.parse(path.read_text())):
            if isinstance(node, ast.Import):
                imported |= {alias.name.split(".")[0] for alias in node.names}
            elif isinstance(node, ast.ImportFrom) and node.module:
                imported.add(node.module.split(".")[0])
    assert not imported & {"api", "core", "bench", "tests"}
    assert "rest_framework_simplejwt" in imported


# A stand-in for gunicorn's master: forks one worker, which burns CPU for a while, then waits.
MASTER = """
import os, time
if os.fork() == 0:
    end = time.process_time() + 0.4
    while time.process_time() < end:
        pass
    time.sleep(60)
else:
    time.sleep(60)
"""


def test_worker_cpu_is_read_from_the_workers_not_the_master():
    master = subprocess.Popen([sys.executable, "-c", MASTER])
    server = Server("stand-in", "http://127.0.0.1:1", master, Path("unused.log"))
    try:
        deadline = time.monotonic() + 10
        while server.worker_cpu_seconds() < 0.35 and time.monotonic() < deadline:
            time.sleep(0.05)
        assert len(server.worker_pids()) == 1
        assert 0.35 <= server.worker_cpu_seconds() < 1.0
    finally:
        for pid in server.worker_pids():
            subprocess.run(["kill", str(pid)], check=False)
        master.kill()
        master.wait()


def test_a_run_waits_for_busy_processes_and_not_for_idle_ones():
    busy = subprocess.Popen([sys.executable, "-c", "while True: pass"])
    idle = subprocess.Popen([sys.executable, "-c", "import time; time.sleep(60)"])
    try:
        started = time.monotonic()
        servers.wait_idle([idle.pid], quiet=0.2)
        assert time.monotonic() - started < 1.0
        with pytest.raises(RuntimeError, match="still busy"):
            servers.wait_idle([busy.pid, idle.pid], quiet=0.2, timeout=1.0)
    finally:
        busy.kill()
        idle.kill()
        busy.wait()
        idle.wait()


def test_raw_requests_become_the_environ_gunicorn_would_build():
    device = {"device_id": "3f2b8c1e-9d4a-4c6b-8e2f-1a7d5c9b0e34", "secret": "s"}
    (raw,) = workload.get_token_requests([device], 1)
    request = cpu.environ(raw)
    assert (request["REQUEST_METHOD"], request["PATH_INFO"]) == ("POST", "/api/v1/auth/get-token/")
    assert request["CONTENT_TYPE"] == "application/json"
    assert request["CONTENT_LENGTH"] == "2"
    assert request["HTTP_X_KEY_ID"] == device["device_id"]
    assert re.fullmatch(r"[A-Za-z0-9_-]{16,64}", request["HTTP_X_NONCE"])
    assert request["wsgi.input"].read() == b"{}"

    query = cpu.environ(workload.raw_request("GET", "/health/live/?probe=2"))
    assert (query["PATH_INFO"], query["QUERY_STRING"]) == ("/health/live/", "probe=2")
    assert query["HTTP_HOST"] == workload.HOST


def test_a_profile_names_the_applications_functions_and_counts_their_calls(tmp_path):
    def render_page(path: str) -> bytes:
        return path.encode()

    def application(environ, start_response):
        start_response("200 OK", [])
        return [render_page(environ["PATH_INFO"])]

    raws = [workload.raw_request("GET", "/health/live/")] * 7
    # The directory named by --profile need not exist yet.
    cpu.profile(application, "health-live", raws, tmp_path / "new" / "health-live.txt")
    summary = (tmp_path / "new" / "health-live.txt").read_text()
    assert summary.startswith("7 requests to health-live")
    assert re.search(r"^\s+7\s.*\(render_page\)$", summary, re.MULTILINE)
    stats = pstats.Stats(str(tmp_path / "new" / "health-live.prof")).get_stats_profile()
    assert stats.func_profiles["render_page"].ncalls == "7"


def test_each_response_is_closed_as_a_wsgi_server_closes_it():
    closed: list[str] = []

    class Body(list[bytes]):
        def close(self) -> None:  # where Django sends request_finished
            closed.append(self[0].decode())

    def application(environ, start_response):
        start_response("200 OK", [])
        return Body([environ["PATH_INFO"].encode()])

    cpu.cpu_per_request(application, [workload.raw_request("GET", "/health/live/")] * 3)
    assert closed == ["/health/live/"] * 3


def test_the_collector_clock_times_collections_while_installed():
    with cpu.CollectorClock() as clock:
        gc.collect()
        gc.collect()
    assert clock.collections == 2
    assert clock.seconds > 0
    gc.collect()
    assert clock.collections == 2


def test_instructions_are_read_from_cachegrinds_summary():
    output = (
        "==6799== Command: python -m bench.cpu --requests=550\n"
        '{"scenario": "me", "cpu_us": 11127.4}\n'
        "==6799== \n"
        "==6799== I   refs:      3,078,238,160\n"
    )
    assert cpu.instructions_reported(output) == 3_078_238_160
    assert cpu.instructions_reported("==6799== Command: python\nKilled\n") is None


def test_a_profile_counts_cpu_time_not_time_spent_waiting(tmp_path):
    def wait_for_a_service(path: str) -> bytes:
        time.sleep(0.2)  # as a worker waits for Redis: no CPU
        return path.encode()

    def application(environ, start_response):
        start_response("200 OK", [])
        return [wait_for_a_service(environ["PATH_INFO"])]

    raws = [workload.raw_request("GET", "/health/live/")] * 3
    cpu.profile(application, "health-live", raws, tmp_path / "health-live.txt")
    stats = pstats.Stats(str(tmp_path / "health-live.prof")).get_stats_profile()
    # By the wall clock the three waits alone take 0.6 s.
    assert stats.func_profiles["wait_for_a_service"].cumtime < 0.3


def test_bytecode_is_written_before_instructions_are_counted(tmp_path):
    module = tmp_path / "views" / "me.py"
    module.parent.mkdir()
    module.write_text("ANSWER = 42\n")
    cpu.compile_bytecode(tmp_path / "views")
    assert Path(importlib.util.cache_from_source(str(module))).is_file()
