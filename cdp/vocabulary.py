"""What the words marketers use mean: segment words as named settings, and the closed vocabularies
(message kinds, offer kinds, languages) shared by the plan, the gate's tables and the content agent.

Each word maps to a condition on `customer_360`. The thresholds are settings (environment variables
`CDP_SEGMENT_<NAME>`), so a team can say what "at-risk" means for its business without touching code.
"""

from __future__ import annotations

import os
import re
from dataclasses import dataclass, fields
from enum import StrEnum
from typing import Any, Literal

from cdp.errors import CdpError
from cdp.settings import Bound, env_name, number, whole

SegmentWord = Literal["at-risk", "lapsed", "new", "high-value", "active", "loyal"]
SEGMENT_WORDS: tuple[str, ...] = ("at-risk", "lapsed", "new", "high-value", "active", "loyal")


#: What each threshold may be; whole days and orders stay integers. A share of 0 % or a window of
#: 0 days would make a word match nobody (or, for churn 0, everybody) without saying so.
SEGMENT_BOUNDS: dict[str, Bound] = {
    "at_risk_churn": number(0.01, 1),
    "lapsed_days": whole(1, 3650),
    "new_days": whole(1, 3650),
    "high_value_top_pct": number(0.1, 100),
    "active_days": whole(1, 3650),
    "loyal_min_orders": whole(1, 10_000),
}


@dataclass(frozen=True)
class SegmentVocabulary:
    """Default meanings: at-risk = churn_risk >= 0.7; lapsed = no purchase for 90+ days; new =
    signed up within 30 days; high-value = top 10% by lifetime value; active = purchased within 30
    days; loyal = 5 or more orders."""

    at_risk_churn: float = 0.7
    lapsed_days: int = 90
    new_days: int = 30
    high_value_top_pct: float = 10.0
    active_days: int = 30
    loyal_min_orders: int = 5

    @classmethod
    def from_env(cls) -> SegmentVocabulary:
        """The meanings with `CDP_SEGMENT_<NAME>` overrides, each checked against `SEGMENT_BOUNDS`."""
        values: dict[str, Any] = {}
        for f in fields(cls):
            name = env_name("CDP_SEGMENT_", f.name)
            raw = os.environ.get(name)
            if raw:
                values[f.name] = SEGMENT_BOUNDS[f.name].check(name, raw)
        return cls(**values)

    def describe(self) -> dict[str, str]:
        """The meaning of every word, for the model and for reports."""
        return {
            "at-risk": f"churn_risk >= {self.at_risk_churn}",
            "lapsed": f"days_since_purchase >= {self.lapsed_days}",
            "new": f"days_since_signup <= {self.new_days}",
            "high-value": f"lifetime_value in the top {self.high_value_top_pct:g}% of customers",
            "active": f"days_since_purchase <= {self.active_days}",
            "loyal": f"orders_count >= {self.loyal_min_orders}",
        }


# --- message kinds ---------------------------------------------------------------------------


class MessageKind(StrEnum):
    """What a campaign's message is. Only a person decides which kinds are transactional (exempt
    from the marketing rules), with `cdp-agents message-kinds`; a plan never does."""

    MARKETING = "marketing"
    ORDER_CONFIRMATION = "order_confirmation"
    SHIPPING_UPDATE = "shipping_update"
    PASSWORD_RESET = "password_reset"
    RECEIPT = "receipt"
    SERVICE_NOTICE = "service_notice"


#: Kinds a person may configure as transactional: every kind but marketing.
TRANSACTIONAL_CANDIDATES: tuple[str, ...] = tuple(
    k.value for k in MessageKind if k is not MessageKind.MARKETING
)


# --- offer kinds -----------------------------------------------------------------------------


class OfferKind(StrEnum):
    """The one closed vocabulary of offers, shared by the plan schema, the gate's conflict table
    (`offer_kinds`, `offer_kind_conflicts`) and the content agent. Words become a member once, in
    planning, through `normalise_offer_kind`."""

    DISCOUNT = "discount"
    FREE_SHIPPING = "free_shipping"
    BUNDLE = "bundle"
    GIFT = "gift"
    POINTS = "points"
    WELCOME = "welcome"
    WINBACK = "winback"
    LAST_CHANCE = "last_chance"
    EARLY_ACCESS = "early_access"
    LOYALTY_REWARD = "loyalty_reward"
    FLASH_SALE = "flash_sale"
    EXCLUSIVE = "exclusive"
    BIRTHDAY = "birthday"
    REFERRAL = "referral"


OFFER_KINDS: tuple[str, ...] = tuple(k.value for k in OfferKind)

