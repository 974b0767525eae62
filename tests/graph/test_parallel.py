"""Parallel dispatch: tasks that depend only on the audience run in one superstep, at the same time.

With a simulated model latency L per call, the proof is in the order of events, not in a stopwatch:
the model calls of the independent tasks all start before any of them ends (each lasts at least L),
which cannot happen if they ran one after another. Timings are read from the same call intervals,
with wide margins.
"""

from __future__ import annotations

import threading
import time
from collections import defaultdict
from typing import Any
from uuid import UUID

import pytest
from langchain_core.callbacks import BaseCallbackHandler

from tests.graph.helpers import DEFAULT_OBJECTIVE, compile_graph, config_for, run

LATENCY_MS = 300


class CallTimes(BaseCallbackHandler):
    """Start and end time of every chat-model call, with the task it ran for.

    A specialist's model step runs inside its subgraph, so the task is the first part of the call's
    checkpoint namespace (`analytics:<task id>|model:<step id>`): its node and its task id.
    """

    def __init__(self) -> None:
        self.calls: dict[UUID, dict[str, Any]] = {}
        self._lock = threading.Lock()

    def on_chat_model_start(self, serialized, messages, *, run_id: UUID, metadata=None, **kwargs) -> None:
        meta = metadata or {}
        task = str(meta.get("langgraph_checkpoint_ns") or meta.get("langgraph_node")).split("|")[0]
        with self._lock:
            self.calls[run_id] = {
                "node": task.split(":")[0],
                "task": task,
                "start": time.monotonic(),
                "end": None,
            }

    def on_llm_end(self, response, *, run_id: UUID, **kwargs) -> None:
        with self._lock:
            self.calls[run_id]["end"] = time.monotonic()


@pytest.mark.xdist_group("timing")
def test_independent_tasks_overlap_in_one_superstep(seeded_cdp_path, monkeypatch):
    monkeypatch.setenv("CDP_AGENTS_SCRIPTED_LATENCY_MS", str(LATENCY_MS))
    latency = LATENCY_MS / 1000
    times = CallTimes()
    thread = "parallel-1"
    started = time.monotonic()
    state = run(
        compile_graph(),
        DEFAULT_OBJECTIVE,
        seeded_cdp_path,
        thread,
        config=config_for(thread, callbacks=[times], max_concurrency=4),
    )
    wall = time.monotonic() - started
    assert state["status"] == "completed"

    calls = list(times.calls.values())
    assert len(calls) == state["llm_calls"] and all(c["end"] is not None for c in calls)
    assert all(c["end"] - c["start"] >= latency * 0.95 for c in calls), "every call waits the latency"

    # the plan: which tasks depend only on the audience task
    plan = state["plan"]
    independent = [t for t in plan if t["depends_on"] == ["audience"]]
    assert {t["agent"] for t in independent} >= {"analytics", "service", "content"}
    by_task: dict[str, list[dict[str, Any]]] = defaultdict(list)
    for c in calls:
        by_task[c["task"]].append(c)
    firsts = sorted((min(cs, key=lambda c: c["start"]) for cs in by_task.values()), key=lambda c: c["start"])
    agents = {t["agent"] for t in independent}
    # each independent agent's first task (analytics also runs after launch), by its first model call
    together = [next(c for c in firsts if c["node"] == agent) for agent in agents]
    assert len(together) == len(independent) >= 3

    # overlap: every one of them started before the first of them ended
    assert max(c["start"] for c in together) < min(c["end"] for c in together)
    span = max(c["end"] for c in together) - min(c["start"] for c in together)
    assert span < 2 * latency, f"{len(together)} calls of {latency}s took {span:.2f}s together"

    # the whole run: model time on the clock (union of call intervals) is one latency per task on the
    # critical path, clearly less than the sum over all calls that a sequential run would need
    busy = _union_seconds([(c["start"], c["end"]) for c in calls])
    total = sum(c["end"] - c["start"] for c in calls)
    saved = (len(together) - 1) * latency
    assert busy < total - saved / 2, (busy, total)
    assert wall >= busy


def _union_seconds(intervals: list[tuple[float, float]]) -> float:
    covered, last_end = 0.0, float("-inf")
    for start, end in sorted(intervals):
        if end > last_end:
            covered += end - max(start, last_end)
            last_end = end
    return covered


def test_tasks_in_one_superstep_do_not_lose_each_others_results(seeded_cdp_path):
    """Reducers merge results of tasks finishing together: every task's outputs are kept."""
    state = run(compile_graph(), DEFAULT_OBJECTIVE, seeded_cdp_path, "parallel-2")
    assert set(state["results"]) == {t["id"] for t in state["plan"]}
    assert set(state["task_status"]) == {t["id"] for t in state["plan"]}
    assert all(r["status"] == "done" and r["outputs"] for r in state["results"].values())
