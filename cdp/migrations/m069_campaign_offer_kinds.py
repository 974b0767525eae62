"""The offer kinds and discounts a campaign's copy names, derived in code: `campaign_offer_kinds`.

The plan's `campaigns.offer_kind` / `discount_pct` come from a model; what the customer reads is
the saved copy. `cdp.content.save_variants` writes one row per kind (and per percentage, as kind
`discount`) that a variant's subject or body names, with source 'copy'. The contact-policy gate
and the delivery re-check read the UNION of the declared offer and these rows, so an offer the
plan leaves out is still checked for contradictions. Existing variants are read once here.
"""

from __future__ import annotations


def migrate(db) -> None:
    from cdp.content import record_copy_offers

    db.execute(
        """CREATE TABLE campaign_offer_kinds (
            campaign_id TEXT NOT NULL,
            kind TEXT NOT NULL REFERENCES offer_kinds (kind),
            discount_pct REAL CHECK (discount_pct IS NULL OR (discount_pct > 0 AND discount_pct <= 100)),
            source TEXT NOT NULL CHECK (source IN ('plan', 'copy')),
            variant_id TEXT NOT NULL DEFAULT '',
            UNIQUE (campaign_id, kind, discount_pct, source, variant_id)
        )"""
    )
    db.execute("CREATE INDEX campaign_offer_kinds_campaign ON campaign_offer_kinds (campaign_id)")
    for (campaign_id,) in db.execute("SELECT DISTINCT campaign_id FROM content_variants").fetchall():
        record_copy_offers(db.conn, campaign_id)
