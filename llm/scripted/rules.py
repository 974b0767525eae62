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


def C(t: Tok, node: dict[str, Any], key: str, src: str = "", meaning: str = "") -> Tok:
    return Tok("COND", node, t.words, key=key, info={"src": src, "meaning": meaning})


def q(op: str, a: Tok, b: Tok | None = None) -> dict[str, Any]:
    va = _v(a)
    if b is None:
        return {**va, "op": op}
    vb = _v(b)
    unit = va["unit"] or vb["unit"]
    lo = va["v"] if va["unit"] else va["v"] * vb["factor"]
    return {"v": [lo, vb["v"]], "unit": unit, "factor": vb["factor"], "op": "between"}


# ---------------------------------------------------------------------------------------- actions


def money(g, ctx):
    cur, num = (g[0][0], g[1][0]) if g[0][0].cls == "currency" else (g[1][0], g[0][0])
    return Tok("MONEY", {"v": num.val, "unit": cur.val, "factor": 1}, [])


def pct(g, ctx):
    return Tok("PCT", {"v": g[0][0].val, "unit": "percent", "factor": 1}, [])


def span(g, ctx):
    n, unit = g[0][0], g[1][0]
    return Tok("SPAN", {"v": n.val * unit.val, "unit": "days", "factor": unit.val}, [])


def span_cmp(g, ctx):
    n, unit = g[0][0], g[2][0]
    return Tok("Q", {"v": n.val * unit.val, "unit": "days", "factor": unit.val, "op": g[1][0].val}, [])


def day_month(g, ctx):
    toks = [t for grp in g for t in grp]
    m = next(t.val for t in toks if t.cls == "month")
    d = next(t.val for t in toks if t.cls == "NUM")
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


def tomorrow(g, ctx):
    return Tok("DATE", ctx.today + timedelta(days=1), [])


def between(g, ctx):
    return Tok("Q", q("between", g[1][0], g[3][0]), [])


def dash_range(g, ctx):
    return Tok("Q", q("between", g[0][0], g[2][0]), [])


def cmp_before(g, ctx):
    return Tok("Q", q(g[0][0].val, g[1][0]), [])


def cmp_after(g, ctx):
    return Tok("Q", q(g[1][0].val, g[0][0]), [])


def within(g, ctx):
    n = g[1][0].val["v"] if g[1] and g[1][0].cls == "SPAN" else g[1][0].val
    return Tok("WITHIN", {"v": n, "unit": "days", "factor": 1}, [])


def within_unit(g, ctx):
    return Tok("WITHIN", {"v": g[1][0].val, "unit": "days", "factor": 1}, [])


def cats(g, ctx):
    return Tok("cat", g[0][0].val + g[2][0].val, [])


def budget(g, ctx):
    amt = next(t for grp in g for t in grp if t.cls in ("MONEY", "NUM", "Q"))
    v = _v(amt) if amt.cls != "Q" else amt.val
    if isinstance(v["v"], list) or v.get("op", "lte") not in ("lte", "eq"):
        return None
    return Tok("BUDGET", {"amount": float(v["v"]), "currency": v["unit"]}, [])


def spend_budget(g, ctx):
    """'spend up to 800 dollars re-engaging ...', '..., spend at most 1500 dollars': a clause that
    starts with spending money sets a budget ("customers who spent over 500" is an audience)."""
    money = g[1][0].cls == "MONEY" or g[1][0].val.get("unit") not in (None, "days", "percent")
    verb = ctx.first or (ctx.clause and g[0][0].words[0].lower() in ("spend", "spending"))
    return budget(g, ctx) if verb and money else None


def offer_amount(g, ctx):
    amt = next(t for grp in g for t in grp if t.cls in ("PCT", "MONEY"))
    kind = next((t.val for grp in g for t in grp if t.cls == "offer"), "discount")
    cat = next((t.val for grp in g for t in grp if t.cls == "cat"), None)
    unit = amt.val["unit"]
    return Tok(
        "OFFER", {"kind": kind, "value": float(amt.val["v"]), "unit": unit, "category": cat and cat[0]}, []
    )


def offer_points(g, ctx):
    return Tok(
        "OFFER", {"kind": "points", "value": float(g[0][0].val), "unit": "points", "category": None}, []
    )


def offer_word(g, ctx):
    t = g[0][0]
    value = 2.0 if t.val == "bundle" and t.words[0][:1].isdigit() else None
    times = {"double": 2.0, "triple": 3.0}
    if t.val == "points" and t.words[0].lower() in times:
        value = times[t.words[0].lower()]
    unit = {"bundle": "items", "points": "points"}.get(t.val) if value else None
    return Tok("OFFER", {"kind": t.val, "value": value, "unit": unit, "category": None}, [])


def plain_discount(g, ctx):
    return Tok("OFFER", {"kind": "discount", "value": None, "unit": None, "category": None}, [])


