"""State of the orchestrator graph: ids, statuses, counts and short summaries only.

Audiences, variants and sends live in CDP tables, so a checkpoint stays a few KB whether the audience
is ten customers or a million. Reducers are named functions so their merge rule is documented.
"""

from __future__ import annotations

import operator
from typing import Annotated, Any, Literal

# pydantic (which builds the JSON schemas Studio shows) accepts only typing_extensions.TypedDict on 3.11.
from typing_extensions import TypedDict

RunStatus = Literal["planning", "running", "completed", "failed", "interrupted", "refused", "needs_input"]
TaskStatus = Literal["pending", "running", "done", "failed", "skipped"]


def merge_dicts(left: dict[str, Any] | None, right: dict[str, Any] | None) -> dict[str, Any]:
    """Merge per-task maps written by tasks running in parallel; the newer value of a key wins."""
    merged = dict(left or {})
    merged.update(right or {})
    return merged


MAX_LOGGED_MESSAGES = 200


def append_messages(left: list[dict] | None, right: list[dict] | None) -> list[dict]:
    """Append structured agent messages (short summaries; the full log is `agent_messages` in the CDP).

    Keeps the last 200 so a long run cannot grow the checkpoint without bound.
    """
    return [*(left or []), *(right or [])][-MAX_LOGGED_MESSAGES:]


def append_items(left: list[dict] | None, right: list[dict] | None) -> list[dict]:
    """Append proposals, resolutions or escalations from parallel tasks."""
    return [*(left or []), *(right or [])]


class TaskResult(TypedDict, total=False):
    """What one task left: who did it, how it ended, its typed outputs (ids and counts), its cost."""

    agent: str
    status: TaskStatus
    #: The agent's own two or three sentences (`finish`).
    summary: str
    #: What the task's tools did, read by code (`agents.base.Skill.collect`): ids, counts, labels.
    outputs: dict[str, Any]
    #: Why the task failed (type and message), when it did.
    error: str
    #: Agents that have attempted the task so far (1: the planned agent).
    attempts: int
    llm_calls: int
    #: Tools the agent called, in order.
    tools: list[str]
    #: A person decided what happens to the failed task (retry or skip).
    escalated: bool


class InputState(TypedDict):
    """What a caller gives: the objective in plain language."""

    objective: str


class OrchestratorState(TypedDict, total=False):
    """Everything the supervisor tracks between steps."""

    objective: str
    status: RunStatus
    #: The validated plan: list of PlannedTask dicts (id, agent, goal, inputs, depends_on, acceptance).
    plan: list[dict[str, Any]]
    plan_summary: str
    #: What each word of the objective was taken to mean (graph.plan.Interpretation as a dict), with
    #: code's warnings merged in: shown at approval, in the report and in `--json`.
    interpretation: dict[str, Any]
    #: The question for the marketer when planning ends with status `needs_input`.
    question: str
    campaign_id: str
    #: Per task: pending/running/done/failed/skipped.
    task_status: Annotated[dict[str, str], merge_dicts]
    #: Per task: what it left (TaskResult).
    results: Annotated[dict[str, TaskResult], merge_dicts]
    #: Agents tried per task, in order (fallbacks appended).
    assignments: Annotated[dict[str, list[str]], merge_dicts]
    messages: Annotated[list[dict[str, Any]], append_messages]
    proposals: Annotated[list[dict[str, Any]], append_items]
    resolutions: Annotated[list[dict[str, Any]], append_items]
    escalations: Annotated[list[dict[str, Any]], append_items]
    #: Outcome of launching the campaign through the contact-policy gate (GateResult as a dict).
    launch: dict[str, Any]
    #: The simulated lifecycle after launch: {day, days, stopped, result (the latest headline),
    #: adjustments (action, target, day, decided_by)}. Daily figures live in the CDP (m050 tables).
    lifecycle: dict[str, Any]
    llm_calls: Annotated[int, operator.add]
    replans: Annotated[int, operator.add]
    report: str
    error: str


class TaskInput(TypedDict):
    """What the dispatcher sends to a specialist node with `Send`."""

    task: dict[str, Any]
    agent: str
    objective: str
    campaign_id: str
    inputs: dict[str, Any]
    attempt: int
    #: [task_id, agent] of the tasks that depend on this one (p2p hands outputs to them directly).
    consumers: list[list[str]]
