"""Typed audience filters, compiled to parameterized SQL over `customer_360`.

Agents never write SQL. They describe an audience as a tree of conditions:

    {"all": [{"field": "tier", "op": "eq", "value": "premium"}, {"segment": "at-risk"}]}

Field names come from a whitelist, operators from a fixed set, and every value is a bound
parameter, so no text from a model or from the CDP can reach the SQL itself.
"""

from __future__ import annotations

import math
import re
from dataclasses import dataclass
from typing import Annotated, Any, Literal

from pydantic import (
    BaseModel,
    ConfigDict,
    Discriminator,
    Field,
    RootModel,
    Tag,
    ValidationError,
    model_validator,
)

from cdp.clock import normalize_ts
from cdp.errors import FilterError
from cdp.migrations.m001_core import TIERS
from cdp.vocabulary import SegmentVocabulary, SegmentWord

FieldKind = Literal["text", "country", "tier", "int", "number", "bool", "timestamp"]

#: The columns of `customer_360` a filter may use, and the kind of value each takes.
FIELDS: dict[str, FieldKind] = {
    "profile_id": "text",
    "country": "country",
    "city": "text",
    "language": "text",
    "tier": "tier",
    "signup_at": "timestamp",
    "days_since_signup": "int",
    "orders_count": "int",
    "lifetime_value": "number",
    "avg_order_value": "number",
    "last_purchase_at": "timestamp",
    "days_since_purchase": "int",
    "favorite_category": "text",
    "churn_risk": "number",
    "engagement_score": "number",
    "open_ticket": "bool",
    "last_complaint_at": "timestamp",
    "days_since_complaint": "int",
    "consent_email": "bool",
    "consent_sms": "bool",
    "consent_push": "bool",
}

Operator = Literal["eq", "in", "gte", "lte", "between", "is_null"]
MAX_DEPTH = 8
MAX_NODES = 200
MAX_IN_VALUES = 500
MAX_TEXT = 200
#: SQLite binds integers as signed 64-bit; anything wider would fail at query time instead of here.
INT64_MIN, INT64_MAX = -(2**63), 2**63 - 1
#: Kinds that have no order worth comparing: only eq, in and is_null apply to them.
UNORDERED_KINDS = ("text", "tier", "country", "bool")


def _check_scalar(field: str, kind: FieldKind, value: Any) -> Any:
    """Validate one value for a field and return it in the form SQLite compares."""
    if kind in ("int", "number"):
        if isinstance(value, bool) or not isinstance(value, int | float):
            raise ValueError(f"field '{field}' takes a number, got {value!r}")
        if isinstance(value, float) and not math.isfinite(value):
            raise ValueError(f"field '{field}' takes a finite number, got {value!r}")
        if isinstance(value, int) and not INT64_MIN <= value <= INT64_MAX:
            raise ValueError(f"field '{field}' takes a number, got one too large for a 64-bit integer")
        return value
    if kind == "bool":
        if value in (True, False, 0, 1):
            return int(value)
        raise ValueError(f"field '{field}' takes true or false, got {value!r}")
    if not isinstance(value, str):
        raise ValueError(f"field '{field}' takes text, got {value!r}")
    if len(value) > MAX_TEXT:
        raise ValueError(f"value for '{field}' is longer than {MAX_TEXT} characters")
    if kind == "tier":
        if value not in TIERS:
            raise ValueError(f"tier must be one of {', '.join(TIERS)}, got {value!r}")
    elif kind == "country":
        # The same reading as imports: "UK" and "United Kingdom" are GB here too, so a filter a
        # model writes with "UK" finds the customers a file gave as "UK".
        from cdp.normalize import country_code

        try:
            return country_code(value)
        except ValueError as exc:
            raise ValueError(f"country takes an ISO 3166 alpha-2 code such as 'DE': {exc}") from None
    elif kind == "timestamp":
        try:
            return normalize_ts(value)
        except ValueError:
            raise ValueError(f"field '{field}' takes an ISO timestamp, got {value!r}") from None
    return value


def _is_null_flag(value: Any) -> bool:
    """True for the only values is_null accepts; by identity, so 0 and 1 (== False/True) are refused."""
    return value is None or value is True or value is False