# Near-miss spellings and marketers' words, as slugs (lower case, '_' between words).
_OFFER_SYNONYMS: dict[str, OfferKind] = {
    **dict.fromkeys(
        ("percent_off", "percentage_off", "coupon", "voucher", "promo_code", "markdown", "seasonal", "sale"),
        OfferKind.DISCOUNT,
    ),
    **dict.fromkeys(("free_delivery", "free_postage", "shipping_free"), OfferKind.FREE_SHIPPING),
    **dict.fromkeys(
        ("bogo", "buy_one_get_one", "2_for_1", "two_for_one", "2for1", "multi_buy", "multibuy"),
        OfferKind.BUNDLE,
    ),
    **dict.fromkeys(("free_gift", "gift_with_purchase", "free_sample", "bonus_gift"), OfferKind.GIFT),
    **dict.fromkeys(
        ("double_points", "bonus_points", "points_bonus", "reward_points", "loyalty_points"), OfferKind.POINTS
    ),
    **dict.fromkeys(
        (
            "welcome_gift",
            "welcome_discount",
            "welcome_code",
            "first_order_discount",
            "first_purchase_discount",
        ),
        OfferKind.WELCOME,
    ),
    **dict.fromkeys(("win_back", "we_miss_you", "come_back"), OfferKind.WINBACK),
    **dict.fromkeys(
        ("final_chance", "final_hours", "final_reminder", "ending_soon", "last_call", "last_chance_sale"),
        OfferKind.LAST_CHANCE,
    ),
    **dict.fromkeys(
        ("sneak_peek", "preview", "vip_preview", "first_access", "pre_order", "presale", "pre_sale"),
        OfferKind.EARLY_ACCESS,
    ),
    **dict.fromkeys(("loyalty", "thank_you_gift", "loyalty_gift"), OfferKind.LOYALTY_REWARD),
    **dict.fromkeys(
        ("24_hour_sale", "one_day_sale", "limited_time_offer", "limited_time_deal"), OfferKind.FLASH_SALE
    ),
    **dict.fromkeys(("exclusive_deal", "members_only_offer", "private_sale"), OfferKind.EXCLUSIVE),
    **dict.fromkeys(
        ("birthday_reward", "birthday_gift", "birthday_treat", "birthday_discount"), OfferKind.BIRTHDAY
    ),
    **dict.fromkeys(("refer_a_friend", "referral_bonus"), OfferKind.REFERRAL),
}
_OFFER_SUFFIXES = ("_offer", "_deal", "_promotion", "_promo", "_campaign", "_sale", "_reward")
_SLUG = re.compile(r"[^a-z0-9]+")


class UnknownOfferKindError(CdpError, ValueError):
    """An offer word that is not, and does not normalise into, one of the offer kinds."""


def _slug(text: str) -> str:
    return _SLUG.sub("_", text.strip().lower()).strip("_")


def normalise_offer_kind(value: object) -> OfferKind | None:
    """The `OfferKind` that `value` means ("last chance", "Last-Chance", "Welcome Offer", "bogo").

    None and empty text mean no offer kind. Anything else that does not map raises
    `UnknownOfferKindError` listing the kinds, so a planner can be asked again: a guess here could
    hide a contradiction between two offers."""
    if value is None or isinstance(value, OfferKind):
        return value
    slug = _slug(str(value))
    if not slug:
        return None
    for candidate in (slug, *(slug[: -len(s)] for s in _OFFER_SUFFIXES if slug.endswith(s))):
        if candidate in OFFER_KINDS:
            return OfferKind(candidate)
        if candidate in _OFFER_SYNONYMS:
            return _OFFER_SYNONYMS[candidate]
    raise UnknownOfferKindError(f"offer kind {str(value)[:60]!r} is not one of: {', '.join(OFFER_KINDS)}")


