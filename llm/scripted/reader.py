"""The offline objective reader: words -> lexicon classes -> rules (`llm.scripted.rules`) -> a `Brief`.

It knows which words it used. A word that is neither consumed by a rule nor a known filler makes a
question ("did you mean ...?" when it is near a known word), never a silent guess. Word classes are
data (`lexicon.toml`, `cdp.places`, the CDP's own terms); the rules are a table. Country names are
read by `cdp.names`, the reading imported files get, so "UK" in an objective is the GB of a file.
"""

from __future__ import annotations

import difflib
import re
import tomllib
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, time, timedelta
from pathlib import Path
from typing import Any

from cdp import places
from cdp.filters import describe_filter
from cdp.input_checks import MAX_OBJECTIVE_CHARS
from cdp.names import country_at, country_display, objective_country
from cdp.seed import CATEGORIES, COUNTRIES, TIER_WEIGHTS
from cdp.terms import CdpTerms
from cdp.vocabulary import CATEGORY_SYNONYMS
from llm.scripted.rules import STAGES, Tok, _values

SEND_HOUR_UTC = 9  # a date without a time means 09:00 UTC that day
_RAW = tomllib.loads(Path(__file__).with_name("lexicon.toml").read_text("utf-8"))
FILLERS = frozenset(_RAW.pop("filler")["words"].split())
#: class -> phrase -> meaning (a number where the meaning is digits).
LEXICON: dict[str, dict[str, Any]] = {
    cls: {
        " ".join(p.split()): int(v) if v.isdigit() else v
        for v, ps in t.items()
        for p in ps.split("|")
        if p.strip()
    }
    for cls, t in _RAW.items()
}
#: Cue words that may stay unused without changing what the objective means.
IGNORABLE_CUES = frozenset(
    ["list", "by", "on", "for", "of", "to", "only", "open", "close", "from", "tier", "this", "noise", "dash"]
)
#: Fields a customer has one value of: two different values ANDed select nobody.
ONE_VALUE_FIELDS = frozenset(["country", "city", "tier", "language", "favorite_category"])
#: Segments no customer is in at once ("lapsed" has not bought for 90 days; "new" and "active" have).
DISJOINT_SEGMENTS = [frozenset(p) for p in (("lapsed", "new"), ("lapsed", "active"))]
#: Offers that take no amount off: "10% off and free shipping" names two offers, not one.
NO_AMOUNT_OFFERS = frozenset(["free_shipping", "gift", "bundle", "points"])
#: Punctuation that never changes a meaning; any other sign (">", "*", "#" ...) is asked about.
HARMLESS_PUNCT = frozenset(".,;:!?'\"/()-–—…")
FOREIGN = frozenset(LEXICON.pop("foreign"))  # function words of other languages
_HYPHEN = re.compile(r"(?<=[A-Za-z0-9])-(?=[A-Za-z])|(?<=[A-Za-z])-(?=[0-9])")
_TOKEN = re.compile(
    r"i\.e\.|\d{4}-\d{2}-\d{2}|\d{1,2}/\d{1,2}\b|\d{1,3}(?:,\d{3})+(?:\.\d+)?|\d+(?:\.\d+)?(?:k|st|nd|rd|th)?\b|[^\W\d_]+(?:'[^\W\d_]+)?|[$€£¥%+\-()=:,&]|\S"
)


def _words(text: str) -> list[tuple[str, int]]:
    """Tokens with their offsets; "haven't" is two words ("have", "not")."""
    out = []
    for m in _TOKEN.finditer(_HYPHEN.sub(" ", text)):
        w = m.group()
        if w.lower().endswith("n't") and len(w) > 3:
            stem = {"can't": "can", "won't": "will"}.get(w.lower(), w[:-3])
            out += [(stem, m.start()), ("not", m.start() + len(stem))]
        else:
            out.append((w, m.start()))
    return out


def _key(phrase: str) -> tuple[str, ...]:
    return tuple(w.lower() for w, _ in _words(phrase))


