"""The offline reader's rules: patterns of word classes, each rewriting the words it matches into one
typed piece (an amount, a comparison, an audience condition, an offer, a channel, a date ...).

`STAGES` runs in order; inside a stage the rules are tried at each position, first match wins, until
nothing changes. A pattern is a space-separated list of elements: `CLASS`, `CLASS:value`, or `'word'`,
with `A|B` for either, and `?` (optional) or `+` (one or more) after it. Filler words between
elements are skipped. An action gets the matched tokens per element and returns the new token, or
None when the rule does not apply after all.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date, timedelta
from typing import Any


@dataclass
class Tok:
    """One word or phrase of the objective, or a piece rules built from several (`words` = its words)."""

    cls: str
    val: Any
    words: list[str]
    key: str | None = None
    info: dict[str, Any] = field(default_factory=dict)


INT_FIELDS = {"orders_count", "days_since_purchase", "days_since_signup", "days_since_complaint"}
ACT_FIELD = {
    "purchase": "days_since_purchase",
    "signup": "days_since_signup",
    "complaint": "days_since_complaint",
}
AMT = "NUM|MONEY|PCT|SPAN"


def _v(t: Tok) -> dict[str, Any]:
    """An amount token as {v, unit, factor}; a bare number has no unit."""
    if t.cls == "NUM":
        return {"v": t.val, "unit": None, "factor": 1}
    return dict(t.val)


def cond(field: str, q: dict[str, Any]) -> dict[str, Any]:
    """A comparison as a `cdp.filters` node; gt/lt become exact gte/lte forms (the grammar has no gt)."""
    op, value = q["op"], q["v"]
    scale = 0.01 if field == "churn_risk" and (q.get("unit") == "percent" or _top(value) > 1) else 1
    value = [x * scale for x in value] if isinstance(value, list) else value * scale
    if isinstance(value, list):
        value = [round(x, 6) for x in value]
        return {"field": field, "op": "between", "value": sorted(value)}
    value = round(value, 6)
    if op in ("gte", "lte", "eq"):
        return {"field": field, "op": op, "value": value}
    if field in INT_FIELDS:
        return {
            "field": field,
            "op": "gte" if op == "gt" else "lte",
            "value": int(value) + (1 if op == "gt" else -1),
        }
    bound = {"field": field, "op": "gte" if op == "gt" else "lte", "value": value}
    return {"all": [bound, {"not": {"field": field, "op": "eq", "value": value}}]}


def _top(value: Any) -> float:
    return max(value) if isinstance(value, list) else value


def C(node: dict[str, Any], key: str, src: str = "") -> Tok:
    """An audience condition; `key` groups conditions a list may merge ("Germany or France")."""
    return Tok("COND", node, [], key=key, info={"src": src})


def _eq(field: str, value: Any, src: str = "") -> Tok:
    return C({"field": field, "op": "eq", "value": value}, field, src)


def _one(g: list[list[Tok]], *classes: str, default: Any = StopIteration) -> Any:
    """The first matched token of one of these classes (or `default`)."""
    found = (t for grp in g for t in grp if t.cls in classes)
    return next(found) if default is StopIteration else next(found, default)


def q(op: str, a: Tok, b: Tok | None = None) -> dict[str, Any]:
    va = _v(a)
    if b is None:
        return {**va, "op": op}
    vb = _v(b)
    unit = va["unit"] or vb["unit"]
    lo = va["v"] if va["unit"] else va["v"] * vb["factor"]
    return {"v": [lo, vb["v"]], "unit": unit, "factor": vb["factor"], "op": "between"}


def _offer(kind: str, value: float | None = None, unit: str | None = None, category: Any = None) -> Tok:
    return Tok("OFFER", {"kind": kind, "value": value, "unit": unit, "category": category}, [])


# ---------------------------------------------------------------------------------------- actions


def money(g, ctx):
    return Tok("MONEY", {"v": _one(g, "NUM").val, "unit": _one(g, "currency").val, "factor": 1}, [])


def span(g, ctx):
    """'3 weeks' (SPAN, in days), or '3 weeks or more' (a comparison)."""
    n, unit, cmp = _one(g, "NUM"), _one(g, "unit"), _one(g, "cmp_after", default=None)
    val = {"v": n.val * unit.val, "unit": "days", "factor": unit.val}
    return Tok("Q", {**val, "op": cmp.val}, []) if cmp else Tok("SPAN", val, [])


def day_month(g, ctx):
    m, d = _one(g, "month").val, _one(g, "NUM").val
    if not (isinstance(d, int) and 1 <= d <= 31):
        return None
    try:
        when = date(ctx.today.year, m, d)
    except ValueError:
        return None
    return Tok("DATE", when if when >= ctx.today else when.replace(year=when.year + 1), [])


def weekday(g, ctx):
    wd = g[-1][0].val
    when = ctx.today + timedelta(days=(wd - ctx.today.weekday() - 1) % 7 + 1)
    return Tok("DATE", when, [], info={"weekday": wd})


def weekday_date(g, ctx):
    """'Friday, December 4': the date, when it is that weekday; otherwise the words are asked about."""
    day, when = g[0][0], g[-1][0]
    if "weekday" not in day.info or not isinstance(when.val, date):
        return None
    if when.val.weekday() != day.info["weekday"]:
        return Tok("WORD", None, [])
    return Tok("DATE", when.val, [])


def month_end(g, ctx):
    nxt = (ctx.today.replace(day=1) + timedelta(days=32)).replace(day=1)
    return Tok("DATE", nxt - timedelta(days=1), [])


def between(g, ctx):
    """'between 2 and 5', 'from 2 to 5', '2-5', '2 to 5 orders'."""
    return Tok("Q", q("between", *[grp[0] for grp in g if grp and grp[0].cls in AMT.split("|")]), [])


def compare(g, ctx):
    """'more than 5', '5 or more'."""
    return Tok("Q", q(_one(g, "cmp", "cmp_after").val, _one(g, *AMT.split("|"))), [])


def within(g, ctx):
    n = g[1][0].val["v"] if g[1][0].cls == "SPAN" else g[1][0].val
    return Tok("WITHIN", {"v": n, "unit": "days", "factor": 1}, [])


def budget(g, ctx):
    amt = _one(g, "MONEY", "NUM", "Q")
    v = _v(amt) if amt.cls != "Q" else amt.val
    if isinstance(v["v"], list) or v.get("op", "lte") not in ("lte", "eq"):
        return None
    return Tok("BUDGET", {"amount": float(v["v"]), "currency": v["unit"]}, [])


def spend_budget(g, ctx):
    """'spend up to 800 dollars re-engaging ...', '..., spend at most 1500 dollars': a clause that
    starts with spending money sets a budget ("customers who spent over 500" is an audience)."""
    money = g[1][0].cls == "MONEY" or g[1][0].val.get("unit") not in (None, "days", "percent")
    verb = ctx.first or (ctx.clause and g[0][0].words[0].lower() == "spend")
    return budget(g, ctx) if verb and money else None


def offer_amount(g, ctx):
    amt, cat = _one(g, "PCT", "MONEY"), _one(g, "cat", default=None)
    kind = _one(g, "offer", default=None)
    return _offer(kind.val if kind else "discount", float(amt.val["v"]), amt.val["unit"], cat and cat.val[0])


def offer_word(g, ctx):
    t = g[0][0]
    value = 2.0 if t.val == "bundle" and t.words[0][:1].isdigit() else None
    times = {"double": 2.0, "triple": 3.0}
    if t.val == "points" and t.words[0].lower() in times:
        value = times[t.words[0].lower()]
    return _offer(t.val, value, {"bundle": "items", "points": "points"}.get(t.val) if value else None)


def measure(g, ctx):
    m, amt = _one(g, "measure"), _one(g, "Q", "NUM", "MONEY", "PCT")
    qv = amt.val if amt.cls == "Q" else {**_v(amt), "op": "eq" if m.val in INT_FIELDS else "gte"}
    if m.val == "orders_count" and qv.get("unit") not in (None, "days"):
        return None
    return C(cond(m.val, qv), m.val)


def _ago(amt: Tok) -> dict[str, Any]:
    """An amount of time ago: '60 days' means at least 60 days; a comparison keeps its own op."""
    return amt.val if amt.cls == "Q" else {**amt.val, "op": "gte"}


def not_within(g, ctx):
    """'haven't purchased in 60 days', 'no purchase for 30-60 days': the last one is that long ago."""
    qv = _ago(g[-1][0])
    if g[1][0].val not in ("purchase", "orders_count") or qv["op"] in ("lt", "lte"):
        return None
    return C(cond("days_since_purchase", qv), "days_since_purchase")


