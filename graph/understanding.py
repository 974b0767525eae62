"""Code's check of a plan's interpretation: every fact in the objective's words is accounted for.

A model can say anything about what it understood; this module reads the objective itself for the
facts that change who gets a message, what they are offered and when (countries and cities, tiers,
numbers, percentages, money amounts, dates) and requires each to appear somewhere in the
interpretation. A fact that does not becomes a question to the marketer, never a silent guess. The
audience filter must also name only values the CDP holds, and code computes the warnings a person
must see before anything is sent (`--approve auto` stops on any of them).
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from typing import Any

from cdp.errors import FilterError
from cdp.filters import parse_filter
from cdp.migrations.m001_core import TIERS
from cdp.names import country_display, country_mentions
from cdp.places import CITIES, CITY_ALIASES, COUNTRIES, COUNTRY_NAMES_NEED_CAPITAL
from cdp.terms import CdpTerms
from graph.plan import (
    CampaignSpec,
    Interpretation,
    InterpretationWarning,
)

#: A discount above this share of the price is worth a person's look.
LARGE_DISCOUNT_PCT = 50.0
#: Filter fields whose values must exist in the CDP, and the `CdpTerms` attribute that counts them.
TERM_FIELDS = {
    "country": "countries",
    "city": "cities",
    "language": "languages",
    "tier": "tiers",
    "favorite_category": "categories",
}
MONTHS = {
    m: i + 1
    for i, names in enumerate(
        (
            "january jan",
            "february feb",
            "march mar",
            "april apr",
            "may",
            "june jun",
            "july jul",
            "august aug",
            "september sept sep",
            "october oct",
            "november nov",
            "december dec",
        )
    )
    for m in names.split()
}
WEEKDAYS = {
    d: i for i, d in enumerate(("monday", "tuesday", "wednesday", "thursday", "friday", "saturday", "sunday"))
}
_MONTH_RE = "|".join(sorted(MONTHS, key=len, reverse=True))
_DAY = r"(\d{1,2})(?:st|nd|rd|th)?"
_DATE_PATTERNS = (
    ("iso", re.compile(r"\b(\d{4})-(\d{2})-(\d{2})(?:[T ][0-9:.]+Z?)?\b")),
    ("month_day", re.compile(rf"\b({_MONTH_RE})\.?\s+{_DAY}\b(?!\s*%)", re.I)),
    ("day_month", re.compile(rf"\b{_DAY}\s+(?:of\s+)?({_MONTH_RE})\b", re.I)),
    ("month", re.compile(rf"\b({_MONTH_RE})\b", re.I)),
    ("weekday", re.compile(r"\b(?:next\s+|this\s+)?(" + "|".join(WEEKDAYS) + r")\b", re.I)),
    ("relative", re.compile(r"\b(today|tonight|tomorrow)\b", re.I)),
)
_CURRENCY_SIGNS = {"$": "USD", "€": "EUR", "£": "GBP", "¥": "JPY"}
_CURRENCY_WORDS = {
    "dollar": "USD",
    "dollars": "USD",
    "usd": "USD",
    "euro": "EUR",
    "euros": "EUR",
    "eur": "EUR",
    "pound": "GBP",
    "pounds": "GBP",
    "gbp": "GBP",
    "yen": "JPY",
    "jpy": "JPY",
}
_NUM = r"(\d{1,3}(?:,\d{3})+(?:\.\d+)?|\d+(?:[.,]\d+)?)"
_MONEY = (
    re.compile(r"([$€£¥])\s?" + _NUM),
    re.compile(_NUM + r"\s?(" + "|".join(_CURRENCY_WORDS) + r")\b", re.I),
    re.compile(r"\b(usd|eur|gbp|jpy)\s?" + _NUM, re.I),
)
_PERCENT = re.compile(_NUM + r"\s?(?:%|percent\b|per cent\b|pct\b)", re.I)
_NUMBER = re.compile(r"(?<![\w.])" + _NUM + r"(?![\w])")
_PLACEHOLDER = re.compile(r"\[(?:email|phone|card|iban)\]")
_OFF = re.compile(r"^\s*(?:off|discount|rebate|back)\b", re.I)
_VALIDITY = re.compile(
    r"(?:valid\s+(?:until|till|through|thru|to)|expir\w*(?:\s+on)?|ends?(?:\s+on)?|good\s+(?:until|through))\s*$",
    re.I,
)


@dataclass(frozen=True)
class Fact:
    """One thing the objective's words say that the interpretation has to carry."""

    kind: str  # country, city, tier, number, percent, money, date
    words: str  # as written
    value: Any  # code, tier, float, (amount, currency), or a date matcher
    role: str = ""  # "offer" for money off, "validity" for an offer's end date