#: Phrases in message copy that promise an offer of a kind, in every language the product writes
#: (lower case). The compliance review rejects copy that names a kind which contradicts the
#: campaign's own offer (`offer_kind_conflicts`), and the gate counts every kind the copy names.
OFFER_CUES: dict[OfferKind, tuple[str, ...]] = {
    OfferKind.LAST_CHANCE: (
        "last chance",
        "final chance",
        "final hours",
        "ending soon",
        "last call",
        "letzte chance",
        "dernière chance",
        "última oportunidad",
        "ultima occasione",
        "laatste kans",
        "última chance",
        "ラストチャンス",
    ),
    OfferKind.WELCOME: (
        "welcome",
        "willkommen",
        "willkommensgeschenk",
        "bienvenue",
        "bienvenido",
        "bienvenida",
        "benvenuto",
        "benvenuta",
        "welkom",
        "welkomstcadeau",
        "bem-vindo",
        "boas-vindas",
        "bem-vinda",
        "ようこそ",
    ),
    OfferKind.WINBACK: (
        "we miss you",
        "come back",
        "win back",
        "wir vermissen dich",
        "vous nous manquez",
        "te echamos de menos",
        "ci manchi",
        "we missen je",
        "sentimos sua falta",
        "おかえりなさい",
    ),
    OfferKind.EARLY_ACCESS: (
        "early access",
        "sneak peek",
        "first access",
        "presale",
        "pre-sale",
        "vorabzugang",
        "accès anticipé",
        "acceso anticipado",
        "accesso anticipato",
        "vroege toegang",
        "acesso antecipado",
        "先行アクセス",
    ),
    OfferKind.DISCOUNT: (
        "discount",
        "rabatt",
        "réduction",
        "descuento",
        "sconto",
        "korting",
        "desconto",
        "割引",
    ),
    OfferKind.FREE_SHIPPING: (
        "free shipping",
        "free delivery",
        "kostenloser versand",
        "livraison offerte",
        "livraison gratuite",
        "envío gratis",
        "spedizione gratuita",
        "gratis verzending",
        "frete grátis",
        "送料無料",
    ),
    OfferKind.BUNDLE: ("bundle", "buy one get one", "bogo", "two for one", "まとめ買い"),
    OfferKind.GIFT: (
        "free gift",
        "gratisgeschenk",
        "cadeau offert",
        "regalo gratis",
        "regalo in omaggio",
        "gratis cadeau",
        "brinde",
        "無料ギフト",
    ),
    OfferKind.POINTS: (
        "bonus points",
        "double points",
        "bonuspunkte",
        "points bonus",
        "puntos extra",
        "punti bonus",
        "bonuspunten",
        "pontos bônus",
        "ボーナスポイント",
    ),
    OfferKind.LOYALTY_REWARD: (
        "loyalty reward",
        "treuebonus",
        "récompense fidélité",
        "recompensa de fidelidad",
        "premio fedeltà",
        "loyaliteitsbeloning",
        "recompensa de fidelidade",
        "ロイヤルティ特典",
    ),
    OfferKind.FLASH_SALE: (
        "flash sale",
        "blitzangebot",
        "vente flash",
        "venta flash",
        "vendita lampo",
        "flitsverkoop",
        "venda relâmpago",
        "タイムセール",
    ),
    OfferKind.EXCLUSIVE: (
        "exclusive offer",
        "exclusive deal",
        "exklusives angebot",
        "offre exclusive",
        "oferta exclusiva",
        "offerta esclusiva",
        "exclusieve aanbieding",
        "限定オファー",
    ),
    OfferKind.BIRTHDAY: (
        "birthday treat",
        "birthday reward",
        "geburtstagsüberraschung",
        "cadeau d'anniversaire",
        "regalo de cumpleaños",
        "sorpresa di compleanno",
        "verjaardagsverrassing",
        "presente de aniversário",
        "誕生日特典",
    ),
    OfferKind.REFERRAL: (
        "refer a friend",
        "freunde werben",
        "parrainez un ami",
        "invita a un amigo",
        "invita un amico",
        "nodig een vriend uit",
        "indique um amigo",
        "お友達紹介",
    ),
}
#: "2 for 1" and its kin in every language: a bundle, whatever the numbers.
_BUNDLE_CUE = re.compile(
    r"(?<!\w)\d+\s*(?:for|für|pour|por|per|voor|x)\s*\d+(?!\w)|prendi\s*\d+\s*paghi\s*\d+"
    r"|leve\s*\d+,?\s*pague\s*\d+|\d+個で\d+個分"
)


def _cue_pattern(cue: str) -> str:
    """A cue as a regex: whole words at its Latin ends; Japanese has no spaces to bound a word."""
    head = "" if cue[0] >= "\u3000" else r"(?<!\w)"
    tail = "" if cue[-1] >= "\u3000" else r"(?!\w)"
    return head + re.escape(cue) + tail


_CUE_PATTERNS = {kind: re.compile("|".join(map(_cue_pattern, cues))) for kind, cues in OFFER_CUES.items()}


def offer_kinds_named(text: str) -> set[OfferKind]:
    """The offer kinds a piece of message copy promises, by the phrases in `OFFER_CUES`."""
    lowered = " ".join(text.lower().split())
    # A plain substring test first: most copy names one kind, and the word-bounded search is slow.
    named = {
        kind
        for kind, pattern in _CUE_PATTERNS.items()
        if any(cue in lowered for cue in OFFER_CUES[kind]) and pattern.search(lowered)
    }
    if _BUNDLE_CUE.search(lowered):
        named.add(OfferKind.BUNDLE)
    return named