def act_within(g, ctx):
    field = ACT_FIELD[g[0][0].val]
    return C(cond(field, {**g[-1][0].val, "op": "lte"}), field)


def act_ago(g, ctx):
    field = ACT_FIELD[g[0][0].val]
    return C(cond(field, _ago(g[1][0])), field)


def inactive_for(g, ctx):
    if g[0][0].val != "lapsed":
        return None
    return C(cond("days_since_purchase", _ago(g[-1][0])), "days_since_purchase", src="segment")


def never_bought(g, ctx):
    if g[1][0].val not in ("purchase", "orders_count"):
        return None
    return _eq("orders_count", 0)


def complained(g, ctx):
    if g[0][0].val != "complaint":
        return None
    return C({"field": "last_complaint_at", "op": "is_null", "value": False}, "complaint")


def tier(g, ctx):
    t = _one(g, "tier")
    if g[0] and g[0][0].words == ["to"]:
        return Tok("TARGET", t.val, []) if ctx.goal == "upsell" else None
    return _eq("tier", t.val, src="tier")


def place(g, ctx):
    t = g[-1][0]
    return _eq("city" if t.cls == "city" else "country", t.val, src=t.cls)


def region(g, ctx):
    codes = [c for c in g[0][0].val.split() if c in ctx.known.countries] or g[0][0].val.split()
    return C({"field": "country", "op": "in", "value": codes}, "country")


