"""When each task of a run was dispatched, worked on and finished, read back from its checkpoints.

The CDP clock may be pinned (tests, replays), so CDP timestamps can all be equal. LangGraph's
checkpoint history carries the wall clock instead: one checkpoint per superstep, each with the tasks
that ran next and what they wrote. A task dispatched in superstep N and answered in superstep M spans
from N's checkpoint to the checkpoint after M. Without checkpoints (a run made without a durable
checkpointer), the `agent_messages` log gives the order of requests and responses instead.
"""

from __future__ import annotations

import json
from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

#: Orchestrator nodes shown as their own rows (dispatch is the glue between supersteps: left out).
PHASES = {
    "supervisor": "plan",
    "resolve": "resolve conflicts",
    "human": "ask a person",
    "launch": "launch (gate)",
    "lifecycle": "simulated days",
    "synthesize": "report",
}
TERMINAL = ("done", "failed", "skipped")


@dataclass
class Span:
    """One row of the timeline: a planned task or an orchestrator phase."""

    name: str
    agent: str
    kind: str  # "task" or "phase"
    status: str
    #: When the supervisor dispatched it (tasks only); None when it never was.
    dispatched: float | None = None
    #: Intervals of work: one per attempt of a task, one per run of a phase.
    segments: list[tuple[float, float]] = field(default_factory=list)
    #: Supersteps it was dispatched in and ran in.
    steps: list[int] = field(default_factory=list)

    @property
    def start(self) -> float:
        candidates = [s for s, _ in self.segments]
        if self.dispatched is not None:
            candidates.append(self.dispatched)
        return min(candidates, default=0.0)

    @property
    def work_start(self) -> float | None:
        """When work began (the first attempt), None when it never ran."""
        return min((s for s, _ in self.segments), default=None)

    @property
    def end(self) -> float:
        return max((e for _, e in self.segments), default=self.start)

    @property
    def attempts(self) -> int:
        return len(self.segments) if self.kind == "task" else 0


@dataclass
class Step:
    """One superstep: its number, interval and the nodes that ran in it."""

    number: int
    start: float
    end: float
    nodes: list[str]


@dataclass
class Timeline:
    """Spans on one axis: seconds since the run's first checkpoint, or message order."""

    source: str  # "checkpoints" or "messages"
    unit: str  # "s" or "message"
    started_at: str | None
    finished_at: str | None
    spans: list[Span]
    steps: list[Step]

    @property
    def duration(self) -> float:
        return max((s.end for s in self.spans), default=0.0)

    def to_dict(self) -> dict[str, Any]:
        return {
            "source": self.source,
            "unit": self.unit,
            "started_at": self.started_at,
            "finished_at": self.finished_at,
            "duration": self.duration,
            "spans": [
                {
                    "name": s.name,
                    "agent": s.agent,
                    "kind": s.kind,
                    "status": s.status,
                    "dispatched": s.dispatched,
                    "start": s.start,
                    "end": s.end,
                    "attempts": s.attempts,
                    "steps": s.steps,
                }
                for s in self.spans
            ],
            "steps": [vars(s) for s in self.steps],
        }


def _seconds(created_at: str | None, origin: datetime) -> float:
    if not created_at:
        return 0.0
    return (datetime.fromisoformat(created_at) - origin).total_seconds()


def _ordered(spans: dict[str, Span], plan_ids: list[str]) -> list[Span]:
    """Plan order first, then anything else (a task added by a re-plan) by start."""
    known = [spans[t] for t in plan_ids if t in spans]
    rest = sorted((s for k, s in spans.items() if k not in plan_ids), key=lambda s: s.start)
    return known + rest


