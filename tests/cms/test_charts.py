"""The registrations chart's geometry, computed on the server for an inline SVG."""

from datetime import date, timedelta

import pytest

from api.cms import charts
from api.cms.selectors import DayCount


@pytest.mark.parametrize(
    ("maximum", "ticks"),
    [
        (0, [0, 1]),
        (3, [0, 1, 2, 3]),
        (7, [0, 2, 4, 6, 8]),
        (13, [0, 5, 10, 15]),
        (47, [0, 20, 40, 60]),
        (100, [0, 50, 100]),
    ],
)
def test_axis_ticks_are_round_and_reach_the_maximum(maximum, ticks):
    assert charts.axis_ticks(maximum) == ticks


def month(counts: list[int]) -> list[DayCount]:
    last = date(2026, 3, 31)
    return [
        DayCount(last - timedelta(days=len(counts) - 1 - index), count)
        for index, count in enumerate(counts)
    ]


def test_bars_are_proportional_and_stand_on_the_baseline():
    chart = charts.registrations_chart(month([0, 2, 4] + [1] * 27))
    top = chart.ticks[-1].value
    assert top == 4
    for bar in chart.bars:
        assert bar.y + bar.height == pytest.approx(chart.baseline, abs=0.01)
        assert bar.height == pytest.approx(chart.plot_height * bar.value / top, abs=0.01)
    assert chart.bars[0].height == 0
    assert chart.total == 33
    assert chart.peak == DayCount(date(2026, 3, 4), 4)


def test_every_seventh_day_is_labelled_counting_back_from_the_last():
    chart = charts.registrations_chart(month([1] * 30))
    labelled = [(index, bar.label) for index, bar in enumerate(chart.bars) if bar.label]
    assert labelled == [(1, "3 Mar"), (8, "10 Mar"), (15, "17 Mar"), (22, "24 Mar"), (29, "31 Mar")]
    # The last label ends at the right edge instead of spilling over it.
    assert chart.bars[-1].label_anchor == "end"
    assert chart.bars[-1].label_x == pytest.approx(chart.right, abs=0.01)


def test_each_bar_has_a_tooltip_naming_the_day_and_the_count():
    chart = charts.registrations_chart(month([1, 0]))
    assert [bar.title for bar in chart.bars] == [
        "Mon 30 Mar: 1 registration",
        "Tue 31 Mar: 0 registrations",
    ]


def test_a_month_without_registrations_has_no_peak():
    chart = charts.registrations_chart(month([0] * 30))
    assert chart.peak is None
    assert [tick.value for tick in chart.ticks] == [0, 1]