@dataclass(frozen=True)
class Problem:
    """Why the interpretation cannot be trusted as it stands. `repair` problems go back to the model
    once; the others become the question a person answers."""

    code: str
    message: str
    words: tuple[str, ...] = ()
    repair: bool = False


# --------------------------------------------------------------------------------------- the facts


def _to_float(text: str) -> float:
    """'3,000' and '1,500.50' are thousands; '2,5' is a decimal comma."""
    if re.fullmatch(r"\d{1,3}(?:,\d{3})+(?:\.\d+)?", text):
        return float(text.replace(",", ""))
    return float(text.replace(",", "."))


def objective_facts(objective: str, now: datetime | None = None) -> list[Fact]:
    """Every country, city, tier, number, percentage, money amount and date the words name."""
    text = _PLACEHOLDER.sub(" ", objective)
    taken: list[tuple[int, int]] = []
    facts: list[Fact] = []

    def free(start: int, end: int) -> bool:
        return all(end <= a or start >= b for a, b in taken)

    def add(match: re.Match[str], fact: Fact) -> None:
        taken.append(match.span())
        facts.append(fact)

    # Country names take their words first ("Svalbard and Jan Mayen" holds no date), unless a city
    # spells them ("Panama City"); their facts keep their place in the list, after the numbers.
    lowered = text.lower()
    cities = [m.span() for c in CITIES for m in re.finditer(rf"\b{re.escape(c.lower())}\b", lowered)]
    mentions = [
        (start, end, code)
        for start, end, code in country_mentions(text)
        if not any(a <= start and end <= b and b - a > end - start for a, b in cities)
    ]
    taken.extend((start, end) for start, end, _ in mentions)
    named = [Fact("country", text[start:end], code) for start, end, code in mentions]
    for kind, pattern in _DATE_PATTERNS:
        for m in pattern.finditer(text):
            if not free(*m.span()):
                continue
            if kind == "month" and m.group(1).lower() in ("may", "march") and not m.group(1)[0].isupper():
                continue  # "customers who may churn"
            role = "validity" if _VALIDITY.search(text[: m.start()]) else ""
            add(m, Fact("date", m.group(0), (kind, m.groups()), role))
    for pattern in _MONEY:
        for m in pattern.finditer(text):
            if not free(*m.span()):
                continue
            sign, amount = (m.group(2), m.group(1)) if pattern is _MONEY[1] else (m.group(1), m.group(2))
            currency = _CURRENCY_SIGNS.get(sign) or _CURRENCY_WORDS.get(sign.lower(), sign.upper())
            role = "offer" if _OFF.match(text[m.end() :]) else ""
            add(m, Fact("money", m.group(0), (_to_float(amount), currency), role))
    for m in _PERCENT.finditer(text):
        if free(*m.span()):
            add(m, Fact("percent", m.group(0), _to_float(m.group(1))))
    for m in _NUMBER.finditer(text):
        if free(*m.span()):
            add(m, Fact("number", m.group(0), _to_float(m.group(1))))
    facts.extend(named)
    for code, (_, adjectives) in COUNTRIES.items():
        for name in adjectives:
            for m in re.finditer(rf"\b{re.escape(name)}\b", lowered):
                if name in COUNTRY_NAMES_NEED_CAPITAL and not text[m.start()].isupper():
                    continue
                if free(*m.span()):
                    add(m, Fact("country", text[m.start() : m.end()], code))
    for city in (*CITIES, *CITY_ALIASES):
        for m in re.finditer(rf"\b{re.escape(city.lower())}\b", lowered):
            if free(*m.span()):
                add(m, Fact("city", text[m.start() : m.end()], CITY_ALIASES.get(city, city)))
    for tier in TIERS:
        for m in re.finditer(rf"\b{tier}\b", lowered):
            if free(*m.span()):
                add(m, Fact("tier", text[m.start() : m.end()], tier))
    return facts


# ----------------------------------------------------------------------- what the interpretation says


