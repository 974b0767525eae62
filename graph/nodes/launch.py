"""Launch: approval for high-impact sends, then the contact-policy gate schedules them.

The dispatcher routes here while a `launch_request` waits; launch consumes it (sets it back to None)
and writes its `LaunchOutcome` into `launch`. Nothing before the `interrupt()` writes anything, and
the gate is idempotent, so a resumed or re-run launch never sends twice. The gate reads consent, complaints and suppression traits at the
moment it runs, so a complaint that arrives while the run waits for approval still stops that
customer's message.
"""

from __future__ import annotations

from typing import Any, Literal

from langchain_core.runnables import RunnableConfig
from langgraph.runtime import Runtime
from langgraph.types import Command, interrupt

from cdp import status as cdp_status
from cdp.db import cdp_session
from cdp.gate import run_gate
from graph.approval import read_decision
from graph.context import Context
from graph.messages import HUMAN, SUPERVISOR, record_message
from graph.run_info import thread_id_of
from graph.state import LaunchOutcome, OrchestratorState
from graph.understanding import audience_warning


def audience_size_of(state: OrchestratorState) -> int | None:
    """The audience the audience task saved, as its outputs count it."""
    for result in (state.get("results") or {}).values():
        outputs = result.get("outputs") or {}
        if result.get("status") == "done" and "audience_size" in outputs:
            return int(outputs["audience_size"])
    return None


def launch_warnings(
    db, state: OrchestratorState, interpretation: dict[str, Any], share: float
) -> list[dict[str, str]]:
    """The plan's warnings plus `large_audience`, which only launch can judge (the size is known now)."""
    warnings = [dict(w) for w in interpretation.get("warnings") or []]
    size = audience_size_of(state)
    if size is not None:
        customers = int(db.execute("SELECT count(*) FROM profiles").fetchone()[0])
        found = audience_warning(size, customers, share)
        if found is not None and all(w.get("code") != found.code for w in warnings):
            warnings.append(found.model_dump())
    return warnings


def launch(
    state: OrchestratorState, runtime: Runtime[Context], config: RunnableConfig
) -> Command[Literal["dispatch"]]:
    ctx = runtime.context or Context()
    request = state.get("launch_request")
    if not request:
        return Command(goto="dispatch")
    tid = request["task_id"]
    result = state["results"][tid]
    campaign_id = state["campaign_id"]
    preview = request.get("preview") or {}
    planned = int(preview.get("scheduled") or 0)
    thread_id = thread_id_of(config, state.get("objective", ""))
    interpretation = dict(state.get("interpretation") or {})
    with cdp_session(ctx.db_path) as db:
        warnings = launch_warnings(db, state, interpretation, ctx.audience_warn_share)
    decision, decided_by = "approve", "auto"
    if ctx.approval == "deny":
        decision, decided_by = "deny", "setting"
    elif warnings or (ctx.approval == "ask" and planned > ctx.approval_threshold):
        # A warning always waits for a person: `--approve auto` never answers this interrupt.
        question = f"Schedule {planned:,} messages for campaign {campaign_id}?"
        if warnings:
            question += " Warnings: " + " ".join(w["message"] for w in warnings)
        answer = interrupt(
            {
                "kind": "approval",
                "question": question,
                "options": ["approve", "deny"],
                "campaign_id": campaign_id,
                "preview": preview,
                "interpretation": {**interpretation, "warnings": warnings},
                "warnings": warnings,
            }
        )
        decision, decided_by = read_decision(answer), HUMAN
    messages: list[dict[str, Any]] = []
    launch_info = LaunchOutcome(decision=decision, decided_by=decided_by)  # type: ignore[typeddict-item]
    with cdp_session(ctx.db_path) as db:
        if decision == "approve":
            gate = run_gate(db, campaign_id, step=0, policy=ctx.policy())
            launch_info.update(gate.to_dict())  # type: ignore[typeddict-item]
        with db.conn:
            cdp_status.set_campaign_status(
                db, campaign_id, "scheduled" if decision == "approve" else "denied"
            )
        messages.append(
            record_message(
                db,
                thread_id=thread_id,
                kind="status",
                sender=SUPERVISOR,
                recipient="activation",
                task_id=tid,
                payload={
                    "summary": f"launch {decision} ({decided_by}): {launch_info.get('scheduled', 0)} scheduled",
                    "decision": decision,
                },
                protocol=ctx.protocol,
                dedupe_key=f"launch:{tid}",
            )
        )
    outputs = {**(result.get("outputs") or {}), "launched": True, "decision": decision}
    return Command(
        goto="dispatch",
        update={
            "launch_request": None,
            "launch": launch_info,
            "results": {tid: {**result, "outputs": outputs}},
            "messages": messages,
        },
    )
