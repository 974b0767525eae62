"""Parse a marketer's objective into a typed `Brief`: a grammar over word classes, not a list of examples.

The objective is tokenised, phrases are matched against the word classes of `llm.lexicon` (longest
match first), and small rules read the classes in context: an adjective names a segment or a tier only
when it modifies a customer noun, a number of days means a purchase or signup window only next to a
purchase or signup word, words after "excluding" are exclusions. What cannot be mapped is never
guessed: it becomes an `unmapped` entry and, when ignoring it would change the audience, a `question`.
"""

from __future__ import annotations

import calendar
import math
import re
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, time, timedelta
from typing import Any, Literal, cast

from pydantic import BaseModel, ConfigDict, Field

from cdp import clock
from cdp.filters import parse_filter
from cdp.migrations.m001_core import TIERS
from cdp.vocabulary import SEGMENT_WORDS, SegmentVocabulary
from llm.scripted import lexicon as lx

__all__ = [
    "MAX_OBJECTIVE_CHARS",
    "AudienceCondition",
    "Brief",
    "Budget",
    "Exclusion",
    "Unmapped",
    "cdp_countries",
    "parse_objective",
]

MAX_OBJECTIVE_CHARS = 2_000
SEND_HOUR_UTC = 9  # a date without a time means 09:00 UTC that day

Goal = Literal["retention", "win-back", "re-engagement", "cross-sell", "upsell", "welcome", "launch"]
Channel = Literal["email", "sms", "push"]
Tier = Literal["standard", "premium", "vip"]
ConditionField = Literal[
    "days_since_purchase",
    "days_since_signup",
    "days_since_complaint",
    "last_complaint_at",
    "lifetime_value",
    "avg_order_value",
    "orders_count",
    "churn_risk",
    "open_ticket",
    "consent_email",
    "consent_sms",
    "consent_push",
]
CHANNEL_ORDER: tuple[Channel, ...] = ("email", "sms", "push")


# ============================================================================================ models


class Budget(BaseModel):
    """Money for the whole campaign; `currency` is ISO 4217, None when the objective gave none."""

    model_config = ConfigDict(frozen=True)
    amount: float
    currency: str | None = None


class AudienceCondition(BaseModel):
    """One typed test on a `customer_360` column, and the words it came from."""

    model_config = ConfigDict(frozen=True)
    field: ConditionField
    op: Literal["eq", "gte", "lte", "between", "is_null"]
    value: Any = None
    phrase: str = ""

    def node(self) -> dict[str, Any]:
        return {"field": self.field, "op": self.op, "value": self.value}


class Exclusion(BaseModel):
    """Customers the objective leaves out ("excluding VIPs", "not in Germany")."""

    model_config = ConfigDict(frozen=True)
    kind: Literal["segment", "tier", "country", "city", "language", "category", "condition"]
    value: str | None = None
    condition: AudienceCondition | None = None
    phrase: str = ""

    def node(self) -> dict[str, Any]:
        if self.kind == "condition" and self.condition is not None:
            return self.condition.node()
        if self.kind == "segment":
            return {"segment": self.value}
        column = {
            "tier": "tier",
            "country": "country",
            "city": "city",
            "language": "language",
            "category": "favorite_category",
        }[self.kind]
        return {"field": column, "op": "eq", "value": self.value}


class Unmapped(BaseModel):
    """A phrase the grammar saw but could not map, and why."""

    model_config = ConfigDict(frozen=True)
    phrase: str
    why: str


class Brief(BaseModel):
    """What an objective asks for, typed. `question` / `refusal` set means: do not run it as is."""

    objective: str = ""
    goal: Goal | None = None
    action: str | None = Field(default=None, description="launch-type verb used (launch, announce ...)")
    occasion: str | None = None
    occasion_date: date | None = None
    segment_words: list[str] = Field(default_factory=list)
    segment_groups: list[list[str]] = Field(
        default_factory=list, description="AND of groups; words in one group are alternatives (OR)"
    )
    implied_segment_words: list[str] = Field(
        default_factory=list, description="segments the goal implies when no audience word says otherwise"
    )
    tiers: list[Tier] = Field(default_factory=list)
    target_tier: Tier | None = Field(default=None, description="tier an upsell moves customers to")
    countries: list[str] = Field(default_factory=list)
    cities: list[str] = Field(default_factory=list)
    languages: list[str] = Field(default_factory=list)
    content_language: str | None = None
    categories: list[str] = Field(
        default_factory=list, description="product categories the campaign is about"
    )
    audience_categories: list[str] = Field(
        default_factory=list, description="favourite categories that define the audience"
    )
    channels: list[Channel] = Field(default_factory=list)
    channels_strict: bool = False
    excluded_channels: list[Channel] = Field(default_factory=list)
    budget: Budget | None = None
    discount_pct: float | None = None
    free_shipping: bool = False
    offer_kind: str | None = None
    conditions: list[AudienceCondition] = Field(default_factory=list)
    exclusions: list[Exclusion] = Field(default_factory=list)
    send_at: datetime | None = None
    send_by: bool = Field(default=False, description="send_at is a deadline ('by December 15')")
    unmapped: list[Unmapped] = Field(default_factory=list)
    notes: list[str] = Field(default_factory=list, description="assumptions made, in plain words")
    refusal: str | None = None
    question: str | None = None

    @property
    def ok(self) -> bool:
        """True when the objective can be run as is (no refusal, no open question)."""
        return self.refusal is None and self.question is None

    def audience_filter(self) -> dict[str, Any]:
        """The audience the words describe, in the `cdp.filters` grammar (channels do not narrow it).

        No audience words means everyone. Goal defaults (documented on `parse_objective`) appear as
        `implied_segment_words`.
        """
        parts: list[dict[str, Any]] = []
        for group in self.segment_groups:
            nodes = [{"segment": w} for w in group]
            parts.append(nodes[0] if len(nodes) == 1 else {"any": nodes})
        parts.extend({"segment": w} for w in self.implied_segment_words)
        if self.tiers:
            parts.append(_eq_or_in("tier", list(self.tiers)))
        places = []
        if self.countries:
            places.append(_eq_or_in("country", self.countries))
        if self.cities:
            places.append(_eq_or_in("city", self.cities))
        if places:
            parts.append(places[0] if len(places) == 1 else {"any": places})
        if self.languages:
            parts.append(_eq_or_in("language", self.languages))
        if self.audience_categories:
            parts.append(_eq_or_in("favorite_category", self.audience_categories))
        parts.extend(c.node() for c in self.conditions)
        parts.extend({"not": e.node()} for e in self.exclusions)
        if not parts:
            parts.append({"field": "orders_count", "op": "gte", "value": 0})
        result = {"all": parts}
        parse_filter(result)  # the grammar only builds filters the CDP accepts
        return result

    def describe(self) -> str:
        """The brief in one line of plain words, for prompts, logs and reports."""
        bits = [f"goal {self.goal or 'unspecified'}"]
        if self.occasion:
            bits.append(f"occasion {self.occasion}")
        segs = [" or ".join(g) for g in self.segment_groups] + [
            f"{w} (implied)" for w in self.implied_segment_words
        ]
        if segs:
            bits.append("segments " + " and ".join(segs))
        for label, values in (
            ("tiers", self.tiers),
            ("countries", self.countries),
            ("cities", self.cities),
            ("languages", self.languages),
            ("favourite categories", self.audience_categories),
            ("product categories", self.categories),
        ):
            if values:
                bits.append(f"{label} {', '.join(values)}")
        bits.extend(f"{c.field} {c.op} {c.value}" for c in self.conditions)
        bits.extend(f"excluding {e.phrase or e.value}" for e in self.exclusions)
        if self.channels:
            bits.append(("only " if self.channels_strict else "channels ") + ", ".join(self.channels))
        if self.budget:
            bits.append(f"budget {self.budget.amount:g} {self.budget.currency or '(no currency)'}")
        if self.discount_pct is not None:
            bits.append(f"{self.discount_pct:g}% off")
        if self.free_shipping:
            bits.append("free shipping")
        if self.offer_kind:
            bits.append(f"offer {self.offer_kind}")
        if self.send_at:
            bits.append(("send by " if self.send_by else "send on ") + self.send_at.date().isoformat())
        return "; ".join(bits)


def _eq_or_in(column: str, values: list[str]) -> dict[str, Any]:
    if len(values) == 1:
        return {"field": column, "op": "eq", "value": values[0]}
    return {"field": column, "op": "in", "value": list(values)}


def _cond(field: str, op: str, value: Any, phrase: str) -> AudienceCondition:
    """An AudienceCondition from computed parts (validated: a rule can only build a known field and op)."""
    return AudienceCondition.model_validate({"field": field, "op": op, "value": value, "phrase": phrase})


def cdp_countries(db) -> list[str]:
    """Countries the CDP has customers in (ISO codes), for `parse_objective(countries=...)`."""
    rows = db.execute("SELECT DISTINCT country FROM profiles WHERE country IS NOT NULL ORDER BY country")
    return [r[0] for r in rows]


# ============================================================================================ tokens

_TOKEN_RE = re.compile(
    r"(?P<date>\d{4}-\d{2}-\d{2})"
    r"|(?P<num>\d+(?:,\d{3})*(?:\.\d+)?)(?P<suffix>[kKmM](?![^\W\d_]))?"
    r"|(?P<word>[^\W\d_]+(?:'[^\W\d_]+)*)"
    r"|(?P<sym>[$€£¥%+<>≥≤&/])"
    r"|(?P<punct>[,.;:!?()\-–—\"])"
)
_PRE = (
    (re.compile(r"[’‘`´]"), "'"),
    (re.compile(r"\bU\.S\.A\.?"), " USA "),
    (re.compile(r"\bU\.S\.?(?![A-Za-z])"), " US "),
    (re.compile(r"\bU\.K\.?(?![A-Za-z])"), " UK "),
    (
        re.compile(r"\b(R|US|C|CA|A|AU)\$"),
        lambda m: (
            " "
            + {"R": "BRL", "US": "USD", "C": "CAD", "CA": "CAD", "A": "AUD", "AU": "AUD"}[m.group(1)]
            + " "
        ),
    ),
    (re.compile(r"(\d)(st|nd|rd|th)\b", re.I), r"\1"),
)


def norm_word(word: str) -> str:
    """Lower case, no possessive, singular: so "VIPs", "VIP's" and "vip" match the same entry."""
    w = word.lower()
    if w.endswith("'s"):
        w = w[:-2]
    if w in lx.PLURAL_EXCEPTIONS or len(w) < 4 or "'" in w:
        return w
    if w.endswith("ies") and len(w) > 4:
        return w[:-3] + "y"
    if w.endswith(("ss", "us", "is", "ous")):
        return w
    if w.endswith("s"):
        return w[:-1]
    return w


@dataclass
class Tok:
    raw: str
    word: str
    kind: str  # word, num, date, sym, punct
    start: int
    end: int
    value: float | None = None


def normalise_text(text: str) -> str:
    """Quotes and abbreviations in one form ("U.S." → "US", "R$" → "BRL"); offsets refer to this text."""
    for pattern, repl in _PRE:
        text = pattern.sub(repl, text)  # type: ignore[arg-type]
    return text


def tokenize(text: str) -> list[Tok]:
    """Tokens of a `normalise_text` result (linear time: one regex pass without nested quantifiers)."""
    out: list[Tok] = []
    for m in _TOKEN_RE.finditer(text):
        raw = m.group(0)
        if m.group("date"):
            out.append(Tok(raw, raw, "date", m.start(), m.end()))
        elif m.group("num") is not None:
            value = float(m.group("num").replace(",", ""))
            suffix = (m.group("suffix") or "").lower()
            value *= {"k": 1_000, "m": 1_000_000}.get(suffix, 1)
            word = f"{value:g}" if value != int(value) else str(int(value))
            out.append(Tok(raw, word, "num", m.start(), m.end(), value))
        elif m.group("word"):
            out.append(Tok(raw, norm_word(raw), "word", m.start(), m.end()))
        elif m.group("sym"):
            out.append(Tok(raw, raw, "sym", m.start(), m.end()))
        else:
            out.append(Tok(raw, {"–": ",", "—": ",", '"': '"'}.get(raw, raw), "punct", m.start(), m.end()))
    # hyphens join words ("at-risk", "e-mail"): drop them, except in number ranges ("30-60 days")
    kept = []
    for i, t in enumerate(out):
        if t.word == "-":
            if 0 < i < len(out) - 1 and out[i - 1].kind == "num" and out[i + 1].kind == "num":
                kept.append(Tok("-", "to", "word", t.start, t.end))
            continue
        kept.append(t)
    return kept