class Condition(BaseModel):
    """A test on one `customer_360` column."""

    model_config = ConfigDict(extra="forbid", frozen=True)
    field: str
    op: Operator
    value: Any = None

    @model_validator(mode="after")
    def _validate(self) -> Condition:
        kind = FIELDS.get(self.field)
        if kind is None:
            raise ValueError(f"unknown field '{self.field}'; known fields: {', '.join(FIELDS)}")
        v = self.value
        if self.op == "is_null":
            if not _is_null_flag(v):
                raise ValueError("is_null takes true (is null), false (is not null) or no value")
        elif self.op in ("gte", "lte", "between") and kind in UNORDERED_KINDS:
            raise ValueError(f"'{self.op}' does not apply to field '{self.field}'")
        elif self.op == "in":
            if not isinstance(v, list) or not v:
                raise ValueError(f"'in' on '{self.field}' takes a non-empty list")
            if len(v) > MAX_IN_VALUES:
                raise ValueError(f"'in' takes at most {MAX_IN_VALUES} values")
            object.__setattr__(self, "value", [_check_scalar(self.field, kind, x) for x in v])
        elif self.op == "between":
            if not isinstance(v, list) or len(v) != 2:
                raise ValueError(f"'between' on '{self.field}' takes a list [low, high]")
            low, high = (_check_scalar(self.field, kind, x) for x in v)
            if low > high:
                raise ValueError(f"'between' on '{self.field}': low {low!r} is above high {high!r}")
            object.__setattr__(self, "value", [low, high])
        else:
            object.__setattr__(self, "value", _check_scalar(self.field, kind, v))
        return self


class SegmentRef(BaseModel):
    """A marketer's word (at-risk, lapsed, new, high-value, active, loyal), meaning as configured."""

    model_config = ConfigDict(extra="forbid", frozen=True)
    segment: SegmentWord


class TraitCondition(BaseModel):
    """A test on a trait some agent or job wrote (for example churn_band = high)."""

    model_config = ConfigDict(extra="forbid", frozen=True)
    trait: str = Field(pattern=r"^[a-z][a-z0-9_]{0,63}$")
    op: Literal["eq", "in", "is_null"]
    value: Any = None

    @model_validator(mode="after")
    def _validate(self) -> TraitCondition:
        if self.op == "eq" and (
            isinstance(self.value, bool) or not isinstance(self.value, str | int | float)
        ):
            raise ValueError(f"trait '{self.trait}' eq takes one text or number value")
        if self.op == "in" and (
            not isinstance(self.value, list) or not self.value or len(self.value) > MAX_IN_VALUES
        ):
            raise ValueError(f"trait '{self.trait}' in takes a non-empty list")
        if self.op == "in" and any(
            isinstance(x, bool) or not isinstance(x, str | int | float) for x in self.value
        ):
            raise ValueError(f"trait '{self.trait}' in takes text or number values")
        if self.op == "is_null" and not _is_null_flag(self.value):
            raise ValueError("is_null takes true, false or no value")
        return self


class AllOf(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)
    all: list[FilterExpr] = Field(min_length=1)


class AnyOf(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)
    any: list[FilterExpr] = Field(min_length=1)


class Not(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True, populate_by_name=True)
    not_: FilterExpr = Field(alias="not")


_KEYS = {
    "field": "condition",
    "segment": "segment",
    "trait": "trait",
    "all": "all",
    "any": "any",
    "not": "not",
}


#: The tag of each node model, so already-built nodes can sit inside a dict tree.
_MODEL_TAGS: dict[type, str] = {
    Condition: "condition",
    SegmentRef: "segment",
    TraitCondition: "trait",
    AllOf: "all",
    AnyOf: "any",
    Not: "not",
}


def _kind(value: Any) -> str | None:
    if isinstance(value, dict):
        for key, tag in _KEYS.items():
            if key in value:
                return tag
        return None
    return _MODEL_TAGS.get(type(value))


FilterExpr = Annotated[
    Annotated[Condition, Tag("condition")]
    | Annotated[SegmentRef, Tag("segment")]
    | Annotated[TraitCondition, Tag("trait")]
    | Annotated[AllOf, Tag("all")]
    | Annotated[AnyOf, Tag("any")]
    | Annotated[Not, Tag("not")],
    Discriminator(
        _kind,
        custom_error_type="filter_node",
        custom_error_message="each filter node needs one of the keys: field, segment, trait, all, any, not",
    ),
]
AllOf.model_rebuild()
AnyOf.model_rebuild()
Not.model_rebuild()


class AudienceFilter(RootModel[FilterExpr]):
    """The whole filter tree. Parse untrusted input with `parse_filter`, which gives clear errors."""

    def to_json(self) -> dict[str, Any]:
        return self.model_dump(mode="json", by_alias=True, exclude_none=False)


def _children(node: Any) -> list[Any]:
    if isinstance(node, AllOf):
        return list(node.all)
    if isinstance(node, AnyOf):
        return list(node.any)
    if isinstance(node, Not):
        return [node.not_]
    return []


