"""`cdp-agents report THREAD --html FILE`: one self-contained page, every untrusted text escaped,
all sections present and their figures equal to what SQL finds in the CDP."""

from __future__ import annotations

import html
import json
import re
from pathlib import Path

import pytest

from report.graphs import plan_layers
from tests.graph.helpers import rows, scalar
from tests.report.conftest import HOSTILE_OBJECTIVE, FinishedRun, cli, run_objective
from tests.report.lifecycle_rows import DAYS, SMS_REASON

pytestmark = pytest.mark.xdist_group("report")

SECTIONS = (
    "summary",
    "interpretation",
    "plan",
    "timeline",
    "audience",
    "suppressions",
    "conflicts",
    "results",
    "agents",
)


def write_html(run: FinishedRun, folder: Path) -> str:
    target = folder / f"{run.thread}.html"
    result = cli("report", run.thread, "--db", run.db, "--html", str(target))
    assert result.exit_code == 0, result.output
    assert str(target) in result.stdout
    return target.read_text(encoding="utf-8")


def section(page: str, anchor: str) -> str:
    start = page.index(f'<section id="{anchor}">')
    return page[start : page.index("</section>", start)]


def assert_self_contained(page: str) -> None:
    lowered = page.lower()
    assert "<script" not in lowered
    assert "<link" not in lowered and "<iframe" not in lowered and "<img" not in lowered
    assert not re.search(r"\bsrc\s*=", lowered)
    assert not re.search(r"""href\s*=\s*["']?(https?:)?//""", lowered)
    assert "@import" not in lowered
    assert not re.search(r"url\(\s*['\"]?(https?:)?//", lowered)
    # the only url() references are to patterns and markers inside the page
    assert set(re.findall(r"url\(([^)]*)\)", page)) <= {"#arrow", "#squeeze"}
    # the SVG namespace is a name, not a fetch: it is the only http address in the page
    assert set(re.findall(r"https?://[^\s\"'<>]+", page)) == {"http://www.w3.org/2000/svg"}


def test_hostile_objective_is_shown_as_text(hostile_run: FinishedRun, tmp_path: Path):
    page = write_html(hostile_run, tmp_path)
    assert_self_contained(page)
    assert "<script>alert(document.domain)</script>" not in page
    heading = re.search(r'<h1 id="objective">(.*?)</h1>', page, re.S)
    assert heading and heading.group(1) == html.escape(HOSTILE_OBJECTIVE)
    title = re.search(r"<title>(.*?)</title>", page, re.S)
    assert title and "&lt;script&gt;alert(document.domain)&lt;/script&gt;" in title.group(1)
    # the narrative quotes the objective: as text too
    assert "&lt;script&gt;" in section(page, "summary")
    assert section(page, "plan").count('class="task-node"') == len(hostile_run.result["plan"])


def test_a_run_that_stopped_before_planning_still_has_a_page(tmp_path: Path):
    """`alert(1)`: the planner cannot read the '1' and asks for a clearer objective (no plan)."""
    objective = "<script>alert(1)</script> launch a holiday retention campaign for at-risk premium customers"
    stopped = run_objective(tmp_path, objective, "report-stopped", exit_code=3)
    page = write_html(stopped, tmp_path)
    assert_self_contained(page)
    assert "<script>alert(1)</script>" not in page and "&lt;script&gt;alert(1)&lt;/script&gt;" in page
    assert ">needs_input</span>" in page
    assert "No plan was made" in section(page, "plan")
    assert "<h3>Question</h3>" in section(page, "summary") and "What failed" not in page
    markdown = cli("report", stopped.thread, "--db", stopped.db)
    assert markdown.exit_code == 0 and markdown.stdout.startswith(stopped.result["report"].rstrip())


