"""Identity merges decide the master's scheduled sends again: no duplicate, no over-cap, no send
without the master's consent, each cancellation with its reason. Counted in SQL."""

from __future__ import annotations

import pytest

from cdp import clock
from cdp.delivery import deliver_due
from cdp.explain import explain_customer
from cdp.ingest import add_identities
from tests.unit.test_gate import NO_HOLDOUT, NOW, add_campaign, add_profile, at, gate

CAP, WINDOW = 3, 7


@pytest.fixture
def db(cdp_db):
    clock.set_clock(cdp_db, NOW)
    return cdp_db


def over_cap(db) -> int:
    """Live promotional sends with `CAP` or more other live promotional sends of their customer within
    the window: any rolling window over the cap has such a send."""
    return db.execute(
        f"""SELECT count(*) FROM sends s WHERE s.status IN ('scheduled', 'delivered') AND s.promotional = 1
            AND (SELECT count(*) FROM sends o WHERE o.profile_id = s.profile_id AND o.send_id != s.send_id
                   AND o.status IN ('scheduled', 'delivered') AND o.promotional = 1
                   AND o.scheduled_for > strftime('%Y-%m-%dT%H:%M:%SZ', s.scheduled_for, '-{WINDOW} days')
                   AND o.scheduled_for <= s.scheduled_for) >= {CAP}"""
    ).fetchone()[0]


def duplicates(db) -> int:
    return db.execute(
        """SELECT count(*) FROM (SELECT 1 FROM sends WHERE status IN ('scheduled', 'delivered')
           GROUP BY campaign_id, profile_id, step HAVING count(*) > 1)"""
    ).fetchone()[0]


def without_consent(db) -> int:
    return db.execute(
        """SELECT count(*) FROM sends s WHERE s.status = 'scheduled' AND NOT EXISTS (
               SELECT 1 FROM consents c WHERE c.profile_id = s.profile_id AND c.channel = s.channel
                 AND c.status = 'granted')"""
    ).fetchone()[0]


def test_merge_cancels_duplicates_over_cap_and_unconsented_sends_with_reasons(db):
    add_profile(db, "a", consents={"email": "granted", "sms": "revoked"}, consent_at="2026-06-01T00:00:00Z")
    add_profile(db, "b", consents={"email": "granted", "sms": "granted"}, consent_at="2026-02-01T00:00:00Z")
    with db.conn:  # a signed up first: a is the master
        db.execute("UPDATE profiles SET signup_at = '2025-01-01T00:00:00Z' WHERE profile_id = 'a'")
    for n in range(5):
        add_campaign(db, f"c{n}")
    assert gate(db, "c0", ["a"], send_at=at(hours=1)).scheduled == 1
    assert deliver_due(db, until=at(hours=2), policy=NO_HOLDOUT).delivered == 1  # counts for the cap
    assert gate(db, "c1", ["a", "b"], send_at=at(days=1)).scheduled == 2  # both: a duplicate after merge
    assert gate(db, "c2", ["b"], send_at=at(days=2)).scheduled == 1
    assert gate(db, "c3", ["a"], send_at=at(days=3)).scheduled == 1
    assert gate(db, "c4", ["b"], "sms", send_at=at(days=1, hours=2)).scheduled == 1
    assert db.execute("SELECT count(*) FROM sends WHERE status = 'scheduled'").fetchone()[0] == 5

    res = add_identities(
        db,
        [
            {"profile_id": "a", "kind": "email", "value": "same@example.com"},
            {"profile_id": "b", "kind": "email", "value": "same@example.com"},
        ],
    )
    assert res.resolution is not None and res.resolution.merged == 1
    assert res.resolution.cancelled_sends == {"duplicate_request": 1, "frequency_cap": 1, "no_consent": 1}
    assert db.execute("SELECT DISTINCT profile_id FROM sends").fetchall() == [("a",)]
    # before the merge: a has c0 (delivered), c1 and c3; b has c1, c2 and an SMS (c4), which a revoked

    assert (over_cap(db), duplicates(db), without_consent(db)) == (0, 0, 0)
    cancelled = dict(
        db.execute(
            """SELECT d.reason_code, count(*) FROM sends s JOIN decisions d
                 ON d.campaign_id = s.campaign_id AND d.profile_id = s.profile_id AND d.step = s.step
               WHERE s.status = 'cancelled' AND d.outcome = 'cancelled' GROUP BY d.reason_code"""
        ).fetchall()
    )
    assert cancelled == {"duplicate_request": 1, "no_consent": 1, "frequency_cap": 1}
    # every cancelled send has its decision, with a reason and evidence of the merge
    assert (
        db.execute(
            """SELECT count(*) FROM sends s WHERE s.status = 'cancelled' AND NOT EXISTS (
               SELECT 1 FROM decisions d WHERE d.campaign_id = s.campaign_id AND d.profile_id = s.profile_id
                 AND d.step = s.step AND d.outcome = 'cancelled' AND d.reason_code IS NOT NULL
                 AND json_extract(d.evidence, '$.stage') = 'merge')"""
        ).fetchone()[0]
        == 0
    )
    assert db.execute("SELECT count(*) FROM sends WHERE status = 'cancelled'").fetchone()[0] == 3
    # the one live c1 send is the master's own (consented, decided first)
    assert db.execute(
        "SELECT send_id FROM sends WHERE campaign_id = 'c1' AND status = 'scheduled'"
    ).fetchall() == [("c1:a:email:0",)]
    texts = {e["campaign_id"]: e["explanation"] for e in explain_customer(db, "b")}
    assert texts["c4"].startswith("Cancelled when profiles were merged: SMS consent was revoked")
    assert texts["c1"].startswith("Scheduled by email")
    # and delivery afterwards sends only what the merge kept
    out = deliver_due(db, until=at(days=10), policy=NO_HOLDOUT)
    assert (out.delivered, out.cancelled) == (2, {})


def test_merge_without_conflicts_keeps_every_send(db):
    add_profile(db, "a")
    add_profile(db, "b")
    add_campaign(db, "c1")
    add_campaign(db, "c2")
    assert gate(db, "c1", ["a"], send_at=at(days=1)).scheduled == 1
    assert gate(db, "c2", ["b"], send_at=at(days=2)).scheduled == 1
    add_identities(
        db,
        [
            {"profile_id": "a", "kind": "phone", "value": "+15550001111"},
            {"profile_id": "b", "kind": "phone", "value": "+1 555 000 1111"},
        ],
    )
    assert db.execute("SELECT count(*) FROM sends WHERE status = 'scheduled'").fetchone()[0] == 2
    assert db.execute("SELECT count(*) FROM decisions WHERE outcome = 'cancelled'").fetchone()[0] == 0