# =========================================================================================== lexicon


def _phrase(text: str) -> tuple[str, ...]:
    return tuple(t.word for t in tokenize(normalise_text(text)))


def _build_lexicon() -> dict[tuple[str, ...], dict[str, str]]:
    lex: dict[tuple[str, ...], dict[str, str]] = {}

    def add(phrases: Iterable[str], tag: str, value: str = "") -> None:
        for p in phrases:
            key = _phrase(p)
            if key:
                lex.setdefault(key, {}).setdefault(tag, value)

    for goal, words in lx.GOALS.items():
        add(words, "GOAL", goal)
    add(lx.WEAK_RETENTION, "GOALWEAK", "retention")
    add(lx.LAUNCH_VERBS, "LAUNCH")
    for seg, words in lx.SEGMENTS.items():
        add(words, "SEG", seg)
    for seg, words in lx.SEGMENTS_NEED_HEAD.items():
        add(words, "SEGH", seg)
    for tier, words in lx.TIERS_ALWAYS.items():
        add(words, "TIER", tier)
    for tier, words in lx.TIERS_NEED_HEAD.items():
        add(words, "TIERH", tier)
    add(lx.TIER_LIKE, "TIERLIKE")
    add(lx.TIER_NOUNS, "TIERNOUN")
    add(lx.HEADS, "HEAD")
    add(lx.HARMLESS_MODIFIERS, "HARMLESS")
    for code, (names, adjectives) in lx.COUNTRIES.items():
        add(names, "COUNTRY", code)
        add(adjectives, "CADJ", code)
    for region, codes in lx.REGIONS.items():
        add([region], "REGION", ",".join(codes))
    for place, code in lx.SUBNATIONAL.items():
        add([place], "SUBNATIONAL", code)
    for city in lx.CITIES:
        add([city], "CITY", city)
    for alias, city in lx.CITY_ALIASES.items():
        add([alias], "CITY", city)
    for code, names in lx.LANGUAGES.items():
        add(names, "LANG", code)
        add([f"{n} speaking" for n in names] + [f"{n} speaker" for n in names], "LANGAUD", code)
    for cat, words in lx.CATEGORIES.items():
        add(words, "CAT", cat)
    add(lx.CATEGORY_AUDIENCE_CUES, "CATCUE")
    add(lx.CATEGORY_AUDIENCE_HEADS, "CATHEAD")
    for ch, words in lx.CHANNELS.items():
        add(words, "CHANNEL", ch)
    for word, ch in lx.AMBIGUOUS_CHANNELS.items():
        add([word], "CHANNELAMB", ch)
    add(lx.ALL_CHANNELS, "ALLCH")
    add(lx.UNSUPPORTED_CHANNELS, "UNKCH")
    add(lx.STRICT_WORDS, "STRICT")
    for sym, cur in lx.CURRENCY_SYMBOLS.items():
        add([sym], "CURSYM", cur)
    for word, cur in lx.CURRENCY_WORDS.items():
        add([word], "CUR", cur)
    add(lx.BUDGET_CUES, "BUDGET")
    add(lx.LTV_CUES, "LTV")
    add(lx.AOV_CUES, "AOV")
    add(lx.DISCOUNT_CUES, "DISC")
    for kind, words in lx.OFFERS.items():
        add(words, "OFFER", kind)
    add(lx.FREE_SHIPPING, "FREESHIP")
    for occ, words in lx.OCCASIONS.items():
        add(words, "OCC", occ)
    for name, month in lx.MONTHS.items():
        add([name], "MONTH", str(month))
    for name, day in lx.WEEKDAYS.items():
        add([name], "WEEKDAY", str(day))
    for name, days in lx.UNITS.items():
        add([name], "UNIT", str(days))
    for name, n in lx.NUMBER_WORDS.items():
        add([name], "NUMWORD", str(n))
    for name, n in lx.FREQUENCY_WORDS.items():
        add([name], "FREQ", str(n))
    add(lx.PURCHASE_WORDS, "PURCHASE")
    add(lx.SIGNUP_WORDS, "SIGNUP")
    add(lx.TENURE_WORDS, "TENURE")
    add(lx.INACTIVE_WORDS, "INACTIVE")
    add(lx.ACTIVE_WORDS, "ACTIVE")
    add(lx.LAST_PURCHASE_WORDS, "LASTPURCHASE")
    add(lx.COMPLAINT_WORDS, "COMPLAINT")
    add(lx.TICKET_WORDS, "TICKET")
    add(lx.ORDER_NOUNS, "ORDERNOUN")
    add(lx.ONE_TIME_BUYERS, "ONETIME")
    add(lx.REPEAT_BUYERS, "REPEAT")
    add(lx.NEVER_BOUGHT, "NEVERBOUGHT")
    add(lx.CHURN_RISK_CUES, "CHURNRISK")
    add(lx.AT_LEAST, "GE")
    add(lx.MORE_THAN, "GT")
    add(lx.AT_MOST, "LE")
    add(lx.LESS_THAN, "LT")
    add(lx.RECENT_WORDS, "RECENT")
    add(lx.NEGATIONS, "NEG")
    add(lx.EXCLUSION_CUES, "EXCL")
    add(lx.RULE_NOUNS, "RULE")
    add(lx.OVERRIDE_VERBS, "OVERRIDE")
    add(lx.CHECK_VERBS, "CHECK")
    add(lx.SPAM_WORDS, "SPAM")
    add(lx.MAXIMAL_SEND, "MAXSEND")
    add(lx.OPTED_OUT, "OPTEDOUT")
    add(lx.VERBS, "VERB")
    add(["tomorrow"], "RELDATE", "tomorrow")
    add(["today", "tonight", "asap", "right away", "immediately", "now"], "RELDATE", "today")
    add(["next week"], "RELDATE", "next week")
    add(["next month"], "RELDATE", "next month")
    add(["this weekend", "the weekend", "next weekend"], "RELDATE", "weekend")
    for period in ("week", "month", "year"):
        add([f"this {period}", f"so far this {period}", f"earlier this {period}"], "PERIOD", period)
    return lex


_LEXICON = _build_lexicon()
_MAX_PHRASE = max(len(k) for k in _LEXICON)
_STOP = set(lx.ENGLISH_STOPWORDS) | lx.FUNCTION_WORDS
_DISC_WORDS = {w for k, v in _LEXICON.items() if "DISC" in v for w in k} - {"code"}
_HEAD_WORDS = {k[0] for k, v in _LEXICON.items() if len(k) == 1 and "HEAD" in v} - {
    "one",
    "them",
    "those",
    "list",
    "base",
    "group",
    "segment",
    "contact",
    "audience",
    "cohort",
}
_CONJ = {"and", "or", ",", "&", "/", "plus", "as", "well", "also", "nor"}
_CLAUSE_END = {",", ";", ".", ":", "!", "?", "(", ")", '"'}
_PREP_PLACE = {"in", "from", "across", "throughout", "outside", "near", "within"}
_MODIFIER_TAGS = {
    "SEG",
    "SEGH",
    "TIER",
    "TIERH",
    "CADJ",
    "LANG",
    "LANGAUD",
    "CAT",
    "TIERNOUN",
    "REGION",
    "COUNTRY",
    "CITY",
    "ONETIME",
    "REPEAT",
    "TIERLIKE",
    "CHANNEL",
}
_AUDIENCE_TAGS = {
    "COUNTRY",
    "CADJ",
    "CITY",
    "REGION",
    "TIER",
    "TIERH",
    "SEG",
    "SEGH",
    "LANGAUD",
    "TICKET",
    "COMPLAINT",
    "CAT",
    "ONETIME",
    "REPEAT",
    "NEVERBOUGHT",
    "HEAD",
}


@dataclass
class Unit:
    """A matched phrase (or one unmatched token) with its word classes."""

    i: int
    start: int
    end: int
    cstart: int
    cend: int
    words: tuple[str, ...]
    raw: str
    kind: str
    tags: dict[str, str]
    value: float | None = None
    cap: bool = False
    upper: bool = False
    sent_start: bool = False

    @property
    def w(self) -> str:
        return " ".join(self.words)

    def has(self, *tags: str) -> bool:
        return any(t in self.tags for t in tags)

    @property
    def headlike(self) -> bool:
        """A customer noun, or a phrase ending in one ("big spenders"), or a plural tier ("VIPs")."""
        if self.has("HEAD", "CATHEAD") or (self.words and self.words[-1] in _HEAD_WORDS):
            return True
        return self.has("TIER") and self.raw.lower().endswith("s")


def _units(text: str, toks: list[Tok]) -> list[Unit]:
    units: list[Unit] = []
    i = 0
    sent_start = True
    while i < len(toks):
        match_len, tags = 0, {}
        for length in range(min(_MAX_PHRASE, len(toks) - i), 0, -1):
            key = tuple(t.word for t in toks[i : i + length])
            if key in _LEXICON:
                match_len, tags = length, dict(_LEXICON[key])
                break
        length = max(1, match_len)
        first, last = toks[i], toks[i + length - 1]
        kind = first.kind if length == 1 else "phrase"
        u = Unit(
            i=len(units),
            start=i,
            end=i + length,
            cstart=first.start,
            cend=last.end,
            words=tuple(t.word for t in toks[i : i + length]),
            raw=text[first.start : last.end],
            kind=kind,
            tags=tags,
            value=first.value if length == 1 else None,
            cap=first.raw[:1].isupper(),
            upper=first.kind == "word" and len(first.raw) >= 2 and first.raw.isupper(),
            sent_start=sent_start,
        )
        # words that are country names only when capitalised ("Turkey", not "turkey")
        if u.has("COUNTRY", "CADJ") and u.w in lx.COUNTRY_NAMES_NEED_CAPITAL and not u.cap:
            u.tags.pop("COUNTRY", None)
            u.tags.pop("CADJ", None)
        if u.has("CITY") and u.w in ("la", "sf", "nyc") and not u.upper:
            u.tags.pop("CITY", None)
        if length == 1 and first.kind == "word" and first.raw in lx.COUNTRY_CODES_UPPER:
            u.tags["COUNTRY"] = lx.COUNTRY_CODES_UPPER[first.raw]
        units.append(u)
        sent_start = u.w in (".", "!", "?")
        i += length
    return units


# ============================================================================================ parser


@dataclass
class _Span:
    """A stretch of time in the objective: "the last 30 days", "45+ days", "over 3 months ago"."""

    first: int  # first unit index (comparator included)
    last: int  # last unit index (unit word / "ago")
    days: int
    days_high: int | None = None  # ranges "30-60 days"
    mode: str = "bare"  # within, ge, gt, le, lt, bare
    ago: bool = False
    for_: bool = False
    since: bool = False
    in_: bool = False
    future: bool = False
    period: bool = False  # "this week": since the start of the calendar week


@dataclass
class _Money:
    first: int
    last: int
    amount: float
    currency: str | None


