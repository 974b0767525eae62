"""The supervisor's plan: a typed task DAG the model fills in one structured call, validated in code."""

from __future__ import annotations

from datetime import datetime
from graphlib import CycleError, TopologicalSorter
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, field_validator, model_validator

from cdp.vocabulary import OfferKind, normalise_category, normalise_offer_kind


def iso_or_none(value: str | None) -> str | None:
    """`value` when it is an ISO 8601 date or time (empty means none); anything else is refused."""
    if value is None or not value.strip():
        return None
    try:
        datetime.fromisoformat(value.strip().replace("Z", "+00:00"))
    except ValueError:
        raise ValueError(f"{value[:40]!r} is not an ISO 8601 date or time such as 2026-12-24") from None
    return value.strip()


class PlannedTask(BaseModel):
    """One unit of work for one specialist."""

    model_config = ConfigDict(extra="forbid")
    id: str = Field(pattern=r"^[a-z][a-z0-9_]{0,31}$", description="Short unique id, e.g. 'audience'.")
    agent: str = Field(description="Name of the specialist that does it (see the agent list).")
    goal: str = Field(min_length=1, max_length=600, description="What the specialist must achieve.")
    inputs: dict[str, Any] = Field(default_factory=dict, description="Extra parameters for the task.")
    depends_on: list[str] = Field(default_factory=list, description="Ids of tasks that must finish first.")
    acceptance: list[str] = Field(default_factory=list, description="What a finished task must show.")


class CampaignSpec(BaseModel):
    """What the objective says about the campaign itself (offer, channels, budget, timing).

    Nothing here says whether the campaign is marketing: a campaign planned from an objective always
    is, and only a person can make a message kind transactional (`cdp-agents message-kinds`).
    """

    model_config = ConfigDict(extra="forbid")
    goal: str | None = Field(default=None, description="retention, win-back, re-engagement, cross-sell, ...")
    channels: list[Literal["email", "sms", "push"]] = Field(default_factory=list)
    budget: float | None = Field(default=None, ge=0, le=1_000_000_000, allow_inf_nan=False)
    currency: str | None = Field(default=None, pattern=r"^[A-Z]{3}$")
    discount_pct: float | None = Field(default=None, ge=0, le=90, allow_inf_nan=False)
    offer_kind: OfferKind | None = Field(
        default=None, description="The kind of offer, one of the listed values; none when there is no offer."
    )
    offer_category: str | None = Field(default=None, max_length=40)
    send_at: str | None = Field(default=None, description="ISO time to send, if the objective says.")
    offer_value: float | None = Field(
        default=None,
        ge=0,
        le=1_000_000,
        allow_inf_nan=False,
        description="The offer's size: 10 in '$10 off'.",
    )
    offer_unit: str | None = Field(
        default=None,
        pattern=r"^(percent|points|items|[A-Z]{3})$",
        description="What offer_value counts: percent, points, items (2 for 1) or an ISO currency (money off).",
    )
    offer_valid_until: str | None = Field(
        default=None, description="ISO date the offer ends ('valid until Dec 31'); never the send time."
    )
    occasion: str | None = Field(default=None, max_length=40, description="Black Friday, holiday, ...")

    @model_validator(mode="before")
    @classmethod
    def _drop_promotional(cls, data: Any) -> Any:
        """Older plans carried a model-written `promotional` flag; it is dropped unread, so no plan
        can exempt a campaign from the marketing rules."""
        if isinstance(data, dict) and "promotional" in data:
            data = {k: v for k, v in data.items() if k != "promotional"}
        return data

    @field_validator("offer_kind", mode="before")
    @classmethod
    def _normalise_offer_kind(cls, value: Any) -> OfferKind | None:
        """Near-miss words ("last chance", "Welcome Offer") become their kind; others are refused."""
        return normalise_offer_kind(value)

    @field_validator("offer_category", mode="before")
    @classmethod
    def _normalise_offer_category(cls, value: Any) -> str | None:
        """One spelling per category ("Shoes ", "footwear" -> "shoes"); empty means store-wide."""
        return normalise_category(value)


Channel = Literal["email", "sms", "push"]


class Reading(BaseModel):
    """One phrase of the objective and what it was taken to mean."""

    model_config = ConfigDict(extra="forbid")
    words: str = Field(max_length=200, description="The objective's own words, e.g. 'outside the US'.")
    meaning: str = Field(
        max_length=300, description="What they were taken to mean, e.g. 'country is not US'."
    )


class AudienceReading(BaseModel):
    model_config = ConfigDict(extra="forbid")
    text: str = Field(default="everyone", max_length=600, description="The audience in plain words.")
    filter: dict[str, Any] = Field(default_factory=dict, description="The same audience as a typed filter.")


class OfferReading(BaseModel):
    model_config = ConfigDict(extra="forbid")
    kind: OfferKind | None = None
    value: float | None = Field(default=None, ge=0, allow_inf_nan=False)
    unit: str | None = Field(default=None, description="percent, points, items or an ISO currency code")
    category: str | None = None
    text: str = Field(default="", max_length=300)

    @field_validator("kind", mode="before")
    @classmethod
    def _kind(cls, value: Any) -> OfferKind | None:
        return normalise_offer_kind(value)


