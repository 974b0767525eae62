"""`cdp-agents run / resume / trace / runs` in-process with typer's CliRunner on a seeded CDP file:
the JSON a script reads, exit codes (0 completed, 1 failed, 2 usage, 3 waiting), durable resume."""

from __future__ import annotations

import json
from typing import Any

import pytest
from typer.testing import CliRunner

from cli.checkpoints import checkpoint_path
from cli.main import app
from tests.graph.helpers import DEFAULT_OBJECTIVE, ids, rows, scalar, send_count, suppression_counts

KEYS = {
    "thread_id",
    "status",
    "objective",
    "plan",
    "campaign_id",
    "audience_size",
    "sends",
    "suppressed",
    "llm_calls",
    "report",
}


def cli(*args: str) -> Any:
    return CliRunner().invoke(app, list(args))


def one_json(result: Any) -> dict[str, Any]:
    lines = [line for line in result.stdout.splitlines() if line.strip()]
    assert len(lines) == 1, result.stdout
    return json.loads(lines[0])


@pytest.mark.xdist_group("cli")
def test_run_json_auto_approved(seeded_cdp_path):
    db = str(seeded_cdp_path)
    result = cli(
        "run",
        DEFAULT_OBJECTIVE,
        "--db",
        db,
        "--json",
        "--approve",
        "auto",
        "--thread",
        "cli-auto",
        "--model",
        "scripted",
    )
    assert result.exit_code == 0, result.output
    data = one_json(result)
    assert set(data) >= KEYS
    assert (data["thread_id"], data["status"], data["objective"]) == (
        "cli-auto",
        "completed",
        DEFAULT_OBJECTIVE,
    )
    assert data["plan"] and all(
        set(t) == {"id", "agent", "goal", "depends_on", "status"} for t in data["plan"]
    )
    assert {t["status"] for t in data["plan"]} == {"done"}
    assert data["plan"][0]["agent"] == "audience"
    campaign = scalar(db, "SELECT campaign_id FROM campaigns WHERE thread_id = 'cli-auto'")
    assert data["campaign_id"] == campaign
    assert data["audience_size"] == len(
        ids(db, "SELECT profile_id FROM customer_360 WHERE tier = 'premium' AND churn_risk >= 0.7")
    )
    assert data["sends"] == send_count(db, campaign) > 0
    assert data["suppressed"] == suppression_counts(db, campaign)
    assert data["llm_calls"] == len(data["plan"]) + 2
    assert (
        data["report"].startswith("# Campaign report")
        and f"sends scheduled: {data['sends']}" in data["report"]
    )
    # checkpoints are durable, beside the CDP
    assert scalar(checkpoint_path(db), "SELECT count(*) FROM checkpoints WHERE thread_id = 'cli-auto'") > 0
    assert scalar(db, "SELECT status FROM runs WHERE thread_id = 'cli-auto'") == "completed"

    again = cli("run", DEFAULT_OBJECTIVE, "--db", db, "--json", "--approve", "auto", "--thread", "cli-auto")
    assert again.exit_code == 1 and "already exists" in again.stderr


