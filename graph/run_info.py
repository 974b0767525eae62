"""Identity of a run: thread id, campaign id, and the CDP handle a node works with."""

from __future__ import annotations

import hashlib
from contextlib import contextmanager

from langchain_core.runnables import RunnableConfig

from cdp.db import open_cdp


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


@contextmanager
def cdp_session(path: str):
    """A connection for one node run, always closed (nodes run in a thread pool)."""
    db = open_cdp(path)
    try:
        yield db
    finally:
        db.conn.close()