def _known(terms: CdpTerms | None) -> CdpTerms:
    """The values the CDP holds, by field: its own terms, else the seed's."""
    if terms is not None:
        return terms
    return CdpTerms(
        countries={c[0]: c[1] for c in COUNTRIES},
        cities={city: 1 for c in COUNTRIES for city in c[3]},
        languages={lang: 1 for c in COUNTRIES for lang, _ in c[2]},
        tiers=dict(TIER_WEIGHTS),
        categories={c[0]: c[1] for c in CATEGORIES},
    )


def _phrases(known: CdpTerms) -> dict[tuple[str, ...], tuple[str, Any]]:
    table: dict[tuple[str, ...], tuple[str, Any]] = {}
    for code, (_, adjectives) in places.COUNTRIES.items():  # names: `country_at`, as files read them
        table.update({_key(a): ("nation", code) for a in adjectives})
    table.update({_key(c): ("city", c) for c in [*places.CITIES, *known.cities]})
    table.update({_key(a): ("city", c) for a, c in places.CITY_ALIASES.items() if len(a) > 2})
    table.update({_key(r): ("subregion", c) for r, c in places.SUBNATIONAL.items()})
    cats = {c.lower(): c for c in known.categories} | {c: c for c, _, _ in CATEGORIES}
    cats |= {w: c for w, c in (CATEGORY_SYNONYMS | LEXICON["category_word"]).items()}
    table.update({_key(w): ("cat", [c]) for w, c in cats.items()})
    for cls, entries in LEXICON.items():
        if cls not in ("category_word", "occasion_date"):
            table.update({_key(p): ("FILL", p) if v == "noise" else (cls, v) for p, v in entries.items()})
    table.update({(w,): ("FILL", w) for w in FILLERS if (w,) not in table})
    return table


def tokenize(text: str, known: CdpTerms, now: datetime | None = None) -> list[Tok]:
    """Longest phrase match against the lexicon; numbers become NUM, the rest WORD."""
    table = _phrases(known)
    raw = _words(text)
    low = [w.lower() for w, _ in raw]
    spans = [(start, start + len(w)) for w, start in raw]
    toks: list[Tok] = []
    i = 0
    while i < len(raw):
        word, start = raw[i]
        for n in range(min(6, len(raw) - i), 0, -1):
            hit = table.get(tuple(low[i : i + n]))
            if hit:
                break
        else:
            hit, n = None, 1
        # Country names as a file's country column reads them ("Deutschland", "U.S.", "Côte
        # d'Ivoire"); "us" and "turkey" stay words. The longer reading wins; a filler yields.
        country = country_at(text, spans, i)
        if country and (hit is None or country[0] > n or (country[0] == n and hit[0] == "FILL")):
            n, hit = country[0], ("country", country[1])
        plural = table.get((low[i][:-1],)) if low[i].endswith("s") else None
        if hit is None and plural and plural[0] in ("nation", "cat", "tier", "channel", "segment"):
            hit = plural  # "Germans", "toys", "VIPs"
        if low[i] in ("a", "an") and i + 1 < len(raw) and table.get((low[i + 1],), ("",))[0] == "unit":
            hit, n = ("NUM", 1), 1
        words = [w for w, _ in raw[i : i + n]]
        if hit is None and re.fullmatch(r"\d{4}-\d\d-\d\d|\d{1,2}/\d{1,2}", low[i]):
            hit = ("DATE", _date(low[i], now))
        if hit is None and re.fullmatch(r"\d[\d,.]*(k|st|nd|rd|th)?", low[i]):
            digits = low[i].rstrip("kstndrh").replace(",", "")
            value = float(digits) * (1000 if low[i].endswith("k") else 1)
            hit = ("NUM", int(value) if value.is_integer() else value)
        elif hit is None:
            hit = ("PUNCT" if not re.search(r"\w", word) else "WORD", word)
        toks.append(Tok(hit[0], hit[1], words, info={"start": start}))
        i += n
    return toks


