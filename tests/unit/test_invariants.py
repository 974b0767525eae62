"""The invariant checker bites: on a CDP where each promise was broken on purpose (with the database
guards dropped, as a careless client could), it fails and names the broken check."""

from __future__ import annotations

import pytest

from cdp import clock
from cdp.delivery import deliver_due
from tests.invariants import assert_promise_holds, promise_violations
from tests.unit.test_gate import NO_HOLDOUT, NOW, add_campaign, add_profile, at, gate

GUARDS = ("sends_gate_only", "sends_gate_fields_fixed", "sends_delivered_needs_consent", "sends_time_fixed")


@pytest.fixture
def db(cdp_db):
    clock.set_clock(cdp_db, NOW)
    add_profile(cdp_db, "p1", country="US", consents={"email": "granted", "sms": "granted"})
    add_campaign(cdp_db, "c1", discount_pct=10, offer_category="shoes")
    assert gate(cdp_db, "c1", ["p1"], "email", send_at=at(hours=2)).scheduled == 1
    assert deliver_due(cdp_db, until=at(hours=3), policy=NO_HOLDOUT).delivered == 1
    assert_promise_holds(cdp_db)  # a clean CDP passes
    with cdp_db.conn:
        for name in GUARDS:
            cdp_db.execute(f"DROP TRIGGER {name}")
    return cdp_db


def copy_send(db, n: int, **cols) -> None:
    """A raw copy of c1's send with some columns changed (what no guard stops once they are dropped)."""
    values = {"send_id": f"x{n}", "idempotency_key": f"x{n}", **cols}
    names = [r[1] for r in db.execute("PRAGMA table_info(sends)")]
    select = ", ".join(f":{c}" if c in values else c for c in names)
    with db.conn:
        db.execute(
            f"INSERT INTO sends ({', '.join(names)}) SELECT {select} FROM sends WHERE send_id = 'c1:p1:email:0'",
            values,
        )


def event(db, etype: str, ts: str, **props) -> None:
    import json

    with db.conn:
        db.execute(
            "INSERT INTO events (message_id, profile_id, type, ts, properties) VALUES (?, 'p1', ?, ?, ?)",
            [f"{etype}-{ts}", etype, ts, json.dumps(props)],
        )


def break_consent(db):
    with db.conn:  # a revocation recorded before the delivery moment
        db.execute(
            "INSERT INTO consent_history (profile_id, channel, status, updated_at, source) "
            "VALUES ('p1', 'email', 'revoked', ?, 'test')",
            [at(hours=1)],
        )


def break_cap(db):
    for n in range(3):
        copy_send(
            db, n, campaign_id=f"k{n}", scheduled_for=at(days=1 + n), delivered_at=None, status="scheduled"
        )


def break_ticket(db):
    event(db, "support_ticket", at(hours=1), ticket_id="T1", status="open")


def break_complaint(db):
    event(db, "complaint", at(days=-3))


def break_quiet_hours(db):
    copy_send(db, 1, campaign_id="q1", channel="sms", scheduled_for="2026-11-25T03:00:00Z", delivered_at=None)


def break_offers(db):
    add_campaign(db, "c2", discount_pct=20, offer_category="shoes")
    copy_send(db, 1, campaign_id="c2", scheduled_for=at(days=1), status="scheduled", delivered_at=None)


def break_duplicates(db):
    copy_send(db, 1, status="scheduled", delivered_at=None)


@pytest.mark.parametrize(
    ("attack", "check"),
    [
        (break_consent, "consent_at_delivery"),
        (break_cap, "frequency_cap"),
        (break_ticket, "open_ticket_at_delivery"),
        (break_complaint, "recent_complaint_at_delivery"),
        (break_quiet_hours, "quiet_hours_at_delivery"),
        (break_offers, "contradicting_offers"),
        (break_duplicates, "duplicate_sends"),
    ],
)
def test_the_checker_fails_on_each_forced_violation(db, attack, check):
    attack(db)
    assert check in promise_violations(db)
    with pytest.raises(AssertionError, match=check):
        assert_promise_holds(db)
