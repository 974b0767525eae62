"""Identity of a run: its thread id, the campaign id derived from it, and its row in `runs`."""

from __future__ import annotations

import hashlib
import json

from langchain_core.runnables import RunnableConfig

from cdp import status as cdp_status
from graph.context import Context


def thread_id_of(config: RunnableConfig | None, objective: str = "") -> str:
    """The run's thread id; a run without a checkpointer gets one derived from its objective."""
    configurable = (config or {}).get("configurable") or {}
    tid = configurable.get("thread_id")
    if tid:
        return str(tid)
    return "adhoc-" + hashlib.sha1(objective.encode()).hexdigest()[:12]


def campaign_id_for(thread_id: str) -> str:
    """One campaign per thread, with a stable id, so a resumed run never creates a second one."""
    return "cmp_" + hashlib.sha1(thread_id.encode()).hexdigest()[:12]


def upsert_run(
    db, thread_id: str, objective: str, status: str, ctx: Context, campaign_id: str | None
) -> None:
    """Record the run and the settings it started with (kept on later updates, read by `resume`)."""
    settings = json.dumps(ctx.settings(), sort_keys=True, default=str)
    with db.conn:
        cdp_status.record_run(
            db,
            thread_id,
            status,
            objective=objective,
            protocol=ctx.protocol,
            model=ctx.model,
            campaign_id=campaign_id,
            settings=settings,
        )
