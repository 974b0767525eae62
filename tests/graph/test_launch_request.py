"""The launch handshake travels in its own state channel: the activation task's `launch_request` waits
through the approval interrupt, launch consumes it and writes a typed outcome, and the statuses it moves
are the ones `cdp.status` allows. The synthesizer's narrative is kept in state as written."""

from __future__ import annotations

from typing import Any

import pytest
from langgraph.types import Command

from cdp import open_cdp
from graph.handoffs import launch_request_of
from graph.state import LaunchOutcome, LaunchRequest, OrchestratorState
from report.data import collect_report
from tests.graph.helpers import DEFAULT_OBJECTIVE, campaign_of, compile_graph, rows, run, scalar, send_count

ASK: dict[str, Any] = {"approval": "ask", "approval_threshold": 0, "holdout_pct": 0.0}


def test_a_request_only_for_a_done_task_that_stages_a_launch():
    staged = {"status": "done", "outputs": {"needs_launch": True, "staged": 7, "preview": {"scheduled": 5}}}
    assert launch_request_of("act", staged, campaign_id="c1") == LaunchRequest(
        task_id="act", campaign_id="c1", preview={"scheduled": 5}, staged=7
    )
    assert launch_request_of("act", {**staged, "status": "failed"}) is None
    assert launch_request_of("aud", {"status": "done", "outputs": {"audience_size": 3}}) is None
    launched = {**staged, "outputs": {**staged["outputs"], "launched": True}}
    assert launch_request_of("act", launched) is None


def test_state_declares_the_typed_channels():
    hints = OrchestratorState.__annotations__
    assert {"launch_request", "launch", "lifecycle", "narrative"} <= set(hints)
    assert "decision" in LaunchOutcome.__annotations__ and "scheduled" in LaunchOutcome.__annotations__


@pytest.mark.parametrize("decision, status", [("approve", "scheduled"), ("deny", "denied")])
def test_the_request_waits_through_approval_and_launch_consumes_it(seeded_cdp_path, decision, status):
    graph = compile_graph()
    thread = f"request-{decision}"
    paused = run(graph, DEFAULT_OBJECTIVE, seeded_cdp_path, thread, **ASK)
    (interrupt,) = paused["__interrupt__"]
    request = paused["launch_request"]
    tid = request["task_id"]
    outputs = paused["results"][tid]["outputs"]
    assert paused["results"][tid]["agent"] == "activation"
    assert request == {
        "task_id": tid,
        "campaign_id": paused["campaign_id"],
        "preview": outputs["preview"],
        "staged": outputs["staged"],
    }
    assert interrupt.value["preview"] == request["preview"]
    # the outputs the report and the tasks downstream read are unchanged
    assert outputs["needs_launch"] is True and "launched" not in outputs and "launch" not in paused
    assert campaign_of(seeded_cdp_path, thread)["status"] == "planned"
    assert scalar(seeded_cdp_path, "SELECT status FROM runs WHERE thread_id = ?", [thread]) == "running"

    done = run(graph, Command(resume=decision), seeded_cdp_path, thread, **ASK)
    assert done["launch_request"] is None
    assert done["launch"]["decision"] == decision and done["launch"]["decided_by"] == "human"
    after = done["results"][tid]["outputs"]
    assert after["launched"] is True and after["decision"] == decision
    assert campaign_of(seeded_cdp_path, thread)["status"] == status
    sends = send_count(seeded_cdp_path, done["campaign_id"])
    if decision == "approve":
        assert done["launch"]["scheduled"] == sends > 0
    else:
        assert sends == 0 and "scheduled" not in done["launch"]
    # launched once: one launch status message for the task
    launches = rows(
        seeded_cdp_path,
        "SELECT count(*) FROM agent_messages WHERE thread_id = ? AND dedupe_key = ?",
        [thread, f"launch:{tid}"],
    )
    assert launches[0][0] == 1
    assert scalar(seeded_cdp_path, "SELECT status FROM runs WHERE thread_id = ?", [thread]) == done["status"]


def test_the_narrative_is_kept_as_written_and_the_report_reads_it_from_state(seeded_cdp_path):
    graph = compile_graph()
    out = run(graph, DEFAULT_OBJECTIVE, seeded_cdp_path, "narrative")
    assert out["status"] == "completed"
    narrative = out["narrative"]
    assert narrative and narrative in out["report"]
    db = open_cdp(seeded_cdp_path)
    try:
        assert collect_report(db, "narrative", graph).narrative == narrative
        # a report over a checkpoint whose report was rewritten still shows the narrative as written
        graph.update_state({"configurable": {"thread_id": "narrative"}}, {"report": "# something else\n"})
        assert collect_report(db, "narrative", graph).narrative == narrative
    finally:
        db.conn.close()
