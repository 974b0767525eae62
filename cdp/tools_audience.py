"""Audience tools: describe the CDP, count and preview an audience, save it, summarise and split it."""

from __future__ import annotations

from typing import Any

from langchain_core.tools import BaseTool
from pydantic import BaseModel, ConfigDict, Field

from cdp import audience
from cdp.audience import SubgroupField
from cdp.filters import FIELDS, MAX_DEPTH, MAX_IN_VALUES, MAX_NODES
from cdp.migrations.m001_core import TIERS
from cdp.tools_base import ToolSession, cdp_tool
from cdp.tools_traits import Derivation, write_segment_trait
from cdp.vocabulary import SegmentVocabulary

#: What each `customer_360` column means, in the words the model reads.
COLUMN_MEANINGS: dict[str, str] = {
    "profile_id": "resolved customer id (not personal data)",
    "country": "ISO 3166 alpha-2 country code, e.g. DE",
    "city": "city name",
    "language": "preferred language code, e.g. de, en",
    "tier": f"loyalty tier: {', '.join(TIERS)}",
    "signup_at": "signup time, ISO timestamp UTC",
    "days_since_signup": "whole days since signup",
    "orders_count": "number of purchases",
    "lifetime_value": "total spend",
    "avg_order_value": "lifetime_value / orders_count (null when no order)",
    "last_purchase_at": "time of the last purchase (null when never purchased)",
    "days_since_purchase": "whole days since the last purchase (null when never purchased)",
    "favorite_category": "category bought most often (null when never purchased)",
    "churn_risk": "0..1 from recency, frequency, purchase rhythm and recent complaints; >= 0.7 is at-risk",
    "engagement_score": "0..1 from opens, clicks and visits, fading over 90 days",
    "open_ticket": "true while the customer has an open support ticket",
    "last_complaint_at": "time of the last complaint (null when none)",
    "days_since_complaint": "whole days since the last complaint (null when none)",
    "consent_email": "true only when email consent is granted",
    "consent_sms": "true only when SMS consent is granted",
    "consent_push": "true only when push consent is granted",
}
KIND_NAMES = {
    "text": "text",
    "country": "text (country code)",
    "tier": "text (tier)",
    "int": "integer",
    "number": "number",
    "bool": "boolean",
    "timestamp": "ISO timestamp",
}
FILTER_EXAMPLES: list[dict[str, Any]] = [
    {"all": [{"segment": "at-risk"}, {"field": "consent_email", "op": "eq", "value": True}]},
    {
        "all": [
            {"field": "country", "op": "in", "value": ["DE", "AT"]},
            {"field": "tier", "op": "in", "value": ["premium", "vip"]},
            {"not": {"field": "open_ticket", "op": "eq", "value": True}},
        ]
    },
    {
        "any": [
            {"all": [{"segment": "lapsed"}, {"field": "orders_count", "op": "gte", "value": 3}]},
            {"trait": "churn_band", "op": "eq", "value": "high"},
        ]
    },
]
FILTER_ARG = (
    "Audience filter: a JSON object. A condition {'field': <customer_360 column>, 'op': 'eq'|'in'|'gte'|"
    "'lte'|'between'|'is_null', 'value': ...}; a segment word {'segment': 'at-risk'|'lapsed'|'new'|"
    "'high-value'|'active'|'loyal'}; a trait test {'trait': name, 'op': 'eq'|'in'|'is_null', 'value': ...}; "
    "combined with {'all': [...]}, {'any': [...]}, {'not': {...}}. Call describe_cdp for columns and values."
)
SEGMENT_ID_ARG = "id returned by save_segment"


def _grammar(vocab: SegmentVocabulary) -> dict[str, Any]:
    return {
        "condition": {
            "shape": {"field": "<column>", "op": "<operator>", "value": "<value>"},
            "operators": {
                "eq": "equals one value",
                "in": f"equals one of a non-empty list (at most {MAX_IN_VALUES} values)",
                "gte": "at least (numbers, integers, timestamps only)",
                "lte": "at most (numbers, integers, timestamps only)",
                "between": "inclusive range [low, high], low <= high",
                "is_null": "value true = is empty, false = is not empty",
            },
        },
        "segment_word": {"shape": {"segment": "<word>"}, "meanings": vocab.describe()},
        "trait": {
            "shape": {"trait": "<trait name>", "op": "eq | in | is_null", "value": "<text>"},
            "note": "tests a trait some agent wrote (see read_traits); values compare as text",
        },
        "combinators": {"all": "every child matches", "any": "at least one child matches", "not": "negation"},
        "limits": f"at most {MAX_DEPTH} levels deep and {MAX_NODES} nodes",
    }


class NoArgs(BaseModel):
    model_config = ConfigDict(extra="forbid")


class FilterArgs(BaseModel):
    model_config = ConfigDict(extra="forbid")
    filter: dict[str, Any] | str = Field(description=FILTER_ARG)


