"""One wrk run over a pool of requests, and what it measured."""

import json
import re
import subprocess
from dataclasses import dataclass
from pathlib import Path

SCRIPT = Path(__file__).resolve().parent / "requests.lua"


@dataclass(frozen=True)
class Measurement:
    requests: int
    seconds: float
    p50_ms: float
    p99_ms: float
    non2xx: int
    socket_errors: int
    exhausted: bool
    first_error: str

    @property
    def rate(self) -> float:
        return self.requests / self.seconds if self.seconds else 0.0

    @property
    def failures(self) -> int:
        """Requests that did not get a 2xx: error statuses plus connection errors."""
        return self.non2xx + self.socket_errors


def parse(output: str) -> Measurement:
    """The figures bench/requests.lua's done() prints."""
    result = re.search(r"^BENCH_RESULT (\{.*\})$", output, re.M)
    if result is None:
        raise RuntimeError(f"wrk printed no result:\n{output}")
    figures = json.loads(result.group(1))
    first_error = re.search(r"^BENCH_FIRST_ERROR ?(.*)$", output, re.M)
    return Measurement(
        requests=figures["requests"],
        seconds=figures["duration_us"] / 1e6,
        p50_ms=figures["p50_us"] / 1000,
        p99_ms=figures["p99_us"] / 1000,
        non2xx=figures["non2xx"],
        socket_errors=figures["socket_errors"],
        exhausted=bool(figures["exhausted"]),
        first_error=first_error.group(1).strip() if first_error else "",
    )


def run(url: str, pool: Path, *, once: bool, connections: int, seconds: float) -> Measurement:
    """Drive `url` (scheme, host and port; the pool holds the targets) for `seconds`."""
    command = [
        "wrk",
        "--threads=1",
        f"--connections={connections}",
        f"--duration={max(1, round(seconds))}s",
        # The peer's password endpoint takes most of a second per request under load.
        "--timeout=30s",
        f"--script={SCRIPT}",
        url,
        "--",
        str(pool),
        "once" if once else "cycle",
    ]
    result = subprocess.run(
        command, capture_output=True, text=True, check=False, timeout=seconds + 60
    )
    if result.returncode != 0:
        raise RuntimeError(f"wrk failed:\n{result.stdout}\n{result.stderr}")
    return parse(result.stdout)