def fav_category(g, ctx):
    values = _one(g, "cat").val
    if len(values) == 1:
        return _eq("favorite_category", values[0])
    return C({"field": "favorite_category", "op": "in", "value": values}, "favorite_category")


def product(g, ctx):
    found = _one(g, "cat", default=None)
    return Tok("CATEGORY", found.val if found else [], [])


def channel(g, ctx):
    ch = _one(g, "channel")
    cues = {t.val for grp in g for t in grp if t.cls == "cue"}
    neg = "neg" in cues
    return Tok(
        "CHAN", {"on": [] if neg else [ch.val], "off": [ch.val] if neg else [], "only": "only" in cues}, []
    )


def chan_list(g, ctx):
    a, b = g[0][0].val, g[2][0].val
    if a["off"] or b["off"]:
        return None
    return Tok("CHAN", {"on": a["on"] + b["on"], "off": [], "only": a["only"] or b["only"]}, [])


def keep(cls):
    return lambda g, ctx: Tok(cls, g[0][0].val, [])


def dated(cls):
    def make(g, ctx):
        by = any(t.words == ["by"] for grp in g for t in grp)
        return Tok(cls, {"date": g[-1][0].val, "by": by}, [])

    return make


def define(g, ctx):
    """'big spenders (customers who spent over 500)': the user's definition replaces the word's."""
    word, parts = g[0][0], g[3]
    if word.cls != "WORD" and word.info.get("src") not in ("segment", "tier"):
        return None
    node = parts[0].val if len(parts) == 1 else {"all": [p.val for p in parts]}
    # a word of the marketer's own ("whales") defines itself
    defines = [word.val] if word.cls == "COND" else []
    return Tok("COND", node, [], key=parts[0].key, info={"src": "definition", "defines": defines})


def merge(g, ctx):
    a, b = g[0][0], g[2][0]
    if a.key != b.key or "not" in a.val or "not" in b.val:
        return None
    if a.key == "segment" or a.val.get("op") not in ("eq", "in") or b.val.get("op") not in ("eq", "in"):
        items = (a.val.get("any") or [a.val]) + (b.val.get("any") or [b.val])
        return Tok("COND", {"any": items}, [], key=a.key, info=a.info)
    values = list(dict.fromkeys([*_values(a.val), *_values(b.val)]))
    return Tok("COND", {"field": a.val["field"], "op": "in", "value": values}, [], key=a.key)


def _values(node: dict[str, Any]) -> list[Any]:
    return node["value"] if node["op"] == "in" else [node["value"]]


def negate(g, ctx):
    parts = g[-1]
    node = parts[0].val if len(parts) == 1 else {"all": [p.val for p in parts]}
    if node.get("op") == "is_null":
        out = {**node, "value": not node["value"]}
    elif node.get("op") == "eq" and node.get("value") == 1 and node.get("field") == "open_ticket":
        out = {**node, "value": 0}
    else:
        out = {"not": node}
    return Tok("COND", out, [], key=parts[0].key, info={"src": "not"})


# ------------------------------------------------------------------------------------------ table

