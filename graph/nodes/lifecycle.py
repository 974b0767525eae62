"""The campaign lifecycle after launch: one simulated day per step of the orchestrator, measured and
optimised, as a small subgraph whose steps are checkpointed and drawn in Studio one by one.

Each day runs clock → wave → deliver → measure → review → guard: the CDP clock moves to the start of
the day, a reminder wave (if one is due) is staged and decided by the contact-policy gate, the
simulator delivers what is due and writes the customers' responses, and the day is measured against
the holdout. Then the analytics agent reads the results and the optimization agent adjusts the
campaign through its tool; a transient model error there is retried by the step's `RetryPolicy`, and
a review that fails for good (or still fails on the last attempt) is recorded (a status message, `lifecycle.review_failures`, the report)
while the campaign keeps its allocation. The guard, in code, stops the campaign when unsubscribes pass
the run's threshold, whatever the model decided. Every write of a day is idempotent, so a step re-run
after a crash writes nothing twice.
"""

from __future__ import annotations

from itertools import pairwise
from typing import Any, Literal

from langgraph.config import get_config
from langgraph.graph import END, START, StateGraph
from langgraph.graph.state import CompiledStateGraph
from langgraph.runtime import Runtime
from langgraph.types import RetryPolicy

from agents.base import SpecialistInput, context_model, run_specialist
from agents.registry import REGISTRY
from cdp import clock, lifecycle, simulate
from cdp import status as cdp_status
from cdp.db import cdp_session
from graph.context import Context
from graph.messages import SUPERVISOR, record_message
from graph.run_info import thread_id_of
from graph.state import (
    Adjustment,
    Lifecycle,
    LifecycleDayInput,
    LifecycleDayOutput,
    LifecycleDayState,
    LifecycleResult,
    OrchestratorState,
    Review,
    ReviewFailure,
)
from llm.loader import is_transient_error

GUARD = "guard"
#: The step names, in order (Studio draws them inside the `lifecycle` node).
STEPS = ("clock", "wave", "deliver", "measure", "review", "guard")
REVIEWERS = ("analytics", "optimization")
#: The same policy as the orchestrator's model nodes; `build_lifecycle_graph` takes the one in force.
REVIEW_RETRY = RetryPolicy(
    max_attempts=3, initial_interval=0.2, max_interval=5.0, retry_on=is_transient_error
)
RESULT_KEYS = (
    "lift",
    "ci_low",
    "ci_high",
    "treated_rate",
    "holdout_rate",
    "unsubscribe_rate",
    "treated_n",
    "holdout_n",
)
KEPT = 50


def after_day(state: OrchestratorState) -> Literal["lifecycle", "synthesize"]:
    """Another day, unless the campaign was stopped or the run's days are over."""
    info = state.get("lifecycle") or {}
    return "synthesize" if info.get("stopped") or info.get("day", 0) >= info.get("days", 0) else "lifecycle"


def _ctx(runtime: Runtime[Context]) -> Context:
    return runtime.context or Context()


# --- the steps ----------------------------------------------------------------------------------------


def clock_step(state: LifecycleDayState, runtime: Runtime[Context]) -> dict[str, Any]:
    """Start the next day: the campaign is running from its launch instant, the CDP clock at the day's start."""
    info = state.get("lifecycle") or {}
    day = int(info.get("day", 0)) + 1
    with cdp_session(_ctx(runtime).db_path) as db:
        launched_at = info.get("launched_at") or lifecycle.start(db, state["campaign_id"])
        start, _ = simulate.day_window(launched_at, day)
        clock.set_clock(db, start, by=clock.SIMULATION)
    return {"day": day, "launched_at": launched_at}


def wave_step(state: LifecycleDayState, runtime: Runtime[Context]) -> dict[str, Any]:
    """Stage the reminder wave due today, if any, through the contact-policy gate."""
    ctx = _ctx(runtime)
    day, every = state["day"], ctx.followup_every_days
    if not (every and day > 1 and (day - 1) % every == 0):
        return {"wave": None}
    thread_id = thread_id_of(get_config(), state.get("objective", ""))
    with cdp_session(ctx.db_path) as db:
        gate = lifecycle.stage_followup(
            db, state["campaign_id"], (day - 1) // every, policy=ctx.policy(), thread_id=thread_id
        )
    return {"wave": gate.to_dict() if gate else None}


