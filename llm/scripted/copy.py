"""The offline model's copy: message variants for a campaign from its typed offer, goal and occasion.

`compose_variants` is what the scripted content role saves. It reads only the plan's typed spec
(never the objective's words), so the copy promises exactly the offer the campaign makes, in the
words `cdp.vocabulary` reads back (`cdp.content.copy_offers`). The wording lives in
`copy_templates.toml`, one table per language; this module only fills it in.
"""

from __future__ import annotations

import re
import tomllib
from functools import cache
from pathlib import Path
from typing import Any

from cdp.vocabulary import (
    DEFAULT_LANGUAGE,
    SUPPORTED_LANGUAGES,
    OfferKind,
    UnknownOfferKindError,
    normalise_offer_kind,
)

_TEMPLATES = Path(__file__).with_name("copy_templates.toml")
#: A slot filled while writing (`<offer>`); `{fields}` are left for send time.
_SLOT = re.compile(r"<([A-Za-z_]+)>")
_GROUP = re.compile(r"\[\[(.*?)\]\]", re.DOTALL)
_GOAL_ALIASES = {"winback": "win-back", "reengagement": "re-engagement", "crosssell": "cross-sell"}
_MAX_CATEGORY_VARIANTS = 3
#: Kinds whose value is not money off (a threshold, a count, points): the copy never turns it into a
#: discount the campaign does not make.
_NO_DISCOUNT = (OfferKind.FREE_SHIPPING, OfferKind.BUNDLE, OfferKind.GIFT, OfferKind.POINTS)


@cache
def templates() -> dict[str, Any]:
    """The copy table: per language frames, hooks, offers, occasions; plus symbols and aliases."""
    with _TEMPLATES.open("rb") as handle:
        return tomllib.load(handle)


def languages_written() -> tuple[str, ...]:
    """Languages with their own copy; any other falls back to the campaign's default language."""
    return tuple(code for code in SUPPORTED_LANGUAGES if code in templates())


def compose_variants(
    *,
    goal: str | None,
    occasion: str | None,
    offer: dict[str, Any] | None,
    languages: list[str],
    categories: list[str],
    default_language: str = DEFAULT_LANGUAGE,
) -> list[dict[str, Any]]:
    """Variant dicts for `save_variants`: a catch-all, one per written language, one per category.

    `offer` is the plan's typed offer (`kind`, `value`, `unit`, `category`) or None. The catch-all
    and the category variants are in `default_language` (English when it has no copy); a language
    without copy gets no variant of its own, so its customers read the catch-all.
    """
    base = default_language if default_language in templates() else DEFAULT_LANGUAGE
    variants = [{"variant_id": "default", **write(base, goal=goal, occasion=occasion, offer=offer)}]
    for lang in dict.fromkeys(x.strip().lower() for x in languages if x):
        if lang in languages_written():
            copy = write(lang, goal=goal, occasion=occasion, offer=offer)
            variants.append({"variant_id": f"lang-{lang}", "language": lang, **copy})
    for cat in list(dict.fromkeys(c for c in categories if c))[:_MAX_CATEGORY_VARIANTS]:
        copy = write(base, goal=goal, occasion=occasion, offer=offer, category=cat)
        variants.append({"variant_id": _variant_id(cat), "category": cat, **copy})
    return variants


def write(
    lang: str,
    *,
    goal: str | None,
    occasion: str | None,
    offer: dict[str, Any] | None,
    category: str | None = None,
) -> dict[str, str]:
    """Subject and body templates in `lang`; `category` fills the favourite-category field now."""
    table = templates()[lang]
    phrase = offer_phrase(lang, offer)
    slots = {
        "hook": table["hooks"].get(_goal(goal), table["hooks"]["none"]),
        "offer": phrase,
        "when": occasion_phrase(lang, occasion),
    }
    frame = "offer" if phrase else "plain"
    out = {}
    for part in ("subject", "body"):
        text = fill(table[f"{part}_{frame}"], slots)
        if category:
            text = text.replace("{favorite_category}", category_name(lang, category))
        out[part] = text
    return out