def _date(text: str, now: datetime | None) -> date | None:
    """2026-12-20, or 12/31 (month/day, the next such day)."""
    try:
        if "/" not in text:
            return date.fromisoformat(text)
        today = (now or datetime.now(UTC)).date()
        month, day = (int(x) for x in text.split("/"))
        when = date(today.year, month, day)
        return when if when >= today else when.replace(year=today.year + 1)
    except ValueError:
        return None


# ------------------------------------------------------------------------------------- interpreter


def _element(text: str) -> tuple[list[tuple[str | None, Any, str | None]], str]:
    quant = text[-1] if text[-1] in "?+" else ""
    alts: list[tuple[str | None, Any, str | None]] = []
    for alt in text.rstrip("?+").split("|"):
        if alt.startswith("'"):
            alts.append((None, None, alt.strip("'")))
        else:
            cls, _, val = alt.partition(":")
            alts.append((cls, val or None, None))
    return alts, quant


def _fits(tok: Tok, alts: list[tuple[str | None, Any, str | None]]) -> bool:
    for cls, val, lit in alts:
        if (
            lit is not None
            and [w.lower() for w in tok.words] == [lit]
            and (tok.cls == "FILL" or not tok.cls.isupper())
        ):
            return True
        if cls == tok.cls and (val is None or str(tok.val) == val):
            return True
    return False


def _skippable(tok: Tok) -> bool:
    """Filler words and harmless punctuation may sit between a pattern's elements."""
    return tok.cls == "FILL" or (tok.cls == "PUNCT" and tok.val in HARMLESS_PUNCT)


def _match(toks: list[Tok], i: int, pattern: list[Any]) -> tuple[list[list[Tok]], int] | None:
    groups: list[list[Tok]] = []
    j = i
    for k, (alts, quant) in enumerate(pattern):
        group: list[Tok] = []
        while True:
            at = j
            while k and at < len(toks) and _skippable(toks[at]) and not _fits(toks[at], alts):
                at += 1
            if at < len(toks) and _fits(toks[at], alts):
                group.append(toks[at])
                j = at + 1
                if quant == "+":
                    continue
            break
        if not group and quant != "?":
            return None
        groups.append(group)
    return groups, j


COMPILED = [[([_element(e) for e in p.split()], act) for p, act in stage] for stage in STAGES]


@dataclass
class Context:
    now: datetime
    known: CdpTerms
    goal: str | None
    first: bool = False  # the rule matches at the start of the objective
    clause: bool = False  # ... or at the start of a clause (after a comma, semicolon or colon)

    @property
    def today(self) -> date:
        return self.now.date()


def interpret(toks: list[Tok], ctx: Context) -> list[Tok]:
    """Run every stage of the rules table to a fixed point; the result holds typed pieces and leftovers."""
    for stage in COMPILED:
        changed = True
        while changed:
            changed = False
            i = 0
            while i < len(toks):
                before = [t for t in toks[:i] if t.cls != "FILL"]
                ctx.first = not before
                ctx.clause = ctx.first or before[-1].words in ([","], [";"], [":"])
                for pattern, action in stage:
                    found = _match(toks, i, pattern)
                    new = found and action(found[0], ctx)
                    if found and new:
                        new.words = [w for t in toks[i : found[1]] for w in t.words]
                        new.info.setdefault("start", toks[i].info.get("start", 0))
                        toks[i : found[1]] = [new]
                        changed = True
                        break
                i += 1
    return toks


# ------------------------------------------------------------------------------------------ the brief


@dataclass
class Budget:
    amount: float
    currency: str | None


@dataclass
class Brief:
    """What the objective means, in typed pieces, with the words each came from."""

    objective: str = ""
    goal: str | None = None
    occasion: str | None = None
    occasion_date: date | None = None
    conditions: list[dict[str, Any]] = field(default_factory=list)
    channels: list[str] = field(default_factory=list)
    excluded_channels: list[str] = field(default_factory=list)
    offer: dict[str, Any] | None = None
    budget: Budget | None = None
    send_at: datetime | None = None
    send_by: bool = False
    offer_valid_until: date | None = None
    categories: list[str] = field(default_factory=list)
    upsell_to: str | None = None
    growth: bool = False
    readings: list[tuple[str, str]] = field(default_factory=list)
    unused: list[str] = field(default_factory=list)
    question: str | None = None
    refusal: str | None = None

    @property
    def discount_pct(self) -> float | None:
        o = self.offer or {}
        percent_off = o.get("kind") in ("discount", "welcome", "winback") and o.get("unit") == "percent"
        return o.get("value") if percent_off else None

    def audience_filter(self) -> dict[str, Any]:
        if not self.conditions:
            return {"all": [{"field": "orders_count", "op": "gte", "value": 0}]}
        return {"all": list(self.conditions)}

    def describe(self) -> str:
        return describe_filter(self.audience_filter()) if self.conditions else "every customer"