def deliver_step(state: LifecycleDayState, runtime: Runtime[Context]) -> dict[str, Any]:
    """Deliver what is due today and write the customers' simulated responses."""
    ctx = _ctx(runtime)
    with cdp_session(ctx.db_path) as db:
        sim = simulate.simulate_day(
            db,
            state["campaign_id"],
            state["day"],
            launched_at=state["launched_at"],
            seed=ctx.simulation_seed,
            policy=ctx.policy(),
        )
    return {"delivered": sim.delivered}


def measure_step(state: LifecycleDayState, runtime: Runtime[Context]) -> dict[str, Any]:
    """Measure the day against the holdout (written to the m050 tables)."""
    with cdp_session(_ctx(runtime).db_path) as db:
        return {"headline": lifecycle.measure_day(db, state["campaign_id"], state["day"])}


def _run_reviewer(agent: str, state: LifecycleDayState, ctx: Context, thread_id: str) -> tuple[Review, int]:
    day = state["day"]
    goals = {
        "analytics": f"Day {day} of the running campaign: read its results against the holdout and "
        "report the lift with its 95% confidence interval.",
        "optimization": f"Day {day} of the running campaign: decide one adjustment (shift to a winning "
        "variant or channel, pause a losing one, stop on unsubscribes, or keep) and apply it.",
    }
    inputs = {"day": day, "stop_unsubscribe_rate": ctx.stop_unsubscribe_rate, "min_cell": lifecycle.MIN_CELL}
    task = {
        "id": f"day{day}-{agent}",
        "agent": agent,
        "goal": goals[agent],
        "inputs": {**inputs, "phase": "lifecycle"},
    }
    # Both reviewers run inside the `review` step: their own steps are not checkpointed apart from it.
    specialist = REGISTRY[agent].build(context_model, checkpointer=False)
    inp: SpecialistInput = {
        "task": task,
        "agent": agent,
        "objective": state.get("objective", ""),
        "campaign_id": state["campaign_id"],
        "inputs": {},
        "attempt": 1,
        "consumers": [],
        "thread_id": thread_id,
    }
    outcome = run_specialist(specialist, inp, ctx)
    return Review(status="done", summary=outcome["summary"], outputs=outcome["outputs"]), outcome["llm_calls"]


def _failure(
    db, ctx: Context, thread_id: str, day: int, agent: str, exc: BaseException
) -> tuple[ReviewFailure, dict]:
    """A review that failed for good, recorded the way a failed task is: a status message to the supervisor."""
    reason = f"{type(exc).__name__}: {exc}"[:300]
    message = record_message(
        db,
        thread_id=thread_id,
        kind="status",
        sender=agent,
        recipient=SUPERVISOR,
        task_id=f"day{day}-{agent}",
        payload={"summary": f"day {day} review by {agent} failed", "error": reason, "status": "failed"},
        protocol=ctx.protocol,
        dedupe_key=f"failed:day{day}-{agent}",
    )
    return ReviewFailure(day=day, agent=agent, error=reason), message


def make_review_step(max_attempts: int):
    """The day's review by the analytics, then the optimization agent, under a RetryPolicy of
    `max_attempts`.

    A transient model error propagates while attempts remain, so the step's RetryPolicy retries the
    review; on the last attempt it is recorded like any other failure. A failure of one agent is
    recorded (a status message to the supervisor, `review_failures`) and the other agent still
    reviews; the campaign keeps its allocation and the guard holds either way.
    """

    def review(state: LifecycleDayState, runtime: Runtime[Context]) -> dict[str, Any]:
        ctx = _ctx(runtime)
        thread_id = thread_id_of(get_config(), state.get("objective", ""))
        attempt = runtime.execution_info.node_attempt if runtime.execution_info else max_attempts
        reviews: dict[str, Review] = {}
        failures: list[ReviewFailure] = []
        messages: list[dict[str, Any]] = []
        calls = 0
        for agent in REVIEWERS:
            try:
                reviews[agent], n = _run_reviewer(agent, state, ctx, thread_id)
                calls += n
            except Exception as exc:
                if is_transient_error(exc) and attempt < max_attempts:
                    raise
                with cdp_session(ctx.db_path) as db:
                    failure, message = _failure(db, ctx, thread_id, state["day"], agent, exc)
                reviews[agent] = Review(status="failed", error=failure["error"])
                failures.append(failure)
                messages.append(message)
        return {"reviews": reviews, "review_failures": failures, "messages": messages, "llm_calls": calls}

    review.__name__ = "review"
    return review