STAGES: list[list[tuple[str, Any]]] = [
    [  # amounts and dates
        ("cue:neg cue:neg", keep("cue")),  # "but exclude", "but not"
        ("currency NUM", money),
        ("NUM currency", money),
        ("NUM cue:pct", lambda g, ctx: Tok("PCT", {"v": g[0][0].val, "unit": "percent", "factor": 1}, [])),
        ("NUM cmp_after unit", span),
        ("NUM unit", span),
        ("month NUM", day_month),
        ("NUM cue:of? month", day_month),
        ("cue:next? weekday", weekday),
        ("cue:tomorrow", lambda g, ctx: Tok("DATE", ctx.today + timedelta(days=1), [])),
        ("cue:month_end", month_end),
        ("cat cue:list cat", lambda g, ctx: Tok("cat", g[0][0].val + g[2][0].val, [])),
    ],
    [  # comparisons and ranges
        ("DATE ','? DATE", weekday_date),
        (f"cue:between {AMT} 'and' {AMT}", between),
        (f"cue:from {AMT} cue:to {AMT}", between),
        (f"{AMT} cue:dash {AMT}", between),
        (f"NUM|SPAN cue:to {AMT}", between),
        (f"cmp {AMT}", compare),
        (f"{AMT} cmp_after", compare),
        ("cue:within SPAN|unit", within),
    ],
    [  # meanings
        ("cue:budget cue:of? MONEY|NUM", budget),
        ("MONEY|NUM cue:budget", budget),
        ("measure:lifetime_value Q cue:this", budget),
        ("MONEY cue:to measure:lifetime_value", budget),
        ("measure:lifetime_value Q|MONEY", spend_budget),
        ("PCT|MONEY cue:off|cue:discount cue:on? cat?", offer_amount),
        ("PCT|MONEY offer cue:off|cue:discount? cue:on? cat?", offer_amount),
        ("cue:save PCT|MONEY", offer_amount),
        ("cue:discount cue:of PCT|MONEY", offer_amount),
        ("NUM offer:points", lambda g, ctx: _offer("points", float(g[0][0].val), "points")),
        ("offer", offer_word),
        ("cue:discount", lambda g, ctx: _offer("discount")),
        ("measure cue:of? Q|NUM|MONEY|PCT", measure),
        ("Q|MONEY measure", measure),
        ("NUM measure:orders_count", measure),
        ("cue:neg act|measure:orders_count 'in'|cue:for|cue:within? SPAN|Q|WITHIN", not_within),
        ("cue:neg measure:orders_count", never_bought),
        ("act 'in'? WITHIN", act_within),
        ("act Q|SPAN cue:ago", act_ago),
        ("segment cue:for SPAN|Q", inactive_for),
        ("cue:neg act", never_bought),
        ("act", complained),
        ("flag", lambda g, ctx: _eq(g[0][0].val, 1)),
        ("segment:new cat? product", product),
        ("segment:new cat", product),
        ("segment", lambda g, ctx: C({"segment": g[0][0].val}, "segment", src="segment")),
        ("cue:to tier cue:tier?", tier),
        ("tier cue:tier?", tier),
        ("cue:tier tier", tier),
        ("country|nation|city", place),
        ("region", region),
        ("language", lambda g, ctx: _eq("language", g[0][0].val)),
        ("cat buyer:buyers", fav_category),
        ("buyer:buy|buyer:fav cat", fav_category),
        ("buyer:buyers cue:of cat", fav_category),
        ("act:purchase cat", fav_category),
        ("cue:of cat", fav_category),
        ("cat product?", keep("CATEGORY")),
        ("product", product),
        ("channel cue:only", channel),
        ("cue:only cue:by? channel", channel),
        ("cue:neg cue:by? channel", channel),
        ("channel", channel),
        ("goal", keep("GOAL")),
        ("growth", keep("GROWTH")),
        ("occasion", keep("OCC")),
        (
            "cue:from DATE cue:to|cue:valid DATE",
            lambda g, ctx: Tok("WINDOW", {"from": g[1][0].val, "to": g[3][0].val}, []),
        ),
        ("cue:valid cue:on? DATE", dated("VALID")),
        # "valid for 7 days": the offer's last day, counted from today
        (
            "cue:valid SPAN",
            lambda g, ctx: Tok(
                "VALID", {"date": ctx.today + timedelta(days=g[1][0].val["v"]), "by": False}, []
            ),
        ),
        ("cue:by DATE", dated("SEND")),
        ("cue:send|cue:on|cue:next? cue:on|cue:for? DATE", dated("SEND")),
        ("cue:today", keep("NOW")),
    ],
    [("COND|WORD cue:list? cue:def|cue:open COND+ cue:close?", define)],  # definitions
    [("COND cue:list COND", merge), ("CHAN cue:list CHAN", chan_list)],  # lists
    [("cue:non COND", negate), ("cue:neg cue:from? COND+", negate)],  # negation
]