def _occasion_date(name: str, today: date) -> date | None:
    """The occurrence of an occasion nearest to today (so one just passed is in the past).

    `[occasion_date]` in the lexicon: "MM-DD", or "MM-N-W+D" (the Nth weekday W of month MM, plus D days).
    """
    rule = LEXICON["occasion_date"].get(name)
    if rule is None:
        return None
    month, *rest = (int(x) for x in re.split(r"[-+]", rule))

    def on(year: int) -> date:
        if len(rest) == 1:
            return date(year, month, rest[0])
        first = date(year, month, 1)
        return first + timedelta(days=(rest[1] - first.weekday()) % 7 + 7 * (rest[0] - 1) + rest[2])

    return min((on(y) for y in (today.year - 1, today.year, today.year + 1)), key=lambda d: abs(d - today))


def _at_send_hour(day: date, now: datetime) -> datetime:
    return max(datetime.combine(day, time(SEND_HOUR_UTC), tzinfo=UTC), now)


#: How a reading names what its words mean, by piece (`v` is the piece's value).
MEANINGS = {
    "BUDGET": "budget {v[amount]:g} {v[currency]}",
    "MONEY": "budget {v[v]:g} {v[unit]}",
    "GOAL": "goal {v}",
    "OCC": "occasion {v}",
    "VALID": "offer valid until {v[date]}",
    "WINDOW": "send on {v[from]}; offer valid until {v[to]}",
    "NOW": "send now",
    "TARGET": "upsell to tier {v}",
    "GROWTH": "a growth goal: size a wider audience too",
}


def _meaning(t: Tok) -> str:
    v = t.val
    if t.cls == "COND":
        return describe_filter(v)
    if t.cls == "CHAN":
        chans = f"not by {', '.join(v['off'])}" if v["off"] else f"channels {', '.join(v['on'])}"
        return chans + (" only" if v["only"] else "")
    if t.cls == "OFFER":
        return f"offer {v['kind']}" + (f" {v['value']:g} {v['unit']}" if v["value"] is not None else "")
    if t.cls == "SEND":
        return f"send {'by' if v['by'] else 'on'} {v['date']}"
    if t.cls == "CATEGORY":
        return f"the campaign is about {', '.join(v) or 'these products'}"
    return MEANINGS.get(t.cls, t.cls).format(v=v).replace(" None", "").strip()


def read(text: str, *, terms: CdpTerms | None = None, now: datetime | None = None) -> Brief:
    """Read an objective into a `Brief`, or a Brief carrying a question or a refusal."""
    from cdp import clock

    now = (now or clock.now()).astimezone(UTC)
    if not isinstance(text, str):
        return Brief(question="The objective must be text.")
    if len(text) > MAX_OBJECTIVE_CHARS:
        return Brief(
            objective=text[:MAX_OBJECTIVE_CHARS],
            question=f"The objective is {len(text):,} characters long; please state it in at most "
            f"{MAX_OBJECTIVE_CHARS:,} characters (one or two sentences: goal, audience, channel, offer).",
        )
    text = " ".join(text.split())
    if not text:
        return Brief(
            question="The objective is empty: say what the campaign should do and for whom, for example "
            "'win back lapsed premium customers in Germany by email with 15% off'."
        )
    known = _known(terms)
    toks = tokenize(text, known, now)
    refusal = next((t for t in toks if t.cls == "refusal"), None)
    if refusal is not None:
        return Brief(
            objective=text,
            refusal=f"I won't plan this: '{' '.join(refusal.words)}' asks to get around {refusal.val}. Every send "
            "passes the contact policy (consent, frequency caps, suppressions); no plan can switch it off.",
        )
    words = [t for t in toks if t.cls in ("WORD", "FILL")]
    unknown = [t for t in toks if t.cls == "WORD"]
    foreign = (
        any(not w.isascii() for t in unknown for w in t.words)
        or sum(t.words[0].lower() in FOREIGN for t in words) >= 2
    )
    if foreign and len(unknown) * 2 >= len(words):
        return Brief(
            objective=text,
            question="The objective looks like it is written in a language other than English; I only "
            "understand objectives in English. Please restate it in English.",
        )
    goals = [t.val for t in toks if t.cls == "goal"]
    ctx = Context(now, known, next((g for g in goals if g != "launch"), goals[0] if goals else None))
    return _assemble(Brief(objective=text), interpret(toks, ctx), ctx)