def guard_step(state: LifecycleDayState, runtime: Runtime[Context]) -> dict[str, Any]:
    """Stop on unsubscribes whatever the model decided, log the day, hand the clock back at the end."""
    ctx = _ctx(runtime)
    info = state.get("lifecycle") or {}
    day, headline, campaign_id = state["day"], state["headline"], state["campaign_id"]
    thread_id = thread_id_of(get_config(), state.get("objective", ""))
    reviews = state.get("reviews") or {}
    with cdp_session(ctx.db_path) as db:
        stopped = lifecycle.allocation(db, campaign_id)["stopped"]
        if not stopped and headline["unsubscribe_rate"] > ctx.stop_unsubscribe_rate:
            lifecycle.apply_adjustment(
                db,
                campaign_id,
                day=day,
                action="stop",
                target=None,
                reason=f"unsubscribe rate {headline['unsubscribe_rate']:.2%} is above the run's limit of "
                f"{ctx.stop_unsubscribe_rate:.2%}",
                decided_by=GUARD,
                evidence={k: headline[k] for k in ("day", "treated_n", "unsubscribe_rate")},
                thread_id=thread_id,
                at=headline["as_of"],
            )
            stopped = True
        adjustments = [
            Adjustment(day=d, action=a, target=t, decided_by=by, affected=n)
            for d, a, t, by, n in db.execute(
                """SELECT day, action, target, decided_by, affected FROM campaign_adjustments
                   WHERE campaign_id = ? AND day = ? ORDER BY adjustment_id""",
                [campaign_id, day],
            )
        ]
        changed = [a for a in adjustments if a["action"] != "keep"]
        ci = (
            f" (95% CI {headline['ci_low']:+.2%} to {headline['ci_high']:+.2%})"
            if headline["ci_low"] is not None
            else ""
        )
        summary = (
            f"day {day}: {state.get('delivered', 0)} delivered, lift {headline['lift']:+.2%}{ci}, "
            f"unsubscribes {headline['unsubscribe_rate']:.2%}; "
            + (", ".join(f"{a['action']} {a['target'] or ''}".strip() for a in changed) or "no change")
        )
        message = record_message(
            db,
            thread_id=thread_id,
            kind="status",
            sender=SUPERVISOR,
            recipient="optimization",
            task_id=f"day{day}",
            payload={
                "summary": summary,
                "wave": state.get("wave"),
                "reviews": {a: {k: v for k, v in r.items() if k != "outputs"} for a, r in reviews.items()},
            },
            protocol=ctx.protocol,
            dedupe_key=f"lifecycle:{day}",
        )
        if stopped or day >= ctx.simulate_days:
            # The simulation hands the clock back: it stays at the simulated instant, but the next
            # open with CDP_NOW set (a test, a demo) pins it again as before.
            clock.set_clock(db, headline["as_of"])
            cdp_status.set_campaign_status(
                db, campaign_id, "completed", at=headline["as_of"], only_from=("running",)
            )
            db.conn.commit()
    new_info = Lifecycle(
        launched_at=state["launched_at"],
        day=day,
        days=ctx.simulate_days,
        stopped=stopped,
        result=LifecycleResult(**{k: headline[k] for k in RESULT_KEYS}),  # type: ignore[typeddict-item]
        adjustments=[*(info.get("adjustments") or []), *changed][-KEPT:],
    )
    failures = [*(info.get("review_failures") or []), *(state.get("review_failures") or [])][-KEPT:]
    if failures:
        new_info["review_failures"] = failures
    return {"lifecycle": new_info, "messages": [message]}


def build_lifecycle_graph(
    retry_policy: RetryPolicy = REVIEW_RETRY,
) -> CompiledStateGraph[LifecycleDayState, Context, LifecycleDayInput, LifecycleDayOutput]:
    """One simulated day as a subgraph; the orchestrator adds it as its `lifecycle` node."""
    g = StateGraph(
        LifecycleDayState,
        context_schema=Context,
        input_schema=LifecycleDayInput,
        output_schema=LifecycleDayOutput,
    )
    g.add_node("clock", clock_step)
    g.add_node("wave", wave_step)
    g.add_node("deliver", deliver_step)
    g.add_node("measure", measure_step)
    g.add_node("review", make_review_step(retry_policy.max_attempts), retry_policy=retry_policy)
    g.add_node("guard", guard_step)
    g.add_edge(START, STEPS[0])
    for a, b in pairwise(STEPS):
        g.add_edge(a, b)
    g.add_edge(STEPS[-1], END)
    return g.compile(name="lifecycle")
