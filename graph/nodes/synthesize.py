"""Synthesizer: one model call for the narrative, facts assembled in code, run status recorded."""

from __future__ import annotations

import json
from typing import Any

from langchain_core.messages import HumanMessage, SystemMessage
from langchain_core.runnables import RunnableConfig
from langgraph.runtime import Runtime

from cdp import status as cdp_status
from cdp.db import cdp_session
from cdp.redact import redact_json_text
from graph.context import Context
from graph.run_info import thread_id_of, upsert_run
from graph.state import OrchestratorState
from prompts import load_prompt
from report.facts import facts_markdown, run_facts


def final_status(state: OrchestratorState) -> str:
    status = state.get("status") or "failed"
    if status != "running":
        return status
    statuses = (state.get("task_status") or {}).values()
    return "completed" if statuses and all(s == "done" for s in statuses) else "failed"


def synthesize(state: OrchestratorState, runtime: Runtime[Context], config: RunnableConfig) -> dict[str, Any]:
    ctx = runtime.context or Context()
    status = final_status(state)
    thread_id = thread_id_of(config, state.get("objective", ""))
    with cdp_session(ctx.db_path) as db:
        facts = run_facts(db, dict(state), status)
        calls = 0
        narrative = state.get("error") or ""
        if state.get("plan"):
            model = ctx.chat_model()
            reply = model.invoke(
                [
                    SystemMessage(load_prompt("synthesizer")),
                    HumanMessage(redact_json_text(json.dumps(facts, default=str))),
                ]
            )
            calls = 1
            narrative = str(reply.content or "").strip() or narrative
        report = facts_markdown(facts, narrative)
        if state.get("campaign_id") and status != "completed":
            # A campaign that never launched ends with the run; a scheduled one keeps its sends.
            with db.conn:
                cdp_status.set_campaign_status(
                    db, state["campaign_id"], status, only_from=("draft", "planned", "denied", status)
                )
        upsert_run(db, thread_id, state.get("objective", ""), status, ctx, state.get("campaign_id"))
    return {"status": status, "narrative": narrative, "report": report, "llm_calls": calls}
