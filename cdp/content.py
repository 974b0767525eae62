"""Message variants of a campaign: templates with personalisation fields, rendered only at send time.

Models write templates such as "Hi {first_name}, 20% off {favorite_category}"; names are filled in
after the model's work, so no personal data ever reaches a prompt.
"""

from __future__ import annotations

import json
import re
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, field_validator

from cdp import clock
from cdp.vocabulary import SUPPORTED_LANGUAGES, discounts_named, offer_kinds_named

PERSONALIZATION_FIELDS = ("first_name", "favorite_category", "city", "offer", "discount")
_PLACEHOLDER = re.compile(r"\{([^{}]*)\}")


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
    """(kind, discount_pct) pairs a variant's copy promises: named offer kinds and percentages."""
    text = f"{subject or ''}\n{body or ''}"
    pairs: list[tuple[str, float | None]] = [(k.value, None) for k in sorted(offer_kinds_named(text))]
    pairs += [("discount", pct) for pct in sorted(discounts_named(text))]
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
    cur = db.execute(
        "SELECT variant_id, channel, language, category, tier, subject, body, status, review_note "
        "FROM content_variants WHERE campaign_id = ? ORDER BY variant_id",
        [campaign_id],
    )
    cols = [d[0] for d in cur.description]
    return [dict(zip(cols, row, strict=True)) for row in cur.fetchall()]


def render(template: str, values: dict[str, Any]) -> str:
    """Fill personalisation fields at send time (missing values become empty text)."""
    return _PLACEHOLDER.sub(lambda m: str(values.get(m.group(1), "") or ""), template)
