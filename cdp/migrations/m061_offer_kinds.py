"""Offer kinds as one closed vocabulary: the `offer_kinds` table, existing campaign offers
normalised into it, and triggers that refuse any other spelling in `campaigns.offer_kind` and
`offer_kind_conflicts`, so a contradiction between two offers can no longer hide behind free text
("last chance" vs `last_chance`).

A legacy offer word that does not normalise becomes `discount`: it stays an offer (marketing,
checked for conflicts), which is the stricter reading.
"""

from __future__ import annotations

# Frozen copy of `cdp.vocabulary.OfferKind` at the time of this migration; a test pins them equal.
OFFER_KINDS = (
    "discount",
    "free_shipping",
    "bundle",
    "gift",
    "points",
    "welcome",
    "winback",
    "last_chance",
    "early_access",
    "loyalty_reward",
    "flash_sale",
    "exclusive",
    "birthday",
    "referral",
)

MESSAGE = (
    "offer_kind must be one of the offer kinds in table offer_kinds "
    "(discount, free_shipping, bundle, gift, points, welcome, winback, last_chance, early_access, "
    "loyalty_reward, flash_sale, exclusive, birthday, referral)"
)

_CLOSED = "NOT IN (SELECT kind FROM offer_kinds)"


def _guard(name: str, event: str, table: str, condition: str) -> str:
    return f"""CREATE TRIGGER {name} BEFORE {event} ON {table}
    WHEN {condition}
    BEGIN
        SELECT RAISE(ABORT, '{MESSAGE}');
    END"""


def migrate(db) -> None:
    from cdp.vocabulary import UnknownOfferKindError, normalise_offer_kind

    db.execute("CREATE TABLE offer_kinds (kind TEXT PRIMARY KEY) WITHOUT ROWID")
    db.conn.executemany("INSERT INTO offer_kinds (kind) VALUES (?)", [(k,) for k in OFFER_KINDS])

    def normal(word: str) -> str:
        try:
            kind = normalise_offer_kind(word)
        except UnknownOfferKindError:
            return "discount"
        return kind.value if kind is not None and kind.value in OFFER_KINDS else "discount"

    words = [
        r[0] for r in db.execute("SELECT DISTINCT offer_kind FROM campaigns WHERE offer_kind IS NOT NULL")
    ]
    for word in words:
        db.execute("UPDATE campaigns SET offer_kind = ? WHERE offer_kind = ?", [normal(word), word])
    db.execute("UPDATE campaigns SET offer_kind = NULL WHERE trim(offer_kind) = ''")
    pairs = db.execute("SELECT kind_a, kind_b, why FROM offer_kind_conflicts").fetchall()
    db.execute("DELETE FROM offer_kind_conflicts")
    db.conn.executemany(
        "INSERT OR IGNORE INTO offer_kind_conflicts (kind_a, kind_b, why) VALUES (?, ?, ?)",
        [(normal(a), normal(b), why) for a, b, why in pairs if normal(a) != normal(b)],
    )
    for statement in (
        _guard(
            "campaigns_offer_kind_closed",
            "INSERT",
            "campaigns",
            f"NEW.offer_kind IS NOT NULL AND NEW.offer_kind {_CLOSED}",
        ),
        _guard(
            "campaigns_offer_kind_closed_update",
            "UPDATE OF offer_kind",
            "campaigns",
            f"NEW.offer_kind IS NOT NULL AND NEW.offer_kind {_CLOSED}",
        ),
        _guard(
            "offer_kind_conflicts_closed",
            "INSERT",
            "offer_kind_conflicts",
            f"NEW.kind_a {_CLOSED} OR NEW.kind_b {_CLOSED}",
        ),
    ):
        db.execute(statement)
