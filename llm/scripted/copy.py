"""The offline model's copy: message variants for a campaign from its typed offer, goal and occasion.

`compose_variants` is what the scripted content role saves. It reads only the plan's typed spec
(never the objective's words), so the copy promises exactly the offer the campaign makes.
"""

from __future__ import annotations

from typing import Any

from cdp.vocabulary import SUPPORTED_LANGUAGES, OfferKind

_HOOK = {
    "win-back": "We miss you",
    "retention": "Thanks for staying with us",
    "welcome": "Welcome aboard",
    "re-engagement": "It's been a while",
    "cross-sell": "You might also like",
    "upsell": "Ready for more?",
    "launch": "Just launched",
}
# The offer's own words first (the same OfferKind the plan carries), so copy never promises
# another kind of offer than the campaign makes.
_BY_OFFER = {
    OfferKind.LAST_CHANCE.value: "Last chance",
    OfferKind.EARLY_ACCESS.value: "Early access",
    OfferKind.WELCOME.value: "Welcome aboard",
    OfferKind.WINBACK.value: "We miss you",
}


def compose_variants(
    *,
    goal: str | None,
    occasion: str | None,
    offer: dict[str, Any] | None,
    languages: list[str],
    categories: list[str],
) -> list[dict[str, Any]]:
    """Variant dicts for `save_variants`: a default, one per language, one per category.

    `offer` is the plan's typed offer (`kind`, `value`, `unit`, `category`) or None.
    """
    offer = offer or {}
    pct = offer.get("value") if offer.get("unit") == "percent" else None
    offer_text = f"{pct:g}% off" if pct else "something picked for you"
    opener = _BY_OFFER.get(offer.get("kind") or "") or _HOOK.get(goal or "", "A note for you")
    when = f" this {occasion}" if occasion else ""
    variants = [
        {
            "variant_id": "default",
            "subject": f"{opener}, {{first_name}}",
            "body": f"{opener}{when}: {offer_text} on {{favorite_category}}. {{offer}}",
        }
    ]
    for lang in [x for x in languages if x in SUPPORTED_LANGUAGES][:4]:
        variants.append(
            {
                "variant_id": f"lang-{lang}",
                "language": lang,
                "subject": f"{opener}, {{first_name}}",
                "body": f"[{lang}] {opener}{when}: {offer_text}. {{offer}}",
            }
        )
    for cat in categories[:3]:
        variants.append(
            {
                "variant_id": f"cat-{cat}"[:48],
                "category": cat,
                "subject": f"{opener}: {cat}",
                "body": f"{opener}{when}: {offer_text} on {cat}. {{offer}}",
            }
        )
    return variants
