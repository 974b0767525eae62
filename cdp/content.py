"""Message variants of a campaign: templates with personalisation fields, rendered only at send time.

Models write templates such as "Hi {first_name}, 20% off {favorite_category}"; names are filled in
after the model's work, so no personal data ever reaches a prompt.

Template syntax, for models and for the offline copy alike:
- `{field}` is a personalisation field (`PERSONALIZATION_FIELDS`); a missing value is empty text.
- `[[ ... ]]` marks an optional part: it is dropped, with the punctuation written inside it, when
  any field in it is empty. "Last chance[[, {first_name}]]" reads "Last chance, Anna" or "Last chance".
  Groups do not nest.
Whatever a template's author forgot to mark, `render` tidies around an empty field: no " ," or
"?," left behind, no "on ." where a category was missing. Text around filled fields is untouched.
"""

from __future__ import annotations

import json
import re
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, field_validator

from cdp import clock
from cdp.vocabulary import (
    SUPPORTED_LANGUAGES,
    OfferKind,
    discounts_named,
    money_named,
    offer_kinds_named,
)

PERSONALIZATION_FIELDS = ("first_name", "favorite_category", "city", "offer", "discount")
_PLACEHOLDER = re.compile(r"\{([^{}]*)\}")
_GROUP = re.compile(r"\[\[(.*?)\]\]", re.DOTALL)


class VariantSpec(BaseModel):
    """One message variant for a sub-group (any of language, category, tier may be left open)."""

    model_config = ConfigDict(extra="forbid")
    variant_id: str = Field(pattern=r"^[a-z0-9][a-z0-9_\-]{0,47}$")
    language: str | None = Field(
        default=None,
        description="ISO 639-1 code among the supported languages; none for the catch-all variant, which "
        "is written in the campaign's default language and reaches every customer without a supported one.",
    )
    category: str | None = Field(default=None, max_length=40)
    tier: Literal["standard", "premium", "vip"] | None = None
    channel: Literal["email", "sms", "push"] | None = None
    subject: str = Field(default="", max_length=150)
    body: str = Field(min_length=1, max_length=1000)

    @field_validator("language", mode="before")
    @classmethod
    def _supported_language(cls, value: object) -> str | None:
        """Only languages the product writes in: a variant for 'tlh' or '(unknown)' could never be
        chosen, and customers without a supported language get the default language anyway."""
        if value is None or (isinstance(value, str) and not value.strip()):
            return None
        code = str(value).strip().lower()
        if code not in SUPPORTED_LANGUAGES:
            raise ValueError(
                f"language {str(value)[:20]!r} is not supported (supported: {', '.join(SUPPORTED_LANGUAGES)}); "
                "leave it empty for the catch-all variant, which customers without a supported language get"
            )
        return code

    @field_validator("subject", "body")
    @classmethod
    def _known_placeholders(cls, text: str) -> str:
        unbalanced = _GROUP.sub("", text)
        if "[[" in unbalanced or "]]" in unbalanced or any("[[" in g for g in _GROUP.findall(text)):
            raise ValueError("optional parts are written [[ ... ]], closed, and not nested")
        unknown = sorted({p for p in _PLACEHOLDER.findall(text) if p not in PERSONALIZATION_FIELDS})
        if unknown:
            raise ValueError(
                f"unknown personalisation field(s) {unknown}; allowed: {', '.join(PERSONALIZATION_FIELDS)}"
            )
        return text

    def fields_used(self) -> list[str]:
        return sorted(set(_PLACEHOLDER.findall(self.subject + " " + self.body)))


def save_variants(db, campaign_id: str, variants: list[VariantSpec]) -> dict[str, Any]:
    """Store (replace) the campaign's variants; returns ids and the sub-groups they cover."""
    now = clock.now_iso(db)
    rows = [
        {
            "campaign_id": campaign_id,
            **v.model_dump(),
            "personalization": json.dumps(v.fields_used()),
            "created_at": now,
            "status": "approved",
            "review_note": None,
        }
        for v in variants
    ]
    with db.conn:
        db["content_variants"].upsert_all(rows, pk=("campaign_id", "variant_id"))
        record_copy_offers(db.conn, campaign_id)
    return {
        "campaign_id": campaign_id,
        "saved": [v.variant_id for v in variants],
        "count": len(variants),
    }


def copy_offers(subject: str | None, body: str | None) -> list[tuple[str, float | None]]:
    """(kind, discount_pct) pairs a variant's copy promises: named offer kinds and percentages.

    A percentage is a discount of that size; a discount word or an amount of money without one
    ("10 € de réduction", "$10 off") is a discount of unstated size, ("discount", None).
    """
    text = f"{subject or ''}\n{body or ''}"
    kinds = offer_kinds_named(text)
    pcts = discounts_named(text)
    if money_named(text):
        kinds.add(OfferKind.DISCOUNT)
    if pcts:
        kinds.discard(OfferKind.DISCOUNT)
    pairs: list[tuple[str, float | None]] = [(k.value, None) for k in sorted(kinds)]
    pairs += [("discount", pct) for pct in sorted(pcts)]
    return pairs


