"""From the runs to the table and the summary lines: medians per (variant, scenario, server).

Ratios are paired: the project's run of a repeat against the peer's and the ceiling's runs of
the same repeat (run one after the other, on the same machine's mood), and the median of those
ratios is reported, not the ratio of two medians, which may pair one server's slowest round with
the other's quickest."""

from collections import defaultdict
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from statistics import median

from bench.wrk import Measurement

APP, PEER, CEILING = "project", "peer", "ceiling"


@dataclass(frozen=True)
class Run:
    variant: str
    scenario: str
    server: str
    measurement: Measurement
    worker_rss_mib: float
    # CPU time the server's workers used during the run, per request served.
    worker_cpu_ms: float
    # Which round of the interleaved repeats (1, 2, ...): runs of one round are paired.
    repeat: int = 1


@dataclass(frozen=True)
class Row:
    """The median of the repeats of one scenario on one server."""

    variant: str
    scenario: str
    server: str
    rate: float
    p50_ms: float
    p99_ms: float
    failures: int
    worker_rss_mib: float
    worker_cpu_ms: float
    runs: int
    vs_ceiling: float | None = None
    vs_peer: float | None = None
    # The paired ratios of each round, in order.
    vs_ceiling_runs: tuple[float, ...] = ()
    vs_peer_runs: tuple[float, ...] = ()


def summarize(runs: Iterable[Run], ceiling_scenario: str) -> list[Row]:
    """Medians of each (variant, scenario, server), with the project's ratios to the peer's runs
    of the same scenario and to the ceiling's, round by round, both of the same variant."""
    grouped: dict[tuple[str, str, str], list[Run]] = defaultdict(list)
    for run in runs:
        grouped[(run.variant, run.scenario, run.server)].append(run)
    rows = {
        key: Row(
            variant=key[0],
            scenario=key[1],
            server=key[2],
            rate=median(run.measurement.rate for run in group),
            p50_ms=median(run.measurement.p50_ms for run in group),
            p99_ms=median(run.measurement.p99_ms for run in group),
            failures=sum(run.measurement.failures for run in group),
            worker_rss_mib=median(run.worker_rss_mib for run in group),
            worker_cpu_ms=median(run.worker_cpu_ms for run in group),
            runs=len(group),
        )
        for key, group in grouped.items()
    }
    result = []
    for (variant, scenario, server), row in rows.items():
        if server == APP:
            project = grouped[(variant, scenario, server)]
            vs_ceiling = _paired(project, grouped.get((variant, ceiling_scenario, CEILING), []))
            vs_peer = _paired(project, grouped.get((variant, scenario, PEER), []))
            row = Row(
                **{
                    **row.__dict__,
                    "vs_ceiling": median(vs_ceiling) if vs_ceiling else None,
                    "vs_peer": median(vs_peer) if vs_peer else None,
                    "vs_ceiling_runs": vs_ceiling,
                    "vs_peer_runs": vs_peer,
                }
            )
        result.append(row)
    return result


def _paired(project: Sequence[Run], other: Sequence[Run]) -> tuple[float, ...]:
    """The project's rate over the other server's, for each round both ran."""
    by_round = {run.repeat: run.measurement.rate for run in other}
    return tuple(
        run.measurement.rate / by_round[run.repeat]
        for run in sorted(project, key=lambda run: run.repeat)
        if by_round.get(run.repeat)
    )


def _ratio(value: float | None, suffix: str = "") -> str:
    return "—" if value is None else f"{value:.2f}{suffix}"


def table(rows: Sequence[Row]) -> str:
    """A Markdown table, one line per variant, scenario and server."""
    lines = [
        "| variant | scenario | server | req/s (median) | p50 ms | p99 ms | non-2xx "
        "| worker CPU ms/req | worker RSS MiB | vs ceiling | vs peer |",
        "|---|---|---|---:|---:|---:|---:|---:|---:|---:|---:|",
    ]
    for row in rows:
        lines.append(
            f"| {row.variant} | {row.scenario} | {row.server} | {row.rate:.0f} "
            f"| {row.p50_ms:.2f} | {row.p99_ms:.2f} | {row.failures} "
            f"| {row.worker_cpu_ms:.2f} | {row.worker_rss_mib:.1f} "
            f"| {_ratio(row.vs_ceiling)} | {_ratio(row.vs_peer)} |"
        )
    return "\n".join(lines)


def summary_lines(rows: Sequence[Row]) -> list[str]:
    """`bench: <scenario> <req/s> req/s, <x.xx>x peer, <y.yy> of ceiling` per project row."""
    return [
        f"bench: {row.scenario}[{row.variant}] {row.rate:.0f} req/s, "
        f"{_ratio(row.vs_peer, 'x')} peer, {_ratio(row.vs_ceiling)} of ceiling"
        for row in rows
        if row.server == APP
    ]


def round_lines(rows: Sequence[Row]) -> list[str]:
    """The paired ratios of each round, per project row: how much a median hides."""
    return [
        f"rounds: {row.scenario}[{row.variant}] "
        f"x peer {', '.join(f'{ratio:.2f}' for ratio in row.vs_peer_runs) or '—'}; "
        f"of ceiling {', '.join(f'{ratio:.2f}' for ratio in row.vs_ceiling_runs) or '—'}"
        for row in rows
        if row.server == APP
    ]