@dataclass
class _Parser:
    text: str
    units: list[Unit]
    now: datetime
    known_countries: list[str] | None
    brief: Brief = field(default_factory=Brief)
    excluded: list[bool] = field(default_factory=list)
    used: set[int] = field(default_factory=set)
    questions: list[str] = field(default_factory=list)
    seg_mentions: list[tuple[int, str]] = field(default_factory=list)
    spans: list[_Span] = field(default_factory=list)
    money: list[_Money] = field(default_factory=list)
    consumed: set[int] = field(default_factory=set)  # units whose meaning a window or amount took
    scopes: list[tuple[int, int]] = field(default_factory=list)  # exclusion cue .. last excluded unit

    # --- small helpers ------------------------------------------------------------------------------

    def u(self, i: int) -> Unit | None:
        return self.units[i] if 0 <= i < len(self.units) else None

    def word(self, i: int) -> str:
        u = self.u(i)
        return u.w if u else ""

    def is_end(self, i: int) -> bool:
        u = self.u(i)
        return u is None or u.w in _CLAUSE_END

    def clause_start(self, i: int) -> int:
        j = i
        while j > 0 and not (self.units[j - 1].w in _CLAUSE_END or self.units[j - 1].w in ("but", "then")):
            j -= 1
        return j

    def clause_end(self, i: int) -> int:
        j = i
        while j < len(self.units) - 1 and self.units[j + 1].w not in _CLAUSE_END:
            j += 1
        return j

    def neg_before(self, i: int, reach: int = 3) -> bool:
        start = self.clause_start(i)
        return any(self.units[j].has("NEG") for j in range(max(start, i - reach), i))

    def unmapped(self, phrase: str, why: str, *, ask: bool = False) -> None:
        self.brief.unmapped.append(Unmapped(phrase=phrase.strip(), why=why))
        if ask:
            self.questions.append(why)

    def head_after(self, i: int, reach: int = 6) -> int | None:
        """Index of the customer noun that the modifier at `i` belongs to, if any."""
        j = i + 1
        while j < len(self.units) and j <= i + reach:
            u = self.units[j]
            if u.headlike:
                return j
            if u.has(*_MODIFIER_TAGS) or u.w in _CONJ or u.w in ("-", "tier", "value"):
                j += 1
                continue
            return None
        return None

    def skip_fillers(
        self, j: int, fillers: Sequence[str] = ("the", "a", "an", "our", "any", "all", "those")
    ) -> int:
        while self.word(j) in fillers:
            j += 1
        return j

    # --- pipeline -------------------------------------------------------------------------------------

    def run(self) -> Brief:
        self.excluded = [False] * len(self.units)
        self.refusals()
        self.exclusion_scopes()
        self.time_spans()
        self.frequencies()
        self.windows()
        self.amounts()
        self.percentages()
        self.order_counts()
        self.tickets_and_complaints()
        self.opted_out_conditions()
        self.segments()
        self.tiers()
        self.places()
        self.languages()
        self.categories()
        self.channels()
        self.goals()
        self.occasions_and_offers()
        self.dates()
        self.unknown_places()
        self.unknown_modifiers()
        self.empty_relative_clauses()
        self.leftover_spans()
        self.stray_numbers()
        self.unknown_groups()
        self.empty_exclusions()
        self.goal_defaults()
        self.contradictions()
        self.unintelligible()
        if self.questions:
            self.brief.question = " ".join(dict.fromkeys(self.questions))
        return self.brief

    # --- refusals -------------------------------------------------------------------------------------

    def refusals(self) -> None:
        """Requests to switch off consent, caps or suppression are refused, whatever the phrasing."""
        found: list[str] = []
        n = len(self.units)
        for i, u in enumerate(self.units):
            end = self.clause_end(i)
            if u.has("OVERRIDE") and not self.neg_before(i, 2):
                for j in range(i + 1, min(end, i + 5) + 1):
                    if self.units[j].has("RULE", "OPTEDOUT"):
                        found.append(self.raw_between(i, j))
                        break
            if u.has("CHECK") and self.neg_before(i, 2):
                for j in range(i + 1, min(end, i + 4) + 1):
                    if self.units[j].has("RULE", "OPTEDOUT"):
                        found.append(self.raw_between(max(0, i - 1), j))
                        break
            if u.has("SPAM"):
                before = {self.word(j) for j in range(max(0, i - 3), i)}
                blocked = before & {
                    "not",
                    "no",
                    "never",
                    "without",
                    "don't",
                    "dont",
                    "avoid",
                    "stop",
                    "less",
                    "anti",
                    "reduce",
                    "prevent",
                    "minimise",
                    "minimize",
                    "do not",
                }
                if not blocked and self.word(i + 1) not in (
                    "folder",
                    "filter",
                    "trap",
                    "score",
                    "box",
                    "complaint",
                ):
                    found.append(u.raw)
            if u.has("MAXSEND") and not self.neg_before(i, 2):
                found.append(u.raw)
            if u.has("OPTEDOUT"):
                lookback = range(max(self.clause_start(i), i - 4), i)
                guarded = any(self.units[j].has("NEG", "CHECK", "EXCL") for j in lookback)
                from_channel = self.opted_out_channel(i)
                if from_channel is not None:
                    other = [
                        k
                        for k, w in enumerate(self.units)
                        if w.has("CHANNEL", "CHANNELAMB")
                        and k != i + 2
                        and w.tags.get("CHANNEL", w.tags.get("CHANNELAMB")) == from_channel
                    ]
                    if other:  # "email customers who unsubscribed from email": no
                        found.append(self.raw_between(i, i + 2))
                    continue
                if not guarded and not self.excluded_cue_before(i):
                    found.append(self.raw_between(max(self.clause_start(i), i - 2), i))
            if u.w == "regardless":
                nxt = self.word(i + 1)
                if nxt != "of":
                    found.append(u.raw)
                else:
                    window = range(i + 2, min(n, i + 7))
                    if any(
                        self.units[j].has("RULE", "OPTEDOUT") or self.units[j].w == "whether" for j in window
                    ):
                        found.append(self.raw_between(i, min(n - 1, i + 3)))
            if u.w == "even" and self.word(i + 1) in (
                "if",
                "though",
                "when",
                "those",
                "the",
                "customer",
                "people",
            ):
                window = range(i + 1, min(n, i + 7))
                if any(self.units[j].has("RULE", "OPTEDOUT") for j in window):
                    found.append(self.raw_between(i, min(n - 1, i + 4)))
        if found:
            phrase = found[0]
            self.brief.refusal = (
                f"I can't do that: '{phrase}' asks to contact customers against their consent or the "
                "contact rules. Consent per channel, the frequency cap, suppression after complaints or "
                "open tickets and quiet hours are enforced by the contact-policy gate on every send and "
                "cannot be switched off by an objective, a prompt or a tool. Restate the objective without "
                "it and I will plan the campaign for the customers who may be contacted."
            )

    def opted_out_channel(self, i: int) -> str | None:
        """The channel in "unsubscribed from emails" (consent for the others may still be there)."""
        if self.word(i + 1) != "from" or self.u(i + 2) is None:
            return None
        nxt = self.units[i + 2]
        return nxt.tags.get("CHANNEL") or nxt.tags.get("CHANNELAMB")

    def opted_out_conditions(self) -> None:
        """ "unsubscribed from email" → consent_email is false (other channels may still be allowed)."""
        for i, u in enumerate(self.units):
            channel = self.opted_out_channel(i) if u.has("OPTEDOUT") else None
            if channel is None:
                continue
            phrase = self.raw_between(i, i + 2)
            cond = _cond(field=f"consent_{channel}", op="eq", value=False, phrase=phrase)
            self.used.update(range(i, i + 3))
            self.consumed.add(i + 2)
            if self.excluded[i] or self.neg_before(i, 3):
                self.brief.exclusions.append(Exclusion(kind="condition", condition=cond, phrase=phrase))
            else:
                self.brief.conditions.append(cond)

    def excluded_cue_before(self, i: int) -> bool:
        start = self.clause_start(i)
        return any(self.units[j].has("EXCL") for j in range(start, i))

    def raw_between(self, i: int, j: int) -> str:
        return self.text[self.units[i].cstart : self.units[j].cend]

    # --- exclusions -----------------------------------------------------------------------------------

    def exclusion_scopes(self) -> None:
        """Mark units after "excluding", "except", "not in", "no VIPs" ... as exclusions."""
        for i, u in enumerate(self.units):
            starts = False
            if u.has("EXCL"):
                nxt = self.u(self.skip_fillers(i + 1))
                starts = nxt is not None and not nxt.has("RULE", "OPTEDOUT")
            elif u.has("NEG") and u.w in ("not", "no", "never", "without", "none of", "but not", "nor"):
                j = self.skip_fillers(
                    i + 1,
                    (
                        "in",
                        "from",
                        "the",
                        "a",
                        "an",
                        "any",
                        "to",
                        "our",
                        "by",
                        "via",
                        "on",
                        "those",
                        "customer",
                        "who",
                        "are",
                        "is",
                        "have",
                        "with",
                    ),
                )
                nxt = self.u(j)
                starts = nxt is not None and nxt.has(
                    *(_AUDIENCE_TAGS - {"HEAD", "NEVERBOUGHT"}), "CHANNEL", "CHANNELAMB"
                )
            if not starts:
                continue
            first = self.skip_fillers(
                i + 1,
                (
                    "the",
                    "a",
                    "an",
                    "our",
                    "any",
                    "all",
                    "those",
                    "in",
                    "from",
                    "by",
                    "via",
                    "on",
                    "customer",
                    "who",
                    "are",
                    "is",
                    "have",
                    "with",
                ),
            )
            j = i + 1
            while j < len(self.units):
                if j > first and self.ends_exclusion(j):
                    break
                self.excluded[j] = True
                j += 1
            self.scopes.append((i, j - 1))

    def ends_exclusion(self, j: int) -> bool:
        u = self.units[j]
        if u.w in _CLAUSE_END or u.w in (
            "by",
            "via",
            "using",
            "through",
            "then",
            "so",
            "while",
            "because",
            "before",
            "after",
            "during",
            "until",
            "but",
        ):
            return True
        if (
            u.has(
                "CHANNEL",
                "ALLCH",
                "GOAL",
                "LAUNCH",
                "OCC",
                "OFFER",
                "FREESHIP",
                "DISC",
                "CURSYM",
                "MONTH",
                "RELDATE",
                "BUDGET",
            )
            or u.kind == "date"
        ):
            return True
        nxt = self.u(j + 1)
        if (
            u.w == "with"
            and nxt is not None
            and (
                nxt.kind == "num"
                or nxt.has("CURSYM", "OFFER", "FREESHIP", "DISC")
                or (
                    nxt.w in ("a", "an")
                    and (n2 := self.u(j + 2)) is not None
                    and (n2.kind == "num" or n2.has("CURSYM", "BUDGET", "DISC", "OFFER", "FREESHIP"))
                )
            )
        ):
            return True
        if (
            u.w == "for"
            and nxt is not None
            and not (
                nxt.kind == "num"
                or nxt.has("NUMWORD", "GT", "GE", "RECENT")
                or nxt.w in ("a", "an", "the", "over", "more")
            )
        ):
            return True
        return u.w == "and" and nxt is not None and nxt.has("VERB") and not nxt.has(*_AUDIENCE_TAGS)

    # --- time spans and windows ------------------------------------------------------------------------

    def time_spans(self) -> None:
        """Find "60 days", "the last 2 weeks", "45+ days", "over 3 months ago", "30-60 days"."""
        n = len(self.units)
        i = 0
        while i < n:
            u = self.units[i]
            qty: float | None = None
            j = i + 1
            recent = False
            if u.kind == "num" and u.value is not None and not self.money_context(i):
                qty = u.value
            elif u.has("NUMWORD"):
                qty = float(u.tags["NUMWORD"])
            elif u.w in ("a", "an", "one") and self.has_at(i + 1, "UNIT"):
                qty = 1.0
            elif u.has("RECENT") and self.has_at(i + 1, "UNIT"):
                qty, recent = 1.0, True
            elif u.has("PERIOD"):
                today = self.now.date()
                days = {
                    "week": today.weekday(),
                    "month": today.day - 1,
                    "year": today.timetuple().tm_yday - 1,
                }[u.tags["PERIOD"]]
                self.spans.append(_Span(first=i, last=i, days=days, mode="within", period=True))
                i += 1
                continue
            if qty is None:
                i += 1
                continue
            high: float | None = None
            if (
                self.word(j) in ("to", "and")
                and self.u(j + 1) is not None
                and self.units[j + 1].kind == "num"
                and self.has_at(j + 2, "UNIT")
            ):
                high = self.units[j + 1].value
                j += 2
            elif self.word(j) == "of" and self.has_at(j + 1, "UNIT"):
                j += 1  # "a couple of weeks"
            mode = "bare"
            if self.word(j) == "+" or (self.has_at(j, "GE") and self.word(j) in ("plus", "+")):
                mode = "ge"
                j += 1
            if not self.has_at(j, "UNIT"):
                i += 1
                continue
            unit_days = int(self.units[j].tags["UNIT"])
            days = round(qty * unit_days)
            days_high = round(high * unit_days) if high is not None else None
            span = _Span(first=i, last=j, days=days, days_high=days_high, mode=mode)
            if days_high is not None:
                span.mode = "between"
            k = j + 1
            if self.word(k) == "ago":
                span.ago, span.last, k = True, k, k + 1
            if self.has_at(k, "GE") and self.word(k) in ("or more", "and up", "and above", "plus", "+"):
                span.mode, span.last = "ge", k
            elif self.has_at(k, "LE") and self.word(k) in ("or less", "or fewer"):
                span.mode, span.last = "le", k
            # what stands before the quantity: comparators, "the last", "in", "for", "within"
            b = i - 1
            if recent:
                span.mode = "within"
            while b >= 0 and b >= i - 4:
                w = self.units[b]
                if w.w == "the":
                    b -= 1
                    continue
                if w.has("RECENT"):
                    span.mode = "within"
                elif w.w in ("next", "coming", "following"):
                    span.future = True
                elif w.w == "within":
                    span.mode = "within"
                elif w.has("GT") and span.mode not in ("within",):
                    span.mode = "gt"
                elif w.has("GE") and span.mode not in ("within",):
                    span.mode = "ge"
                elif w.has("LT") and span.mode not in ("within",):
                    span.mode = "lt"
                elif w.has("LE") and span.mode not in ("within",):
                    span.mode = "within" if w.w in ("up to",) else "le"
                elif w.w == "for":
                    span.for_ = True
                elif w.w == "since":
                    span.since = True
                elif w.w in ("in", "during"):
                    span.in_ = True
                elif w.w == "between":
                    pass
                else:
                    break
                span.first = b
                b -= 1
            self.spans.append(span)
            i = span.last + 1

    def has_at(self, i: int, tag: str) -> bool:
        u = self.u(i)
        return u is not None and tag in u.tags

    def money_context(self, i: int) -> bool:
        before, after = self.u(i - 1), self.u(i + 1)
        return bool(
            (before and before.has("CURSYM", "CUR"))
            or (after and (after.has("CUR") or after.w in ("%", "percent", "per cent", "pct")))
        )

    def anchor_for(self, span: _Span) -> tuple[str, bool, int] | None:
        """What the span measures: (event, negative, anchor index), event one of purchase, last_purchase,
        signup, tenure or complaint."""
        start = self.clause_start(span.first)
        for j in range(span.first - 1, max(start, span.first - 9) - 1, -1):
            kind = self._anchor_kind(j)
            if kind:
                return kind[0], kind[1], j
        end = self.clause_end(span.last)
        for j in range(span.last + 1, min(end, span.last + 5) + 1):
            kind = self._anchor_kind(j)
            if kind:
                return kind[0], kind[1], j
        if span.for_ and self.units and start < span.first:
            prev = self.units[span.first - 1] if span.first > 0 else None
            if prev is not None and prev.has("HEAD"):
                return "tenure", False, span.first - 1
        return None

    def _anchor_kind(self, j: int) -> tuple[str, bool] | None:
        u = self.units[j]
        if u.has("LASTPURCHASE"):
            return "last_purchase", False
        if u.has("NEVERBOUGHT"):
            return "purchase", True
        if u.has("INACTIVE") or (u.has("SEG") and u.tags["SEG"] == "lapsed"):
            return "purchase", True
        if u.has("ACTIVE"):
            return "purchase", False
        if u.has("PURCHASE") or (u.has("ORDERNOUN")):
            negative = self.neg_before(j, 3) or self.word(j - 1) in ("without", "no")
            return "purchase", negative
        if u.has("SIGNUP"):
            return "signup", False
        if u.has("TENURE"):
            return "tenure", False
        if u.has("COMPLAINT"):
            return "complaint", self.neg_before(j, 3)
        return None

    def windows(self) -> None:
        for span in self.spans:
            if span.future or span.first in self.consumed:
                continue
            anchor = self.anchor_for(span)
            if anchor is None:
                continue
            event, negative, at = anchor
            first = min(at, span.first)
            if negative and at < span.first:
                start = self.clause_start(at)
                first = next((k for k in range(max(start, at - 3), at) if self.units[k].has("NEG")), first)
            phrase = self.raw_between(first, max(at, span.last))
            cond = self.window_condition(span, event, negative, phrase)
            if cond is None:
                continue
            self.used.update(range(min(at, span.first), max(at, span.last) + 1))
            self.consumed.update(range(span.first, span.last + 1))
            anchor_unit = self.units[at]
            if anchor_unit.has("INACTIVE", "ACTIVE", "SEG", "SEGH", "NEVERBOUGHT"):
                self.consumed.add(at)
            negated = event == "complaint" and negative
            if self.excluded[span.first] or self.excluded[at] or negated:
                self.brief.exclusions.append(Exclusion(kind="condition", condition=cond, phrase=phrase))
            else:
                self.brief.conditions.append(cond)

    def window_condition(
        self, span: _Span, event: str, negative: bool, phrase: str
    ) -> AudienceCondition | None:
        n = span.days
        column = {
            "purchase": "days_since_purchase",
            "last_purchase": "days_since_purchase",
            "signup": "days_since_signup",
            "tenure": "days_since_signup",
            "complaint": "days_since_complaint",
        }[event]
        if span.mode == "between" and span.days_high is not None:
            return _cond(field=column, op="between", value=[n, span.days_high], phrase=phrase)
        older = {"ge": n, "gt": n + 1, "bare": n, "within": n, "le": n, "lt": n}
        op: str
        value: int
        if event == "purchase" and negative:
            # "haven't bought in 60 days", "no orders for 3 months", "inactive for 45+ days"
            if span.mode in ("lt", "le"):
                op, value = "lte", n - 1 if span.mode == "lt" else n
            else:
                op, value = "gte", older[span.mode]
        elif event in ("purchase", "signup", "complaint") and (
            span.mode == "within" or (not span.ago and span.mode == "bare")
        ):
            op, value = "lte", n  # "bought in the last 30 days", "signed up within 2 weeks"
        elif event == "tenure" or span.ago or event == "last_purchase" or span.for_:
            # "joined more than a year ago", "last purchase over 90 days ago", "customers for 2+ years"
            if span.mode == "lt":
                op, value = "lte", n - 1
            elif span.mode in ("le", "within") and event != "tenure":
                op, value = "lte", n
            else:
                op, value = "gte", older[span.mode]
        elif span.mode in ("gt", "ge"):
            op, value = "gte", older[span.mode]
        elif span.mode in ("lt", "le"):
            op, value = "lte", n - 1 if span.mode == "lt" else n
        else:
            return None
        return _cond(field=column, op=op, value=max(0, value), phrase=phrase)

    def leftover_spans(self) -> None:
        """Spans no rule used: a send delay ("in 3 days") or an unclear window (asked, not guessed)."""
        for span in self.spans:
            if span.first in self.consumed or span.last in self.consumed:
                continue
            phrase = self.raw_between(span.first, span.last)
            if span.period:
                self.unmapped(phrase, f"'{phrase}' is not tied to a purchase or signup, so it is not used")
                continue
            start = self.clause_start(span.first)
            about_customers = any(
                self.units[k].w in ("who", "that", "whose") or self.units[k].has("NEG")
                for k in range(start, span.first)
            )
            if span.future or (span.in_ and span.mode == "bare" and not span.ago and not about_customers):
                if self.brief.send_at is None and not span.future:
                    self.brief.send_at = self.at_send_hour(self.now.date() + timedelta(days=span.days))
                elif span.future:
                    self.unmapped(
                        phrase, "a campaign duration is not part of the brief; schedule it when activating"
                    )
                self.consumed.update(range(span.first, span.last + 1))
                continue
            self.unmapped(
                phrase,
                f"I can't tell what '{phrase}' refers to: say for example 'haven't purchased in "
                f"{span.days} days' or 'signed up in the last {span.days} days'.",
                ask=True,
            )

    # --- amounts ----------------------------------------------------------------------------------------

    def amounts(self) -> None:
        """Money: a budget, a lifetime-value or an average-order-value threshold."""
        n = len(self.units)
        taken: set[int] = set()
        for i, u in enumerate(self.units):
            if i in taken or i in self.consumed:
                continue
            m: _Money | None = None
            if u.has("CURSYM", "CUR") and i + 1 < n and self.units[i + 1].kind == "num":
                m = _Money(i, i + 1, self.units[i + 1].value or 0.0, u.tags.get("CURSYM") or u.tags["CUR"])
            elif (
                u.kind == "num"
                and i + 1 < n
                and self.units[i + 1].has("CUR")
                and not self.units[i + 1].has("HEAD")
            ):
                m = _Money(i, i + 1, u.value or 0.0, self.units[i + 1].tags["CUR"])
            elif (
                u.kind == "num"
                and not self.has_at(i + 1, "UNIT")
                and self.word(i + 1) not in ("%", "percent")
                and not self.has_at(i + 1, "ORDERNOUN")
                and not self.has_at(i - 1, "CURSYM")
            ):
                cue = self.money_cue(i)
                if cue is not None and not self.has_at(i + 1, "UNIT"):
                    m = _Money(i, i, u.value or 0.0, None)
            if m is None or m.first in self.consumed:
                continue
            taken.update(range(m.first, m.last + 1))
            self.money.append(m)
        pairs = self.money
        k = 0
        while k < len(pairs):
            m = pairs[k]
            nxt = pairs[k + 1] if k + 1 < len(pairs) else None
            is_range = (
                nxt is not None
                and self.word(m.last + 1) in ("and", "to")
                and nxt.first == m.last + 2
                and self.word(m.first - 1) in ("between", "from")
            )
            self.classify_money(m, nxt if is_range else None)
            k += 2 if is_range else 1

    def money_cue(self, i: int) -> str | None:
        start = self.clause_start(i)
        for j in range(i - 1, max(start, i - 6) - 1, -1):
            u = self.units[j]
            if u.has("BUDGET") and u.w not in ("up to", "at most"):
                return "budget"
            if u.has("LTV"):
                return "ltv"
            if u.has("AOV"):
                return "aov"
            if u.w in ("spend", "spending") or u.has("CHURNRISK"):
                return "spend"
        nxt = self.u(i + 1)
        if nxt is not None and nxt.has("BUDGET"):
            return "budget"
        return None

    def classify_money(self, m: _Money, high: _Money | None) -> None:
        """Which amount is this: "spent over $500" (lifetime value), "AOV above $80", or a budget."""
        start = self.clause_start(m.first)
        cue: str | None = None
        cue_at = m.first
        cmp: str | None = None
        cmp_at = m.first
        for j in range(m.first - 1, max(start, m.first - 7) - 1, -1):
            u = self.units[j]
            if cmp is None and u.has("GT", "GE", "LT", "LE") and j >= m.first - 3:
                cmp, cmp_at = ("lte" if u.has("LT", "LE") else "gte"), j
            if u.has("BUDGET") and u.w not in ("up to", "at most", "max", "maximum"):
                cue = "budget"
            elif u.has("LTV"):
                cue = "ltv"
            elif u.has("AOV"):
                cue = "aov"
            elif u.w in ("spend", "spending"):
                who = {self.word(k) for k in range(max(start, j - 2), j)}
                cue = "ltv" if who & {"who", "that", "they", "customer", "people", "whose"} else "budget"
            elif u.has("CHURNRISK"):
                cue = "churn"
            if cue is not None:
                cue_at = j
                break
        last = high.last if high else m.last
        if cue is None and self.has_at(last + 1, "BUDGET"):
            cue = "budget"
        elif cue is None and (
            self.has_at(last + 1, "LTV")
            or (self.has_at(last + 2, "LTV") and self.word(last + 1) in ("in", "of"))
        ):
            cue, cmp = "ltv", cmp or "gte"  # "$300 spent", "$1,000 in lifetime value"
            last = last + 1 if self.has_at(last + 1, "LTV") else last + 2
        first = min(cue_at, cmp_at, m.first) if cue in ("ltv", "aov") else min(cmp_at, m.first)
        phrase = self.raw_between(first, last)
        self.consumed.update(range(m.first, last + 1))
        if cue in ("ltv", "aov"):
            column = "lifetime_value" if cue == "ltv" else "avg_order_value"
            if high is not None:
                low_v, high_v = sorted((m.amount, high.amount))
                cond = _cond(field=column, op="between", value=[low_v, high_v], phrase=phrase)
            else:
                cond = _cond(field=column, op=cmp or "gte", value=m.amount, phrase=phrase)
            self.used.update(range(first, last + 1))
            if self.excluded[m.first]:
                self.brief.exclusions.append(Exclusion(kind="condition", condition=cond, phrase=phrase))
            else:
                self.brief.conditions.append(cond)
            return
        if cue == "churn":
            return
        self.used.update(range(m.first, last + 1))
        budget = Budget(amount=m.amount, currency=m.currency)
        if self.brief.budget is not None and self.brief.budget != budget:
            self.unmapped(
                phrase,
                f"the objective gives two budgets ({self._money_text(self.brief.budget)} and "
                f"{self._money_text(budget)}): which one applies?",
                ask=True,
            )
            return
        self.brief.budget = budget
        if m.currency is None:
            self.unmapped(phrase, "the budget has no currency; it is kept as a plain amount")

    @staticmethod
    def _money_text(b: Budget) -> str:
        return f"{b.amount:g} {b.currency or ''}".strip()

    def percentages(self) -> None:
        """Discounts ("20% off", "15 percent discount") and churn-risk thresholds."""
        for i, u in enumerate(self.units):
            if i in self.consumed:
                continue
            value: float | None = None
            if u.kind == "num" and self.word(i + 1) in ("%", "percent", "per cent", "pct", "per"):
                value = u.value
                last = i + 1 if self.word(i + 1) != "per" else i + 2
            elif u.has("CHURNRISK"):
                j = i + 1
                cmp = None
                while j < len(self.units) and j <= i + 3:
                    w = self.units[j]
                    if w.has("GT", "GE"):
                        cmp = "gte"
                    elif w.has("LT", "LE"):
                        cmp = "lte"
                    elif w.kind == "num" and w.value is not None:
                        v = w.value / 100 if self.word(j + 1) in ("%", "percent") or w.value > 1 else w.value
                        phrase = self.raw_between(i, j + (1 if self.word(j + 1) in ("%", "percent") else 0))
                        cond = _cond(
                            field="churn_risk",
                            op=cmp or "gte",
                            value=round(v, 4),
                            phrase=phrase,
                        )
                        self.consumed.update(range(i, j + 2))
                        self.used.update(range(i, j + 2))
                        (
                            self.brief.exclusions.append(
                                Exclusion(kind="condition", condition=cond, phrase=phrase)
                            )
                            if self.excluded[i]
                            else self.brief.conditions.append(cond)
                        )
                        break
                    j += 1
                continue
            if value is None:
                continue
            window = range(max(0, i - 3), min(len(self.units), last + 4))
            phrase = self.raw_between(i, last)
            self.consumed.update(range(i, last + 1))
            if any(self.units[j].has("DISC") or set(self.units[j].words) & _DISC_WORDS for j in window):
                if not 0 < value <= 100:
                    self.unmapped(
                        phrase,
                        f"a discount of {value:g}% is not possible: give a percentage between 1 and 100.",
                        ask=True,
                    )
                elif self.brief.discount_pct is not None and self.brief.discount_pct != value:
                    self.unmapped(
                        phrase,
                        f"the objective gives two discounts ({self.brief.discount_pct:g}% and "
                        f"{value:g}%): which one applies?",
                        ask=True,
                    )
                else:
                    self.brief.discount_pct = value
                    self.used.update(window)
            else:
                near_customers = any(
                    self.units[j].headlike or self.units[j].w in ("top", "bottom")
                    for j in range(max(0, i - 2), min(len(self.units), last + 3))
                )
                self.unmapped(
                    phrase,
                    f"I can't tell what '{self.raw_between(max(0, i - 1), last)}' means: "
                    "percentages are understood as discounts ('20% off') or churn risk "
                    "('churn risk above 70%'); high-value means the top "
                    f"{SegmentVocabulary.from_env().high_value_top_pct:g}% by lifetime value.",
                    ask=near_customers,
                )

    def order_counts(self) -> None:
        """ "3+ orders", "at least 5 purchases", "one-time buyers", "never purchased", "repeat customers"."""
        for i, u in enumerate(self.units):
            cond: AudienceCondition | None = None
            first = i
            if u.has("ONETIME"):
                cond = _cond(field="orders_count", op="eq", value=1, phrase=u.raw)
            elif u.has("REPEAT"):
                cond = _cond(field="orders_count", op="gte", value=2, phrase=u.raw)
            elif u.has("NEVERBOUGHT") and i not in self.consumed:
                cond = _cond(field="orders_count", op="eq", value=0, phrase=u.raw)
            elif u.has("ORDERNOUN") and i not in self.consumed:
                j = i - 1
                mode = "eq"
                if self.word(j) in ("+", "or more", "and up", "and above", "plus"):
                    mode, j = "ge", j - 1
                elif self.word(j) in ("or less", "or fewer"):
                    mode, j = "le", j - 1
                qty_unit = self.u(j)
                if qty_unit is None or j in self.consumed:
                    continue
                qty = (
                    qty_unit.value
                    if qty_unit.kind == "num"
                    else (float(qty_unit.tags["NUMWORD"]) if qty_unit.has("NUMWORD") else None)
                )
                if qty is None:
                    if qty_unit.w in ("a", "an") and self.word(i - 2) in ("only", "just", "exactly"):
                        qty = 1.0
                    else:
                        if (
                            self.neg_before(i, 2)
                            and not any(s.first <= i <= s.last + 5 for s in self.spans if s.first > i)
                            and not self.span_in_clause(i)
                        ):
                            cond = _cond(
                                field="orders_count", op="eq", value=0, phrase=self.raw_between(i - 1, i)
                            )
                            first = i - 1
                        if cond is None:
                            continue
                if cond is None and qty is not None:
                    k = j - 1
                    while k >= 0 and self.units[k].w in ("only", "just", "exactly", "with", "the", "than"):
                        k -= 1
                    before = self.u(k)
                    if before is not None and before.has("GT"):
                        mode, first = "gt", k
                    elif before is not None and before.has("GE"):
                        mode, first = "ge", k
                    elif before is not None and before.has("LT"):
                        mode, first = "lt", k
                    elif before is not None and before.has("LE"):
                        mode, first = "le", k
                    else:
                        first = j
                    after = self.word(i + 1)
                    if after in ("or more", "and up", "plus", "and above"):
                        mode = "ge"
                    elif after in ("or less", "or fewer"):
                        mode = "le"
                    q = int(qty)
                    op, value = {
                        "eq": ("eq", q),
                        "ge": ("gte", q),
                        "gt": ("gte", q + 1),
                        "le": ("lte", q),
                        "lt": ("lte", q - 1),
                    }[mode]
                    cond = _cond(
                        field="orders_count",
                        op=op,
                        value=max(0, value),
                        phrase=self.raw_between(first, i),
                    )
                    self.consumed.update(range(j, i + 1))
            if cond is None:
                continue
            self.used.update(range(first, i + 1))
            if self.excluded[i]:
                self.brief.exclusions.append(Exclusion(kind="condition", condition=cond, phrase=cond.phrase))
            else:
                self.brief.conditions.append(cond)

    def frequencies(self) -> None:
        """ "bought twice", "ordered at least 3 times": an order count (not countable inside a window)."""
        for i, u in enumerate(self.units):
            if u.has("FREQ"):
                qty, first, last = int(u.tags["FREQ"]), i, i
            elif (
                u.kind == "num"
                and self.word(i + 1) == "time"
                and i not in self.consumed
                and u.value is not None
            ):
                qty, first, last = int(u.value), i, i + 1
            else:
                continue
            start = self.clause_start(i)
            anchor = next(
                (j for j in range(i - 1, max(start, i - 5) - 1, -1) if self.units[j].has("PURCHASE")), None
            )
            if anchor is None:
                continue
            mode = "eq"
            before = self.u(i - 1)
            if before is not None and before.has("GE", "GT", "LE", "LT") and i - 1 > anchor:
                mode = next(t for t in ("GE", "GT", "LE", "LT") if t in before.tags)
                first = i - 1
            if self.word(last + 1) in ("or more", "and up", "plus"):
                mode, last = "GE", last + 1
            phrase = self.raw_between(anchor, last)
            self.consumed.update(range(first, last + 1))
            self.used.update(range(anchor, last + 1))
            if any(start <= s.first <= self.clause_end(i) for s in self.spans):
                self.unmapped(
                    phrase,
                    f"'{phrase}' counts purchases inside a time window, which the CDP does not "
                    "keep: use the total number of orders ('3+ orders') or a purchase recency "
                    "('bought in the last 30 days').",
                    ask=True,
                )
                for s in self.spans:
                    if start <= s.first <= self.clause_end(i):
                        self.consumed.update(range(s.first, s.last + 1))
                continue
            op, value = {
                "eq": ("eq", qty),
                "GE": ("gte", qty),
                "GT": ("gte", qty + 1),
                "LE": ("lte", qty),
                "LT": ("lte", qty - 1),
            }[mode]
            cond = _cond(field="orders_count", op=op, value=max(0, value), phrase=phrase)
            if self.excluded[i]:
                self.brief.exclusions.append(Exclusion(kind="condition", condition=cond, phrase=phrase))
            else:
                self.brief.conditions.append(cond)

    def span_in_clause(self, i: int) -> bool:
        start, end = self.clause_start(i), self.clause_end(i)
        return any(start <= s.first <= end for s in self.spans)

    def tickets_and_complaints(self) -> None:
        for i, u in enumerate(self.units):
            if i in self.consumed or i in self.used:
                continue
            cond: AudienceCondition | None = None
            if u.has("TICKET"):
                cond = _cond(field="open_ticket", op="eq", value=True, phrase=u.raw)
            elif u.has("COMPLAINT"):
                cond = _cond(field="last_complaint_at", op="is_null", value=False, phrase=u.raw)
            if cond is None:
                continue
            self.used.add(i)
            negated = self.excluded[i] or self.neg_before(i, 3)
            if negated:
                self.brief.exclusions.append(Exclusion(kind="condition", condition=cond, phrase=u.raw))
            else:
                self.brief.conditions.append(cond)

    # --- who: segments, tiers, places, languages, categories ---------------------------------------------

    def add_exclusion(self, kind: str, value: str, phrase: str) -> None:
        if not any(e.kind == kind and e.value == value for e in self.brief.exclusions):
            self.brief.exclusions.append(
                Exclusion.model_validate({"kind": kind, "value": value, "phrase": phrase})
            )

    def segments(self) -> None:
        for i, u in enumerate(self.units):
            if i in self.consumed:
                continue
            seg = None
            if u.has("SEG"):
                seg = u.tags["SEG"]
            elif u.has("SEGH") and self.head_after(i) is not None:
                seg = u.tags["SEGH"]
            elif u.has("RECENT") and u.w == "recent" and self.has_at(i + 1, "HEAD"):
                self.unmapped(
                    self.raw_between(i, i + 1),
                    f"'{self.raw_between(i, i + 1)}' is unclear: say 'bought in the last 30 days' or "
                    "'signed up in the last 30 days'.",
                    ask=True,
                )
                continue
            elif u.w in ("recently", "lately") or u.w in ("in a while", "for a while"):
                seg = self.recently(i)
            if seg is None:
                continue
            self.used.add(i)
            if self.excluded[i]:
                self.add_exclusion("segment", seg, u.raw)
            else:
                self.seg_mentions.append((i, seg))
        groups: list[list[str]] = []
        last_i = -1
        for i, seg in self.seg_mentions:
            between = [self.units[k].w for k in range(last_i + 1, i)] if groups else []
            if (
                groups
                and between
                and all(w in _CONJ for w in between)
                and any(w in ("and", "or", ",", "&", "/") for w in between)
            ):
                if seg not in groups[-1]:
                    groups[-1].append(seg)
            elif not any(seg in g and len(g) == 1 for g in groups):
                groups.append([seg])
            last_i = i
        self.brief.segment_groups = groups
        self.brief.segment_words = list(dict.fromkeys(s for g in groups for s in g))

    def recently(self, i: int) -> str | None:
        """ "bought recently" → active, "signed up recently" → new, "haven't bought lately" → lapsed."""
        start = self.clause_start(i)
        for j in range(i - 1, max(start, i - 4) - 1, -1):
            kind = self._anchor_kind(j)
            if kind is None:
                continue
            event, negative = kind
            if event == "purchase":
                return "lapsed" if negative else "active"
            if event == "signup":
                return "new"
        return None

    def tiers(self) -> None:
        upsell = any(u.has("GOAL") and u.tags["GOAL"] == "upsell" for u in self.units)
        for i, u in enumerate(self.units):
            tier = None
            if u.has("TIER"):
                tier = u.tags["TIER"]
            elif (u.has("TIERH") and (self.head_after(i) is not None or self.has_at(i + 1, "TIERNOUN"))) or (
                u.has("TIERH") and upsell and self.word(i - 1) in ("to", "into")
            ):
                tier = u.tags["TIERH"]
            elif u.has("TIERLIKE") and (self.head_after(i) is not None or self.has_at(i + 1, "TIERNOUN")):
                self.unmapped(
                    u.raw, f"'{u.raw}' is not a tier of this CDP; the tiers are {', '.join(TIERS)}.", ask=True
                )
                continue
            elif u.has("TIERNOUN") and i > 0:
                prev = self.units[i - 1]
                if prev.kind == "word" and not prev.tags and prev.w not in _STOP and prev.w.isalpha():
                    phrase = self.raw_between(i - 1, i)
                    self.unmapped(
                        phrase,
                        f"'{phrase}' is not a tier of this CDP; the tiers are {', '.join(TIERS)}.",
                        ask=True,
                    )
                continue
            if tier is None:
                continue
            self.used.add(i)
            if upsell and self.word(i - 1) in ("to", "into", "up to") and not self.has_at(i + 1, "HEAD"):
                self.brief.target_tier = cast(Tier, tier)
            elif self.excluded[i]:
                self.add_exclusion("tier", tier, u.raw)
            elif tier not in self.brief.tiers:
                self.brief.tiers.append(cast(Tier, tier))

    def places(self) -> None:
        for i, u in enumerate(self.units):
            codes: list[str] = []
            if u.has("COUNTRY"):
                codes = [u.tags["COUNTRY"]]
            elif u.has("REGION"):
                codes = u.tags["REGION"].split(",")
            elif (
                u.has("CADJ")
                and not u.has("LANGAUD")
                and self.word(i - 1) not in ("in", "speak", "speaks", "speaking")
            ):
                plural_demonym = (
                    u.raw.lower().endswith("s") and u.w != "swiss" and not u.raw.lower().endswith("ss")
                )
                if self.head_after(i) is not None or plural_demonym or self.has_at(i + 1, "HEAD"):
                    codes = [u.tags["CADJ"]]
                elif not u.has("CAT"):
                    self.unmapped(
                        u.raw,
                        f"'{u.raw}' is not followed by a customer word, so it is not used as a "
                        "country or language",
                    )
                    continue
            elif u.has("SUBNATIONAL") and (u.cap or u.w != "victoria"):
                code = u.tags["SUBNATIONAL"]
                self.unmapped(
                    u.raw,
                    f"the CDP records countries and cities, not regions such as {u.raw}: name "
                    f"the country ({lx.COUNTRY_DISPLAY.get(code, code)}) or a city.",
                    ask=True,
                )
                continue
            elif u.has("CITY"):
                city = u.tags["CITY"]
                self.used.add(i)
                if self.excluded[i]:
                    self.add_exclusion("city", city, u.raw)
                elif city not in self.brief.cities:
                    self.brief.cities.append(city)
                continue
            if not codes:
                continue
            self.used.add(i)
            for code in codes:
                if self.excluded[i]:
                    self.add_exclusion("country", code, u.raw)
                elif code not in self.brief.countries:
                    self.brief.countries.append(code)
        if self.known_countries is not None:
            missing = [c for c in self.brief.countries if c not in self.known_countries]
            if missing and not any(u.has("REGION") for u in self.units):
                names = ", ".join(lx.COUNTRY_DISPLAY.get(c, c) for c in missing)
                self.questions.append(
                    f"The CDP has no customers in {names}; it has customers in: {self.known_country_names()}."
                )

    def country_hint(self) -> str:
        if self.known_countries is not None:
            return f"the CDP has customers in: {self.known_country_names()}"
        return f"countries I know include: {self.known_country_names()}"

    def known_country_names(self) -> str:
        if self.known_countries is not None:
            return (
                ", ".join(lx.COUNTRY_DISPLAY.get(c, c) for c in self.known_countries) or "(no countries yet)"
            )
        names = [lx.COUNTRY_DISPLAY[c] for c in lx.COUNTRIES if c in lx.COUNTRY_DISPLAY]
        return ", ".join(names[:10]) + f" and {len(names) - 10} more countries known by name"

    def languages(self) -> None:
        for i, u in enumerate(self.units):
            code = None
            if u.has("LANGAUD"):
                code = u.tags["LANGAUD"]
            elif u.has("LANG") and self.word(i - 1) in ("speak", "speaks", "speaking", "who speak"):
                code = u.tags["LANG"]
            elif u.has("LANG") and self.word(i - 1) == "in" and not u.has("COUNTRY"):
                if self.head_after(i) is None:
                    self.brief.content_language = u.tags["LANG"]
                    self.used.add(i)
                    continue
            elif u.has("LANG") and not u.has("CADJ") and self.head_after(i) is not None:
                phrase = self.raw_between(i, self.head_after(i) or i)
                self.unmapped(
                    phrase,
                    f"'{phrase}' could mean a country or a language: say 'in the UK' or '{u.raw}-speaking'.",
                    ask=True,
                )
                continue
            if code is None:
                continue
            self.used.add(i)
            if self.excluded[i]:
                self.add_exclusion("language", code, u.raw)
            elif code not in self.brief.languages:
                self.brief.languages.append(code)

    def categories(self) -> None:
        for i, u in enumerate(self.units):
            if not u.has("CAT") or u.has("COUNTRY", "LANGAUD"):
                continue
            if u.has("CADJ") and (self.head_after(i) is not None):
                continue
            cat = u.tags["CAT"]
            audience = False
            nxt = i + 1
            while self.word(nxt) in (
                "product",
                "item",
                "good",
                "category",
                "gear",
                "accessory",
                "and",
                "or",
                ",",
            ) or self.has_at(nxt, "CAT"):
                nxt += 1
            if self.has_at(nxt, "CATHEAD") or (self.has_at(nxt, "HEAD") and nxt == i + 1):
                audience = True
            if self.word(i - 1) == "of" and self.u(i - 2) is not None and self.units[i - 2].headlike:
                audience = True  # "buyers of electronics", "fans of sports"
            start = self.clause_start(i)
            for j in range(i - 1, max(start, i - 4) - 1, -1):
                w = self.units[j]
                if w.has("CATCUE") and j != start and not w.sent_start:
                    audience = True
                    break
                if (
                    w.has("CAT")
                    or w.w in _CONJ
                    or w.w
                    in (
                        "the",
                        "a",
                        "our",
                        "mostly",
                        "mainly",
                        "in",
                        "for",
                        "on",
                        "from",
                        "of",
                        "is",
                        "are",
                        "be",
                        "was",
                    )
                ):
                    continue
                if w.has("CATCUE"):
                    break
                break
            self.used.add(i)
            if audience and self.excluded[i]:
                self.add_exclusion("category", cat, u.raw)
            elif audience:
                if cat not in self.brief.audience_categories:
                    self.brief.audience_categories.append(cat)
            elif self.excluded[i]:
                self.unmapped(
                    u.raw,
                    f"excluding the product category '{u.raw}' does not change the audience; "
                    "say 'excluding customers who mostly buy ...' to exclude customers",
                )
            elif cat not in self.brief.categories:
                self.brief.categories.append(cat)

    # --- channels ------------------------------------------------------------------------------------------

    def channels(self) -> None:
        mentions: list[tuple[int, str]] = []
        excluded: list[str] = []
        for i, u in enumerate(self.units):
            chans: list[str] = []
            if i in self.consumed:
                continue  # "unsubscribed from emails" names a consent state, not a channel to use
            if u.has("CHANNEL"):
                chans = [u.tags["CHANNEL"]]
            elif u.has("CHANNELAMB"):
                prev, nxt = self.word(i - 1), self.u(i + 1)
                verb_position = self.clause_start(i) == i or prev in (
                    "and",
                    "then",
                    "please",
                    "or",
                    ",",
                    "just",
                    "only",
                    "also",
                    "to",
                )
                if prev in ("by", "via", "over", "through", "using", "per", "a", "and", "or") or (
                    verb_position
                    and nxt is not None
                    and (
                        nxt.has(*_AUDIENCE_TAGS)
                        or nxt.w in ("them", "our", "all", "everyone", "those", "the")
                    )
                ):
                    chans = [u.tags["CHANNELAMB"]]
            elif u.has("ALLCH"):
                chans = list(CHANNEL_ORDER)
            elif u.has("UNKCH"):
                prev = self.word(self.skip_back(i - 1))
                if prev in ("by", "via", "over", "through", "using", "on", "per") or self.has_at(
                    i + 1, "STRICT"
                ):
                    self.unmapped(
                        u.raw,
                        f"'{u.raw}' is not a channel of this CDP; the channels are email, SMS and push.",
                        ask=True,
                    )
                continue
            if not chans:
                continue
            self.used.add(i)
            negated = self.excluded[i] or (
                any(
                    self.units[k].has("NEG")
                    and self.units[k].w in ("no", "not", "never", "without", "don't", "dont", "do not", "nor")
                    for k in range(max(0, i - 3), i)
                    if k >= self.clause_start(i)
                )
                and not u.has("ALLCH")
            )
            for ch in chans:
                if negated:
                    excluded.append(ch)
                else:
                    mentions.append((i, ch))
        strict: set[str] = set()
        for i, u in enumerate(self.units):
            if not u.has("STRICT"):
                continue
            forward = self.skip_fillers(
                i + 1,
                ("by", "via", "through", "over", "on", "using", "the", "per", "to", "send", "sending", "use"),
            )
            group = self.channel_group(forward, mentions)
            if group:
                strict.update(group)
                continue
            group = self.channel_group_ending(i - 1, mentions)
            if group and self.word(i + 1) not in ("by", "via", "through", "over", "using"):
                strict.update(group)
        order = list(dict.fromkeys(ch for _, ch in mentions))
        self.brief.excluded_channels = [cast(Channel, ch) for ch in dict.fromkeys(excluded)]
        self.brief.channels_strict = bool(strict)
        if strict:
            outside = [ch for ch in order if ch not in strict]
            if outside:
                self.questions.append(
                    f"The objective asks for {self.channel_names(outside)} but also says only "
                    f"{self.channel_names(sorted(strict, key=CHANNEL_ORDER.index))}: which channel should "
                    "be used?"
                )
        both = [ch for ch in order if ch in excluded]
        if both:
            self.questions.append(
                f"The objective both asks for and rules out {self.channel_names(both)}: which is it?"
            )
        self.brief.channels = [cast(Channel, ch) for ch in order if ch not in excluded]
        if excluded and not self.brief.channels and not any(u.has("ALLCH") for u in self.units) and order:
            self.questions.append(
                "Every channel the objective names is also ruled out: which channel should be used?"
            )

    @staticmethod
    def channel_names(chans: Iterable[str]) -> str:
        names = [{"email": "email", "sms": "SMS", "push": "push"}[c] for c in chans]
        return " and ".join(names)

    def skip_back(self, j: int) -> int:
        while j >= 0 and self.units[j].w in ("a", "an", "the"):
            j -= 1
        return j

    def channel_group(self, j: int, mentions: list[tuple[int, str]]) -> list[str]:
        at = dict(mentions)
        out: list[str] = []
        while j < len(self.units):
            if j in at:
                out.extend(ch for k, ch in mentions if k == j)
                j += 1
            elif out and self.units[j].w in _CONJ | {"by", "via"}:
                j += 1
            else:
                break
        return out

    def channel_group_ending(self, j: int, mentions: list[tuple[int, str]]) -> list[str]:
        at = dict(mentions)
        out: list[str] = []
        while j >= 0:
            if j in at:
                out.extend(ch for k, ch in mentions if k == j)
                j -= 1
            elif out and self.units[j].w in _CONJ | {"by", "via"}:
                j -= 1
            else:
                break
        return out

    # --- what and when ---------------------------------------------------------------------------------

    def goals(self) -> None:
        strong: list[str] = []
        for i, u in enumerate(self.units):
            if u.has("GOAL"):
                strong.append(u.tags["GOAL"])
                self.used.add(i)
            elif u.has("GOALWEAK"):
                for j in range(i + 1, min(len(self.units), i + 4)):
                    w = self.units[j]
                    if w.kind == "num" or w.has("DISC"):
                        break
                    if w.has("HEAD", "SEG", "TIER", "CADJ") or (
                        w.has("SEGH", "TIERH") and self.head_after(j)
                    ):
                        strong.append("retention")
                        self.used.add(i)
                        break
            elif u.has("LAUNCH"):
                if self.brief.action is None:
                    self.brief.action = u.words[0] if u.words[0] in lx.LAUNCH_VERBS else u.w
                self.used.add(i)
            elif u.w == "back" and any(
                self.word(k) in ("get", "bring", "win", "lure", "woo", "tempt", "draw")
                for k in range(max(self.clause_start(i), i - 6), i)
            ):
                strong.append("win-back")  # "get lapsed shoe buyers back"
                self.used.add(i)
        goals = list(dict.fromkeys(strong))
        if goals:
            self.brief.goal = cast(Goal, goals[0])
            for extra in goals[1:]:
                self.unmapped(
                    extra,
                    f"a second goal ('{extra}') was named; one campaign has one goal, so "
                    f"'{goals[0]}' is used",
                )
        elif self.brief.action is not None:
            self.brief.goal = "launch"

    def occasions_and_offers(self) -> None:
        for i, u in enumerate(self.units):
            if u.has("OCC"):
                occ = u.tags["OCC"]
                self.used.add(i)
                if self.brief.occasion is None:
                    self.brief.occasion = occ
                    self.brief.occasion_date = occasion_date(occ, self.now.date())
                elif self.brief.occasion != occ:
                    self.unmapped(
                        u.raw, f"a second occasion ('{occ}') was named; '{self.brief.occasion}' is used"
                    )
            if u.has("OFFER"):
                self.used.add(i)
                if self.brief.offer_kind is None:
                    self.brief.offer_kind = u.tags["OFFER"]
            if u.has("FREESHIP"):
                self.used.add(i)
                self.brief.free_shipping = True
        if self.brief.goal is None and self.brief.offer_kind == "welcome offer":
            self.brief.goal = "welcome"

    def at_send_hour(self, day: date) -> datetime:
        at = datetime.combine(day, time(SEND_HOUR_UTC), tzinfo=UTC)
        return max(at, self.now)

    def dates(self) -> None:
        today = self.now.date()
        for i, u in enumerate(self.units):
            when: date | None = None
            last = i
            try:
                if u.kind == "date":
                    when = date.fromisoformat(u.raw)
                    if when < today:
                        self.questions.append(
                            f"The date {u.raw} is in the past (the CDP clock says "
                            f"{today.isoformat()}): which date did you mean?"
                        )
                        continue
                elif u.has("MONTH"):
                    month = int(u.tags["MONTH"])
                    day_unit = None
                    if self.u(i + 1) is not None and self.units[i + 1].kind == "num":
                        day_unit, last = self.units[i + 1], i + 1
                    elif self.u(i - 1) is not None and self.units[i - 1].kind == "num":
                        day_unit = self.units[i - 1]
                    elif (
                        self.word(i - 1) == "of"
                        and self.u(i - 2) is not None
                        and self.units[i - 2].kind == "num"
                    ):
                        day_unit = self.units[i - 2]
                    if day_unit is None or day_unit.value is None or day_unit.value != int(day_unit.value):
                        continue
                    day = int(day_unit.value)
                    year = None
                    k = last + 1
                    if self.word(k) == ",":
                        k += 1
                    if (
                        self.u(k) is not None
                        and self.units[k].kind == "num"
                        and 2000 <= (self.units[k].value or 0) <= 2100
                    ):
                        year, last = int(self.units[k].value or 0), k
                    if year is None:
                        when = date(today.year, month, day)
                        if when < today:
                            when = date(today.year + 1, month, day)
                    else:
                        when = date(year, month, day)
                        if when < today:
                            self.questions.append(
                                f"{u.raw} {day} {year} is in the past (the CDP clock says "
                                f"{today.isoformat()}): which date did you mean?"
                            )
                            continue
                elif u.has("WEEKDAY") and self.word(i - 1) in (
                    "on",
                    "next",
                    "this",
                    "by",
                    "before",
                    "until",
                    "coming",
                ):
                    ahead = (int(u.tags["WEEKDAY"]) - today.weekday()) % 7 or 7
                    when = today + timedelta(days=ahead)
                elif u.has("RELDATE"):
                    rel = u.tags["RELDATE"]
                    if rel == "tomorrow":
                        when = today + timedelta(days=1)
                    elif rel == "today":
                        when = today
                    elif rel == "next week":
                        when = today + timedelta(days=7 - today.weekday())
                    elif rel == "next month":
                        when = (today.replace(day=1) + timedelta(days=32)).replace(day=1)
                    elif rel == "weekend":
                        when = today + timedelta(days=(5 - today.weekday()) % 7 or 7)
            except ValueError:
                self.questions.append(f"'{self.raw_between(max(0, i - 1), last)}' is not a valid date.")
                continue
            if when is None:
                continue
            self.used.update(range(i, last + 1))
            if (
                self.word(i - 1) == "since"
                or (self.word(i - 1) == "the" and self.word(i - 2) == "since")
                or (u.has("MONTH") and self.word(i - 2) == "since" and self.units[i - 1].kind == "num")
            ):
                self.since_date(i, last, when)
                continue
            if self.brief.send_at is not None:
                continue
            self.brief.send_at = self.at_send_hour(when)
            before = {self.word(k) for k in range(max(0, i - 3), i)}
            self.brief.send_by = bool(before & {"by", "before", "until", "no later than", "latest"})

    def since_date(self, i: int, last: int, when: date) -> None:
        """ "haven't purchased since March 1": a window measured from a past date."""
        today = self.now.date()
        if when > today:
            try:
                when = when.replace(year=when.year - 1)
            except ValueError:
                when = when - timedelta(days=365)
        phrase_start = max(self.clause_start(i), i - 9)
        anchor = next(
            ((j, k) for j in range(i - 1, phrase_start - 1, -1) if (k := self._anchor_kind(j))), None
        )
        phrase = self.raw_between(anchor[0] if anchor else max(0, i - 1), last)
        if anchor is None or when > today:
            self.unmapped(
                phrase,
                f"I can't tell what happened since {self.raw_between(i, last)}: say e.g. "
                "'haven't purchased since March 1' or 'signed up since March 1'.",
                ask=True,
            )
            return
        at, (event, negative) = anchor
        span = _Span(first=i, last=last, days=(today - when).days, mode="within")
        cond = self.window_condition(span, event, negative, phrase)
        if cond is None:
            return
        self.used.update(range(at, last + 1))
        if self.excluded[i] or (event == "complaint" and negative):
            self.brief.exclusions.append(Exclusion(kind="condition", condition=cond, phrase=phrase))
        else:
            self.brief.conditions.append(cond)

    # --- what the grammar could not map -------------------------------------------------------------------

    def unknown_places(self) -> None:
        """ "customers from Atlantis": a place after in/from that is no country, region or city."""
        n = len(self.units)
        for i, u in enumerate(self.units):
            if u.w not in _PREP_PLACE and u.w not in ("living in", "based in", "located in"):
                continue
            j = self.skip_fillers(i + 1, ("the",))
            if j >= n:
                continue
            cand = self.units[j]
            if cand.tags or cand.kind != "word" or cand.w in _STOP or len(cand.w) < 2:
                continue
            capitalised = cand.cap and not cand.sent_start
            after = self.u(j + 1)
            at_end = (
                after is None
                or after.w in _CLAUSE_END
                or after.w in ("by", "via", "with", "and", "who", "that", "on", "for", "only")
                or after.has("CHANNEL")
            )
            prev_head = i > 0 and self.units[i - 1].has("HEAD")
            lower_ok = (
                prev_head
                and at_end
                and not cand.w.endswith(("ing", "ly", "ed"))
                and cand.w not in lx.COMMON_WORDS
            )
            if not (capitalised or lower_ok):
                continue
            k = j
            while (
                k + 1 < n
                and self.units[k + 1].cap
                and not self.units[k + 1].tags
                and self.units[k + 1].kind == "word"
            ):
                k += 1
            place = self.raw_between(j, k)
            self.unmapped(place, f"I don't know a country called {place}; {self.country_hint()}.", ask=True)

    def unknown_modifiers(self) -> None:
        """ "wealthy customers": a word before a customer noun that names no known attribute."""
        for h, head in enumerate(self.units):
            if not head.headlike or head.w in ("one", "those", "them", "list", "base", "group", "segment"):
                continue
            j = h - 1
            while (
                j >= 0
                and (
                    self.units[j].has(*_MODIFIER_TAGS)
                    or self.units[j].w in _CONJ
                    or self.units[j].has("GOAL")
                )
                and not self.units[j].has("VERB")
            ):
                if self.units[j].has("GOAL"):
                    j = -1
                    break
                j -= 1
            if j < 0:
                continue
            cand = self.units[j]
            if cand.tags or cand.kind != "word" or cand.w in _STOP or cand.w.endswith(("ing", "ly")):
                continue
            if j == self.clause_start(j) or cand.sent_start or self.word(j - 1) in lx.VERB_SLOTS:
                continue  # sentence-initial word before a noun: a verb ("thank customers ...")
            if self.word(j - 1) in ("s",):
                continue
            phrase = self.raw_between(j, h)
            self.unmapped(
                phrase,
                f"I don't know which customers '{phrase}' means. Audiences can be described by segment "
                "(at-risk, "
                "lapsed, new, high-value, active, loyal), tier (standard, premium, vip), country, language, "
                "favourite category, purchase or signup recency, spend and number of orders.",
                ask=True,
            )

    def empty_relative_clauses(self) -> None:
        """ "customers who love hiking": a relative clause nothing in which could be mapped."""
        n = len(self.units)
        for i, u in enumerate(self.units):
            if u.w not in ("who", "whose") or i == 0 or not self.units[i - 1].has("HEAD"):
                continue
            j = i + 1
            while (
                j < n
                and self.units[j].w not in _CLAUSE_END
                and self.units[j].w not in ("by", "via", "using")
                and not self.units[j].has("GOAL", "LAUNCH", "BUDGET", "CURSYM", "OCC", "OFFER")
            ):
                j += 1
            span = range(i + 1, j)
            if not span:
                continue
            if any(
                k in self.used or k in self.consumed or self.units[k].has("OPTEDOUT", "RULE") for k in span
            ):
                continue
            phrase = self.raw_between(i, j - 1)
            self.unmapped(
                phrase,
                f"I can't map '{phrase}' to customer data. Customers can be described by "
                "purchases (bought in the last 30 days, haven't purchased in 60 days, spent "
                "over $500, 3+ orders), signup date, tier, country, language, favourite "
                "category, open tickets or complaints.",
                ask=True,
            )

    def stray_numbers(self) -> None:
        """A number no rule used ("customers aged 25-35") narrows nothing here: ask instead of ignoring it."""
        for i, u in enumerate(self.units):
            if u.kind != "num" or i in self.used or i in self.consumed:
                continue
            lo = (
                i - 1
                if i > 0 and self.units[i - 1].kind == "word" and not self.units[i - 1].has("HEAD")
                else i
            )
            hi = i
            while hi + 1 < len(self.units) and (
                self.units[hi + 1].kind == "num" or self.units[hi + 1].w == "to"
            ):
                hi += 1
            self.consumed.update(range(i, hi + 1))
            phrase = self.raw_between(lo, hi)
            self.unmapped(
                phrase,
                f"I can't tell what '{phrase}' refers to: numbers are understood as day windows "
                "('haven't purchased in 60 days'), spend ('spent over $500'), orders ('3+ orders'), "
                "budgets, discounts and dates.",
                ask=True,
            )

    def unknown_groups(self) -> None:
        """ "for runners", "to students": a group of people the CDP has no attribute for."""
        for i, u in enumerate(self.units):
            if u.w not in ("for", "to", "among", "amongst", "targeting"):
                continue
            j = self.skip_fillers(i + 1, ("the", "our", "all", "those", "these", "any", "every", "of"))
            cand = self.u(j)
            if (
                cand is None
                or cand.tags
                or cand.kind != "word"
                or cand.w in _STOP
                or cand.w in lx.COMMON_WORDS
            ):
                continue
            raw = cand.raw.lower()
            if not raw.endswith("s") or raw.endswith(("ss", "us", "'s")) or len(raw) < 4:
                continue
            if self.has_at(j + 1, "HEAD") or (self.u(j + 1) is not None and self.units[j + 1].headlike):
                continue  # "for hiking customers" is the modifier rule's job
            self.unmapped(
                cand.raw,
                f"I don't know which customers '{cand.raw}' are: the CDP describes customers by "
                "segment, tier, country, language, favourite category, purchases and signup "
                "date, not by who they are.",
                ask=True,
            )

    def empty_exclusions(self) -> None:
        """ "except complainers": an exclusion nothing in which could be mapped is asked, not dropped."""
        for cue, last in self.scopes:
            inside = range(cue + 1, last + 1)
            if not inside or any(k in self.used or k in self.consumed for k in inside):
                continue
            if self.brief.refusal is not None:
                continue
            phrase = self.raw_between(cue, last)
            self.unmapped(
                phrase,
                f"I can't tell who '{phrase}' leaves out: exclusions can name a segment, tier, country, "
                "city, language, favourite category, open tickets, complaints or a purchase window.",
                ask=True,
            )

    # --- defaults, contradictions, nothing understood ----------------------------------------------------

    def goal_defaults(self) -> None:
        """win-back without audience words means lapsed customers; welcome means new customers."""
        b = self.brief
        fields_used = {c.field for c in b.conditions}
        if b.segment_words:
            return
        if b.goal == "win-back" and not fields_used & {"days_since_purchase", "orders_count"}:
            b.implied_segment_words = ["lapsed"]
            b.notes.append("win-back with no segment word: the audience is lapsed customers")
        elif b.goal == "welcome" and "days_since_signup" not in fields_used:
            b.implied_segment_words = ["new"]
            b.notes.append("welcome with no segment word: the audience is new customers")

    def contradictions(self) -> None:
        b = self.brief
        vocab = SegmentVocabulary.from_env()
        bounds: dict[str, list[float]] = {}
        why: dict[str, list[str]] = {}

        def bound(column: str, low: float, high: float, phrase: str) -> None:
            lo, hi = bounds.get(column, [-math.inf, math.inf])
            bounds[column] = [max(lo, low), min(hi, high)]
            why.setdefault(column, []).append(phrase)

        for group in b.segment_groups + [[w] for w in b.implied_segment_words]:
            if len(group) != 1:
                continue
            w = group[0]
            if w == "active":
                bound(
                    "days_since_purchase",
                    0,
                    vocab.active_days,
                    f"'active' (bought within {vocab.active_days} days)",
                )
            elif w == "lapsed":
                bound(
                    "days_since_purchase",
                    vocab.lapsed_days,
                    math.inf,
                    f"'lapsed' (no purchase for {vocab.lapsed_days}+ days)",
                )
            elif w == "new":
                bound(
                    "days_since_signup", 0, vocab.new_days, f"'new' (signed up within {vocab.new_days} days)"
                )
            elif w == "loyal":
                bound(
                    "orders_count",
                    vocab.loyal_min_orders,
                    math.inf,
                    f"'loyal' ({vocab.loyal_min_orders}+ orders)",
                )
        for c in b.conditions:
            if c.op == "gte":
                bound(c.field, c.value, math.inf, f"'{c.phrase}'")
            elif c.op == "lte":
                bound(c.field, -math.inf, c.value, f"'{c.phrase}'")
            elif c.op == "eq" and isinstance(c.value, int | float) and not isinstance(c.value, bool):
                bound(c.field, c.value, c.value, f"'{c.phrase}'")
            elif c.op == "between":
                bound(c.field, c.value[0], c.value[1], f"'{c.phrase}'")
        # a purchase window needs a purchase; never purchased and a purchase recency cannot both hold
        if "days_since_purchase" in bounds and bounds.get("orders_count", [0, 1])[1] == 0:
            bound("orders_count", 1, math.inf, " and ".join(why["days_since_purchase"]))
        if "days_since_signup" in bounds and "days_since_purchase" in bounds:
            # a purchase cannot be older than the signup: days_since_purchase <= days_since_signup
            lo_p = bounds["days_since_purchase"][0]
            hi_s = bounds["days_since_signup"][1]
            if lo_p > hi_s:
                self.questions.append(
                    f"{' and '.join(why['days_since_signup'] + why['days_since_purchase'])} cannot all hold: "
                    "a customer cannot have bought before signing up. Which did you mean?"
                )
        for column, (lo, hi) in bounds.items():
            if lo > hi:
                self.questions.append(
                    f"{' and '.join(why[column])} contradict each other, so no customer "
                    "matches: which did you mean?"
                )
        for kind, values in (
            ("tier", b.tiers),
            ("country", b.countries),
            ("segment", b.segment_words),
            ("language", b.languages),
            ("city", b.cities),
        ):
            both = [e.value for e in b.exclusions if e.kind == kind and e.value in values]
            if both:
                self.questions.append(
                    f"The objective both includes and excludes {kind} {', '.join(map(str, both))}:"
                    " which is it?"
                )

    def unintelligible(self) -> None:
        b = self.brief
        understood = (
            b.goal
            or b.segment_words
            or b.tiers
            or b.countries
            or b.cities
            or b.languages
            or b.categories
            or b.audience_categories
            or b.channels
            or b.excluded_channels
            or b.budget
            or b.discount_pct is not None
            or b.offer_kind
            or b.occasion
            or b.conditions
            or b.exclusions
            or b.free_shipping
            or b.send_at
            or b.unmapped
            or b.refusal
        )
        if not understood and not self.questions:
            self.questions.append(
                f"I couldn't find a goal, an audience or an offer in '{_clip(self.text)}'. Say what the "
                "campaign should do and for whom, for example: 'win back lapsed premium customers in "
                "Germany by email with 15% off'."
            )