#: An amount of money in copy, in any locale's format: "$10", "10 €", "€ 10", "R$ 10", "1.000円".
_MONEY_CUE = re.compile(
    r"(?:[$€£¥]|\b(?:R\$|US\$|CA\$|USD|EUR|GBP|JPY|BRL|CAD|CHF|AUD)\s?)\s?\d"
    r"|\d(?:[\d.,\s]*\d)?\s?(?:[$€£¥円]|(?:USD|EUR|GBP|JPY|BRL|CAD|CHF|AUD)\b)"
)


def money_named(text: str) -> bool:
    """True when copy names an amount of money: read as money off (the stricter reading)."""
    return bool(_MONEY_CUE.search(text or ""))


#: A discount the copy promises: "30% off", "save 30%", "30 % discount", "-30%".
_DISCOUNT_CUE = re.compile(
    r"(?:save\s+|up\s+to\s+|-\s*)?(\d{1,3}(?:[.,]\d+)?)\s*%\s*(?:off|discount|rabatt|de\s+r[ée]duction)?",
    re.IGNORECASE,
)


def discounts_named(text: str) -> set[float]:
    """The percentage discounts a piece of message copy names ("30% off" -> 30.0), 0 < pct <= 100.

    Any percentage in customer-facing copy is read as a discount: the stricter reading, since a
    percentage the plan did not declare can only add an offer the gate checks, never remove one.
    """
    found = set()
    for match in _DISCOUNT_CUE.finditer(text or ""):
        pct = float(match.group(1).replace(",", "."))
        if 0 < pct <= 100:
            found.add(pct)
    return found


#: Other words for the CDP's product categories (`profile_categories.category`).
CATEGORY_SYNONYMS: dict[str, str] = {
    "shoe": "shoes",
    "footwear": "shoes",
    "sneakers": "shoes",
    "boots": "shoes",
    "clothing": "apparel",
    "clothes": "apparel",
    "fashion": "apparel",
    "cosmetics": "beauty",
    "makeup": "beauty",
    "skincare": "beauty",
    "sport": "sports",
    "book": "books",
    "toy": "toys",
    "electronic": "electronics",
    "tech": "electronics",
    "homeware": "home",
    "household": "home",
}


def normalise_category(value: object) -> str | None:
    """An offer category as one spelling: trimmed, lower case, single spaces, synonyms mapped.

    Empty text is no category (store-wide). "Shoes " and "footwear" both become "shoes", so two
    discounts on one category cannot pass as two categories.
    """
    if value is None:
        return None
    text = " ".join(str(value).lower().split())
    if not text:
        return None
    return CATEGORY_SYNONYMS.get(text, text)


def cdp_category(conn, value: object) -> str | None:
    """The CDP's own category for an offer category, else None (store-wide: the stricter reading).

    A category no customer has bought from cannot be told apart from any other, so its offer is
    checked against every category's.
    """
    word = normalise_category(value)
    if word is None:
        return None
    row = conn.execute(
        "SELECT category FROM profile_categories WHERE lower(trim(category)) = ? LIMIT 1", [word]
    ).fetchone()
    return word if row else None


# --- languages -------------------------------------------------------------------------------

#: Languages the product writes messages in (ISO 639-1). A customer whose language is missing or
#: not in this list gets the campaign's default language.
SUPPORTED_LANGUAGES: tuple[str, ...] = ("en", "de", "fr", "es", "it", "nl", "pt", "ja", "pl", "sv", "da")
DEFAULT_LANGUAGE = "en"


def effective_language_sql(column: str, default_sql: str) -> str:
    """SQL for the language a customer is written to: theirs when supported, else the default."""
    supported = ", ".join(f"'{code}'" for code in SUPPORTED_LANGUAGES)
    return f"(CASE WHEN {column} IN ({supported}) THEN {column} ELSE {default_sql} END)"


#: A plain discount in a welcome or win-back campaign is that campaign's offer for the gate's
#: conflict rules: a customer must not get "welcome" and "we miss you" offers at once.
GOAL_OFFER_KINDS = {"win-back": "winback", "welcome": "welcome"}


def campaign_offer_kind(goal: str | None, kind: str | None, has_offer: bool) -> str | None:
    """The offer kind a campaign records for the conflict rules: a plain discount (or an offer of no
    stated kind) in a win-back or welcome campaign counts as that campaign's kind of offer."""
    if kind in (None, "discount") and has_offer and goal in GOAL_OFFER_KINDS:
        return GOAL_OFFER_KINDS[goal]
    return kind
