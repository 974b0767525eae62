"""Supervisor: turns the objective into a validated task DAG in one structured model call."""

from __future__ import annotations

import json
from typing import Any, Literal

from langchain_core.messages import HumanMessage, SystemMessage
from langchain_core.runnables import RunnableConfig
from langgraph.runtime import Runtime
from langgraph.types import Command
from pydantic import ValidationError

from agents.registry import REGISTRY, describe_agents
from cdp import clock
from cdp import status as cdp_status
from cdp.db import cdp_session
from cdp.input_checks import MAX_OBJECTIVE_CHARS
from cdp.migrations.m001_core import TIERS
from cdp.redact import redact
from cdp.terms import CdpTerms, read_terms
from cdp.vocabulary import OfferKind, SegmentVocabulary, cdp_category
from graph.context import Context
from graph.messages import SUPERVISOR, record_message
from graph.plan import Interpretation, Plan, PlanBrief, PlanError, validate_plan
from graph.plan_template import plan_from_brief
from graph.run_info import campaign_id_for, thread_id_of, upsert_run
from graph.state import OrchestratorState
from graph.understanding import (
    Problem,
    check_interpretation,
    code_warnings,
    merge_warnings,
    question_for,
)
from llm.loader import structured_model
from llm.settings import plan_schema
from prompts import load_prompt


def _reject(status: str, message: str) -> Command:
    update = {"status": status, "error": message, "plan": []}
    if status == "needs_input":
        update["question"] = message
    return Command(goto="synthesize", update=update)


def _stop(status: str, text: str, calls: int, interpretation: Interpretation | None) -> Command:
    """End planning with a question (`needs_input`) or a refusal (`refused`): nothing is created."""
    update: dict[str, Any] = {"status": status, "plan": [], "llm_calls": calls, "error": text}
    if status == "needs_input":
        update["question"] = text
    if interpretation is not None:
        update["interpretation"] = interpretation.model_dump(mode="json")
    return Command(goto="synthesize", update=update)


def understanding_problems(objective: str, plan: Plan, terms: CdpTerms) -> list[Problem]:
    """Code's check of what the plan says it understood (see `graph.understanding`), the same for
    every model: the offline one's reader states its interpretation like any other."""
    return check_interpretation(objective, plan.interpretation, terms, clock.now())


def settled_interpretation(plan: Plan, terms: CdpTerms) -> Interpretation:
    """The interpretation a person sees: the plan's, with code's warnings merged into the model's, so
    a model can add warnings but never remove one code found. (A plan without one never gets here:
    the check asks for it, then asks the person.)"""
    interp = plan.interpretation
    if interp is None:
        raise ValueError("a plan reaches launch only with an interpretation")
    warnings = merge_warnings(code_warnings(interp, plan.campaign, terms, clock.now()), interp.warnings)
    return interp.model_copy(update={"warnings": warnings})


def with_approved_audience(plan: Plan, interpretation: Interpretation) -> Plan:
    """The audience task saves exactly the filter the interpretation shows (and a person approves)."""
    flt = interpretation.audience.filter
    if not flt:
        return plan
    tasks = [
        t.model_copy(update={"inputs": {**t.inputs, "filter": flt}}) if t.agent == "audience" else t
        for t in plan.tasks
    ]
    return plan.model_copy(update={"tasks": tasks})


def plan_problem(exc: BaseException) -> str:
    """What is wrong with a plan, in one line: each schema error as `field.path: message`, or the
    validator's own sentence (never a parser's traceback text or troubleshooting link)."""
    seen: BaseException | None = exc
    while seen is not None:
        if isinstance(seen, ValidationError):
            parts = [
                f"{'.'.join(str(p) for p in err.get('loc', ())) or 'plan'}: {err.get('msg', '')}"
                for err in seen.errors()
            ]
            return "; ".join(parts)[:1500]
        seen = seen.__cause__ or seen.__context__
    text = str(exc).split("For troubleshooting", 1)[0]
    return " ".join(text.split())[:1500]


def create_campaign(
    db,
    campaign_id: str,
    thread_id: str,
    objective: str,
    plan: Plan,
    holdout_pct: float,
    interpretation: Interpretation | None = None,
) -> None:
    """Write the planned campaign row once per thread (a re-run of planning changes nothing).

    A campaign planned from an objective is always marketing: the row says so in code, whatever the
    plan holds, so the gate applies every marketing rule to it."""
    spec = plan.campaign
    now = clock.now_iso(db)
    with db.conn:
        inserted = db.execute(
            """INSERT INTO campaigns (campaign_id, name, objective, goal, thread_id, promotional,
                message_kind, offer_kind, offer_category, discount_pct, budget, currency, holdout_pct,
                channels, send_at, offer_value, offer_unit, offer_valid_until, occasion, interpretation,
                created_at, updated_at)
            VALUES (?, ?, ?, ?, ?, 1, 'marketing', ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)
            ON CONFLICT (campaign_id) DO NOTHING""",
            [
                campaign_id,
                plan.campaign_name or objective[:80],
                objective,
                spec.goal,
                thread_id,
                spec.offer_kind.value if spec.offer_kind else None,
                cdp_category(db.conn, spec.offer_category),
                spec.discount_pct,
                spec.budget,
                spec.currency,
                holdout_pct,
                json.dumps(spec.channels),
                spec.send_at,
                spec.offer_value,
                spec.offer_unit,
                spec.offer_valid_until,
                spec.occasion,
                json.dumps(interpretation.model_dump(mode="json")) if interpretation else None,
                now,
                now,
            ],
        ).rowcount
        if inserted:  # a new row starts as a draft; planning makes it `planned`
            cdp_status.set_campaign_status(db, campaign_id, "planned", at=now)


