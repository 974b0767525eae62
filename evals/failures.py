"""Why a run missed, as one of a closed set of classes (`evals.report.FAILURES`), read from what the
run left: the exception it raised, its final state (status, plan, error), the `runs` row and the
failed-task messages in `agent_messages`, and the model calls the run's `CallLog` observed.

The order is the order in which a run goes wrong: an endpoint that failed, a refusal, no valid plan,
a question where a plan was due (or the other way round), a plan whose reading differs from the
words, then a task that failed for good (its error says whether the step budget ran out, and the
specialist's replies say whether that was because they carried no tool calls).
"""

from __future__ import annotations

import json
import sqlite3
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from evals.calls import CallLog
from evals.table import Row

#: Words in a failed task's error that mean the model endpoint, not the model, failed.
_ENDPOINT_WORDS = ("Timeout", "APIConnectionError", "ConnectionError", "unreachable", "timed out")
_STEP_BUDGET = "StepBudgetExceeded"


@dataclass(frozen=True)
class TaskFailure:
    agent: str
    task_id: str
    error: str


def _line(text: Any, limit: int = 300) -> str:
    return " ".join(str(text or "").split())[:limit]


def task_failures(db_path: str | Path, thread_id: str) -> list[TaskFailure]:
    """Tasks that failed in this run, from the status messages the specialists' error handler wrote."""
    conn = sqlite3.connect(str(db_path))
    try:
        found = conn.execute(
            "SELECT sender, task_id, payload FROM agent_messages WHERE thread_id = ? AND kind = 'status' "
            "ORDER BY message_id",
            [thread_id],
        ).fetchall()
    finally:
        conn.close()
    out = []
    for sender, task_id, payload in found:
        data = json.loads(payload or "{}")
        if data.get("status") == "failed":
            out.append(TaskFailure(sender, task_id or "", str(data.get("error") or "")))
    return out


def run_status(db_path: str | Path, thread_id: str) -> str | None:
    """The run's status as the `runs` table records it (None before planning wrote the row)."""
    conn = sqlite3.connect(str(db_path))
    try:
        row = conn.execute("SELECT status FROM runs WHERE thread_id = ?", [thread_id]).fetchone()
    finally:
        conn.close()
    return str(row[0]) if row else None


def raised(exc: BaseException) -> tuple[str, str]:
    """The class of a run that raised `exc` out of the graph."""
    from llm.loader import endpoint_problem, is_transient_error

    if endpoint_problem(exc) is not None or is_transient_error(exc):
        # The endpoint's own errors name the endpoint; anything else (a model a factory built) names itself.
        from_client = type(exc).__module__.startswith("openai")
        return "timeout", (endpoint_problem(exc) if from_client else None) or _line(
            f"{type(exc).__name__}: {exc}"
        )
    seen: BaseException | None = exc
    while seen is not None:
        if type(seen).__name__ == _STEP_BUDGET:
            return "step_budget", _line(seen)
        seen = seen.__cause__ or seen.__context__
    return "error", _line(f"{type(exc).__name__}: {exc}")


def _failed_tasks(failures: list[TaskFailure], calls: CallLog, error: str) -> tuple[str, str]:
    budget = [f for f in failures if _STEP_BUDGET in f.error]
    if budget:
        agents = {f.agent for f in budget}
        replies = calls.tool_replies(agents)
        textual = [c for c in replies if c.tool_calls == 0]
        who = ", ".join(sorted(agents))
        if replies and 2 * len(textual) >= len(replies):
            example = next((c.text for c in textual if c.text.strip()), "")
            shown = f" (e.g. {_line(example, 80)!r})" if example else " (empty replies)"
            return (
                "tool_call_format",
                f"{len(textual)} of {len(replies)} replies of {who} carried no tool call{shown}",
            )
        return "step_budget", f"{who}: {_line(budget[0].error)}"
    endpoint = [f for f in failures if any(w in f.error for w in _ENDPOINT_WORDS)]
    if endpoint:
        return "timeout", f"{endpoint[0].agent}: {_line(endpoint[0].error)}"
    if failures:
        return "error", f"task {failures[0].task_id} ({failures[0].agent}): {_line(failures[0].error)}"
    return "error", _line(error) or "the run failed without an error"


def classify(
    row: Row,
    state: dict[str, Any],
    verdict: str,
    why: str,
    *,
    launched: bool,
    calls: CallLog,
    failures: list[TaskFailure],
) -> tuple[str | None, str]:
    """(failure class or None, one-line detail) for a run that returned (did not raise).

    `verdict` and `why` are `evals.table.judge`'s; `launched` says the run was meant to go through
    launch, so it must also have completed.
    """
    status = state.get("status")
    error = state.get("error") or ""
    if status == "refused":
        return "refused", _line(error)
    if status == "failed" and not state.get("plan"):
        return "invalid_plan", _line(error)
    if row.question is not None:
        if verdict == "exact":
            return None, ""
        if status == "needs_input":
            return "wrong_question", _line(why)
        if status == "failed":
            return _failed_tasks(failures, calls, error)
        return "no_question", _line(why)
    if status == "needs_input":
        return "wrong_question", _line(why)
    if verdict != "exact":
        return "wrong_filter", _line(why)
    if launched and status != "completed":
        return _failed_tasks(failures, calls, error or f"the run ended {status!r}")
    return None, ""