def _walk(node: Any, negated: bool = False, alternative: bool = False):
    """(condition dict, under a `not`?, under an `any` with siblings?) for every condition of a filter."""
    if isinstance(node, dict):
        if "field" in node or "trait" in node or "segment" in node:
            yield node, negated, alternative
        for key in ("all", "any"):
            for child in node.get(key) or []:
                yield from _walk(child, negated, alternative or (key == "any" and len(node[key]) > 1))
        if "not" in node:
            yield from _walk(node["not"], not negated, alternative)


def _scalars(value: Any) -> list[Any]:
    return list(value) if isinstance(value, list) else [value]


@dataclass
class _Said:
    """Everything the interpretation states, flattened for lookup."""

    text: str
    values: set[str]
    numbers: set[float]
    offer_numbers: set[float]
    budget_numbers: set[float]
    dates: list[date]
    validity_dates: list[date]


def _date_of(value: Any) -> date | None:
    if not value:
        return None
    try:
        return datetime.fromisoformat(str(value).replace("Z", "+00:00")).date()
    except ValueError:
        try:
            return date.fromisoformat(str(value)[:10])
        except ValueError:
            return None


def _said(interp: Interpretation) -> _Said:
    texts = [interp.audience.text, interp.timing.text]
    texts += [f"{r.words} {r.meaning}" for r in interp.readings]
    values: set[str] = set()
    numbers: set[float] = set()
    dates: list[date] = []
    for cond, _, _ in _walk(interp.audience.filter):
        for v in _scalars(cond.get("value")):
            if isinstance(v, bool):
                continue
            if isinstance(v, int | float):
                numbers.update({float(v), float(v) + 1, float(v) - 1, round(float(v) * 100, 6)})
            elif isinstance(v, str):
                values.add(v.lower())
                if (d := _date_of(v)) is not None:
                    dates.append(d)
        if cond.get("segment"):
            values.add(str(cond["segment"]).lower())
    offer_numbers: set[float] = set()
    if interp.offer is not None:
        texts.append(f"{interp.offer.text} {interp.offer.category or ''}")
        if interp.offer.value is not None:
            offer_numbers.add(float(interp.offer.value))
        if interp.offer.unit:
            values.add(interp.offer.unit.lower())
    budget_numbers = {float(interp.budget.amount)} if interp.budget else set()
    for field in ("send_at", "occasion_date", "offer_valid_until"):
        if (d := _date_of(getattr(interp.timing, field))) is not None:
            dates.append(d)
    validity = [d for d in [_date_of(interp.timing.offer_valid_until)] if d]
    text = " ".join(t for t in texts if t).lower()
    for m in _NUMBER.finditer(text):
        numbers.add(_to_float(m.group(1)))
    return _Said(text, values, numbers, offer_numbers, budget_numbers, dates, validity)


def _date_matches(fact: Fact, d: date, now: date) -> bool:
    kind, groups = fact.value
    if kind == "iso":
        return d == date(int(groups[0]), int(groups[1]), int(groups[2]))
    if kind == "month_day":
        return d.month == MONTHS[groups[0].lower()] and d.day == int(groups[1])
    if kind == "day_month":
        return d.month == MONTHS[groups[1].lower()] and d.day == int(groups[0])
    if kind == "month":
        return d.month == MONTHS[groups[0].lower()]
    if kind == "weekday":
        return d.weekday() == WEEKDAYS[groups[0].lower()]
    offset = {"today": 0, "tonight": 0, "tomorrow": 1}[groups[0].lower()]
    return d == now + timedelta(days=offset)


def _in_text(words: str, text: str) -> bool:
    return re.search(rf"(?<!\w){re.escape(words.lower())}(?!\w)", text) is not None


def _accounted(fact: Fact, said: _Said, now: date) -> bool:
    """Is the fact carried by the interpretation (its readings' words count: they quote the objective)?"""
    if fact.kind == "date":
        days = said.validity_dates if fact.role == "validity" else said.dates
        if any(_date_matches(fact, d, now) for d in days):
            return True
        return fact.role != "validity" and _in_text(fact.words, said.text)
    if fact.kind == "money":
        amount = fact.value[0]
        if fact.role == "offer":
            return amount in said.offer_numbers
        return amount in said.offer_numbers | said.budget_numbers | said.numbers
    if fact.kind in ("number", "percent"):
        pool = said.numbers | said.offer_numbers | said.budget_numbers
        candidates = {fact.value} | ({fact.value / 100} if fact.kind == "percent" else set())
        return bool(candidates & pool)
    if fact.kind in ("country", "city", "tier"):
        return str(fact.value).lower() in said.values or _in_text(fact.words, said.text)
    return True