class TimingReading(BaseModel):
    """When to send, kept apart from how long the offer is valid."""

    model_config = ConfigDict(extra="forbid")
    send_at: str | None = Field(default=None, description="ISO time the messages go out; none means now.")
    send_by: bool = Field(default=False, description="send_at is a deadline ('by December 15').")
    offer_valid_until: str | None = Field(default=None, description="ISO date the offer ends.")
    occasion: str | None = None
    occasion_date: str | None = Field(default=None, description="ISO date of the occasion, when known.")
    text: str = Field(default="now", max_length=300)

    @field_validator("send_at", "offer_valid_until", "occasion_date")
    @classmethod
    def _iso(cls, value: str | None) -> str | None:
        """A date is an ISO date or time, or none: words ("valid until") go back to the model."""
        return iso_or_none(value)


class BudgetReading(BaseModel):
    model_config = ConfigDict(extra="forbid")
    amount: float = Field(ge=0, allow_inf_nan=False)
    currency: str | None = Field(default=None, pattern=r"^[A-Z]{3}$")


class InterpretationWarning(BaseModel):
    """Something a person should see before the campaign goes out; `--approve auto` stops on it."""

    model_config = ConfigDict(extra="forbid")
    code: str = Field(pattern=r"^[a-z_]{1,40}$", description="empty_country, past_date, large_discount, ...")
    message: str = Field(max_length=400)


class Interpretation(BaseModel):
    """What every word of the objective was taken to mean: shown wherever a person decides."""

    model_config = ConfigDict(extra="forbid")
    audience: AudienceReading = Field(default_factory=AudienceReading)
    offer: OfferReading | None = None
    channels: list[Channel] = Field(default_factory=list, description="Empty means every channel allowed.")
    timing: TimingReading = Field(default_factory=TimingReading)
    budget: BudgetReading | None = None
    readings: list[Reading] = Field(default_factory=list, description="Each phrase and its meaning.")
    unused_words: list[str] = Field(default_factory=list, description="Words of the objective not used.")
    warnings: list[InterpretationWarning] = Field(default_factory=list)


class Plan(BaseModel):
    """The whole plan, or a question/refusal when the objective cannot be planned safely."""

    model_config = ConfigDict(extra="forbid")
    campaign: CampaignSpec = Field(default_factory=CampaignSpec)
    campaign_name: str = Field(default="", max_length=120, description="Short name for the campaign.")
    summary: str = Field(default="", max_length=1000, description="One paragraph: the approach.")
    tasks: list[PlannedTask] = Field(default_factory=list)
    interpretation: Interpretation | None = Field(
        default=None, description="What each word of the objective was taken to mean."
    )
    question: str | None = Field(default=None, description="Ask the user this instead of planning.")
    refusal: str | None = Field(default=None, description="Why the objective cannot be done.")


class PlanError(ValueError):
    """A plan that cannot run: cycles, unknown agents, dangling or duplicate ids."""


def validate_plan(plan: Plan, known_agents: set[str]) -> None:
    """Raise `PlanError` naming every problem, so the model can be asked once more with it."""
    if plan.question or plan.refusal:
        return
    problems: list[str] = []
    if not plan.tasks:
        problems.append("the plan has no tasks")
    if len(plan.tasks) > 20:
        problems.append("the plan has more than 20 tasks")
    ids = [t.id for t in plan.tasks]
    dupes = sorted({i for i in ids if ids.count(i) > 1})
    if dupes:
        problems.append(f"duplicate task ids: {', '.join(dupes)}")
    for task in plan.tasks:
        if task.agent not in known_agents:
            problems.append(
                f"task '{task.id}' names unknown agent '{task.agent}' (known: {', '.join(sorted(known_agents))})"
            )
        for dep in task.depends_on:
            if dep not in ids:
                problems.append(f"task '{task.id}' depends on unknown task '{dep}'")
            elif dep == task.id:
                problems.append(f"task '{task.id}' depends on itself")
    cycle = find_cycle(plan.tasks)
    if cycle:
        problems.append("dependency cycle: " + " -> ".join(cycle))
    if problems:
        raise PlanError("; ".join(problems))


def find_cycle(tasks: list[PlannedTask]) -> list[str] | None:
    """A dependency cycle as a list of ids, each depending on the next (first id repeated at the end),
    or None. Self-dependencies are reported on their own, so they are left out here."""
    deps = {t.id: [d for d in t.depends_on if d != t.id] for t in tasks}
    try:
        TopologicalSorter(deps).prepare()
    except CycleError as exc:
        # graphlib walks from a task to the tasks depending on it; reversed, each id depends on the next.
        return list(reversed(exc.args[1]))
    return None


class PlanBrief(BaseModel):
    """The smaller plan a small model fills (`CDP_AGENTS_PLAN_SCHEMA=brief`): its reading of the
    objective and a decision. The campaign and the task graph follow in code (`graph.plan_template`),
    so the model cannot invent campaign fields the reading does not hold, nor a wrong dependency."""

    model_config = ConfigDict(extra="forbid")
    interpretation: Interpretation = Field(description="What each word of the objective was taken to mean.")
    goal: str | None = Field(
        default=None,
        max_length=40,
        description="retention, win-back, re-engagement, cross-sell, welcome, growth, or none.",
    )
    campaign_name: str = Field(default="", max_length=120, description="Short name for the campaign.")
    decision: Literal["plan", "ask", "refuse"] = Field(
        description="plan when the objective is understood; ask when a word or fact is unclear or "
        "missing; refuse when it asks to break a customer rule."
    )
    message: str = Field(
        default="",
        max_length=1000,
        description="ask: the question naming what is unclear; refuse: why; plan: empty.",
    )