def record_copy_offers(conn, campaign_id: str) -> None:
    """Rewrite `campaign_offer_kinds` (source 'copy') from the campaign's saved variants.

    Derived in code from what the customer will read, so the gate's offer check uses the union of
    the plan's declared offer and the copy's: a model can add an offer kind, never remove one.
    """
    rows = conn.execute(
        "SELECT variant_id, subject, body FROM content_variants WHERE campaign_id = ?", [campaign_id]
    ).fetchall()
    conn.execute("DELETE FROM campaign_offer_kinds WHERE campaign_id = ? AND source = 'copy'", [campaign_id])
    conn.executemany(
        """INSERT OR IGNORE INTO campaign_offer_kinds (campaign_id, kind, discount_pct, source, variant_id)
           VALUES (?, ?, ?, 'copy', ?)""",
        [
            (campaign_id, kind, pct, variant_id)
            for variant_id, subject, body in rows
            for kind, pct in copy_offers(subject, body)
        ],
    )


def campaign_variants(db, campaign_id: str) -> list[dict[str, Any]]:
    return list(
        db.query(
            "SELECT variant_id, channel, language, category, tier, subject, body, status, review_note "
            "FROM content_variants WHERE campaign_id = ? ORDER BY variant_id",
            [campaign_id],
        )
    )


#: Words that only make sense before the field that followed them ("picked for you on {category}."):
#: dropped with an empty field at the end of a phrase. Prepositions of the supported languages.
_PREPOSITIONS = (
    "on in for at to from with of by about",  # en
    "auf für im in bei mit von zu zum zur aus über",  # de
    "sur pour en de du des à au aux avec chez",  # fr
    "en para por con de del a al sobre",  # es
    "su per in di del della con a al da",  # it
    "op voor in bij met van naar over",  # nl
    "em no na para por com de do da ao",  # pt
    "på för i med av till från om",  # sv
    "na w dla z do od o",  # pl
    "på for i med af til fra om",  # da
)
_DANGLING = frozenset(word for line in _PREPOSITIONS for word in line.split())
_EMPTY = "\x00"
_SEPARATORS = ",;:、"
_TERMINALS = ".!?。！？"


def render(template: str, values: dict[str, Any]) -> str:
    """Fill personalisation fields at send time; an empty field leaves no trace.

    An optional part (`[[...]]`) with an empty field is dropped; any other empty field is removed with
    what would dangle around it (a separator, a preposition before the end of a phrase, doubled
    spaces). A template whose fields are all filled reads exactly as written, brackets aside.
    """

    def value(name: str) -> str:
        return str(values.get(name, "") or "").strip()

    def group(match: re.Match[str]) -> str:
        inner = match.group(1)
        return _EMPTY if any(not value(name) for name in _PLACEHOLDER.findall(inner)) else inner

    text = _GROUP.sub(group, template)
    text = _PLACEHOLDER.sub(lambda m: value(m.group(1)) or _EMPTY, text)
    if _EMPTY not in text:
        return text
    pieces = text.split(_EMPTY)
    out = pieces[0]
    for piece in pieces[1:]:
        out = _join(out, piece)
    return out.strip()


def _join(left: str, right: str) -> str:
    """`left` + `right` where an empty field stood between them, without what would dangle."""
    spaced = left[-1:].isspace() or right[:1].isspace()
    left, right = left.rstrip(), right.lstrip()
    if not right or right[0] in _SEPARATORS + _TERMINALS:
        words = left.rsplit(None, 1)
        if words and words[-1].lower() in _DANGLING:
            left = words[0].rstrip() if len(words) > 1 else ""
    if not left:
        right = right.lstrip(_SEPARATORS + _TERMINALS + " ")
        return right[:1].upper() + right[1:]
    if not right:
        return left.rstrip(_SEPARATORS + " ")
    if left[-1] in _SEPARATORS and right[0] in _SEPARATORS:
        return left + " " + right[1:].lstrip()
    if left[-1] in _SEPARATORS and right[0] in _TERMINALS:
        return left[:-1].rstrip() + right
    if left[-1] in _TERMINALS and right[0] in _SEPARATORS + _TERMINALS:
        rest = right[1:].lstrip()
        return left + (" " + rest if rest and spaced else rest)
    if right[0] in _SEPARATORS + _TERMINALS:
        return left + right
    return left + (" " if spaced else "") + right
