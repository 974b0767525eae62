"""The database backstop of migration m070, attacked the way a careless SQLite client would, raw."""

from __future__ import annotations

import sqlite3

import pytest

from cdp import clock
from cdp.delivery import deliver_due
from tests.invariants import promise_violations
from tests.unit.test_gate import NOW, add_campaign, add_profile, at, gate


@pytest.fixture
def db(cdp_db):
    clock.set_clock(cdp_db, NOW)
    add_profile(cdp_db, "a", consents={"email": "granted"})
    add_campaign(cdp_db, "c1", offer_kind="welcome")
    assert gate(cdp_db, "c1", ["a"], "email", send_at=NOW).scheduled == 1
    return cdp_db


def raw(db, sql: str, params=()) -> None:
    with db.conn:
        db.execute(sql, list(params))


def _raw_send(db, campaign_id: str, promotional: int) -> None:
    raw(
        db,
        "INSERT INTO send_requests (campaign_id, profile_id, channel, step, variant, send_at, requested_at) "
        "VALUES (?, 'a', 'email', 9, 'default', ?, ?)",
        [campaign_id, NOW, NOW],
    )
    raw(
        db,
        """INSERT INTO sends (send_id, campaign_id, profile_id, channel, variant, status, idempotency_key,
               step, scheduled_for, requested_for, promotional, cost, rule, consent_status, created_at)
           VALUES (?, ?, 'a', 'email', 'default', 'scheduled', ?, 9, ?, ?, ?, 0.01, 'allowed', 'granted', ?)""",
        [f"x-{campaign_id}", campaign_id, f"x-{campaign_id}", NOW, NOW, promotional, NOW],
    )


@pytest.mark.parametrize("promotional", [0, None, 2])
def test_a_raw_send_cannot_claim_to_be_transactional_for_a_marketing_campaign(db, promotional):
    """Delivery reads a send's own flag: a raw insert saying 0 would skip the ticket and cap checks."""
    with pytest.raises(sqlite3.IntegrityError, match="exempt from the marketing rules"):
        _raw_send(db, "c1", promotional)
    assert db.execute("SELECT count(*) FROM sends WHERE send_id = 'x-c1'").fetchone()[0] == 0


def test_a_transactional_campaign_a_person_configured_may_write_non_promotional_sends(db):
    raw(db, "INSERT INTO transactional_message_kinds (kind, configured_by, configured_at) VALUES "
        "('order_confirmation', 'ops', ?)", [NOW])  # fmt: skip
    add_campaign(db, "t1", promotional=0, message_kind="order_confirmation")
    _raw_send(db, "t1", 0)
    assert db.execute("SELECT promotional FROM sends WHERE send_id = 'x-t1'").fetchone()[0] == 0


def test_a_delivered_send_cannot_be_revived_and_delivered_twice(db):
    assert deliver_due(db, until=at(hours=1)).delivered == 1
    for sql in (
        "UPDATE sends SET status = 'scheduled', delivered_at = NULL WHERE campaign_id = 'c1'",
        "UPDATE sends SET status = 'scheduled' WHERE campaign_id = 'c1'",
        "UPDATE sends SET delivered_at = '2026-11-25T00:00:00Z' WHERE campaign_id = 'c1'",
    ):
        with pytest.raises(sqlite3.IntegrityError, match=r"written once|cannot be revived"):
            raw(db, sql)
    assert deliver_due(db, until=at(days=2)).delivered == 0
    assert db.execute("SELECT status FROM sends WHERE campaign_id = 'c1'").fetchone()[0] == "delivered"


@pytest.mark.parametrize(
    "state",
    [
        "INSERT INTO tickets (ticket_id, profile_id, status, opened_at, updated_at) "
        "VALUES ('t1', 'a', 'open', '2026-11-24T11:00:00Z', '2026-11-24T11:00:00Z')",
        "INSERT INTO traits (profile_id, name, value, source, updated_at) "
        "VALUES ('a', 'suppress_promotions', '1', 'service', '2026-11-24T11:00:00Z')",
    ],
    ids=["open_ticket", "service_pause"],
)
def test_a_raw_update_cannot_deliver_a_promotion_to_a_customer_who_must_not_get_one(db, state):
    raw(db, state)
    with pytest.raises(sqlite3.IntegrityError, match="open ticket or a service pause"):
        raw(db, "UPDATE sends SET status = 'delivered', delivered_at = ? WHERE campaign_id = 'c1'", [NOW])
    # the delivery step itself cancels it instead, with its reason
    result = deliver_due(db, until=at(hours=1))
    assert result.delivered == 0 and sum(result.cancelled.values()) == 1
    assert promise_violations(db.conn) == {}


@pytest.mark.parametrize(
    ("column", "value"),
    [
        ("offer_kind", "'last_chance'"),
        ("offer_kind", "NULL"),
        ("discount_pct", "40"),
        ("offer_category", "'shoes'"),
        ("offer_expires_at", "'2026-11-25T00:00:00Z'"),
    ],
)
def test_a_campaign_offer_is_frozen_once_it_has_live_sends(db, column, value):
    with pytest.raises(sqlite3.IntegrityError, match=r"offer .* is fixed"):
        raw(db, f"UPDATE campaigns SET {column} = {value} WHERE campaign_id = 'c1'")
    # before any send, a draft's offer may still change
    add_campaign(db, "draft")
    raw(db, f"UPDATE campaigns SET {column} = {value} WHERE campaign_id = 'draft'")
