"""Bar charts drawn on the server: the geometry of an inline SVG, so pages need no JavaScript.

The template (templates/cms/includes/bar_chart.html) only places what is computed here.
"""

import math
from collections.abc import Sequence
from dataclasses import dataclass

from api.cms.selectors import DayCount

# The SVG's coordinate system; it scales to the width of its container.
WIDTH = 720
HEIGHT = 250
LEFT, RIGHT, TOP, BOTTOM = 48, 4, 14, 34
PLOT_WIDTH = WIDTH - LEFT - RIGHT
PLOT_HEIGHT = HEIGHT - TOP - BOTTOM
# Share of each day's slot the bar fills; the rest is the gap between bars.
BAR_FILL = 0.7
# A label under every n-th day, counted back from the last, so the latest day is always named.
LABEL_EVERY = 7


@dataclass(frozen=True)
class Bar:
    x: float
    y: float
    width: float
    height: float
    # The whole slot, hovered to show the day's tooltip even when the bar is empty.
    slot_x: float
    slot_width: float
    value: int
    title: str
    label: str
    # Where the label sits: centred under its bar, or ending at the chart's right edge.
    label_x: float
    label_anchor: str


@dataclass(frozen=True)
class Tick:
    y: float
    value: int


@dataclass(frozen=True)
class BarChart:
    width: int
    height: int
    left: int
    right: float
    top: int
    plot_height: int
    baseline: float
    label_y: float
    bars: list[Bar]
    ticks: list[Tick]
    total: int
    peak: DayCount | None


def nice_step(value: float) -> int:
    """The smallest of 1, 2, 5, 10, 20, 50, ... that is at least `value`."""
    if value <= 1:
        return 1
    magnitude = int(10 ** math.floor(math.log10(value)))
    return next(step * magnitude for step in (1, 2, 5, 10) if value <= step * magnitude)


def axis_ticks(maximum: int, *, most: int = 4) -> list[int]:
    """Round tick values from 0 up to at least `maximum`, at most `most` intervals."""
    step = nice_step(maximum / most)
    top = max(step * math.ceil(maximum / step), step)
    return list(range(0, top + 1, step))


def registrations_chart(days: Sequence[DayCount]) -> BarChart:
    """A bar for each day, round y-axis ticks, and a label under every 7th day."""
    values = axis_ticks(max((day.count for day in days), default=0))
    top = values[-1]
    slot = PLOT_WIDTH / max(len(days), 1)
    baseline = TOP + PLOT_HEIGHT
    bars = []
    for index, day in enumerate(days):
        height = PLOT_HEIGHT * day.count / top
        slot_x = LEFT + index * slot
        last = index == len(days) - 1
        named = (len(days) - 1 - index) % LABEL_EVERY == 0
        noun = "registration" if day.count == 1 else "registrations"
        bars.append(
            Bar(
                x=round(slot_x + slot * (1 - BAR_FILL) / 2, 2),
                y=round(baseline - height, 2),
                width=round(slot * BAR_FILL, 2),
                height=round(height, 2),
                slot_x=round(slot_x, 2),
                slot_width=round(slot, 2),
                value=day.count,
                title=f"{day.day:%a} {day.day.day} {day.day:%b}: {day.count} {noun}",
                label=f"{day.day.day} {day.day:%b}" if named else "",
                label_x=round(slot_x + slot if last else slot_x + slot / 2, 2),
                label_anchor="end" if last else "middle",
            )
        )
    ticks = [
        Tick(y=round(baseline - PLOT_HEIGHT * value / top, 2), value=value) for value in values
    ]
    peak = max(days, key=lambda day: day.count, default=None)
    return BarChart(
        width=WIDTH,
        height=HEIGHT,
        left=LEFT,
        right=WIDTH - RIGHT,
        top=TOP,
        plot_height=PLOT_HEIGHT,
        baseline=baseline,
        label_y=HEIGHT - 8,
        bars=bars,
        ticks=ticks,
        total=sum(day.count for day in days),
        peak=peak if peak is not None and peak.count else None,
    )
