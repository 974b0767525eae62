"""Every `customer_360` column against values computed by hand for a small, known CDP.

Clock: CDP_NOW = 2026-11-24T12:00:00Z (tests/conftest.py). All event times are at 12:00 UTC so day
counts are whole numbers.
"""

from __future__ import annotations

import random
import sqlite3
from datetime import datetime, timedelta

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from cdp import open_cdp, stats
from cdp.clock import iso, now_iso, parse_ts, set_clock
from cdp.ingest import add_identities, ingest_events, upsert_consents, upsert_profiles
from cdp.migrations.m002_customer_360 import CUSTOMER_360 as M002_VIEW
from cdp.migrations.m011_day_numbers import DAY_COLUMNS
from cdp.migrations.m011_day_numbers import TRIGGERS as M011_TRIGGERS
from cdp.seed import seed_cdp


def _view(db, pid: str) -> dict:
    return next(db.query("SELECT * FROM customer_360 WHERE profile_id = ?", [pid]))


def _purchase(mid, pid, ts, amount, category):
    return {
        "message_id": mid,
        "profile_id": pid,
        "type": "purchase",
        "ts": ts,
        "properties": {"amount": amount, "category": category},
    }


@pytest.fixture
def known(cdp_db):
    db = cdp_db
    upsert_profiles(
        db,
        [
            {
                "profile_id": "ann",
                "first_name": "Ann",
                "country": "de",
                "city": "Berlin",
                "language": "de",
                "tier": "premium",
                "signup_at": "2025-11-24T12:00:00Z",  # 365 days before now
            },
            {"profile_id": "bob", "country": "US", "tier": "standard", "signup_at": "2026-08-26T12:00:00Z"},
            {"profile_id": "ann-web", "signup_at": "2026-02-01T12:00:00Z"},
        ],
    )
    events = [
        _purchase("a1", "ann", "2026-05-28T12:00:00Z", 100, "shoes"),
        _purchase("a2", "ann", "2026-08-26T12:00:00Z", 50, "books"),
        # Ann's web account bought too; identity resolution makes it Ann's third order.
        _purchase("a3", "ann-web", "2026-10-25T12:00:00Z", 30.5, "shoes"),
        {"message_id": "c1", "profile_id": "ann", "type": "complaint", "ts": "2026-10-25T12:00:00Z"},
        {
            "message_id": "t1",
            "profile_id": "ann",
            "type": "support_ticket",
            "ts": "2026-11-20T12:00:00Z",
            "properties": {"ticket_id": "T-1", "status": "open", "subject": "Late parcel"},
        },
        {
            "message_id": "t2",
            "profile_id": "ann",
            "type": "support_ticket",
            "ts": "2026-09-01T12:00:00Z",
            "properties": {"ticket_id": "T-2", "status": "open"},
        },
        {
            "message_id": "t3",
            "profile_id": "ann",
            "type": "support_ticket",
            "ts": "2026-09-03T12:00:00Z",
            "properties": {"ticket_id": "T-2", "status": "closed"},
        },
    ]
    # Ten email opens, the last on 2026-11-15 (9 days before now).
    events += [
        {
            "message_id": f"o{i}",
            "profile_id": "ann",
            "type": "email_open",
            "ts": f"2026-11-{6 + i:02d}T12:00:00Z",
        }
        for i in range(10)
    ]
    ingest_events(db, events)
    upsert_consents(
        db,
        [
            {
                "profile_id": "ann",
                "channel": "email",
                "status": "granted",
                "updated_at": "2026-01-01T00:00:00Z",
            },
            {
                "profile_id": "ann",
                "channel": "sms",
                "status": "revoked",
                "updated_at": "2026-02-01T00:00:00Z",
            },
            {
                "profile_id": "bob",
                "channel": "email",
                "status": "denied",
                "updated_at": "2026-08-26T12:00:00Z",
            },
        ],
    )
    add_identities(
        db,
        [
            {"profile_id": "ann", "kind": "email", "value": "ann@example.com"},
            {"profile_id": "ann-web", "kind": "email", "value": "ANN@example.com"},
        ],
    )
    return db