def test_page_of_a_just_launched_campaign(demo_run: FinishedRun, tmp_path: Path):
    page = write_html(demo_run, tmp_path)
    assert_self_contained(page)
    for anchor in SECTIONS:
        assert f'<section id="{anchor}">' in page, anchor
    plan = demo_run.result["plan"]
    assert section(page, "plan").count('class="task-node"') == len(plan)
    assert section(page, "plan").count('class="dep-edge"') == sum(len(t["depends_on"]) for t in plan)
    assert section(page, "timeline").count('class="task-bar"') == len(plan)
    # suppression bars: one per reason, with the count SQL finds
    suppressions = section(page, "suppressions")
    for r in rows(
        demo_run.db,
        "SELECT reason_code, count(*) AS n FROM decisions WHERE campaign_id = ? GROUP BY 1",
        [demo_run.campaign_id],
    ):
        assert f"<title>{r['reason_code']} — customers: {r['n']}</title>" in suppressions
    assert "No measured results yet" in section(page, "results")
    assert "did not conflict" in section(page, "conflicts")
    sends = scalar(demo_run.db, "SELECT count(*) FROM sends WHERE campaign_id = ?", [demo_run.campaign_id])
    assert re.search(rf'<div class="value">{sends}</div><div class="label">sends scheduled</div>', page)


def test_page_of_a_measured_campaign(measured_run: FinishedRun, tmp_path: Path):
    page = write_html(measured_run, tmp_path)
    assert_self_contained(page)
    conflicts = section(page, "conflicts")
    (conflict,) = rows(measured_run.db, "SELECT * FROM conflicts WHERE thread_id = ?", [measured_run.thread])
    assert f"<h3>{conflict['decision_key']}</h3>" in conflicts
    for proposal in json.loads(conflict["proposals"]):
        assert f"<td>{html.escape(proposal['agent'])}</td><td class=num>{proposal['value']}</td>" in conflicts
    assert f"Decision:</strong> {conflict['winner']}" in conflicts

    results = section(page, "results")
    assert f"{DAYS} measured days" in results
    charts = re.findall(r"<svg .*?</svg>", results, re.S)
    assert len(charts) == 3, "conversion, lift with its interval, conversion per variant"
    variants = measured_run.result["lifecycle"]["variants"]
    assert charts[0].count('class="series-line"') == 2
    assert charts[1].count('class="ci-band"') == 1 and charts[1].count('class="series-line"') == 1
    assert charts[2].count('class="series-line"') == len(variants)
    assert all(chart.count('class="point"') >= DAYS for chart in charts)
    # the two changes that were not "keep" are marked on every chart
    assert all(chart.count('class="marker"') == 2 for chart in charts)
    # adjustments: what, when, why; the reason's markup is text
    assert html.escape(SMS_REASON) in results and SMS_REASON not in results
    changes, kept = results.split("<details>")
    assert "<td>2</td><td class=num>8</td><td>pause_channel</td><td>sms</td>" in changes
    assert "<td>1</td><td class=num>5</td><td>shift_variant</td>" in changes
    assert "Reviews that changed nothing: 1 (days 3)" in kept and "too early" in kept
    lift = scalar(
        measured_run.db,
        "SELECT lift FROM campaign_results WHERE campaign_id = ? ORDER BY day DESC LIMIT 1",
        [measured_run.campaign_id],
    )
    headline = page[page.index('<div class="cards"') : page.index('<section id="summary">')]
    assert (
        f'<div class="value">{lift * 100:+.1f}</div><div class="label">lift in points, day {DAYS}</div>'
        in headline
    )


def test_plan_columns_follow_dependency_depth(measured_run: FinishedRun):
    plan = measured_run.result["plan"]
    layers = plan_layers(plan)
    column = {t["id"]: i for i, layer in enumerate(layers) for t in layer}
    assert sorted(column) == sorted(t["id"] for t in plan)
    for task in plan:
        deps = task["depends_on"]
        assert column[task["id"]] == (1 + max(column[d] for d in deps) if deps else 0)
