"""The campaign lifecycle after launch: one simulated day per step, measured and optimised.

Each day: the CDP clock moves to the start of the day, a reminder wave (if one is due) is staged and
decided by the contact-policy gate, the simulator delivers what is due and writes the customers'
responses, and the day is measured against the holdout. Then the analytics agent reads the results
and the optimization agent adjusts the campaign through its tool. A guard in code stops the campaign
when unsubscribes pass the run's threshold, whatever the model decided. Every write of a day is
idempotent, so a day re-run after a crash writes nothing twice.
"""

from __future__ import annotations

from typing import Any, Literal

from langchain_core.runnables import RunnableConfig
from langgraph.runtime import Runtime
from langgraph.types import Command

from agents.base import AgentEnv
from agents.registry import REGISTRY
from cdp import clock, lifecycle, simulate
from cdp import status as cdp_status
from graph.context import Context
from graph.messages import SUPERVISOR, record_message
from graph.run_info import cdp_session, thread_id_of
from graph.state import OrchestratorState
from llm.loader import load_chat_model

GUARD = "guard"


def wants_lifecycle(state: OrchestratorState, ctx: Context) -> bool:
    """Simulate only a launched campaign, and only until the days run out or it is stopped."""
    info = state.get("lifecycle") or {}
    launched = (state.get("launch") or {}).get("decision") == "approve"
    done = info.get("stopped") or info.get("day", 0) >= ctx.simulate_days
    return bool(ctx.simulate_days > 0 and state.get("campaign_id") and launched and not done)


def _review(agent: str, day: int, state: OrchestratorState, ctx: Context, thread_id: str, inputs: dict):
    """Run one specialist on the day's review; a failure is reported, never fatal to the campaign."""
    task_id = f"day{day}-{agent}"
    goals = {
        "analytics": f"Day {day} of the running campaign: read its results against the holdout and "
        "report the lift with its 95% confidence interval.",
        "optimization": f"Day {day} of the running campaign: decide one adjustment (shift to a winning "
        "variant or channel, pause a losing one, stop on unsubscribes, or keep) and apply it.",
    }
    env = AgentEnv(
        db_path=ctx.db_path,
        thread_id=thread_id,
        task_id=task_id,
        agent=agent,
        campaign_id=state["campaign_id"],
        objective=state.get("objective", ""),
        goal=goals[agent],
        inputs={**inputs, "task_kind": agent, "phase": "lifecycle"},
        protocol=ctx.protocol,
        policy=ctx.policy(),
        max_steps=ctx.max_agent_steps,
    )
    try:
        run, outputs = REGISTRY[agent].build(load_chat_model(ctx.model)).run(env)
    except Exception as exc:  # the model failed: the campaign keeps its allocation, the guard still holds
        return {"status": "failed", "error": f"{type(exc).__name__}: {exc}"[:300]}, 0
    return {"status": "done", "summary": run.summary, "outputs": outputs}, run.llm_calls


def lifecycle_day(
    state: OrchestratorState, runtime: Runtime[Context], config: RunnableConfig
) -> Command[Literal["lifecycle", "synthesize"]]:
    ctx = runtime.context or Context()
    info = dict(state.get("lifecycle") or {})
    day = int(info.get("day", 0)) + 1
    campaign_id = state["campaign_id"]
    thread_id = thread_id_of(config, state.get("objective", ""))
    messages: list[dict[str, Any]] = []
    with cdp_session(ctx.db_path) as db:
        launched_at = info.get("launched_at") or lifecycle.start(db, campaign_id)
        start, _ = simulate.day_window(launched_at, day)
        clock.set_clock(db, start, by=clock.SIMULATION)
        wave = None
        every = ctx.followup_every_days
        if every and day > 1 and (day - 1) % every == 0:
            gate = lifecycle.stage_followup(
                db, campaign_id, (day - 1) // every, policy=ctx.policy(), thread_id=thread_id
            )
            wave = gate.to_dict() if gate else None
        sim = simulate.simulate_day(
            db, campaign_id, day, launched_at=launched_at, seed=ctx.simulation_seed, policy=ctx.policy()
        )
        headline = lifecycle.measure_day(db, campaign_id, day)
    inputs = {"day": day, "stop_unsubscribe_rate": ctx.stop_unsubscribe_rate, "min_cell": lifecycle.MIN_CELL}
    reviews = {}
    calls = 0
    for agent in ("analytics", "optimization"):
        review, n = _review(agent, day, state, ctx, thread_id, inputs)
        reviews[agent] = review
        calls += n
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
            {"day": d, "action": a, "target": t, "decided_by": by, "affected": n}
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
            f"day {day}: {sim.delivered} delivered, lift {headline['lift']:+.2%}{ci}, "
            f"unsubscribes {headline['unsubscribe_rate']:.2%}; "
            + (", ".join(f"{a['action']} {a['target'] or ''}".strip() for a in changed) or "no change")
        )
        messages.append(
            record_message(
                db,
                thread_id=thread_id,
                kind="status",
                sender=SUPERVISOR,
                recipient="optimization",
                task_id=f"day{day}",
                payload={
                    "summary": summary,
                    "wave": wave,
                    "reviews": {
                        a: {k: v for k, v in r.items() if k != "outputs"} for a, r in reviews.items()
                    },
                },
                protocol=ctx.protocol,
                dedupe_key=f"lifecycle:{day}",
            )
        )
        if stopped or day >= ctx.simulate_days:
            # The simulation hands the clock back: it stays at the simulated instant, but the next
            # open with CDP_NOW set (a test, a demo) pins it again as before.
            clock.set_clock(db, headline["as_of"])
            cdp_status.set_campaign_status(
                db, campaign_id, "completed", at=headline["as_of"], only_from=("running",)
            )
            db.conn.commit()
    info.update(
        launched_at=launched_at,
        day=day,
        days=ctx.simulate_days,
        stopped=stopped,
        result={
            k: headline[k]
            for k in (
                "lift",
                "ci_low",
                "ci_high",
                "treated_rate",
                "holdout_rate",
                "unsubscribe_rate",
                "treated_n",
                "holdout_n",
            )
        },
        adjustments=[*(info.get("adjustments") or []), *changed][-50:],
    )
    goto: Literal["lifecycle", "synthesize"] = (
        "synthesize" if stopped or day >= ctx.simulate_days else "lifecycle"
    )
    return Command(goto=goto, update={"lifecycle": info, "messages": messages, "llm_calls": calls})