def as_plan(answer: Any, brief: bool) -> Plan:
    """The model's answer as a whole plan: a brief becomes one in code (`graph.plan_template`)."""
    if brief:
        return plan_from_brief(
            answer if isinstance(answer, PlanBrief) else PlanBrief.model_validate(answer), set(REGISTRY)
        )
    return answer if isinstance(answer, Plan) else Plan.model_validate(answer)


def supervisor(
    state: OrchestratorState, runtime: Runtime[Context], config: RunnableConfig
) -> Command[Literal["dispatch", "synthesize"]]:
    ctx = runtime.context or Context()
    objective = (state.get("objective") or "").strip()
    if not objective:
        return _reject(
            "needs_input",
            "The objective is empty: say what the campaign should achieve, "
            "e.g. 'win back lapsed premium customers in Germany by email'.",
        )
    if len(objective) > MAX_OBJECTIVE_CHARS:
        return _reject(
            "needs_input",
            f"The objective is {len(objective):,} characters long; state it in "
            f"under {MAX_OBJECTIVE_CHARS:,} characters.",
        )
    thread_id = thread_id_of(config, objective)
    model = ctx.chat_model()
    brief = plan_schema() == "brief"
    planner = structured_model(model, PlanBrief if brief else Plan)
    with cdp_session(ctx.db_path) as db:
        terms = read_terms(db)
    prompt = load_prompt(
        "supervisor_brief" if brief else "supervisor",
        agents=describe_agents(),
        vocabulary=json.dumps(SegmentVocabulary.from_env().describe()),
        cdp_terms=terms.prompt_block(),
        now=clock.now_iso(),
        tiers=", ".join(TIERS),
        offer_kinds=", ".join(k.value for k in OfferKind),
    )
    # The marketer may paste an address or a number into the objective; the planner needs neither (an
    # audience is a typed filter, never an identifier), so it sees placeholders. State keeps the words.
    seen_objective = redact(objective)
    messages = [SystemMessage(prompt), HumanMessage(seen_objective)]
    calls = 0
    problem = ""
    plan: Plan | None = None
    problems: list[Problem] = []
    for attempt in range(3):  # the first answer, then up to twice more with the error
        calls += 1
        try:
            candidate = as_plan(planner.invoke(messages), brief)
            validate_plan(candidate, set(REGISTRY))
            if (candidate.question or candidate.refusal) and candidate.tasks and attempt < 2:
                raise PlanError(
                    "the plan has tasks and also a "
                    + ("refusal" if candidate.refusal else "question")
                    + ": leave `question` and `refusal` null when you plan, or give no tasks when you"
                    " ask or refuse"
                )
        except (PlanError, ValidationError, ValueError) as exc:
            problem = plan_problem(exc)
            messages.append(
                HumanMessage(redact(f"That plan is invalid: {problem}. Return a corrected plan."))
            )
            continue
        plan = candidate
        if plan.question or plan.refusal:
            break
        problems = understanding_problems(seen_objective, plan, terms)
        repairs = [p.message for p in problems if p.repair]
        if not repairs or attempt == 2:
            break
        messages.append(
            HumanMessage(redact(f"That plan is incomplete: {'; '.join(repairs)}. Return a corrected plan."))
        )
    if plan is None:
        return Command(
            goto="synthesize",
            update={
                "status": "failed",
                "plan": [],
                "llm_calls": calls,
                "error": f"The supervisor could not produce a valid plan: {problem}",
            },
        )
    if plan.refusal:
        return _stop("refused", plan.refusal, calls, plan.interpretation)
    if plan.question:
        return _stop("needs_input", plan.question, calls, plan.interpretation)
    if any(p.repair for p in problems):
        unchecked = "; ".join(p.message for p in problems if p.repair)
        return _stop(
            "needs_input",
            f"The plan's reading of the objective could not be checked ({unchecked}). Please restate "
            "the objective: who should get it, what offer, which channels, when, and any budget.",
            calls,
            plan.interpretation,
        )
    if problems:
        return _stop("needs_input", question_for(problems), calls, plan.interpretation)
    interpretation = settled_interpretation(plan, terms)
    plan = with_approved_audience(plan, interpretation)
    campaign_id = campaign_id_for(thread_id)
    with cdp_session(ctx.db_path) as db:
        create_campaign(db, campaign_id, thread_id, objective, plan, ctx.holdout_pct, interpretation)
        upsert_run(db, thread_id, objective, "running", ctx, campaign_id)
        note = record_message(
            db,
            thread_id=thread_id,
            kind="status",
            sender=SUPERVISOR,
            recipient=SUPERVISOR,
            task_id=None,
            payload={"summary": f"plan with {len(plan.tasks)} tasks", "tasks": [t.id for t in plan.tasks]},
            protocol=ctx.protocol,
            dedupe_key="plan",
        )
    return Command(
        goto="dispatch",
        update={
            "status": "running",
            "plan": [t.model_dump() for t in plan.tasks],
            "plan_summary": plan.summary,
            "interpretation": interpretation.model_dump(mode="json"),
            "campaign_id": campaign_id,
            "task_status": {t.id: "pending" for t in plan.tasks},
            "assignments": {t.id: [t.agent] for t in plan.tasks},
            "llm_calls": calls,
            "messages": [note],
        },
    )
