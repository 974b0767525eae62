"""Conflict resolution: priority rules, then expected value, then a person."""

from __future__ import annotations

import json
from typing import Any, Literal

from langchain_core.runnables import RunnableConfig
from langgraph.runtime import Runtime
from langgraph.types import Command, interrupt

from cdp import clock
from cdp.db import cdp_session
from graph.conflicts import conservative, open_conflicts, resolve_by_rule, resolve_by_score
from graph.context import Context
from graph.messages import HUMAN, SUPERVISOR, record_message
from graph.run_info import thread_id_of
from graph.state import OrchestratorState

#: How a resolved decision changes the campaign.
APPLY = {
    "audience_size": "UPDATE campaigns SET max_audience = ? WHERE campaign_id = ?",
    "budget": "UPDATE campaigns SET budget = ? WHERE campaign_id = ?",
    "discount_depth": "UPDATE campaigns SET discount_pct = ? WHERE campaign_id = ?",
}


def resolve(
    state: OrchestratorState, runtime: Runtime[Context], config: RunnableConfig
) -> Command[Literal["dispatch"]]:
    ctx = runtime.context or Context()
    thread_id = thread_id_of(config, state.get("objective", ""))
    resolutions: list[dict[str, Any]] = []
    messages: list[dict[str, Any]] = []
    for conflict in open_conflicts(state.get("proposals") or [], state.get("resolutions") or []):
        outcome = resolve_by_rule(conflict, ctx.priorities()) or resolve_by_score(conflict)
        if outcome is None:
            if ctx.approval == "ask":
                options = tuple(p["agent"] for p in conflict["proposals"])
                answer = interrupt(
                    {
                        "kind": "conflict",
                        "question": f"Agents disagree on {conflict['decision_key']}: which proposal wins?",
                        "options": list(options),
                        "proposals": conflict["proposals"],
                    }
                )
                pick = str(answer.get("decision") if isinstance(answer, dict) else answer).strip().lower()
                chosen = next(
                    (p for p in conflict["proposals"] if p["agent"] == pick), conservative(conflict)
                )
                outcome = {
                    "winner": chosen,
                    "resolved_by": HUMAN,
                    "reasons": f"a person chose {chosen['agent']}",
                }
            else:
                chosen = conservative(conflict)
                outcome = {
                    "winner": chosen,
                    "resolved_by": "conservative-default",
                    "reasons": "no rule or score decided it and nobody could be asked: the smaller value",
                }
        winner = outcome["winner"]
        record = {
            "conflict_id": conflict["conflict_id"],
            "decision_key": conflict["decision_key"],
            "proposals": [
                {k: p.get(k) for k in ("agent", "value", "rationale", "expected_value")}
                for p in conflict["proposals"]
            ],
            "winner": winner["agent"],
            "value": winner["value"],
            "resolved_by": outcome["resolved_by"],
            "reasons": outcome["reasons"],
        }
        resolutions.append(record)
        with cdp_session(ctx.db_path) as db:
            with db.conn:
                db.execute(
                    "INSERT OR IGNORE INTO conflicts (conflict_id, thread_id, decision_key, proposals, resolution, "
                    "resolved_by, winner, reasons, created_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)",
                    [
                        record["conflict_id"],
                        thread_id,
                        record["decision_key"],
                        json.dumps(record["proposals"]),
                        json.dumps(winner["value"]),
                        record["resolved_by"],
                        record["winner"],
                        record["reasons"],
                        clock.now_iso(db),
                    ],
                )
                sql = APPLY.get(conflict["decision_key"])
                if sql:
                    db.execute(sql, [winner["value"], state["campaign_id"]])
            messages.append(
                record_message(
                    db,
                    thread_id=thread_id,
                    kind="status",
                    sender=SUPERVISOR,
                    recipient=winner["agent"],
                    task_id=None,
                    payload={
                        "summary": f"conflict on {record['decision_key']} resolved by {record['resolved_by']}: "
                        f"{record['winner']} ({record['value']})",
                        "conflict": record["conflict_id"],
                    },
                    protocol=ctx.protocol,
                    dedupe_key=f"conflict:{record['conflict_id']}",
                )
            )
    return Command(goto="dispatch", update={"resolutions": resolutions, "messages": messages})
