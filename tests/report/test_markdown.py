"""`cdp-agents report THREAD`: the Markdown report of a real run, checked against the CDP with SQL."""

from __future__ import annotations

import json
import sqlite3
from pathlib import Path

import pytest

from cli.checkpoints import checkpoint_path
from tests.graph.helpers import DEFAULT_OBJECTIVE, rows, scalar
from tests.report.conftest import FinishedRun, cli, run_objective

pytestmark = pytest.mark.xdist_group("report")


def section(markdown: str, title: str) -> str:
    """The body of one `## title` section."""
    start = markdown.index(f"## {title}\n")
    end = markdown.find("\n## ", start + 1)
    return markdown[start : end if end != -1 else len(markdown)]


def test_markdown_report_of_the_demo_run(demo_run: FinishedRun):
    result = cli("report", demo_run.thread, "--db", demo_run.db)
    assert result.exit_code == 0, result.output
    report = result.stdout
    # the synthesizer's report comes first, unchanged; the new sections follow it
    assert report.startswith(demo_run.result["report"].rstrip() + "\n")
    assert report.startswith("# Campaign report: launch a holiday retention campaign")
    campaign = demo_run.campaign_id

    plan = section(report, "Plan")
    for task in demo_run.result["plan"]:
        assert f"| {task['id']} | {task['agent']} |" in plan

    not_sent = section(report, "Not sent, by reason")
    by_reason = rows(
        demo_run.db,
        "SELECT reason_code, count(*) AS n FROM decisions WHERE campaign_id = ? GROUP BY 1",
        [campaign],
    )
    assert by_reason, "the demo run stops some customers"
    for r in by_reason:
        assert f"| {r['reason_code']} | {r['n']} |" in not_sent
    gate = section(report, "Gate decisions")
    total = scalar(demo_run.db, "SELECT count(*) FROM decisions WHERE campaign_id = ?", [campaign])
    assert f"Total: {total}." in gate
    sends = scalar(demo_run.db, "SELECT count(*) FROM sends WHERE campaign_id = ?", [campaign])
    assert f"sends scheduled: {sends} " in report

    composition = section(report, "Audience composition")
    by_tier = rows(
        demo_run.db,
        "SELECT p.tier, count(DISTINCT r.profile_id) AS n FROM send_requests r JOIN profiles p USING (profile_id) "
        "WHERE r.campaign_id = ? GROUP BY p.tier",
        [campaign],
    )
    for r in by_tier:
        messaged = scalar(
            demo_run.db,
            "SELECT count(DISTINCT s.profile_id) FROM sends s JOIN profiles p USING (profile_id) "
            "WHERE s.campaign_id = ? AND p.tier = ?",
            [campaign, r["tier"]],
        )
        assert f"| {r['tier']} | {r['n']} | {messaged} |" in composition

    timeline = section(report, "Timeline")
    assert "Wall clock from the checkpoints" in timeline
    for task in demo_run.result["plan"]:
        assert f"| {task['id']} | {task['agent']} | +" in timeline
    assert "No measured results yet" in section(report, "Results against the holdout")
    assert "## What each agent did" in report


def test_timeline_follows_the_dependencies(demo_run: FinishedRun):
    result = cli("report", demo_run.thread, "--db", demo_run.db, "--json")
    assert result.exit_code == 0, result.output
    data = json.loads(result.stdout)
    timeline = data["timeline"]
    assert timeline["source"] == "checkpoints" and timeline["unit"] == "s"
    tasks = {s["name"]: s for s in timeline["spans"] if s["kind"] == "task"}
    plan = data["facts"]["plan"]
    assert set(tasks) == {t["id"] for t in plan}
    for task in plan:
        span = tasks[task["id"]]
        assert span["status"] == "done" and span["attempts"] == 1
        assert span["dispatched"] is not None and span["dispatched"] <= span["start"] < span["end"]
        for dep in task["depends_on"]:
            # a task is dispatched only after each of its prerequisites answered
            assert span["dispatched"] >= tasks[dep]["end"], (task["id"], dep)
    phases = [s["name"] for s in timeline["spans"] if s["kind"] == "phase"]
    assert phases[0] == "plan" and phases[-1] == "report"
    assert data["decisions"] and sum(d["customers"] for d in data["decisions"]) == scalar(
        demo_run.db, "SELECT count(*) FROM decisions WHERE campaign_id = ?", [demo_run.campaign_id]
    )


def test_a_run_without_checkpoints_is_timed_by_its_message_log(demo_run: FinishedRun, tmp_path: Path):
    db = tmp_path / "copy.db"
    with sqlite3.connect(demo_run.db) as src, sqlite3.connect(db) as dst:
        src.backup(dst)  # the CDP alone, without the checkpoints file beside it
    src.close()
    dst.close()
    assert not Path(checkpoint_path(str(db))).exists()
    result = cli("report", demo_run.thread, "--db", str(db), "--json")
    assert result.exit_code == 0, result.output
    data = json.loads(result.stdout)
    assert data["status"] == "completed"
    assert data["facts"]["campaign_id"] == demo_run.campaign_id
    assert data["timeline"]["source"] == "messages"
    spans = {s["name"]: s for s in data["timeline"]["spans"]}
    requested = [
        r["task_id"]
        for r in rows(
            db,
            "SELECT DISTINCT task_id FROM agent_messages WHERE thread_id = ? AND kind = 'request'",
            [demo_run.thread],
        )
    ]
    assert set(spans) == set(requested)
    assert spans["activation"]["start"] > spans["audience"]["end"]
    assert not Path(checkpoint_path(str(db))).exists(), "reading a report creates no file"


def test_a_run_waiting_for_approval(tmp_path: Path, monkeypatch):
    monkeypatch.setenv("CDP_AGENTS_APPROVAL_THRESHOLD", "0")
    paused = run_objective(tmp_path, DEFAULT_OBJECTIVE, "report-paused", exit_code=3, approve="ask")
    result = cli("report", paused.thread, "--db", paused.db, "--json")
    assert result.exit_code == 0, result.output
    data = json.loads(result.stdout)
    assert data["status"] == "interrupted" and data["facts"]["sends"] == 0
    launch = next(s for s in data["timeline"]["spans"] if s["name"] == "launch (gate)")
    assert launch["status"] == "waiting"
    assert {s["name"] for s in data["timeline"]["spans"] if s["kind"] == "phase"} == {"plan", "launch (gate)"}
    markdown = cli("report", paused.thread, "--db", paused.db).stdout
    assert "**Status:** interrupted" in markdown and "| launch (gate) | launch |" in markdown


def test_unknown_thread_is_one_clear_line_and_exit_1(demo_run: FinishedRun):
    result = cli("report", "no-such-thread", "--db", demo_run.db)
    assert result.exit_code == 1
    assert result.stdout == ""
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1 and "no run no-such-thread" in lines[0] and "cdp-agents runs" in lines[0]


def test_missing_cdp_file_is_an_error(tmp_path: Path):
    result = cli("report", "any", "--db", str(tmp_path / "absent.db"))
    assert result.exit_code == 1 and "no CDP at" in result.stderr
    assert not (tmp_path / "absent.db").exists()
