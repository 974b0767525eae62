"""What a campaign's plan understood: the offer's size and unit, when it ends, the occasion, and the
whole interpretation a person approved (JSON), so the report shows it after the checkpoints are gone.

`offer_valid_until` is kept apart from `send_at`: "valid until December 31" is when the offer ends,
never when the messages go out.
"""

from __future__ import annotations


def migrate(db) -> None:
    for column, kind in (
        ("offer_value", "REAL CHECK (offer_value IS NULL OR offer_value >= 0)"),
        ("offer_unit", "TEXT"),
        ("offer_valid_until", "TEXT"),
        ("occasion", "TEXT"),
        ("interpretation", "TEXT CHECK (interpretation IS NULL OR json_valid(interpretation))"),
    ):
        db.execute(f"ALTER TABLE campaigns ADD COLUMN {column} {kind}")