def _check_size(node: Any, depth: int = 1) -> int:
    if depth > MAX_DEPTH:
        raise FilterError(_TOO_DEEP)
    return 1 + sum(_check_size(c, depth + 1) for c in _children(node))


#: Up to this many containers deep (dicts and lists) a valid filter can go: each level of nodes is
#: a dict, all/any add a list between levels, and an `in`/`between` value is one more list.
_MAX_CONTAINER_DEPTH = 2 * MAX_DEPTH + 1
_JSON_TOKEN = re.compile(rb'"(?:[^"\\]|\\.)*"|[\[\]{}]')
_TOO_DEEP = f"filter is nested deeper than {MAX_DEPTH} levels"


def _check_raw_depth(data: Any) -> None:
    """Refuse over-deep input before pydantic sees it, so the error is one short line.

    Depth counts dicts (filter nodes) against MAX_DEPTH and all containers against a looser bound.
    Both walks are iterative, so no input can exhaust the Python stack here.
    """
    if isinstance(data, str | bytes):
        raw = data.encode("utf-8", "surrogatepass") if isinstance(data, str) else data
        nodes = containers = 0
        stack: list[bytes] = []
        for m in _JSON_TOKEN.finditer(raw):
            token = m.group()
            if token in (b"{", b"["):
                stack.append(token)
                containers += 1
                nodes += token == b"{"
                if nodes > MAX_DEPTH or containers > _MAX_CONTAINER_DEPTH:
                    raise FilterError(_TOO_DEEP)
            elif token in (b"}", b"]") and stack:
                containers -= 1
                nodes -= stack.pop() == b"{"
        return
    # Depth-first, so even a self-referencing structure reaches the limit after a few steps.
    todo: list[tuple[Any, int, int]] = [(data, 0, 0)]
    while todo:
        value, nodes, containers = todo.pop()
        if isinstance(value, dict):
            children: Any = value.values()
            nodes += 1
        elif isinstance(value, list | tuple):
            children = value
        else:
            continue
        containers += 1
        if nodes > MAX_DEPTH or containers > _MAX_CONTAINER_DEPTH:
            raise FilterError(_TOO_DEEP)
        todo.extend((child, nodes, containers) for child in children)


_TAGS = frozenset(_KEYS.values())


def _error_path(loc: tuple[Any, ...]) -> str:
    """The error location in the user's own keys: `all.0.any.1.value`, without pydantic's union tags."""
    parts: list[str] = []
    expect_tag = True  # a union tag comes first, and after each list index or `not`
    for p in loc:
        text = str(p)
        if text.startswith("function-"):
            continue
        if expect_tag and text in _TAGS:
            expect_tag = False
            continue
        parts.append(text)
        expect_tag = isinstance(p, int) or text == "not"
    return ".".join(parts)


def _format_errors(exc: ValidationError) -> str:
    parts = []
    for err in exc.errors()[:5]:
        loc = _error_path(err["loc"])
        msg = err["msg"].removeprefix("Value error, ")
        parts.append(f"{loc}: {msg}" if loc else msg)
    return "; ".join(dict.fromkeys(parts))


def parse_filter(data: Any) -> AudienceFilter:
    """Validate untrusted filter input (dict, JSON text or AudienceFilter) or raise `FilterError`."""
    if isinstance(data, AudienceFilter):
        parsed = data
    else:
        _check_raw_depth(data)
        try:
            if isinstance(data, str | bytes):
                parsed = AudienceFilter.model_validate_json(data)
            else:
                parsed = AudienceFilter.model_validate(data)
        except ValidationError as exc:
            raise FilterError(f"invalid audience filter: {_format_errors(exc)}") from None
        except RecursionError:
            raise FilterError(_TOO_DEEP) from None
    if _check_size(parsed.root) > MAX_NODES:
        raise FilterError(f"filter has more than {MAX_NODES} conditions")
    return parsed


@dataclass(frozen=True)
class CompiledFilter:
    """A WHERE clause over `customer_360` (alias-free column names) and its bound parameters."""

    where: str
    params: list[Any]


def high_value_threshold(db, vocab: SegmentVocabulary) -> float:
    """Lowest lifetime value inside the top N% of customers (uses the index on lifetime_value)."""
    total = db.execute("SELECT count(*) FROM profiles").fetchone()[0]
    if total == 0:
        return math.inf
    offset = max(0, math.ceil(total * vocab.high_value_top_pct / 100.0) - 1)
    row = db.execute(
        "SELECT lifetime_value FROM profiles ORDER BY lifetime_value DESC LIMIT 1 OFFSET ?", [offset]
    ).fetchone()
    return float(row[0]) if row else math.inf


