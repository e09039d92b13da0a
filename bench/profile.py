"""Sampling profiles of a project worker under load (py-spy, pinned in bench/requirements.txt).

The summary lists where the worker's CPU goes: each frame's share of the samples that were
serving a request (inclusive), and the frames that were on top (self). Only samples of a
thread holding the GIL count (`--gil`): a worker waiting for Redis or MariaDB holds none, and
counting those waits (as the first rounds of bench/README.md did) hid the Python that costs.
The wait shows instead as the gap between the run's rate and its workers' CPU per request.
"""

import shutil
import subprocess
import sys
from collections import Counter
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

# Frames of a request being served; samples without one are the worker waiting for work.
REQUEST_FRAME = "WSGIHandler.__call__"


@contextmanager
def profile_worker(pid: int, seconds: float, output: Path) -> Iterator[None]:
    """Record `pid` with py-spy while the block runs; write the summary to `output`."""
    py_spy = shutil.which("py-spy", path=str(Path(sys.executable).parent)) or shutil.which("py-spy")
    if py_spy is None:
        raise RuntimeError("py-spy is not installed: pip install -r bench/requirements.txt")
    raw = output.with_suffix(".raw")
    recorder = subprocess.Popen(
        [
            py_spy,
            "record",
            "--pid",
            str(pid),
            "--duration",
            str(round(seconds)),
            "--rate",
            "500",
            "--format",
            "raw",
            "--output",
            str(raw),
            "--nonblocking",
            "--gil",
        ],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    try:
        yield
    finally:
        recorder.wait(timeout=seconds + 60)
    output.write_text(summarize(raw.read_text()))


def _function(frame: str) -> str:
    """`name (file.py:line)` without the line, so that a function counts once."""
    name, _, where = frame.partition(" (")
    return f"{name} ({where.rpartition(':')[0]})" if where else name


def summarize(collapsed: str, top: int = 45) -> str:
    inclusive: Counter[str] = Counter()
    own: Counter[str] = Counter()
    total = 0
    for line in collapsed.splitlines():
        stack, _, count = line.rpartition(" ")
        frames = stack.split(";")
        start = next((i for i, frame in enumerate(frames) if REQUEST_FRAME in frame), None)
        if start is None:
            continue
        # The server's own frames above the request are the same in every sample.
        frames = frames[start:]
        samples = int(count)
        total += samples
        own[_function(frames[-1])] += samples
        for function in dict.fromkeys(_function(frame) for frame in frames):
            inclusive[function] += samples
    if not total:
        return "no samples in a request\n"
    lines = [f"{total} samples serving requests; inclusive share:"]
    lines += [f"{100 * n / total:5.1f}%  {name}" for name, n in inclusive.most_common(top)]
    lines.append("self (on top of the stack):")
    lines += [f"{100 * n / total:5.1f}%  {name}" for name, n in own.most_common(20)]
    return "\n".join(lines) + "\n"