def measure(g, ctx):
    m = next(t for grp in g for t in grp if t.cls == "measure")
    amt = next(t for grp in g for t in grp if t.cls in ("Q", "NUM", "MONEY", "PCT"))
    qv = amt.val if amt.cls == "Q" else {**_v(amt), "op": "eq" if m.val in INT_FIELDS else "gte"}
    if m.val == "orders_count" and qv.get("unit") not in (None, "days"):
        return None
    return C(m, cond(m.val, qv), m.val, meaning=f"{m.val} {qv['op']} {qv['v']}")


def not_within(g, ctx):
    """'haven't purchased in 60 days', 'no purchase for 30-60 days': the last one is that long ago."""
    act, amt = g[1][0], g[-1][0]
    if act.val not in ("purchase", "orders_count"):
        return None
    qv = amt.val if amt.cls == "Q" else {**amt.val, "op": "gte"}
    if qv["op"] in ("lt", "lte"):
        return None
    return C(act, cond("days_since_purchase", qv), "days_since_purchase")


def act_within(g, ctx):
    act, amt = g[0][0], g[-1][0]
    return C(act, cond(ACT_FIELD[act.val], {**amt.val, "op": "lte"}), ACT_FIELD[act.val])


def act_ago(g, ctx):
    act, amt = g[0][0], g[1][0]
    qv = amt.val if amt.cls == "Q" else {**amt.val, "op": "gte"}
    return C(act, cond(ACT_FIELD[act.val], qv), ACT_FIELD[act.val])


def inactive_for(g, ctx):
    if g[0][0].val != "lapsed":
        return None
    amt = g[-1][0]
    qv = amt.val if amt.cls == "Q" else {**amt.val, "op": "gte"}
    return C(g[0][0], cond("days_since_purchase", qv), "days_since_purchase", src="segment")


def never_bought(g, ctx):
    if g[1][0].val not in ("purchase", "orders_count"):
        return None
    return C(g[1][0], {"field": "orders_count", "op": "eq", "value": 0}, "orders_count")


def complained(g, ctx):
    if g[0][0].val != "complaint":
        return None
    return C(g[0][0], {"field": "last_complaint_at", "op": "is_null", "value": False}, "complaint")


def flag(g, ctx):
    return C(g[0][0], {"field": g[0][0].val, "op": "eq", "value": 1}, g[0][0].val)


def segment(g, ctx):
    return C(g[0][0], {"segment": g[0][0].val}, "segment", src="segment")


def tier(g, ctx):
    t = next(t for grp in g for t in grp if t.cls == "tier")
    if g[0] and g[0][0].words == ["to"]:
        return Tok("TARGET", t.val, []) if ctx.goal == "upsell" else None
    return C(t, {"field": "tier", "op": "eq", "value": t.val}, "tier", src="tier")


def place(g, ctx):
    t = g[-1][0]
    field = {"country": "country", "nation": "country", "city": "city"}[t.cls]
    return C(t, {"field": field, "op": "eq", "value": t.val}, field, src=t.cls)


def region(g, ctx):
    codes = [c for c in g[0][0].val.split() if c in ctx.known.countries] or g[0][0].val.split()
    return C(g[0][0], {"field": "country", "op": "in", "value": codes}, "country")


def language(g, ctx):
    return C(g[0][0], {"field": "language", "op": "eq", "value": g[0][0].val}, "language")


def fav_category(g, ctx):
    values = next(t.val for grp in g for t in grp if t.cls == "cat")
    node = {"field": "favorite_category", "op": "eq" if len(values) == 1 else "in"}
    return C(g[0][0], {**node, "value": values[0] if len(values) == 1 else values}, "favorite_category")


def product(g, ctx):
    found = [t.val for grp in g for t in grp if t.cls == "cat"]
    return Tok("CATEGORY", found[0] if found else [], [])


def campaign_category(g, ctx):
    return Tok("CATEGORY", g[0][0].val, [])


def channel(g, ctx):
    ch = next(t for grp in g for t in grp if t.cls == "channel")
    cues = {t.val for grp in g for t in grp if t.cls == "cue"}
    return Tok(
        "CHAN",
        {
            "on": [] if "neg" in cues else [ch.val],
            "off": [ch.val] if "neg" in cues else [],
            "only": "only" in cues,
        },
        [],
    )


def chan_list(g, ctx):
    a, b = g[0][0].val, g[2][0].val
    if a["off"] or b["off"]:
        return None
    return Tok("CHAN", {"on": a["on"] + b["on"], "off": [], "only": a["only"] or b["only"]}, [])


def keep(cls):
    def make(g, ctx):
        t = g[0][0]
        return Tok(cls, t.val, [])

    return make


def dated(cls):
    def make(g, ctx):
        d = g[-1][0]
        by = any(t.words == ["by"] for grp in g for t in grp)
        return Tok(cls, {"date": d.val, "by": by}, [])

    return make


def window(g, ctx):
    """'10% off from December 1 to December 10': sent on the first day, valid until the last."""
    return Tok("WINDOW", {"from": g[1][0].val, "to": g[3][0].val}, [])