def _near(word: str, vocab: dict[str, str]) -> list[str]:
    """The known words nearest to a typo: all that are equally near ("Frence": French or France), or
    one with two letters swapped ("tyos": toys)."""
    scored = [(difflib.SequenceMatcher(None, word, w).ratio(), w) for w in vocab]
    best = max((r for r, _ in scored if r >= 0.8), default=None)
    if best is not None:
        return [w for r, w in scored if r == best][:2]
    swapped = {word[:i] + word[i + 1] + word[i] + word[i + 2 :] for i in range(len(word) - 1)}
    return [w for w in vocab if w in swapped][:1]


def _ask_unused(brief: Brief, unused: list[Tok], known: CdpTerms) -> str:
    """The question naming every unused word, with the nearest known word (places as the CDP spells them)."""
    named = [_key(n) for names, adjectives in places.COUNTRIES.values() for n in [*names, *adjectives]]
    vocab = {w: w for key in [*named, *_phrases(known)] for w in key if w.isalpha()}
    vocab |= {n: n.title() for names, adjectives in places.COUNTRIES.values() for n in [*names, *adjectives]}
    vocab |= {c.lower(): c for c in known.cities} | {c: c for c in [*known.categories, *known.tiers]}
    parts = []
    distinct = list({" ".join(t.words): t for t in unused}.values())
    for t in distinct[:8]:
        said = " ".join(t.words)
        near = _near(said.lower(), vocab) if t.cls == "WORD" else []
        near = list(dict.fromkeys(vocab[n] for n in near if n != said.lower()))
        near = [f"{said} off"] if t.cls == "PCT" else near
        if t.cls == "WORD" and said.islower() and objective_country(said.capitalize()):
            near = [said.capitalize()]  # "peru", "turkey": a country only when capitalised
        parts.append(f"'{said}'" + (f" (did you mean {' or '.join(repr(n) for n in near)}?)" if near else ""))
    if len(distinct) > 8:
        parts.append(f"{len(distinct) - 8} more")
    shown = brief.objective if len(brief.objective) <= 300 else brief.objective[:299] + "…"
    ask = f'I did not understand {", ".join(parts)} in "{shown}". Please rephrase those words'
    if brief.goal is None:
        ask += (
            " and say the campaign's goal (win back, retain, welcome, re-engage, cross-sell, upsell, launch)"
        )
    return ask + "."


def _leaves(node: dict[str, Any], negated: bool = False):
    for key in ("all", "any"):
        for child in node.get(key, []):
            yield from _leaves(child, negated)
    if "not" in node:
        yield from _leaves(node["not"], True)
    if "field" in node and not negated:
        yield node


#: How a question names the values of each field the CDP may lack.
ABSENT_WHAT = {
    "country": "customers in",
    "city": "customers in",
    "tier": "customers in the tier",
    "language": "customers speaking",
    "favorite_category": "the product category",
}