def test_every_column_for_a_buyer(known):
    row = _view(known, "ann")
    # Orders: 100 (May 28) + 50 (Aug 26) + 30.50 (Oct 25, from the merged web account).
    orders, ltv = 3, 100 + 50 + 30.5
    # Days since the last purchase: Oct 25 -> Nov 24 = 6 days of October left + 24 = 30.
    days_since_purchase = 30
    # Average gap: May 28 -> Oct 25 = 3 + 30 + 31 + 31 + 30 + 25 = 150 days over 2 gaps = 75.
    avg_gap = 150 / 2
    recency = min(1.0, days_since_purchase / 180)
    frequency = 1 / (1 + orders)
    trend = min(1.0, days_since_purchase / (2 * avg_gap))
    complaint = 1.0  # complained 30 days ago, inside the 90-day window
    churn = round(0.50 * recency + 0.15 * frequency + 0.20 * trend + 0.15 * complaint, 4)
    # Engagement: 10 events / 20, faded by 9 days / 90.
    engagement = round(min(1.0, 10 / 20) * (1 - 9 / 90), 4)
    expected = {
        "profile_id": "ann",
        "country": "DE",
        "city": "Berlin",
        "language": "de",
        "tier": "premium",
        "signup_at": "2025-11-24T12:00:00Z",
        "days_since_signup": 365,
        "orders_count": orders,
        "lifetime_value": ltv,
        "avg_order_value": round(ltv / orders, 2),
        "last_purchase_at": "2026-10-25T12:00:00Z",
        "days_since_purchase": days_since_purchase,
        "favorite_category": "shoes",  # 2 orders against 1
        "churn_risk": churn,
        "engagement_score": engagement,
        "open_ticket": 1,  # T-1 open; T-2 was closed by its later event
        "last_complaint_at": "2026-10-25T12:00:00Z",
        "days_since_complaint": 30,
        "consent_email": 1,
        "consent_sms": 0,  # revoked
        "consent_push": 0,  # absent
    }
    assert row == expected
    assert (churn, engagement, round(ltv / orders, 2)) == (0.3108, 0.45, 60.17)


def test_every_column_for_a_customer_who_never_bought(known):
    row = _view(known, "bob")
    # Signed up Aug 26: 5 + 30 + 31 + 24 = 90 days ago; recency runs from signup when never purchased.
    recency = 90 / 180
    churn = round(0.50 * recency + 0.15 * (1 / (1 + 0)) + 0.20 * recency + 0.15 * 0, 4)
    assert churn == 0.5
    assert row == {
        "profile_id": "bob",
        "country": "US",
        "city": None,
        "language": None,
        "tier": "standard",
        "signup_at": "2026-08-26T12:00:00Z",
        "days_since_signup": 90,
        "orders_count": 0,
        "lifetime_value": 0.0,
        "avg_order_value": None,
        "last_purchase_at": None,
        "days_since_purchase": None,
        "favorite_category": None,
        "churn_risk": churn,
        "engagement_score": 0.0,
        "open_ticket": 0,
        "last_complaint_at": None,
        "days_since_complaint": None,
        "consent_email": 0,  # denied
        "consent_sms": 0,
        "consent_push": 0,
    }


def test_view_has_one_row_per_resolved_customer(known):
    assert [r[0] for r in known.execute("SELECT profile_id FROM customer_360 ORDER BY 1")] == ["ann", "bob"]


def test_a_new_event_changes_the_view_at_once(known):
    ingest_events(known, [_purchase("a4", "ann", "2026-11-23T12:00:00Z", 200, "books")])
    row = _view(known, "ann")
    assert (row["orders_count"], row["lifetime_value"], row["days_since_purchase"]) == (4, 380.5, 1)
    # books and shoes now both have 2 orders; books has spent more, so it becomes the favourite.
    assert row["favorite_category"] == "books"


# --- m011: day numbers on profiles, and the view computed from them ---------------------------

_STALE_DAYS = " OR ".join(f"{day} IS NOT julianday({at})" for at, day in DAY_COLUMNS.items())


def _stale_rows(db) -> int:
    return db.execute(f"SELECT count(*) FROM profiles WHERE {_STALE_DAYS}").fetchone()[0]


def _with_m002_view(db) -> None:
    """The view exactly as m002 shipped it (julianday on text), beside the current one."""
    db.conn.execute(
        M002_VIEW.replace(
            "CREATE VIEW customer_360 AS", "CREATE TEMP VIEW IF NOT EXISTS customer_360_m002 AS"
        )
    )


def _differences(db) -> list[tuple]:
    """Rows of either view that the other lacks (EXCEPT compares every value, NULL-aware)."""
    return db.execute(
        "SELECT * FROM (SELECT * FROM customer_360 EXCEPT SELECT * FROM temp.customer_360_m002)"
        " UNION ALL SELECT * FROM (SELECT * FROM temp.customer_360_m002 EXCEPT SELECT * FROM customer_360)"
    ).fetchall()