def valid_for(g, ctx):
    """'valid for 7 days': the offer's last day, counted from today."""
    return Tok("VALID", {"date": ctx.today + timedelta(days=g[1][0].val["v"]), "by": False}, [])


def define(g, ctx):
    """'big spenders (customers who spent over 500)': the user's definition replaces the word's."""
    word, parts = g[0][0], g[3]
    if word.cls != "WORD" and word.info.get("src") not in ("segment", "tier"):
        return None
    node = parts[0].val if len(parts) == 1 else {"all": [p.val for p in parts]}
    defines = (
        [word.val] if word.cls == "COND" else []
    )  # a word of the marketer's own ("whales") defines itself
    return Tok("COND", node, [], key=parts[0].key, info={"src": "definition", "defines": defines})


def merge(g, ctx):
    a, b = g[0][0], g[2][0]
    if a.key != b.key or a.key in ("segment_def",) or "not" in a.val or "not" in b.val:
        return None
    if a.key == "segment" or a.val.get("op") not in ("eq", "in") or b.val.get("op") not in ("eq", "in"):
        items = (a.val.get("any") or [a.val]) + (b.val.get("any") or [b.val])
        return Tok("COND", {"any": items}, [], key=a.key, info=a.info)
    values = [*_values(a.val), *_values(b.val)]
    return Tok(
        "COND", {"field": a.val["field"], "op": "in", "value": list(dict.fromkeys(values))}, [], key=a.key
    )


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
        ("cue:neg cue:neg", lambda g, ctx: Tok("cue", "neg", [])),  # "but exclude", "but not"
        ("currency NUM", money),
        ("NUM currency", money),
        ("NUM cue:pct", pct),
        ("NUM cmp_after unit", span_cmp),
        ("NUM unit", span),
        ("month NUM", day_month),
        ("NUM cue:of? month", day_month),
        ("cue:next? weekday", weekday),
        ("cue:tomorrow", tomorrow),
        ("cue:month_end", month_end),
        ("cat cue:list cat", cats),
    ],
    [  # comparisons and ranges
        ("DATE ','? DATE", weekday_date),
        (f"cue:between {AMT} 'and' {AMT}", between),
        (f"cue:from {AMT} cue:to {AMT}", between),
        (f"{AMT} cue:dash {AMT}", dash_range),
        (f"NUM|SPAN cue:to {AMT}", dash_range),
        (f"cmp {AMT}", cmp_before),
        (f"{AMT} cmp_after", cmp_after),
        ("cue:within SPAN", within),
        ("cue:within unit", within_unit),
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
        ("NUM offer:points", offer_points),
        ("offer", offer_word),
        ("cue:discount", plain_discount),
        ("measure cue:of? Q|NUM|MONEY|PCT", measure),
        ("Q|MONEY measure", measure),
        ("NUM measure:orders_count", measure),
        ("cue:neg act|measure:orders_count 'in'|cue:for|cue:within? SPAN|Q|WITHIN", not_within),
        ("cue:neg measure:orders_count", never_bought),
        ("act WITHIN", act_within),
        ("act 'in' WITHIN", act_within),
        ("act Q|SPAN cue:ago", act_ago),
        ("segment cue:for SPAN|Q", inactive_for),
        ("cue:neg act", never_bought),
        ("act", complained),
        ("flag", flag),
        ("segment:new cat? product", product),
        ("segment:new cat", product),
        ("segment", segment),
        ("cue:to tier cue:tier?", tier),
        ("tier cue:tier?", tier),
        ("cue:tier tier", tier),
        ("country", place),
        ("nation", place),
        ("city", place),
        ("region", region),
        ("language", language),
        ("cat buyer:buyers", fav_category),
        ("buyer:buy|buyer:fav cat", fav_category),
        ("buyer:buyers cue:of cat", fav_category),
        ("act:purchase cat", fav_category),
        ("cue:of cat", fav_category),
        ("cat product?", campaign_category),
        ("product", product),
        ("channel cue:only", channel),
        ("cue:only cue:by? channel", channel),
        ("cue:neg cue:by? channel", channel),
        ("channel", channel),
        ("goal", keep("GOAL")),
        ("growth", keep("GROWTH")),
        ("occasion", keep("OCC")),
        ("cue:from DATE cue:to|cue:valid DATE", window),
        ("cue:valid cue:on? DATE", dated("VALID")),
        ("cue:valid SPAN", valid_for),
        ("cue:by DATE", dated("SEND")),
        ("cue:send|cue:on|cue:next? cue:on|cue:for? DATE", dated("SEND")),
        ("cue:today", keep("NOW")),
    ],
    [("COND|WORD cue:list? cue:def|cue:open COND+ cue:close?", define)],  # definitions
    [("COND cue:list COND", merge), ("CHAN cue:list CHAN", chan_list)],  # lists
    [("cue:non COND", negate), ("cue:neg cue:from? COND+", negate)],  # negation
]
