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


def replace_value(left: Any, right: Any) -> Any:
    """Keep the latest write: a new launch request replaces the old one, an explicit None clears it."""
    return right


class GateCounts(TypedDict, total=False):
    """What one contact-policy gate run decided (`cdp.gate.GateResult.to_dict()`)."""

    campaign_id: str
    step: int
    requested: int
    scheduled: int
    deferred: int
    held_out: int
    suppressed: dict[str, int]
    superseded: int
    cost: float
    budget_remaining: float | None
    dry_run: bool


class LaunchRequest(TypedDict):
    """A staged campaign asking to be launched: written by the task that staged its sends, consumed
    (set back to None) by the launch node once a decision is made."""

    #: The task whose outputs asked for the launch (its `results` entry gets `launched`/`decision`).
    task_id: str
    campaign_id: str
    #: The gate's dry run over the staged sends, shown at approval.
    preview: GateCounts
    #: How many sends were staged.
    staged: int


class LaunchOutcome(GateCounts, total=False):
    """The launch decision and, when approved, what the gate scheduled (state key `launch`)."""

    decision: Literal["approve", "deny"]
    #: `auto`, `setting` (the run denies every launch) or `human`.
    decided_by: str


class LifecycleResult(TypedDict):
    """The latest day's headline against the holdout (daily figures live in the m050 tables)."""

    lift: float
    ci_low: float | None
    ci_high: float | None
    treated_rate: float
    holdout_rate: float
    unsubscribe_rate: float
    treated_n: int
    holdout_n: int


class Adjustment(TypedDict):
    """One change the daily review or the guard made to the running campaign."""

    day: int
    action: str
    target: str | None
    decided_by: str
    affected: int | None


class ReviewFailure(TypedDict):
    """A daily review whose agent failed for good: the campaign keeps its allocation, the guard holds."""

    day: int
    agent: str
    error: str


class Lifecycle(TypedDict, total=False):
    """The simulated lifecycle after launch (state key `lifecycle`)."""

    launched_at: str
    #: The last simulated day (1-based) and how many the run asked for.
    day: int
    days: int
    stopped: bool
    result: LifecycleResult
    #: Changes other than `keep`, oldest first (the last 50).
    adjustments: list[Adjustment]
    #: Reviews that failed for good (the last 50).
    review_failures: list[ReviewFailure]


class Review(TypedDict, total=False):
    """One agent's review of a simulated day: done with a summary and outputs, or failed with why."""

    status: Literal["done", "failed"]
    summary: str
    outputs: dict[str, Any]
    error: str


class LifecycleDayInput(TypedDict, total=False):
    """What the lifecycle subgraph reads from the orchestrator's state for one simulated day."""

    objective: str
    campaign_id: str
    lifecycle: Lifecycle


class LifecycleDayOutput(TypedDict, total=False):
    """What one simulated day hands back: the new lifecycle summary, its messages and model calls."""

    lifecycle: Lifecycle
    messages: Annotated[list[dict[str, Any]], append_messages]
    llm_calls: Annotated[int, operator.add]


class LifecycleDayState(LifecycleDayInput, LifecycleDayOutput, total=False):
    """The state of one simulated day, step by step (clock → wave → deliver → measure → review → guard).

    Lives in the subgraph's own checkpoints only; the orchestrator sees `LifecycleDayOutput`.
    """

    day: int
    launched_at: str
    #: The follow-up wave the gate decided today (GateCounts), or None when none was due.
    wave: GateCounts | None
    delivered: int
    #: `cdp.lifecycle.measure_day`'s headline for the day.
    headline: dict[str, Any]
    reviews: dict[str, Review]
    review_failures: list[ReviewFailure]


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
    #: A staged campaign waiting for its launch decision; None once launch has decided.
    launch_request: Annotated[LaunchRequest | None, replace_value]
    #: Outcome of launching the campaign through the contact-policy gate.
    launch: LaunchOutcome
    #: The simulated lifecycle after launch. Daily figures live in the CDP (m050 tables).
    lifecycle: Lifecycle
    llm_calls: Annotated[int, operator.add]
    replans: Annotated[int, operator.add]
    #: The synthesizer's narrative, as written (the report renders it; readers never parse it back).
    narrative: str
    report: str
    error: str
