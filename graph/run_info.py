"""Identity of a run: its thread id and the campaign id derived from it."""

from __future__ import annotations

import hashlib

from langchain_core.runnables import RunnableConfig


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
