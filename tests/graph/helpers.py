"""Helpers for graph tests: compile and run the orchestrator on a CDP file, read what it left behind.

Every check reads the CDP with plain SQL on a fresh connection, so an assertion never relies on the
code under test to report its own results.
"""

from __future__ import annotations

import itertools
import json
import sqlite3
import threading
from collections.abc import Callable, Iterable
from pathlib import Path
from typing import Any

from langgraph.checkpoint.base import BaseCheckpointSaver
from langgraph.checkpoint.memory import InMemorySaver
from langgraph.graph.state import CompiledStateGraph

from evals.table import HIGH_VALUE_SQL as HIGH_VALUE_SQL
from graph.context import Context
from graph.graph import RECURSION_LIMIT, builder
from llm.scripted import ScriptedChatModel, ScriptedRequest, default_responder

DEFAULT_OBJECTIVE = "launch a holiday retention campaign for at-risk premium customers"

_threads = itertools.count(1)


def new_thread(prefix: str = "t") -> str:
    return f"{prefix}-{next(_threads)}"


def compile_graph(checkpointer: BaseCheckpointSaver | None = None) -> CompiledStateGraph[Any, Any, Any, Any]:
    """The real graph, compiled with a checkpointer of the test's choosing (in memory by default)."""
    return builder.compile(checkpointer=checkpointer or InMemorySaver())


def config_for(thread_id: str, **extra: Any) -> dict[str, Any]:
    return {"configurable": {"thread_id": thread_id}, "recursion_limit": RECURSION_LIMIT, **extra}


def run(
    graph: CompiledStateGraph[Any, Any, Any, Any],
    payload: Any,
    db_path: str | Path,
    thread_id: str,
    *,
    config: dict[str, Any] | None = None,
    **context: Any,
) -> dict[str, Any]:
    """Invoke (or resume, when `payload` is a `Command`) one run to its end or its next interrupt."""
    ctx = Context(db_path=str(db_path), **{"approval": "auto", **context})
    inp = {"objective": payload} if isinstance(payload, str) else payload
    out: dict[str, Any] = graph.invoke(  # type: ignore[call-overload]
        inp, config or config_for(thread_id), context=ctx, durability="sync"
    )
    return out


# ------------------------------------------------------------------------------------------------ SQL


def connect(db_path: str | Path) -> sqlite3.Connection:
    conn = sqlite3.connect(str(db_path), timeout=30)
    conn.row_factory = sqlite3.Row
    return conn


def rows(db_path: str | Path, sql: str, params: Iterable[Any] = ()) -> list[sqlite3.Row]:
    conn = connect(db_path)
    try:
        return conn.execute(sql, list(params)).fetchall()
    finally:
        conn.close()


def scalar(db_path: str | Path, sql: str, params: Iterable[Any] = ()) -> Any:
    found = rows(db_path, sql, params)
    return found[0][0] if found else None


def ids(db_path: str | Path, sql: str, params: Iterable[Any] = ()) -> set[str]:
    return {r[0] for r in rows(db_path, sql, params)}


def find_campaign(db_path: str | Path, thread_id: str) -> sqlite3.Row | None:
    found = rows(db_path, "SELECT * FROM campaigns WHERE thread_id = ?", [thread_id])
    return found[0] if found else None


def campaign_of(db_path: str | Path, thread_id: str) -> sqlite3.Row:
    """The run's campaign row (the run must have made one)."""
    found = find_campaign(db_path, thread_id)
    assert found is not None, f"thread {thread_id} made no campaign"
    return found


def send_count(db_path: str | Path, campaign_id: str) -> int:
    return int(scalar(db_path, "SELECT count(*) FROM sends WHERE campaign_id = ?", [campaign_id]))


def sends_without_consent(db_path: str | Path, campaign_id: str | None = None) -> int:
    """Sends whose customer has no granted consent row for the send's channel (must always be 0)."""
    where = "WHERE s.campaign_id = ?" if campaign_id else ""
    return int(
        scalar(
            db_path,
            f"""SELECT count(*) FROM sends s LEFT JOIN consents c
            ON c.profile_id = s.profile_id AND c.channel = s.channel AND c.status = 'granted'
            {where} {"AND" if where else "WHERE"} c.profile_id IS NULL""",
            [campaign_id] if campaign_id else [],
        )
    )


