"""Every `customer_360` column against values computed by hand for a small, known CDP.

Clock: CDP_NOW = 2026-11-24T12:00:00Z (tests/conftest.py). All event times are at 12:00 UTC so day
counts are whole numbers.
"""

from __future__ import annotations

import pytest

from cdp.ingest import add_identities, ingest_events, upsert_consents, upsert_profiles


def _view(db, pid: str) -> dict:
    cur = db.execute("SELECT * FROM customer_360 WHERE profile_id = ?", [pid])
    return dict(zip([d[0] for d in cur.description], cur.fetchone(), strict=True))


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
