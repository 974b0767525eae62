"""The schema applies cleanly and the aggregates follow events at once."""

import json

from cdp import open_cdp


def _row(db, pid):
    return next(db.query("SELECT * FROM customer_360 WHERE profile_id = ?", [pid]))


def test_migrations_are_idempotent(cdp_path):
    db = open_cdp(cdp_path)
    applied = db.execute("SELECT count(*) FROM _sqlite_migrations").fetchone()[0]
    db2 = open_cdp(cdp_path)
    assert db2.execute("SELECT count(*) FROM _sqlite_migrations").fetchone()[0] == applied
    assert db.journal_mode == "wal"


def test_event_changes_view_now(cdp_db):
    cdp_db.execute(
        "INSERT INTO profiles (profile_id, tier, signup_at) VALUES ('p1', 'vip', '2026-01-01T00:00:00Z')"
    )
    assert _row(cdp_db, "p1")["orders_count"] == 0
    cdp_db.execute(
        "INSERT INTO events (message_id, profile_id, type, ts, properties) VALUES (?, ?, ?, ?, ?)",
        ["m1", "p1", "purchase", "2026-11-14T12:00:00Z", json.dumps({"amount": 40, "category": "shoes"})],
    )
    row = _row(cdp_db, "p1")
    assert (row["orders_count"], row["lifetime_value"], row["days_since_purchase"]) == (1, 40.0, 10)
    assert row["favorite_category"] == "shoes"