def _names(values: dict[str, int], field: str, limit: int = 12) -> str:
    shown = sorted(values, key=lambda k: (-values[k], k))[:limit]
    if field == "country":
        shown = [country_display(c) for c in shown]
    more = f" and {len(values) - limit} more" if len(values) > limit else ""
    return ", ".join(shown) + more if shown else "none"


def filter_problems(audience_filter: dict[str, Any], terms: CdpTerms) -> list[Problem]:
    """A filter that does not parse (back to the model), or names values no customer has (a question)."""
    if not audience_filter:
        return []
    try:
        parse_filter(audience_filter)
    except FilterError as exc:
        return [Problem("bad_filter", f"interpretation.audience.filter: {exc}", repair=True)]
    if terms.customers == 0:
        return []
    problems: list[Problem] = []
    for cond, negated, alternative in _walk(audience_filter):
        field = cond.get("field")
        if field not in TERM_FIELDS or negated or alternative or cond.get("op") not in ("eq", "in"):
            continue
        held: dict[str, int] = getattr(terms, TERM_FIELDS[field])
        values = [v for v in _scalars(cond.get("value")) if isinstance(v, str)]
        if values and all(held.get(v, 0) == 0 for v in values):
            named = ", ".join(country_display(v) if field == "country" else v for v in values)
            problems.append(
                Problem(
                    "unknown_value",
                    f"The CDP has no customers with {field.replace('_', ' ')} {named}; "
                    f"it has: {_names(held, field)}. Which should the campaign use?",
                    tuple(values),
                )
            )
    return problems


def check_interpretation(
    objective: str, interpretation: Interpretation | None, terms: CdpTerms, now: datetime | None = None
) -> list[Problem]:
    """Everything wrong with a plan's interpretation of `objective` (the text the model saw)."""
    if interpretation is None:
        return [
            Problem(
                "missing",
                "the plan has no `interpretation`: fill it (audience text and filter, offer, channels, "
                "timing, budget, readings for each phrase, unused_words)",
                repair=True,
            )
        ]
    today = (now or datetime.now()).date()
    said = _said(interpretation)
    missing = [f for f in objective_facts(objective, now) if not _accounted(f, said, today)]
    problems = filter_problems(interpretation.audience.filter, terms) + invented(objective, interpretation)
    if missing:
        words = tuple(dict.fromkeys(f.words for f in missing))
        hints = [_hint(f) for f in missing if _hint(f)]
        problems.append(
            Problem(
                "unaccounted",
                "I could not tell how these words of the objective should be used: "
                + ", ".join(f'"{w}"' for w in words)
                + ". "
                + (" ".join(dict.fromkeys(hints)) + " " if hints else "")
                + "Please restate the objective saying what each one means (audience, offer, timing or budget).",
                words,
            )
        )
    return problems


#: Words that name a channel; an objective without any leaves the channels to the activation agent.
CHANNEL_WORDS = re.compile(
    r"\b(e-?mails?|mail(?:ing)?s?|newsletters?|sms|texts?|text messages?|push|notifications?|apps?|channels?)\b",
    re.I,
)


def invented(objective: str, interpretation: Interpretation) -> list[Problem]:
    """Parts of the reading the objective gives no words for (a small model fills every field it is
    shown, or copies the prompt's example): channels when no channel is named, a budget or an offer
    amount when no number is, an offer's category the objective never names. Each
    goes back to the model once, quoting what to leave empty."""
    problems: list[Problem] = []
    has_number = bool(re.search(r"\d", objective)) or bool(
        re.search(
            r"\b(one|two|three|four|five|ten|twenty|fifty|hundred|thousand|half|double|triple|twice|quarter)\b",
            objective,
            re.I,
        )
    )
    if interpretation.channels and not CHANNEL_WORDS.search(objective):
        problems.append(
            Problem("invented", "the objective names no channel: leave `channels` []", repair=True)
        )
    if interpretation.budget is not None and not has_number:
        problems.append(
            Problem("invented", "the objective states no budget: leave `budget` null", repair=True)
        )
    offer = interpretation.offer
    if offer is not None and offer.value is not None and not has_number:
        problems.append(
            Problem("invented", "the objective states no offer amount: leave `offer` null", repair=True)
        )
    elif offer is not None and offer.category and not _names_category(objective, offer.category):
        problems.append(
            Problem(
                "invented",
                f"the objective names no product category ({offer.category!r} is not in it): "
                "leave `offer.category` null",
                repair=True,
            )
        )
    return problems