class _Compiler:
    def __init__(self, db, vocab: SegmentVocabulary):
        self.db = db
        self.vocab = vocab
        self.params: list[Any] = []

    def bind(self, value: Any) -> str:
        self.params.append(value)
        return "?"

    def node(self, node: Any) -> str:
        if isinstance(node, Condition):
            return self.condition(node)
        if isinstance(node, SegmentRef):
            return self.segment(node.segment)
        if isinstance(node, TraitCondition):
            return self.trait(node)
        if isinstance(node, AllOf):
            return "(" + " AND ".join(self.node(c) for c in node.all) + ")"
        if isinstance(node, AnyOf):
            return "(" + " OR ".join(self.node(c) for c in node.any) + ")"
        if isinstance(node, Not):
            return f"(NOT COALESCE({self.node(node.not_)}, 0))"
        raise FilterError(f"unsupported filter node {type(node).__name__}")

    def condition(self, c: Condition) -> str:
        column = f'"{c.field}"'  # c.field is a key of FIELDS, checked by the model validator
        if c.op == "is_null":
            return f"({column} IS {'NOT ' if c.value is False else ''}NULL)"
        if c.op == "in":
            return f"({column} IN ({', '.join(self.bind(v) for v in c.value)}))"
        if c.op == "between":
            return f"({column} BETWEEN {self.bind(c.value[0])} AND {self.bind(c.value[1])})"
        sql_op = {"eq": "=", "gte": ">=", "lte": "<="}[c.op]
        return f"({column} {sql_op} {self.bind(c.value)})"

    def segment(self, word: str) -> str:
        v = self.vocab
        if word == "at-risk":
            return f"(churn_risk >= {self.bind(v.at_risk_churn)})"
        if word == "lapsed":
            return f"(days_since_purchase >= {self.bind(v.lapsed_days)})"
        if word == "new":
            return f"(days_since_signup <= {self.bind(v.new_days)})"
        if word == "active":
            return f"(days_since_purchase <= {self.bind(v.active_days)})"
        if word == "loyal":
            return f"(orders_count >= {self.bind(v.loyal_min_orders)})"
        if word == "high-value":
            threshold = high_value_threshold(self.db, v)
            if math.isinf(threshold):
                return "(0)"
            return f"(lifetime_value >= {self.bind(threshold)} AND lifetime_value > 0)"
        raise FilterError(f"unknown segment word '{word}'")

    def trait(self, t: TraitCondition) -> str:
        name = self.bind(t.trait)
        if t.op == "is_null":
            exists = (
                "EXISTS (SELECT 1 FROM traits WHERE traits.profile_id = customer_360.profile_id"
                f" AND name = {name})"
            )
            return f"(NOT {exists})" if t.value is not False else f"({exists})"
        values = t.value if t.op == "in" else [t.value]
        placeholders = ", ".join(self.bind(str(x)) for x in values)
        return (
            "(EXISTS (SELECT 1 FROM traits WHERE traits.profile_id = customer_360.profile_id"
            f" AND name = {name} AND value IN ({placeholders})))"
        )


def compile_filter(data: Any, db, vocab: SegmentVocabulary | None = None) -> CompiledFilter:
    """Compile a filter (validated here if it is not yet) into a WHERE clause over `customer_360`."""
    parsed = parse_filter(data)
    compiler = _Compiler(db, vocab or SegmentVocabulary.from_env())
    return CompiledFilter(compiler.node(parsed.root), compiler.params)


def describe_filter(data: Any) -> str:
    """Plain words for a filter, for reports and explanations."""
    node = parse_filter(data).root

    def words(n: Any) -> str:
        if isinstance(n, Condition):
            if n.op == "is_null":
                return f"{n.field} is {'not ' if n.value is False else ''}empty"
            if n.op == "between":
                return f"{n.field} between {n.value[0]} and {n.value[1]}"
            if n.op == "in":
                return f"{n.field} in ({', '.join(map(str, n.value))})"
            return f"{n.field} {dict(eq='=', gte='>=', lte='<=')[n.op]} {n.value}"
        if isinstance(n, SegmentRef):
            return n.segment
        if isinstance(n, TraitCondition):
            return f"trait {n.trait} {n.op} {n.value}"
        if isinstance(n, AllOf):
            return " and ".join(words(c) for c in n.all)
        if isinstance(n, AnyOf):
            return "(" + " or ".join(words(c) for c in n.any) + ")"
        if isinstance(n, Not):
            return f"not ({words(n.not_)})"
        return "?"

    return words(node)
