"""The delivery step: a send the gate allowed is checked again, on the customer's state when it goes out.

Each test changes the customer's state between scheduling and delivery the way life (or an attacker)
would, then counts delivered and cancelled sends and their decisions in SQL.
"""

from __future__ import annotations

import json
import re
from pathlib import Path

import pytest

from cdp import clock
from cdp.delivery import DeliveryError, deliver_due, deliver_in_transaction
from cdp.explain import explain_customer
from cdp.gate import immediate_transaction
from cdp.policy import ContactPolicy
from tests.unit.test_gate import NOW, add_campaign, add_profile, at, decision, gate

POLICY = ContactPolicy(holdout_pct=0)


@pytest.fixture
def db(cdp_db):
    clock.set_clock(cdp_db, NOW)
    return cdp_db


def counts(db, cid: str) -> dict[str, int]:
    """Sends of a campaign by status, and its cancellation decisions, straight from SQL."""
    out = dict(
        db.execute(
            "SELECT status, count(*) FROM sends WHERE campaign_id = ? GROUP BY status", [cid]
        ).fetchall()
    )
    out["cancel_decisions"] = db.execute(
        "SELECT count(*) FROM decisions WHERE campaign_id = ? AND outcome = 'cancelled'", [cid]
    ).fetchone()[0]
    return out


def event(db, pid: str, etype: str, ts: str, **props) -> None:
    with db.conn:
        db.execute(
            "INSERT INTO events (message_id, profile_id, type, ts, properties) VALUES (?, ?, ?, ?, ?)",
            [f"{etype}-{pid}-{ts}", pid, etype, ts, json.dumps(props)],
        )


def test_sms_deferred_to_0700_is_cancelled_when_consent_is_revoked_at_2310(db):
    """The reproduction: deferred by quiet hours to 07:00, unsubscribed at 23:10 the evening before."""
    quiet = ContactPolicy(holdout_pct=0, quiet_hours_start=21, quiet_hours_end=7)
    add_profile(db, "gb", country="GB", consents={"sms": "granted"})
    add_profile(db, "ok", country="GB", consents={"sms": "granted"})
    add_campaign(db, "c1")
    result = gate(db, "c1", ["gb", "ok"], "sms", send_at="2026-11-24T22:00:00Z", policy=quiet)
    assert (result.scheduled, result.deferred) == (2, 2)
    assert db.execute("SELECT DISTINCT scheduled_for FROM sends WHERE campaign_id = 'c1'").fetchall() == [
        ("2026-11-25T07:00:00Z",)
    ]
    clock.set_clock(db, "2026-11-24T23:10:00Z")
    event(db, "gb", "unsubscribe", "2026-11-24T23:10:00Z", channel="sms")
    clock.set_clock(db, "2026-11-25T07:00:00Z")
    out = deliver_due(db, policy=quiet)
    assert (out.due, out.delivered, out.cancelled) == (2, 1, {"no_consent": 1})
    assert out.delivered_ids == ["c1:ok:sms:0"]
    assert counts(db, "c1") == {"delivered": 1, "cancelled": 1, "cancel_decisions": 1}
    d = decision(db, "c1", "gb")
    assert (d["outcome"], d["reason_code"], d["channel"]) == ("cancelled", "no_consent", "sms")
    assert d["evidence"]["consent"]["status"] == "revoked"
    assert d["evidence"]["consent"]["updated_at"] == "2026-11-24T23:10:00Z"
    assert d["evidence"]["stage"] == "delivery"
    (entry,) = explain_customer(db, "gb")
    assert entry["outcome"] == "cancelled"
    assert entry["explanation"].startswith("Cancelled at delivery: SMS consent was revoked on 2026-11-24")
    # Nothing more is due, and a second call changes nothing.
    assert deliver_due(db, policy=quiet).due == 0
    assert counts(db, "c1") == {"delivered": 1, "cancelled": 1, "cancel_decisions": 1}