def _absent(brief: Brief, known: CdpTerms) -> str | None:
    """A question when the audience names a country, city, tier, category or language the CDP lacks."""
    have = {
        "country": known.countries,
        "city": known.cities,
        "tier": known.tiers,
        "favorite_category": known.categories,
        "language": known.languages,
    }
    cats = [{"field": "favorite_category", "op": "eq", "value": c} for c in brief.categories]
    for node in [n for c in brief.conditions for n in _leaves(c)] + cats:
        values = have.get(node["field"])
        if values is None or node["op"] not in ("eq", "in"):
            continue
        for v in [v for v in _values(node) if v not in values]:
            name = country_display if node["field"] == "country" else str
            listed = ", ".join(name(k) for k in sorted(values, key=lambda k: -values[k])[:12])
            what = ABSENT_WHAT[node["field"]]
            return (
                f"The CDP has no {what} {name(v)}; it has {what} {listed or 'nothing yet'}. "
                "Which did you mean?"
            )
    return None


def _clash(conditions: list[dict[str, Any]]) -> tuple[str, str, str] | None:
    """Two audience words no customer can both match ("VIPs in Germany and premium customers in
    Spain": tier vip and tier premium; lapsed and new), as (field, one value, the other)."""
    segments = {c["segment"] for c in conditions if "segment" in c}
    for pair in DISJOINT_SEGMENTS:
        if pair <= segments:
            one, other = sorted(pair)
            return "segment", one, other
    seen: dict[str, set[Any]] = {}
    for c in conditions:
        if c.get("op") not in ("eq", "in") or c["field"] not in ONE_VALUE_FIELDS:
            continue
        values = set(c["value"] if c["op"] == "in" else [c["value"]])
        before = seen.setdefault(c["field"], values)
        if not before & values:
            return c["field"], " or ".join(sorted(map(str, before))), " or ".join(sorted(map(str, values)))
        seen[c["field"]] = before & values
    return None