def test_view_columns_are_the_ones_m002_defined(cdp_db):
    _with_m002_view(cdp_db)
    cols = [r[1] for r in cdp_db.execute("PRAGMA table_info(customer_360)")]
    old = [r[1] for r in cdp_db.execute("PRAGMA temp.table_info(customer_360_m002)")]
    assert cols == old and "signup_day" not in cols


def _random_profiles(rng: random.Random, n: int) -> list[tuple]:
    base = parse_ts("2026-11-24T12:00:00Z")

    def ts(days: float) -> str:
        return iso(base - timedelta(seconds=int(days * 86400)))

    odd = ["2026-02-30T00:00:00Z", "garbage", "", "2026-11-24 12:00:00", "2026-11-24T12:00:00.5Z"]
    rows = []
    for i in range(n):
        signup = rng.uniform(-5, 2000)
        orders = rng.choice([0, 0, 1, 2, 2, 3, 7, 40])
        first = last = None
        if orders:
            first_days = rng.uniform(-2, signup + 1)
            first = ts(first_days)
            last = first if orders == 1 or rng.random() < 0.1 else ts(rng.uniform(-2, first_days))
        if rng.random() < 0.03:  # text julianday() cannot read must give the same NULLs as before
            last = rng.choice(odd)
        eng = ts(rng.uniform(-1, 200)) if rng.random() < 0.6 else None
        complaint = ts(rng.uniform(-1, 200)) if rng.random() < 0.2 else rng.choice([None, None, "nope"])
        rows.append(
            (
                f"p{i}",
                ts(signup) if rng.random() > 0.01 else rng.choice(odd),
                orders,
                round(orders * rng.uniform(0, 300), 2),
                first,
                last,
                rng.randint(0, 40) if eng else 0,
                eng,
                1 if complaint else 0,
                complaint,
                rng.randint(0, 2),
            )
        )
    return rows


def _insert_profiles(db, rows: list[tuple]) -> None:
    with db.conn:
        db.conn.executemany(
            "INSERT INTO profiles (profile_id, signup_at, orders_count, lifetime_value, first_purchase_at,"
            " last_purchase_at, engagement_events, last_engagement_at, complaints_count, last_complaint_at,"
            " open_tickets) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
            rows,
        )


@pytest.mark.parametrize(
    "now", ["2026-11-24T12:00:00Z", "2026-11-24T12:00:01Z", "2031-01-01T00:00:00Z", None]
)
def test_day_number_view_gives_exactly_the_m002_values(cdp_db, now):
    """Same columns, same values, bit for bit, on 3000 profiles with odd and missing timestamps."""
    db = cdp_db
    _insert_profiles(db, _random_profiles(random.Random(11), 3000))
    set_clock(db, now)
    _with_m002_view(db)
    assert _stale_rows(db) == 0
    assert db.execute("SELECT count(*) FROM customer_360").fetchone()[0] == 3000
    assert _differences(db) == []
    if now == "2031-01-01T00:00:00Z":
        return  # years later nearly everyone is at the caps; the clocks near the data check spread
    # the figures really vary, so the comparison above is not between two columns of NULLs
    spread = db.execute(
        "SELECT count(DISTINCT churn_risk), count(DISTINCT engagement_score), count(days_since_purchase)"
        " FROM customer_360"
    ).fetchone()
    assert spread[0] > 500 and spread[1] > 500 and spread[2] > 1000


@settings(max_examples=40, deadline=None)
@given(
    stamps=st.lists(
        st.tuples(
            st.datetimes(min_value=datetime(2000, 1, 1), max_value=datetime(2040, 1, 1)),
            st.none() | st.datetimes(min_value=datetime(2000, 1, 1), max_value=datetime(2040, 1, 1)),
            st.integers(0, 5),
        ),
        min_size=1,
        max_size=20,
    )
)
def test_day_numbers_follow_every_update_path(tmp_path_factory, stamps):
    """Insert, update of a timestamp, a direct write to a day column: the day numbers stay julianday()."""
    db = open_cdp(tmp_path_factory.mktemp("days") / "cdp.db")
    try:
        rows = [
            (f"p{i}", iso(a), orders, 0.0, iso(b) if b else None, iso(b) if b else None, 0, None, 0, None, 0)
            for i, (a, b, orders) in enumerate(stamps)
        ]
        _insert_profiles(db, rows)
        assert _stale_rows(db) == 0
        with db.conn:
            db.conn.execute("UPDATE profiles SET last_purchase_at = signup_at WHERE orders_count % 2 = 0")
            db.conn.execute("UPDATE profiles SET signup_at = COALESCE(first_purchase_at, signup_at)")
            db.conn.execute("UPDATE profiles SET last_complaint_day = 1, signup_day = NULL")
            db.conn.execute("UPDATE profiles SET last_engagement_at = signup_at, last_engagement_day = 0")
            db.conn.execute(
                "INSERT INTO profiles (profile_id, signup_at) VALUES ('p0', '2030-01-01T00:00:00Z')"
                " ON CONFLICT (profile_id) DO UPDATE SET signup_at = excluded.signup_at"
            )
        assert _stale_rows(db) == 0
    finally:
        db.conn.close()