def sends_without_consent_at_send_time(db_path: str | Path, campaign_id: str) -> int:
    """Sends whose customer's consent for the channel, as of the moment the send was created
    (consent_history), was not granted. Unlike `sends_without_consent`, a customer who unsubscribed
    after a message reached them does not count (the simulated lifecycle makes some do so)."""
    return int(
        scalar(
            db_path,
            """SELECT count(*) FROM sends s WHERE s.campaign_id = ? AND COALESCE((
                   SELECT h.status FROM consent_history h WHERE h.profile_id = s.profile_id
                   AND h.channel = s.channel AND h.updated_at <= s.created_at
                   ORDER BY h.updated_at DESC, h.history_id DESC LIMIT 1), 'none') != 'granted'""",
            [campaign_id],
        )
    )


def segment_members(db_path: str | Path, segment_id: str) -> set[str]:
    return ids(db_path, "SELECT profile_id FROM segment_members WHERE segment_id = ?", [segment_id])


def messages(db_path: str | Path, thread_id: str) -> list[dict[str, Any]]:
    found = rows(db_path, "SELECT * FROM agent_messages WHERE thread_id = ? ORDER BY message_id", [thread_id])
    return [{**dict(r), "payload": json.loads(r["payload"])} for r in found]


def suppression_counts(db_path: str | Path, campaign_id: str) -> dict[str, int]:
    found = rows(
        db_path, "SELECT reason_code, count(*) FROM decisions WHERE campaign_id = ? GROUP BY 1", [campaign_id]
    )
    return {r[0]: r[1] for r in found}


# ------------------------------------------------------------------------------------ fault injection


def one_tool_per_turn(request: ScriptedRequest, roles: tuple[str, ...] | None = None) -> Any:
    """The scripted answer, one tool call per model call, as small real models work: the first call
    the conversation has not answered yet, else the last one (`finish`). `roles` limits it to those
    agents; answers without tool calls (plans, reports) pass unchanged."""
    answer = default_responder(request)
    if not isinstance(answer, dict) or "tool_calls" not in answer:
        return answer
    if roles is not None and request.role not in roles:
        return answer
    done = {m.name for m in request.tool_results()}
    pending = [c for c in answer.get("tool_calls") or [] if c["name"] not in done]
    return {**answer, "tool_calls": pending[:1] or answer["tool_calls"][-1:]}


class FaultyModels:
    """A model factory (`Context(model_factory=...)`): scripted models whose answers fail when
    `fails(request, n)` says so. The supervisor and synthesizer are spared unless `spare=()`, so a
    plan and a report always exist.

    `n` counts earlier calls of the same role across every model it built (each model step builds
    its model afresh), so "fail the first activation call only" is `lambda r, n: n == 0`.
    """

    def __init__(
        self,
        fails: Callable[[ScriptedRequest, int], BaseException | None],
        spare: tuple[str, ...] = ("supervisor", "synthesizer"),
    ):
        self.fails = fails
        self.spare = spare
        self.calls: list[str] = []
        self._lock = threading.Lock()

    def respond(self, request: ScriptedRequest) -> Any:
        if request.role in self.spare:
            return default_responder(request)
        with self._lock:
            seen = self.calls.count(request.role or "")
            self.calls.append(request.role or "")
        error = self.fails(request, seen)
        if error is not None:
            raise error
        return default_responder(request)

    def __call__(self, name: str | None = None, **_: Any) -> ScriptedChatModel:
        import llm.scripted.roles  # noqa: F401  (registers the scripted answers of every role)

        return ScriptedChatModel(self.respond)


def unreachable_models(name: str | None = None, **_: Any) -> ScriptedChatModel:
    """A model factory whose specialists' endpoint is down (for the CLI: CDP_AGENTS_MODEL_FACTORY)."""
    return FaultyModels(lambda r, n: RuntimeError(f"the {r.role} model is unreachable"))()
