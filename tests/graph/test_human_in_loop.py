"""Humans in the loop: a launch above the approval threshold pauses before any send; the gate reads the
CDP when the run resumes, so a complaint ingested during the pause still stops that customer."""

from __future__ import annotations

from typing import Any

import pytest
from langgraph.types import Command

from cdp import open_cdp
from cdp.ingest import ingest_events
from tests.graph.helpers import (
    DEFAULT_OBJECTIVE,
    campaign_of,
    compile_graph,
    messages,
    rows,
    run,
    scalar,
    send_count,
    sends_without_consent,
)

ASK: dict[str, Any] = {"approval": "ask", "approval_threshold": 0, "holdout_pct": 0.0}

#: Staged customers nothing else would stop: consented on the staged channel, no ticket, no complaint in
#: the window, not paused by customer service (and no holdout: ASK sets it to 0%).
CLEAN_STAGED = """
SELECT r.profile_id FROM send_requests r
JOIN customer_360 c ON c.profile_id = r.profile_id
JOIN consents k ON k.profile_id = r.profile_id AND k.channel = r.channel AND k.status = 'granted'
WHERE r.campaign_id = ? AND NOT c.open_ticket
  AND (c.days_since_complaint IS NULL OR c.days_since_complaint > 30)
  AND r.profile_id NOT IN (SELECT profile_id FROM traits WHERE name = 'suppress_promotions' AND value = '1')
ORDER BY r.profile_id
"""


def _pause(graph, path, thread: str) -> dict[str, Any]:
    state = run(graph, DEFAULT_OBJECTIVE, path, thread, **ASK)
    (interrupt,) = state["__interrupt__"]
    return {"state": state, "question": interrupt.value}


def test_launch_waits_for_approval_and_a_complaint_during_the_wait_counts(seeded_cdp_path):
    graph = compile_graph()
    thread = "hitl-approve"
    paused = _pause(graph, seeded_cdp_path, thread)
    question, campaign_id = paused["question"], paused["state"]["campaign_id"]
    assert question["kind"] == "approval" and question["options"] == ["approve", "deny"]
    assert question["campaign_id"] == campaign_id
    planned = question["preview"]["scheduled"]
    assert planned > 0 and f"Schedule {planned:,} messages" in question["question"]
    # paused before any send: requests are staged, nothing is scheduled
    assert send_count(seeded_cdp_path, campaign_id) == 0
    assert (
        scalar(seeded_cdp_path, "SELECT count(*) FROM send_requests WHERE campaign_id = ?", [campaign_id]) > 0
    )
    assert campaign_of(seeded_cdp_path, thread)["status"] == "planned"
    assert paused["state"]["task_status"]["results"] == "pending"

    # while the run waits, a staged customer complains
    clean = [r[0] for r in rows(seeded_cdp_path, CLEAN_STAGED, [campaign_id])]
    assert len(clean) >= 2
    complainer = clean[0]
    db = open_cdp(seeded_cdp_path)
    try:
        result = ingest_events(
            db,
            [{"profile_id": complainer, "type": "complaint", "properties": {"reason": "late delivery"}}],
            create_missing=False,
        )
    finally:
        db.conn.close()
    assert result.inserted == 1

    state = run(graph, Command(resume="approve"), seeded_cdp_path, thread, **ASK)
    assert state["status"] == "completed", state["report"]
    assert state["launch"]["decision"] == "approve" and state["launch"]["decided_by"] == "human"
    sends = send_count(seeded_cdp_path, campaign_id)
    assert sends == planned - 1 == state["launch"]["scheduled"]
    assert not rows(
        seeded_cdp_path,
        "SELECT 1 FROM sends WHERE campaign_id = ? AND profile_id = ?",
        [campaign_id, complainer],
    )
    (decision,) = rows(
        seeded_cdp_path,
        "SELECT reason_code, outcome FROM decisions WHERE campaign_id = ? AND profile_id = ?",
        [campaign_id, complainer],
    )
    assert decision["reason_code"] == "recent_complaint"
    # everyone else who was clean got their message
    others = set(clean[1:])
    sent = {
        r[0]
        for r in rows(seeded_cdp_path, "SELECT profile_id FROM sends WHERE campaign_id = ?", [campaign_id])
    }
    assert others <= sent
    assert sends_without_consent(seeded_cdp_path, campaign_id) == 0
    assert campaign_of(seeded_cdp_path, thread)["status"] == "scheduled"


@pytest.mark.parametrize("answer", ["deny", {"decision": "deny"}, "maybe later"])
def test_deny_sends_nothing(seeded_cdp_path, answer):
    graph = compile_graph()
    thread = f"hitl-deny-{answer if isinstance(answer, str) else 'dict'}"
    paused = _pause(graph, seeded_cdp_path, thread)
    campaign_id = paused["state"]["campaign_id"]
    state = run(graph, Command(resume=answer), seeded_cdp_path, thread, **ASK)
    assert state["launch"]["decision"] == "deny"
    assert send_count(seeded_cdp_path, campaign_id) == 0
    assert campaign_of(seeded_cdp_path, thread)["status"] == "denied"
    assert "launch decision: deny" in state["report"]
    log = messages(seeded_cdp_path, thread)
    assert [m for m in log if m["payload"].get("decision") == "deny"]


def test_below_the_threshold_nobody_is_asked(seeded_cdp_path):
    state = run(
        compile_graph(),
        DEFAULT_OBJECTIVE,
        seeded_cdp_path,
        "hitl-small",
        approval="ask",
        approval_threshold=10**6,
    )
    assert "__interrupt__" not in state
    assert state["status"] == "completed" and state["launch"]["decided_by"] == "auto"
    assert send_count(seeded_cdp_path, state["campaign_id"]) > 0


def test_deny_setting_never_sends(seeded_cdp_path):
    state = run(compile_graph(), DEFAULT_OBJECTIVE, seeded_cdp_path, "hitl-setting", approval="deny")
    assert "__interrupt__" not in state
    assert (state["launch"]["decision"], state["launch"]["decided_by"]) == ("deny", "setting")
    assert send_count(seeded_cdp_path, state["campaign_id"]) == 0
    assert campaign_of(seeded_cdp_path, "hitl-setting")["status"] == "denied"


def test_resuming_twice_never_sends_twice(seeded_cdp_path):
    """The launch node re-runs from its start on resume; the gate's idempotency keys keep one send each."""
    graph = compile_graph()
    thread = "hitl-twice"
    campaign_id = _pause(graph, seeded_cdp_path, thread)["state"]["campaign_id"]
    run(graph, Command(resume="approve"), seeded_cdp_path, thread, **ASK)
    first = send_count(seeded_cdp_path, campaign_id)
    state = run(graph, Command(resume="approve"), seeded_cdp_path, thread, **ASK)
    assert state["status"] == "completed"
    assert send_count(seeded_cdp_path, campaign_id) == first > 0