def test_day_numbers_after_events_recompute_and_bulk_load(known):
    db = known
    assert _stale_rows(db) == 0
    assert (
        db.execute("SELECT last_purchase_day FROM profiles WHERE profile_id = 'ann'").fetchone()[0]
        == (db.execute("SELECT julianday('2026-10-25T12:00:00Z')").fetchone()[0])
    )
    with db.conn:
        db.conn.execute("UPDATE profiles SET first_purchase_day = 0, last_complaint_day = NULL")
    with db.conn:
        db.conn.execute("DROP TRIGGER profiles_first_purchase_day")  # prove recompute writes them itself
        stats.recompute(db)
    assert _stale_rows(db) == 0
    with db.conn:
        db.conn.execute(M011_TRIGGERS["profiles_first_purchase_day"])
    with stats.triggers_dropped(db):
        ingest_events(db, [_purchase("late", "bob", "2026-11-23T12:00:00Z", 5, "toys")])
    assert _stale_rows(db) == 0
    assert _view(db, "bob")["days_since_purchase"] == 1


def test_seeded_cdp_has_current_day_numbers(cdp_db):
    seed_cdp(cdp_db, customers=300, seed=5)
    assert (
        cdp_db.execute("SELECT count(*) FROM profiles WHERE last_purchase_day IS NOT NULL").fetchone()[0] > 0
    )
    assert _stale_rows(cdp_db) == 0
    _with_m002_view(cdp_db)
    assert _differences(cdp_db) == []


# --- the clock: pinned until CDP_NOW or set_clock changes it --------------------------------------


def _stored_clock(path) -> str | None:
    conn = sqlite3.connect(path)
    try:
        return conn.execute("SELECT now FROM cdp_clock WHERE id = 1").fetchone()[0]
    finally:
        conn.close()


def test_opening_without_cdp_now_keeps_a_clock_set_elsewhere(cdp_path, monkeypatch):
    simulator = open_cdp(cdp_path)
    set_clock(simulator, "2027-03-01T08:00:00Z")
    monkeypatch.delenv("CDP_NOW")
    other = open_cdp(cdp_path)  # another process opening the CDP while the simulation runs
    assert _stored_clock(cdp_path) == "2027-03-01T08:00:00Z"
    assert now_iso(other) == "2027-03-01T08:00:00Z"
    set_clock(simulator, None)  # back to wall time
    assert _stored_clock(cdp_path) is None
    open_cdp(cdp_path).conn.close()
    assert _stored_clock(cdp_path) is None
    simulator.conn.close()
    other.conn.close()


def test_cdp_now_is_written_at_open(cdp_path, monkeypatch):
    db = open_cdp(cdp_path)
    set_clock(db, "2027-03-01T08:00:00Z")
    db.conn.close()
    monkeypatch.setenv("CDP_NOW", "2030-01-02T03:04:05+00:00")
    open_cdp(cdp_path).conn.close()
    assert _stored_clock(cdp_path) == "2030-01-02T03:04:05Z"


def test_a_simulation_owns_the_clock_until_it_hands_it_back(cdp_path, monkeypatch):
    from cdp.clock import SIMULATION

    db = open_cdp(cdp_path)
    set_clock(db, "2026-11-30T12:00:00Z", by=SIMULATION)  # days after CDP_NOW (2026-11-24)
    open_cdp(cdp_path).conn.close()  # a tool's first open in a fresh process, CDP_NOW still set
    assert _stored_clock(cdp_path) == "2026-11-30T12:00:00Z"
    monkeypatch.setenv("CDP_NOW", "2027-01-01T00:00:00Z")  # a later pin still wins
    open_cdp(cdp_path).conn.close()
    assert _stored_clock(cdp_path) == "2027-01-01T00:00:00Z"
    set_clock(db, "2027-02-01T00:00:00Z", by=SIMULATION)
    set_clock(db, "2027-02-02T00:00:00Z")  # handed back
    open_cdp(cdp_path).conn.close()
    assert _stored_clock(cdp_path) == "2027-01-01T00:00:00Z"
    db.conn.close()