def timeline_from_history(snapshots: Iterable[Any], plan: list[dict[str, Any]]) -> Timeline | None:
    """The timeline of a run from its checkpoint history (`graph.get_state_history`, any order)."""
    history = sorted(snapshots, key=lambda s: (s.metadata or {}).get("step", -1))
    history = [s for s in history if s.created_at]
    if not history:
        return None
    origin = datetime.fromisoformat(history[0].created_at)
    times = [_seconds(s.created_at, origin) for s in history]
    agents = {t["id"]: t["agent"] for t in plan}
    tasks: dict[str, Span] = {}
    phases: dict[str, Span] = {}
    steps: list[Step] = []
    for i, snap in enumerate(history):
        step = int((snap.metadata or {}).get("step", i))
        start = times[i]
        finished = i + 1 < len(history)
        end = times[i + 1] if finished else start
        if snap.tasks:
            steps.append(Step(step + 1, start, end, [t.name for t in snap.tasks]))
        for task in snap.tasks:
            result = task.result if isinstance(task.result, dict) else {}
            pushed = bool(task.path) and task.path[0] == "__pregel_push"
            if task.name in PHASES:
                status = "done" if task.result is not None else ("waiting" if task.interrupts else "pending")
                phase = phases.setdefault(task.name, Span(PHASES[task.name], task.name, "phase", status))
                phase.status = status
                phase.segments.append((start, end))
                phase.steps.append(step + 1)
            for tid, status in (result.get("task_status") or {}).items():
                agent = ((result.get("results") or {}).get(tid) or {}).get("agent") or agents.get(
                    tid, task.name
                )
                span = tasks.setdefault(tid, Span(tid, agent, "task", "pending"))
                if status == "running":
                    if span.dispatched is None:
                        span.dispatched = start
                    span.status = "running"
                    span.steps.append(step + 1)
                elif status in TERMINAL:
                    span.segments.append((start if pushed else end, end))
                    span.status, span.agent = status, agent
                    if pushed:
                        span.steps.append(step + 1)
    for tid, span in tasks.items():
        if span.status == "running" and not span.segments and span.dispatched is not None:
            span.segments.append((span.dispatched, times[-1]))
        span.agent = span.agent or agents.get(tid, "")
    for t in plan:  # planned but never dispatched: a row with no bar
        tasks.setdefault(t["id"], Span(t["id"], t["agent"], "task", "pending"))
    plan_ids = [t["id"] for t in plan]
    # Rows in the order things happened; tasks dispatched together keep their plan order.
    rows = _ordered(tasks, plan_ids) + list(phases.values())
    started = [s for s in rows if s.dispatched is not None or s.segments]
    never = [s for s in rows if s.dispatched is None and not s.segments]
    spans = sorted(started, key=lambda s: s.start) + never
    return Timeline("checkpoints", "s", history[0].created_at, history[-1].created_at, spans, steps)


def timeline_from_messages(messages: list[dict[str, Any]], plan: list[dict[str, Any]]) -> Timeline | None:
    """The order of requests and responses per task from `agent_messages` (message_id ascending)."""
    tasks: dict[str, Span] = {}
    opened: dict[str, float] = {}
    for position, message in enumerate(messages):
        tid = message.get("task_id")
        if not tid:
            continue
        at = float(position)
        if message["kind"] == "request":
            span = tasks.setdefault(tid, Span(tid, message["recipient"], "task", "running"))
            span.agent = message["recipient"]
            if span.dispatched is None:
                span.dispatched = at
            opened[tid] = at
        elif message["kind"] == "response" and tid in tasks:
            try:
                status = str(json.loads(message.get("payload") or "{}").get("status") or "done")
            except (ValueError, AttributeError):
                status = "done"
            tasks[tid].segments.append((opened.pop(tid, at), at))
            tasks[tid].status = status if status in TERMINAL else "done"
    if not tasks:
        return None
    last = float(len(messages))
    for tid, start in opened.items():  # asked but never answered
        tasks[tid].segments.append((start, last))
    for t in plan:
        tasks.setdefault(t["id"], Span(t["id"], t["agent"], "task", "pending"))
    first, final = messages[0].get("created_at"), messages[-1].get("created_at")
    return Timeline("messages", "message", first, final, _ordered(tasks, [t["id"] for t in plan]), [])