def test_ticket_opened_after_scheduling_cancels_the_promotion(db):
    add_profile(db, "t1")
    add_profile(db, "t2")
    add_campaign(db, "c1")
    assert gate(db, "c1", ["t1", "t2"], send_at=at(days=1)).scheduled == 2
    event(db, "t1", "support_ticket", at(hours=2), ticket_id="T1", status="open")
    out = deliver_due(db, until=at(days=2), policy=POLICY)
    assert (out.delivered, out.cancelled) == (1, {"open_ticket": 1})
    assert counts(db, "c1") == {"delivered": 1, "cancelled": 1, "cancel_decisions": 1}
    d = decision(db, "c1", "t1")
    assert d["evidence"]["open_ticket_ids"] in ('["T1"]', ["T1"])
    assert "open support ticket" in explain_customer(db, "t1")[0]["explanation"]


def test_complaint_after_scheduling_cancels_within_the_window_only(db):
    add_profile(db, "new")
    add_profile(db, "old")
    add_campaign(db, "c1")
    assert gate(db, "c1", ["new", "old"], send_at=at(days=10)).scheduled == 2
    event(db, "new", "complaint", at(days=1))
    # a complaint 31 days before the delivery moment is outside the 30-day window
    event(db, "old", "complaint", at(days=10 - 31))
    out = deliver_due(db, until=at(days=11), policy=POLICY)
    assert (out.delivered, out.cancelled) == (1, {"recent_complaint": 1})
    assert decision(db, "c1", "new")["reason_code"] == "recent_complaint"
    assert decision(db, "c1", "old") is None


def test_suppression_trait_set_after_scheduling_cancels(db):
    add_profile(db, "s1")
    add_profile(db, "s2")
    add_campaign(db, "c1")
    assert gate(db, "c1", ["s1", "s2"], send_at=at(days=1)).scheduled == 2
    with db.conn:
        db.execute(
            "INSERT INTO traits VALUES ('s1', 'suppress_promotions', '1', 'customer_service', ?)", [NOW]
        )
        db.execute(
            "INSERT INTO traits VALUES ('s2', 'suppress_promotions', '0', 'customer_service', ?)", [NOW]
        )
    out = deliver_due(db, until=at(days=2), policy=POLICY)
    assert (out.delivered, out.cancelled) == (1, {"service_suppression": 1})
    assert counts(db, "c1") == {"delivered": 1, "cancelled": 1, "cancel_decisions": 1}


def test_a_late_dispatcher_does_not_send_sms_into_the_quiet_hours(db):
    """Scheduled at 20:30 New York time, but the dispatcher only runs at 21:30: cancelled, not sent."""
    add_profile(db, "us", country="US", consents={"sms": "granted", "email": "granted"})
    add_campaign(db, "c1")
    add_campaign(db, "c2")
    send_at = "2026-11-25T01:30:00Z"  # 20:30 EST
    assert gate(db, "c1", ["us"], "sms", send_at=send_at).scheduled == 1
    assert gate(db, "c2", ["us"], "email", send_at=send_at).scheduled == 1
    clock.set_clock(db, "2026-11-25T02:30:00Z")  # 21:30 EST
    out = deliver_due(db, policy=POLICY)
    assert (out.delivered, out.cancelled) == (1, {"quiet_hours": 1})  # email is not held by quiet hours
    d = decision(db, "c1", "us")
    assert (d["reason_code"], d["evidence"]["local_time"], d["evidence"]["timezone"]) == (
        "quiet_hours",
        "2026-11-24 21:30",
        "America/New_York",
    )
    assert db.execute("SELECT delivered_at FROM sends WHERE campaign_id = 'c2'").fetchone()[0] == (
        "2026-11-25T02:30:00Z"
    )
    assert "quiet hours" in explain_customer(db, "us", "c1")[0]["explanation"]


def test_cap_at_delivery_counts_what_was_already_delivered(db):
    """Three promotions scheduled under a cap of 3; the cap is lowered to 2 before they go out."""
    add_profile(db, "p1")
    for n in range(3):
        add_campaign(db, f"c{n}")
        assert gate(db, f"c{n}", ["p1"], send_at=at(days=1 + n)).scheduled == 1
    lowered = ContactPolicy(holdout_pct=0, frequency_cap=2)
    first = deliver_due(db, until=at(days=1, hours=1), policy=lowered)
    assert first.delivered == 1
    rest = deliver_due(db, until=at(days=5), policy=lowered)
    assert (rest.due, rest.delivered, rest.cancelled) == (2, 1, {"frequency_cap": 1})
    assert db.execute("SELECT count(*) FROM sends WHERE status = 'delivered'").fetchone()[0] == 2
    d = decision(db, "c2", "p1")
    assert (d["reason_code"], d["evidence"]["sends_in_window"], d["evidence"]["cap"]) == (
        "frequency_cap",
        2,
        2,
    )


