"""A task's one CDP connection under hostile use: read tools that try to write, write tools that fail
half-way, calls of one step running in threads, and model-written fields the tools must ignore.

Everything here held when it was written; each test can fail (it checks SQL or the result itself).
"""

from __future__ import annotations

import sqlite3
import threading
import uuid
from concurrent.futures import ThreadPoolExecutor
from typing import Any

import pytest
from pydantic import BaseModel

from agents.base import AgentEnv
from agents.coordination import propose_tool
from cdp import tools_base
from cdp.tools_base import ToolSession, close_session, wrap_tool


class NoArgs(BaseModel):
    pass


def _count(path, table: str = "task_notes") -> int:
    conn = sqlite3.connect(str(path))
    try:
        return int(conn.execute(f"SELECT count(*) FROM {table}").fetchone()[0])
    finally:
        conn.close()


def _note_insert(db: Any) -> None:
    db.execute(
        "INSERT INTO task_notes (thread_id, task_id, agent, key, value, created_at) "
        "VALUES ('t', 'x', 'a', ?, '1', '2026-11-24T12:00:00Z')",
        [uuid.uuid4().hex],
    )


def _session(path, task: str = "t1") -> ToolSession:
    return ToolSession(db_path=str(path), thread_id="atk", task_id=task, agent="audience")


def test_a_read_tool_cannot_write_and_the_next_write_tool_can(cdp_path):
    session = _session(cdp_path)

    def sneaky(db, _):
        _note_insert(db)
        db.conn.commit()
        return {"ok": True}

    def honest(db, _):
        with db.conn:
            db.execute(
                "INSERT INTO task_notes (thread_id, task_id, agent, key, value, created_at) "
                "VALUES ('t', 'x', 'a', 'honest', '1', '2026-11-24T12:00:00Z')"
            )
        return {"ok": True}

    read = wrap_tool(session, sneaky, NoArgs, name="sneaky", description="d", write=False)
    write = wrap_tool(session, honest, NoArgs, name="honest", description="d", write=True)
    try:
        with pytest.raises(sqlite3.OperationalError, match="readonly"):
            read.invoke({})
        assert _count(cdp_path) == 0
        assert write.invoke({}) == {"ok": True}
        assert _count(cdp_path) == 1
        db, _lock = tools_base._OPEN[session]
        assert db.execute("PRAGMA query_only").fetchone()[0] == 0
    finally:
        close_session(session)
    assert session not in tools_base._OPEN


@pytest.mark.xfail(
    strict=True,
    reason="a write tool's call is not one transaction: sqlite-utils commits each write statement run "
    "outside `with db.conn`, so the rollback in session_db finds nothing open and a write made before "
    "the tool failed stays committed",
)
def test_a_failed_write_tool_leaves_none_of_its_writes(cdp_path):
    session = _session(cdp_path)

    def half_then_fail(db, _):
        _note_insert(db)  # opens an implicit transaction, never committed
        raise ValueError("refused half-way")

    def commits(db, _):
        db.conn.commit()  # would commit whatever a previous call left open
        return {"ok": True}

    failing = wrap_tool(session, half_then_fail, NoArgs, name="half", description="d", write=True)
    later = wrap_tool(session, commits, NoArgs, name="later", description="d", write=True)
    try:
        assert failing.invoke({}) == "Error: refused half-way"
        assert later.invoke({}) == {"ok": True}
        assert _count(cdp_path) == 0
    finally:
        close_session(session)


def test_calls_of_one_step_in_threads_take_turns_on_the_connection(cdp_path):
    session = _session(cdp_path)
    inside = {"now": 0, "max": 0}
    lock = threading.Lock()

    def slow_write(db, _):
        with lock:
            inside["now"] += 1
            inside["max"] = max(inside["max"], inside["now"])
        try:
            with db.conn:
                _note_insert(db)
                db.execute("UPDATE task_notes SET key = key || '.' WHERE rowid = last_insert_rowid()")
        finally:
            with lock:
                inside["now"] -= 1
        return {"ok": True}

    tools = [
        wrap_tool(session, slow_write, NoArgs, name=f"w{i}", description="d", write=True) for i in range(8)
    ]
    try:
        # As ToolNode runs one step's calls: each in a worker thread.
        with ThreadPoolExecutor(max_workers=8) as pool:
            out = list(pool.map(lambda t: t.invoke({}), tools))
    finally:
        close_session(session)
    assert out == [{"ok": True}] * 8
    assert inside["max"] == 1
    assert _count(cdp_path) == 8


def test_a_proposal_cannot_name_another_agent_or_task():
    env = AgentEnv(
        db_path=":memory:",
        thread_id="t",
        task_id="audience",
        agent="audience",
        campaign_id="",
        objective="",
        goal="",
    )
    result = propose_tool(env).invoke(
        {
            "decision_key": "budget",
            "value": 1e9,
            "rationale": "r",
            "agent": "compliance",
            "task_id": "compliance",
        }
    )
    assert result["agent"] == "audience" and result["task_id"] == "audience"
