"""`cdp-agents run ... --simulate DAYS` and a resumed run keeping the settings it started with."""

from __future__ import annotations

import json

import pytest
from typer.testing import CliRunner

from cli.main import app
from tests.graph.helpers import rows, scalar
from tests.invariants import assert_promise_holds

BROAD = "grow revenue with a 10% discount for all customers by email and push"
pytestmark = pytest.mark.xdist_group("lifecycle")


def cli(*args: str):
    return CliRunner().invoke(app, list(args))


def test_simulate_after_approval_survives_resume(seeded_cdp_path):
    db = str(seeded_cdp_path)
    first = cli(
        "run", BROAD, "--db", db, "--json", "--thread", "sim-cli", "--simulate", "3", "--model", "scripted"
    )
    assert first.exit_code == 3, first.output  # waits for approval of a large launch
    settings = json.loads(scalar(db, "SELECT settings FROM runs WHERE thread_id = 'sim-cli'"))
    assert settings["simulate_days"] == 3
    assert scalar(db, "SELECT count(*) FROM campaign_results") == 0
    resumed = cli("resume", "sim-cli", "--db", db, "--decision", "approve", "--json")
    assert resumed.exit_code == 0, resumed.output
    data = json.loads(resumed.stdout.strip().splitlines()[-1])
    assert data["status"] == "completed"
    campaign = data["campaign_id"]
    days = rows(db, "SELECT day FROM campaign_results WHERE campaign_id = ? ORDER BY day", [campaign])
    assert [d[0] for d in days] == [1, 2, 3]
    # one message a day in the run's trace
    trace = cli("trace", "sim-cli", "--db", db, "--json")
    day_messages = [m for m in json.loads(trace.stdout) if (m["task_id"] or "").startswith("day")]
    assert len(day_messages) == 3
    assert_promise_holds(db)


@pytest.mark.parametrize("days", ["-1", "91", "many"])
def test_bad_simulate_values_are_usage_errors(seeded_cdp_path, days):
    result = cli(
        "run", BROAD, "--db", str(seeded_cdp_path), "--json", "--simulate", days, "--approve", "auto"
    )
    assert result.exit_code == 2, result.output
    assert scalar(str(seeded_cdp_path), "SELECT count(*) FROM runs") == 0


def test_demo_runs_a_week_and_writes_the_html_report(tmp_path):
    db, page = tmp_path / "demo.db", tmp_path / "out" / "demo.html"
    result = cli("demo", "--db", str(db), "--customers", "2000", "--html", str(page), "--json")
    assert result.exit_code == 0, result.output
    data = json.loads(result.stdout.strip().splitlines()[-1])
    assert data["status"] == "completed"
    cid = data["campaign_id"]
    days = scalar(str(db), "SELECT count(*) FROM campaign_results WHERE campaign_id = ?", [cid])
    # The demo's thread (hence campaign and draws) is new each time: a week, unless stopped on the way
    # by a recorded stop on its last measured day.
    if days != 7:
        assert 1 <= days < 7
        assert scalar(str(db), "SELECT status FROM campaigns WHERE campaign_id = ?", [cid]) == "stopped"
        stop_day = scalar(
            str(db), "SELECT day FROM campaign_adjustments WHERE campaign_id = ? AND action = 'stop'", [cid]
        )
        assert stop_day == days
    text = page.read_text(encoding="utf-8")
    assert text.lower().startswith("<!doctype html>") and "<svg" in text and data["campaign_id"] in text
