"""The SVG pieces on their own: escaping of every attribute and text, tick choice, gaps in lines and
intervals, and the timeline's squeezing of a long wait for a person."""

from __future__ import annotations

import re

from report.charts import Band, LineChart, Series, hbar_chart
from report.graphs import TimeScale, plan_svg, timeline_svg
from report.svg import Svg, nice_ticks
from report.timeline import Span, Step, Timeline

HOSTILE = '"><script>alert(1)</script><x a="'


def test_text_and_attributes_are_escaped():
    svg = Svg(10, 10, HOSTILE)
    svg.add("text", HOSTILE, data_task=HOSTILE)
    out = svg.render()
    assert "<script>" not in out and out.count("&lt;script&gt;") == 3
    plan = plan_svg(
        [{"id": HOSTILE, "agent": "<b>agent</b>", "goal": HOSTILE, "depends_on": [], "status": "done"}]
    )
    assert "<script>" not in plan and "<b>" not in plan
    bars = hbar_chart(HOSTILE, [HOSTILE], [Series(HOSTILE, [3.0])])
    assert "<script>" not in bars


def test_nice_ticks_cover_the_range_with_round_steps():
    assert nice_ticks(0, 97, 5) == [0, 20, 40, 60, 80, 100]
    assert nice_ticks(-0.018, 0.133, 5)[0] <= -0.018 and nice_ticks(-0.018, 0.133, 5)[-1] >= 0.133
    flat = nice_ticks(5, 5)  # one value still gets an axis around it
    assert flat[0] <= 5 < flat[-1] and len(flat) >= 2


def test_missing_values_break_lines_and_intervals():
    chart = LineChart(
        "x",
        [1, 2, 3, 4],
        [Series("lift", [0.01, None, 0.02, 0.03])],
        bands=[Band("ci", [None, None, 0.0, 0.01], [None, None, 0.04, 0.05])],
    ).render()
    assert chart.count('class="series-line"') == 2, "a gap on day 2 splits the line"
    (band,) = re.findall(r'<path d="([^"]+)"[^>]*class="ci-band"', chart)
    assert band.count("L") == 3, "the interval spans only the two days that have one"


def _timeline(wait: float) -> Timeline:
    steps = [
        Step(1, 0.0, 0.05, ["supervisor"]),
        Step(2, 0.05, 0.1, ["audience"]),
        Step(3, 0.1, 0.1 + wait, ["launch"]),
    ]
    steps.append(Step(4, 0.1 + wait, 0.15 + wait, ["synthesize"]))
    spans = [
        Span("plan", "supervisor", "phase", "done", None, [(0.0, 0.05)]),
        Span("audience", "audience", "task", "done", 0.04, [(0.05, 0.1)]),
        Span("launch (gate)", "launch", "phase", "done", None, [(0.1, 0.1 + wait)]),
        Span("report", "synthesize", "phase", "done", None, [(0.1 + wait, 0.15 + wait)]),
    ]
    return Timeline("checkpoints", "s", None, None, spans, steps)


def test_a_long_wait_for_a_person_is_squeezed_and_labelled():
    quick, slow = _timeline(0.05), _timeline(7200.0)
    assert TimeScale(quick, 0, 600).squeezed == []
    scale = TimeScale(slow, 0, 600)
    assert scale.squeezed == [(0.1, 7200.1)]
    # the work before the wait keeps a readable width instead of a sliver of two hours
    assert scale.x(0.1) - scale.x(0.0) > 0.5
    assert scale.x(7200.15) == 600
    svg = timeline_svg(slow)
    assert "waited 2 h 0 min" in svg and svg.count('class="task-bar"') == 1