def _assemble(brief: Brief, toks: list[Tok], ctx: Context) -> Brief:
    """Gather the typed pieces; anything left that carries meaning becomes the question."""
    unused: list[Tok] = []
    chans: list[dict[str, Any]] = []
    offers: list[dict[str, Any]] = []
    goals: list[Tok] = []
    defined: list[dict[str, Any]] = []
    for t in toks:
        if (
            _skippable(t)
            or (t.cls == "cue" and t.val in IGNORABLE_CUES)
            or (t.cls == "buyer" and t.val == "buyers")
        ):
            continue
        if t.cls == "subregion":
            brief.question = (
                f"The CDP records countries and cities, not regions such as '{' '.join(t.words)}' "
                f"(part of {country_display(t.val)}): which country or cities?"
            )
            return brief
        if t.cls.isupper() and t.cls not in ("WORD", "NUM", "PCT", "SPAN", "Q", "WITHIN", "DATE"):
            brief.readings.append((" ".join(t.words), _meaning(t)))
        if t.cls == "COND":
            brief.conditions.append(t.val)
            defined.extend(d for d in t.info.get("defines", []) if d != t.val)
        elif t.cls == "CHAN":
            chans.append(t.val)
        elif t.cls == "OFFER":
            offers.append(t.val)
        elif t.cls in ("BUDGET", "MONEY"):
            v = t.val if t.cls == "BUDGET" else {"amount": float(t.val["v"]), "currency": t.val["unit"]}
            brief.budget = Budget(v["amount"], v["currency"])
        elif t.cls == "GOAL":
            goals.append(t)
        elif t.cls == "OCC":
            brief.occasion, brief.occasion_date = t.val, _occasion_date(t.val, ctx.today)
        elif t.cls == "WINDOW":
            brief.send_at, brief.offer_valid_until = _at_send_hour(t.val["from"], ctx.now), t.val["to"]
        elif t.cls == "VALID":
            brief.offer_valid_until = t.val["date"]
        elif t.cls == "SEND":
            brief.send_at, brief.send_by = _at_send_hour(t.val["date"], ctx.now), t.val["by"]
        elif t.cls == "CATEGORY":
            brief.categories += [c for c in t.val if c not in brief.categories]
        elif t.cls == "GROWTH":
            brief.growth = True
        elif t.cls == "TARGET":
            brief.upsell_to = t.val
        elif t.cls != "NOW":
            unused.append(t)
    brief.conditions = [c for c in brief.conditions if c not in defined]
    distinct = list(dict.fromkeys(g.val for g in goals if g.val != "launch" or len(goals) == 1))
    brief.goal = distinct[0] if distinct else None
    if brief.goal not in (None, "launch"):  # "launch a retention campaign": launch is the verb
        brief.readings = [
            (w, f"starts the {brief.goal} campaign" if m == "goal launch" else m) for w, m in brief.readings
        ]
    if len(distinct) > 1:
        second = next(g for g in goals if g.val == distinct[1]).info["start"]
        first = re.sub(r"(?:[ ,;]*\b(?:then|also|and))*[ ,;]*$", "", brief.objective[:second])
        rest = brief.objective[second:]
        brief.question = (
            f"This describes two campaigns: (1) {first.strip()} (2) {rest.strip()}; run them one at a time."
        )
        return brief
    clash = _clash(brief.conditions)  # ("tier", "premium", "vip"): no customer has both
    if clash:
        brief.question = (
            f"No customer has {clash[0]} both {clash[1]} and {clash[2]}: is this one campaign for either "
            "group, or two campaigns (one per group)?"
        )
        return brief
    if unused:
        brief.unused = [" ".join(t.words) for t in unused]
        brief.question = _ask_unused(brief, unused, ctx.known)
        return brief
    on = [c for ch in chans for c in ch["on"]]
    only = [ch["on"] for ch in chans if ch["only"]]
    brief.excluded_channels = list(dict.fromkeys(c for ch in chans for c in ch["off"]))
    brief.channels = [c for c in dict.fromkeys(on) if c not in brief.excluded_channels]
    if brief.excluded_channels and not on:  # "not by SMS": every other channel
        brief.channels = [c for c in ("email", "push", "sms") if c not in brief.excluded_channels]
    if (only and set(on) - set(only[0])) or (not brief.channels and (on or brief.excluded_channels)):
        brief.question = f"The objective names {', '.join(dict.fromkeys(on))} and also rules channels out: which channel should be used?"
        return brief
    if offers:
        kinds = [o for o in offers if o["value"] is None or o["kind"] != "discount"]
        amounts = [o for o in offers if o["value"] is not None]
        said = [" ".join(t.words) for t in toks if t.cls == "OFFER"]
        if len({(o["value"], o["unit"]) for o in amounts}) > 1 or (
            kinds and kinds[0]["kind"] in NO_AMOUNT_OFFERS and amounts and amounts[0] is not kinds[0]
        ):
            brief.question = (
                f"A campaign carries one offer, and the objective names several ({', '.join(said)}): "
                "which one should it be?"
            )
            return brief
        offer = dict(kinds[0] if kinds else amounts[0])
        if amounts and offer["value"] is None:
            offer.update(value=amounts[0]["value"], unit=amounts[0]["unit"])
        offer["category"] = next((o["category"] for o in offers if o["category"]), None) or next(
            iter(brief.categories), None
        )
        brief.offer = offer
    segments = {n.get("segment") for c in brief.conditions for n in [c, *c.get("any", [])]}
    fields_used = {n["field"] for c in brief.conditions for n in _leaves(c)}
    if not segments - {None}:
        if brief.goal == "win-back" and not fields_used & {"days_since_purchase", "orders_count"}:
            brief.conditions.append({"segment": "lapsed"})
            brief.readings.append(("win back", "no audience words: lapsed customers"))
        elif brief.goal == "welcome" and not fields_used & {"days_since_signup", "orders_count"}:
            brief.conditions.append({"segment": "new"})
            brief.readings.append(("welcome", "no audience words: new customers"))
    if brief.goal is None and not (brief.conditions or brief.offer or brief.occasion):
        brief.question = (
            "What should the campaign achieve? Say its goal (win back, retain, welcome, "
            "re-engage, cross-sell, upsell, launch) and for whom."
        )
        return brief
    brief.question = _absent(brief, ctx.known)
    return brief