class PreviewArgs(FilterArgs):
    limit: int = Field(5, ge=1, le=audience.MAX_PREVIEW, description="how many example customers")


class SaveArgs(FilterArgs):
    name: str = Field(min_length=1, max_length=80, description="short name, e.g. 'DE at-risk email'")
    description: str = Field("", max_length=500, description="why this audience, in one or two sentences")
    derive_traits: list[Derivation] = Field(
        default_factory=list,
        description="bands to write as traits for every member right after saving "
        "(churn_band, value_band, engagement_band), visible to all agents",
    )


class SegmentArgs(BaseModel):
    model_config = ConfigDict(extra="forbid")
    segment_id: str = Field(min_length=1, max_length=64, description=SEGMENT_ID_ARG)


class SubgroupArgs(SegmentArgs):
    by: list[SubgroupField] = Field(
        default=["language", "favorite_category", "tier"],
        min_length=1,
        max_length=4,
        description="columns to split by",
    )
    min_size: int = Field(20, ge=1, description="smaller groups are pooled into other_groups")


def audience_tools(session: ToolSession) -> list[BaseTool]:
    """Tools to explore audiences and save one as a segment (the only write is `save_segment`)."""

    def describe_cdp(db, args: NoArgs) -> dict[str, Any]:
        """Describe the customer data: the columns you can filter on, the filter grammar, the values
        present (countries, languages, tiers, categories with customer counts) and example filters.
        Call this first, before writing any filter. Returns a JSON object; no personal data."""
        vocab = SegmentVocabulary.from_env()
        return {
            "table": "customer_360 (one row per customer; figures are current)",
            "columns": {
                name: {"type": KIND_NAMES[kind], "meaning": COLUMN_MEANINGS.get(name, "")}
                for name, kind in FIELDS.items()
            },
            "filter_grammar": _grammar(vocab),
            "values": audience.value_counts(db),
            "examples": FILTER_EXAMPLES,
        }

    def count_audience(db, args: FilterArgs) -> dict[str, Any]:
        """Count the customers a filter matches and describe them, without saving anything.
        Use it to size and refine an audience before save_segment. Returns size, total_customers,
        by_country, by_tier, by_language, by_favorite_category (top 10), consent (granted per
        channel), reachable_any_channel, avg_churn_risk, avg_lifetime_value, open_ticket (count)
        and the filter in words. Example filter: {"all": [{"segment": "at-risk"},
        {"field": "consent_email", "op": "eq", "value": true}]}."""
        return audience.count_audience(db, args.filter)

    def preview_audience(db, args: PreviewArgs) -> dict[str, Any]:
        """Show a few example customers matching a filter (lowest ids first), to sanity-check it.
        Rows hold only ids and non-identifying columns (country, language, tier, orders, value,
        recency, category, churn_risk, engagement, consent flags): never names or contacts."""
        rows = audience.preview_audience(db, args.filter, args.limit)
        return {"rows": rows, "shown": len(rows)}

    def save_segment(db, args: SaveArgs) -> dict[str, Any]:
        """Save the audience a filter matches as a segment, so other agents and the send step can
        use it by id. Saving the same filter again in the same task replaces it (safe to retry).
        Returns segment_id, name, size and the filter in words. Check the size with count_audience
        first."""
        saved = audience.save_segment(
            db,
            args.filter,
            name=args.name,
            description=args.description,
            created_by=session.agent,
            thread_id=session.thread_id,
            task_id=session.task_id,
        )
        for band in args.derive_traits:
            write_segment_trait(db, saved["segment_id"], band, source=session.agent, value_from=band)
        return {**saved, "traits_written": list(args.derive_traits)}

    def segment_summary(db, args: SegmentArgs) -> dict[str, Any]:
        """Describe a saved segment's current members: same figures as count_audience (size, by
        country, tier, language, category, consent per channel, averages) plus who saved it."""
        return audience.segment_summary(db, args.segment_id)

    def segment_subgroups(db, args: SubgroupArgs) -> dict[str, Any]:
        """Split a saved segment into sub-groups by language, favorite_category, tier and/or country,
        to decide which message variants are worth writing. Returns groups (largest first) with
        their size; groups under min_size are pooled into other_groups."""
        return audience.subgroups(db, args.segment_id, args.by, args.min_size)

    return [
        cdp_tool(session, describe_cdp, NoArgs),
        cdp_tool(session, count_audience, FilterArgs),
        cdp_tool(session, preview_audience, PreviewArgs),
        cdp_tool(session, save_segment, SaveArgs, write=True),
        cdp_tool(session, segment_summary, SegmentArgs),
        cdp_tool(session, segment_subgroups, SubgroupArgs),
    ]


READ_AUDIENCE_TOOLS = (
    "describe_cdp",
    "count_audience",
    "preview_audience",
    "segment_summary",
    "segment_subgroups",
)