def offer_phrase(lang: str, offer: dict[str, Any] | None) -> str:
    """The words promising exactly `offer` in `lang`, or "" when the campaign makes none."""
    if not offer:
        return ""
    table = templates()[lang]
    try:
        kind = normalise_offer_kind(offer.get("kind"))
    except UnknownOfferKindError:
        kind = None
    value, unit = offer.get("value"), (offer.get("unit") or "").strip()
    on_cat = on_category(lang, offer.get("category"))
    discount = ""
    if (
        kind not in _NO_DISCOUNT
        and isinstance(value, int | float)
        and value > 0
        and unit.lower() not in ("points", "items")
    ):
        if unit and unit.lower() != "percent" and len(unit) == 3:
            discount = fill(
                table["offers"]["discount_money"], {"amount": money(lang, value, unit), "on_cat": on_cat}
            )
        elif value <= 100:
            discount = fill(
                table["offers"]["discount_percent"], {"pct": number(lang, value), "on_cat": on_cat}
            )
    if kind is None or kind is OfferKind.DISCOUNT:
        return discount or (fill(table["offers"]["discount"], {"on_cat": on_cat}) if kind else "")
    slots = {"on_cat": on_cat, "n": "2", "m": "1", "points": ""}
    if kind is OfferKind.BUNDLE and unit == "items" and isinstance(value, int | float) and value >= 2:
        slots.update(n=str(int(value)), m=str(int(value) - 1))
    key = kind.value
    if kind is OfferKind.POINTS:
        if unit == "points" and isinstance(value, int | float) and value > 0:
            slots["points"] = number(lang, value)
        else:
            key = "points_open"
    phrase = fill(table["offers"][key], slots)
    return phrase + table["joiner"] + discount if discount else phrase


def occasion_phrase(lang: str, occasion: str | None) -> str:
    """ "this Black Friday", "zu Weihnachten": the occasion as it follows an offer, or ""."""
    if not occasion or not occasion.strip():
        return ""
    data = templates()
    slug = _slug(occasion)
    slug = data["aliases"].get(slug, slug)
    table = data[lang]
    known = table["occasions"].get(slug)
    if known:
        return known
    name = " ".join(word[:1].upper() + word[1:] for word in occasion.split())
    return fill(table["occasion_fallback"], {"name": name})


def category_name(lang: str, category: str) -> str:
    return templates()[lang]["categories"].get(category.strip().lower(), category.strip())


def on_category(lang: str, category: str | None) -> str:
    """ "on shoes", "sur les chaussures": the offer's product category in `lang`, or ""."""
    if not category or not str(category).strip():
        return ""
    table = templates()[lang]
    key = str(category).strip().lower()
    return table.get("on_cats", {}).get(key) or fill(table["on_cat"], {"cat": category_name(lang, key)})


def money(lang: str, amount: float, currency: str) -> str:
    """An amount as the language writes it: "$10", "10 €", "€ 10", "R$ 10", "1.000円"."""
    table, code = templates()[lang], currency.upper()
    symbol = table.get("symbols", {}).get(code) or templates()["symbols"].get(code, code)
    pattern = table.get("money_by_currency", {}).get(code, table["money"])
    return fill(pattern, {"sym": symbol, "num": number(lang, amount, cents=True)})


def number(lang: str, value: float, *, cents: bool = False) -> str:
    """`value` with the language's decimal and thousands separators; whole numbers without decimals."""
    table = templates()[lang]
    text = f"{value:,.0f}" if float(value).is_integer() else (f"{value:,.2f}" if cents else f"{value:,g}")
    return text.replace(",", "\0").replace(".", table["decimal"]).replace("\0", table["thousands"])


def fill(template: str, slots: dict[str, str]) -> str:
    """Fill the `<slots>` of a template; optional parts with an empty slot vanish now, those with
    only `{fields}` stay optional for send time. `<Name>` capitalises the slot's first letter."""

    def value(name: str) -> str:
        text = slots.get(name.lower(), "") or ""
        return text[:1].upper() + text[1:] if name[:1].isupper() else text

    def group(match: re.Match[str]) -> str:
        inner = match.group(1)
        names = _SLOT.findall(inner)
        if not names:
            return match.group(0)
        if any(not value(name) for name in names):
            return ""
        filled = _SLOT.sub(lambda m: value(m.group(1)), inner)
        return f"[[{filled}]]" if "{" in filled else filled

    return _SLOT.sub(lambda m: value(m.group(1)), _GROUP.sub(group, template))


def _goal(goal: str | None) -> str:
    key = re.sub(r"[\s_]+", "-", (goal or "").strip().lower())
    return _GOAL_ALIASES.get(key.replace("-", ""), key) or "none"


def _slug(text: str) -> str:
    return " ".join(re.sub(r"[^a-z ]+", "", text.lower().replace("-", " ")).split())


def _variant_id(category: str) -> str:
    return ("cat-" + re.sub(r"[^a-z0-9_\-]+", "-", category.strip().lower()).strip("-"))[:48]