def occasion_date(occasion: str, today: date) -> date | None:
    """The next date of an occasion with a known date (Christmas, Black Friday ...), from `today`."""

    def black_friday(year: int) -> date:
        november = calendar.Calendar().itermonthdates(year, 11)
        thursdays = [d for d in november if d.month == 11 and d.weekday() == 3]
        return thursdays[3] + timedelta(days=1)

    for year in (today.year, today.year + 1):
        when: date | None = None
        if occasion in lx.FIXED_OCCASION_DATES:
            month, day = lx.FIXED_OCCASION_DATES[occasion]
            when = date(year, month, day)
        elif occasion == "black friday":
            when = black_friday(year)
        elif occasion == "cyber monday":
            when = black_friday(year) + timedelta(days=3)
        elif occasion == "thanksgiving":
            when = black_friday(year) - timedelta(days=1)
        else:
            return None
        if when >= today:
            return when
    return None


def _clip(text: str, limit: int = 80) -> str:
    text = " ".join(text.split())
    return text if len(text) <= limit else text[: limit - 1] + "…"


def _foreign_language(toks: list[Tok]) -> str | None:
    """The language an objective seems written in, when it is not English (None for English)."""
    words = [t.raw.lower() for t in toks if t.kind == "word"]
    if not words:
        return None
    non_latin = sum(
        1 for w in words if not any("a" <= ch <= "z" or ch in "àáâãäåçèéêëìíîïñòóôõöùúûüß" for ch in w)
    )
    if non_latin * 2 > len(words):
        return "a language other than English"
    english = sum(1 for w in words if w in lx.ENGLISH_STOPWORDS)
    best, best_count = None, 0
    for language, stop in lx.FOREIGN_STOPWORDS.items():
        count = sum(1 for w in words if w in stop)
        if count > best_count:
            best, best_count = language, count
    if best is not None and best_count >= 2 and best_count > english:
        return best
    return None