def _names_category(objective: str, category: str) -> bool:
    """True if the objective has a word for `category` (the category itself or one of its synonyms)."""
    from cdp.vocabulary import CATEGORY_SYNONYMS

    text = objective.lower()
    wanted = category.strip().lower()
    words = {wanted, wanted.rstrip("s")} | {w for w, c in CATEGORY_SYNONYMS.items() if c.lower() == wanted}
    return any(re.search(rf"\b{re.escape(w)}", text) for w in words if w)


def _hint(fact: Fact) -> str:
    if fact.role == "offer":
        return f'"{fact.words}" reads as money off, but the plan carries no offer of that value.'
    if fact.role == "validity":
        return f'"{fact.words}" reads as when the offer ends, but the plan does not say so.'
    return ""


def question_for(problems: list[Problem]) -> str:
    """One question a person can answer, from every problem that is not the model's to repair."""
    return " ".join(p.message for p in problems if not p.repair)


# ----------------------------------------------------------------------------------------- warnings


def _warning(code: str, message: str) -> InterpretationWarning:
    return InterpretationWarning(code=code, message=message[:400])


def code_warnings(
    interpretation: Interpretation, spec: CampaignSpec, terms: CdpTerms, now: datetime
) -> list[InterpretationWarning]:
    """Warnings code computes from the plan: empty countries or cities, past dates, large discounts."""
    found: list[InterpretationWarning] = []
    if terms.customers:
        empty: list[str] = []
        for cond, negated, _ in _walk(interpretation.audience.filter):
            if cond.get("field") in ("country", "city") and not negated and cond.get("op") in ("eq", "in"):
                held = terms.countries if cond["field"] == "country" else terms.cities
                empty += [v for v in _scalars(cond.get("value")) if isinstance(v, str) and not held.get(v)]
        places = {"country": terms.countries, "city": terms.cities}
        for fact in objective_facts(interpretation.audience.text, now):
            if fact.kind in places and not places[fact.kind].get(fact.value):
                empty.append(fact.value)
        if empty:
            names = ", ".join(dict.fromkeys(country_display(v) for v in empty))
            found.append(_warning("empty_country", f"The CDP has no customers in {names}."))
    today = now.date()
    dated = {
        "send time": interpretation.timing.send_at or spec.send_at,
        "occasion date": interpretation.timing.occasion_date,
        "offer end date": interpretation.timing.offer_valid_until or spec.offer_valid_until,
    }
    for label, value in dated.items():
        d = _date_of(value)
        if d is not None and d < today:
            found.append(_warning("past_date", f"The {label} {d.isoformat()} is before today ({today})."))
    percents = [spec.discount_pct]
    if interpretation.offer is not None and interpretation.offer.unit == "percent":
        percents.append(interpretation.offer.value)
    if spec.offer_unit == "percent":
        percents.append(spec.offer_value)
    top = max((p for p in percents if p is not None), default=None)
    if top is not None and top > LARGE_DISCOUNT_PCT:
        found.append(_warning("large_discount", f"A discount of {top:g}% is over {LARGE_DISCOUNT_PCT:g}%."))
    return found


def audience_warning(audience_size: int, customers: int, share: float) -> InterpretationWarning | None:
    """`large_audience` when the campaign reaches more than `share` of every customer in the CDP."""
    if customers <= 0 or audience_size <= share * customers:
        return None
    return _warning(
        "large_audience",
        f"The audience of {audience_size:,} customers is {audience_size / customers:.0%} of all "
        f"{customers:,} customers (more than {share:.0%}).",
    )


def merge_warnings(*groups: list[InterpretationWarning]) -> list[InterpretationWarning]:
    """Code's warnings and the model's, once each (same code and message): a model can only add."""
    seen: dict[tuple[str, str], InterpretationWarning] = {}
    for group in groups:
        for w in group:
            seen.setdefault((w.code, w.message), w)
    return list(seen.values())
