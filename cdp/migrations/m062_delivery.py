"""Schema of the delivery step: when each send actually went out, and a fast look-up of due sends.

`delivered_at` is the moment the delivery step re-checked a send and let it through (the later of its
`scheduled_for` and the CDP clock at that transaction); the frequency cap at delivery and the audit
of consent "as of delivery" read it. It stays NULL for scheduled, cancelled and older delivered sends
(readers fall back to `scheduled_for`).
"""

from __future__ import annotations

STATEMENTS = [
    "ALTER TABLE sends ADD COLUMN delivered_at TEXT",
    # The dispatcher asks for the due sends of every campaign. Partial, so queries over delivered sends
    # (measurement, caps) keep their (campaign, profile) indexes instead of walking this one.
    "CREATE INDEX idx_sends_due ON sends (scheduled_for) WHERE status = 'scheduled'",
]


def migrate(db) -> None:
    for statement in STATEMENTS:
        db.execute(statement)