def parse_objective(
    text: str,
    *,
    countries: Sequence[str] | None = None,
    now: datetime | None = None,
) -> Brief:
    """Read an objective into a `Brief`.

    `countries`: the ISO codes the CDP has customers in (`cdp_countries(db)`); with it, a country the
    CDP has no customers in is a question, and questions about unknown places list the real ones.
    `now`: the instant relative dates count from (default `cdp.clock.now()`).

    Goal defaults, applied only when no segment word is present: win-back implies `lapsed` (unless a
    purchase window or order count says who), welcome implies `new` (unless a signup window does).
    """
    brief_now = (now or clock.now()).astimezone(UTC)
    if not isinstance(text, str):
        return Brief(question="The objective must be text.")
    if len(text) > MAX_OBJECTIVE_CHARS:
        return Brief(
            objective=text[:MAX_OBJECTIVE_CHARS],
            question=f"The objective is {len(text):,} characters long; please state it in at most "
            f"{MAX_OBJECTIVE_CHARS:,} characters (one or two sentences: goal, audience, channel, offer).",
        )
    stripped = " ".join(text.split())
    if not stripped:
        return Brief(
            question="The objective is empty: say what the campaign should do and for whom, for example "
            "'win back lapsed premium customers in Germany by email with 15% off'."
        )
    normalised = normalise_text(stripped)
    toks = tokenize(normalised)
    foreign = _foreign_language(toks)
    if foreign is not None:
        return Brief(
            objective=stripped,
            question=f"The objective looks like it is written in {foreign}; I only "
            "understand objectives in English. Please restate it in English.",
        )
    parser = _Parser(
        text=normalised,
        units=_units(normalised, toks),
        now=brief_now,
        known_countries=list(countries) if countries is not None else None,
        brief=Brief(objective=stripped),
    )
    brief = parser.run()
    for w in brief.segment_words:
        assert w in SEGMENT_WORDS, w  # the lexicon only names the CDP's segment words
    return brief