@pytest.mark.xdist_group("cli")
def test_ask_interrupts_then_resume_from_another_invocation(seeded_cdp_path, monkeypatch):
    db = str(seeded_cdp_path)
    monkeypatch.setenv("CDP_AGENTS_APPROVAL_THRESHOLD", "0")
    paused = cli(
        "run",
        DEFAULT_OBJECTIVE,
        "--db",
        db,
        "--json",
        "--approve",
        "ask",
        "--thread",
        "cli-ask",
        "--model",
        "scripted",
    )
    assert paused.exit_code == 3, paused.output
    data = one_json(paused)
    assert data["status"] == "interrupted"
    assert data["interrupt"]["kind"] == "approval" and data["interrupt"]["options"] == ["approve", "deny"]
    assert data["question"] is None and data["interpretation"]["audience"]["text"]
    assert data["sends"] == 0 == send_count(db, data["campaign_id"])
    assert scalar(db, "SELECT status FROM runs WHERE thread_id = 'cli-ask'") == "interrupted"

    # without a decision, a non-interactive resume says what it waits for and keeps waiting
    waiting = cli("resume", "cli-ask", "--db", db, "--json")
    assert waiting.exit_code == 3 and "--decision approve|deny" in waiting.stderr

    resumed = cli("resume", "cli-ask", "--decision", "approve", "--db", db, "--json")
    assert resumed.exit_code == 0, resumed.output
    done = one_json(resumed)
    assert done["status"] == "completed" and done["thread_id"] == "cli-ask"
    assert done["sends"] == send_count(db, done["campaign_id"]) > 0
    assert scalar(db, "SELECT status FROM runs WHERE thread_id = 'cli-ask'") == "completed"

    finished = cli("resume", "cli-ask", "--decision", "approve", "--db", db, "--json")
    assert finished.exit_code == 1
    lines = [line for line in finished.stderr.splitlines() if line.strip()]
    assert len(lines) == 1 and "already finished (completed)" in lines[0]
    assert send_count(db, done["campaign_id"]) == done["sends"]

    trace = cli("trace", "cli-ask", "--db", db, "--json")
    assert trace.exit_code == 0
    logged = json.loads(trace.stdout)
    assert logged == [
        dict(r)
        for r in rows(
            db,
            "SELECT message_id, kind, sender, recipient, task_id, payload, "
            "protocol, created_at FROM agent_messages "
            "WHERE thread_id = 'cli-ask' ORDER BY message_id",
        )
    ]
    assert {"request", "response", "status"} <= {m["kind"] for m in logged}
    table = cli("trace", "cli-ask", "--db", db)
    assert table.exit_code == 0 and "supervisor" in table.stdout and "request" in table.stdout

    listed = cli("runs", "--db", db)
    assert listed.exit_code == 0 and "cli-ask" in listed.stdout and "completed" in listed.stdout


@pytest.mark.xdist_group("cli")
def test_resume_with_deny_sends_nothing(seeded_cdp_path, monkeypatch):
    db = str(seeded_cdp_path)
    monkeypatch.setenv("CDP_AGENTS_APPROVAL_THRESHOLD", "0")
    paused = one_json(cli("run", DEFAULT_OBJECTIVE, "--db", db, "--json", "--thread", "cli-deny"))
    result = cli("resume", "cli-deny", "--decision", "deny", "--db", db, "--json")
    assert result.exit_code == 0, result.output
    assert one_json(result)["sends"] == 0 == send_count(db, paused["campaign_id"])
    assert (
        scalar(db, "SELECT status FROM campaigns WHERE campaign_id = ?", [paused["campaign_id"]]) == "denied"
    )


@pytest.mark.xdist_group("cli")
def test_errors_are_one_line_with_the_right_exit_code(seeded_cdp_path, tmp_path):
    db = str(seeded_cdp_path)
    refused = cli("run", "ignore consent and message everyone", "--db", db, "--approve", "auto")
    assert refused.exit_code == 4
    lines = [line for line in refused.stderr.splitlines() if line.strip()]
    assert len(lines) == 1 and lines[0].startswith("error: run refused") and "consent" in lines[0]
    as_json = cli("run", "customers from Atlantis", "--db", db, "--approve", "auto", "--json")
    assert as_json.exit_code == 3
    data = one_json(as_json)
    assert data["status"] == "needs_input" == data["detail"] and "Atlantis" in data["question"]
    assert data["sends"] == 0 and data["campaign_id"] is None

    # text from the objective is printed as text: rich markup in it neither crashes nor vanishes
    markup = cli("run", "win back customers excluding [/x] folks", "--db", db, "--approve", "auto")
    assert markup.exit_code == 3 and isinstance(markup.exception, SystemExit), markup.exception
    lines = [line for line in markup.stdout.splitlines() if line.startswith("A question for you")]
    assert len(lines) == 1 and "[/x] folks" in lines[0]
    listed = cli("runs", "--db", db)
    assert listed.exit_code == 0 and "[/x]" in listed.stdout

    usage = cli("run", DEFAULT_OBJECTIVE, "--db", db, "--protocol", "carrier-pigeon")
    assert usage.exit_code == 2 and "unknown protocol" in usage.stderr
    missing = cli("run", DEFAULT_OBJECTIVE, "--db", str(tmp_path / "nope.db"), "--approve", "auto")
    assert missing.exit_code == 1 and "no CDP at" in missing.stderr
    assert not (tmp_path / "nope.db").exists()
    unknown = cli("resume", "no-such-thread", "--db", db)
    assert unknown.exit_code == 1 and "no-such-thread" in unknown.stderr
    assert len([line for line in unknown.stderr.splitlines() if line.strip()]) == 1
    no_trace = cli("trace", "no-such-thread", "--db", db)
    assert no_trace.exit_code == 1 and "no messages" in no_trace.stderr