def test_one_batch_never_delivers_over_the_cap(db):
    add_profile(db, "p1")
    for n in range(3):
        add_campaign(db, f"c{n}")
        assert gate(db, f"c{n}", ["p1"], send_at=at(hours=1 + n)).scheduled == 1
    out = deliver_due(db, until=at(days=1), policy=ContactPolicy(holdout_pct=0, frequency_cap=1))
    assert (out.delivered, out.cancelled) == (1, {"frequency_cap": 2})
    assert out.delivered_ids == ["c0:p1:email:0"]


def test_batches_by_campaign_and_limit_leave_the_rest_scheduled(db):
    for pid in ("a", "b", "c"):
        add_profile(db, pid)
    add_campaign(db, "c1")
    add_campaign(db, "c2")
    assert gate(db, "c1", ["a", "b", "c"], send_at=at(hours=1)).scheduled == 3
    assert gate(db, "c2", ["a"], send_at=at(hours=2)).scheduled == 1
    out = deliver_due(db, until=at(days=1), policy=POLICY, campaign_id="c1", limit=2)
    assert (out.due, out.delivered) == (2, 2)
    assert counts(db, "c1") == {"delivered": 2, "scheduled": 1, "cancel_decisions": 0}
    assert counts(db, "c2") == {"scheduled": 1, "cancel_decisions": 0}
    # not yet due by the clock: nothing goes out
    assert deliver_due(db, policy=POLICY).due == 0
    assert deliver_due(db, until=at(days=1), policy=POLICY).delivered == 2
    assert db.execute("SELECT count(*) FROM sends WHERE status = 'scheduled'").fetchone()[0] == 0


def test_bad_arguments_and_transactions_are_refused(db):
    with pytest.raises(DeliveryError, match="limit"):
        deliver_due(db, limit=0)
    with pytest.raises(DeliveryError, match="ISO"):
        deliver_due(db, until="tomorrow")
    with pytest.raises(DeliveryError, match="transaction"):
        deliver_in_transaction(db.conn)
    with immediate_transaction(db.conn):
        assert deliver_in_transaction(db.conn).due == 0


def test_the_simulator_delivers_through_the_delivery_step(db):
    """An unsubscribe written before the send is due stops it in the simulated day too."""
    from cdp.simulate import simulate_day

    for pid in ("a", "b"):
        add_profile(db, pid)
    add_campaign(db, "c1")
    assert gate(db, "c1", ["a", "b"], send_at=at(hours=6)).scheduled == 2
    event(db, "a", "unsubscribe", at(hours=1), channel="email")
    day = simulate_day(db, "c1", 1, launched_at=NOW, policy=POLICY)
    assert (day.delivered, day.cancelled) == (1, 1)
    assert counts(db, "c1") == {"delivered": 1, "cancelled": 1, "cancel_decisions": 1}
    assert decision(db, "c1", "a")["reason_code"] == "no_consent"
    assert db.execute("SELECT count(*) FROM simulated_responses WHERE campaign_id = 'c1'").fetchone()[0] == 1


_MARKS_DELIVERED = re.compile(
    r"UPDATE\s+(OR\s+\w+\s+)?sends\s+SET\b[^;\"]*?\bstatus\s*=\s*'delivered'", re.I | re.S
)
_ROOT = Path(__file__).resolve().parents[2]


def test_no_product_code_but_the_delivery_step_marks_sends_delivered():
    offenders = []
    for path in sorted(_ROOT.rglob("*.py")):
        rel = path.relative_to(_ROOT)
        if rel.parts[0] in {".venv", "build", ".git", "tests", "node_modules"} or rel == Path(
            "cdp/delivery.py"
        ):
            continue
        text = path.read_text(encoding="utf-8", errors="replace")
        offenders += [f"{rel}: {m.group(0)[:80]}" for m in _MARKS_DELIVERED.finditer(text)]
    assert not offenders, "only cdp/delivery.py may mark sends delivered:\n" + "\n".join(offenders)
    assert _MARKS_DELIVERED.search((_ROOT / "cdp/delivery.py").read_text())  # the scan sees the real one
