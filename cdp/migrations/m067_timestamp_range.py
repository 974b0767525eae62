"""Stored times keep four-digit years, and a stop (revocation, denial) wins a tie with a grant.

Stored times compare as text, which is time order only when every year has four digits. Older
releases wrote years before 1000 with three ('999-01-01T00:00:00Z'), which sorts after every real
date: such a revocation outranked every later grant, and such a grant or clock broke reading time
back. They are repaired once here by padding the year; a pinned clock outside the accepted years
(`cdp.clock.MIN_YEAR`..`MAX_YEAR`) is unpinned, so the next open takes `CDP_NOW` or wall time.

Stored times have whole seconds. Two changes within the same second are equal in stored time, and
arrival alone would let a grant sent before an unsubscribe (same second, earlier fraction) win. At
equal stored time a grant never replaces a revocation or denial, whoever writes it (this trigger
holds for every SQLite client, and for the clamp of m064): consent follows (event time, stop before
grant, arrival).
"""

from __future__ import annotations

#: (table, column) pairs that hold a stored time and may carry a three-digit year.
TIME_COLUMNS = (
    ("consents", "updated_at"),
    ("consent_history", "updated_at"),
    ("profiles", "signup_at"),
    ("events", "ts"),
)

STOP_WINS_TIE = """CREATE TRIGGER consents_stop_wins_tie BEFORE UPDATE OF status ON consents
    WHEN NEW.status = 'granted' AND OLD.status <> 'granted' AND NEW.updated_at = OLD.updated_at
    BEGIN
        SELECT RAISE(IGNORE);
    END"""


def repair(db) -> None:
    """Pad three-digit years in stored times; unpin a clock outside the accepted years."""
    for table, column in TIME_COLUMNS:
        cols = {r[1] for r in db.execute(f"PRAGMA table_info({table})").fetchall()}
        if column in cols:
            db.execute(
                f"UPDATE {table} SET {column} = '0' || {column} "
                f"WHERE {column} GLOB '[0-9][0-9][0-9]-[0-9][0-9]-[0-9][0-9]T*'"
            )
    db.execute(
        "UPDATE cdp_clock SET now = NULL, pinned_by = NULL "
        "WHERE now IS NOT NULL AND (now < '1970-01-01T00:00:00Z' OR now >= '2201-01-01T00:00:00Z')"
    )


def migrate(db) -> None:
    repair(db)
    db.execute(STOP_WINS_TIE)
