"""The database backstop on updates of `sends` (migration m063): what any SQLite client tries, raw."""

from __future__ import annotations

import sqlite3

import pytest

from cdp import clock
from tests.unit.test_gate import NOW, add_campaign, add_profile, at, gate


@pytest.fixture
def db(cdp_db):
    clock.set_clock(cdp_db, NOW)
    add_profile(cdp_db, "ok", country="US", consents={"email": "granted", "sms": "granted"})
    add_profile(cdp_db, "nocon", country="US", consents={"email": "revoked"})
    add_profile(cdp_db, "other", country="US", consents={"email": "granted", "sms": "granted"})
    add_campaign(cdp_db, "c1")
    add_campaign(cdp_db, "c2")
    assert gate(cdp_db, "c1", ["ok"], "email", send_at=at(days=1)).scheduled == 1
    assert gate(cdp_db, "c2", ["ok"], "sms", send_at="2026-11-25T15:00:00Z").scheduled == 1
    return cdp_db


def raw(db, sql: str, params=()) -> None:
    with db.conn:
        db.execute(sql, list(params))


def test_a_send_cannot_be_repointed_to_a_customer_without_consent(db):
    with pytest.raises(sqlite3.IntegrityError, match="follow its customer"):
        raw(db, "UPDATE sends SET profile_id = 'nocon' WHERE campaign_id = 'c1'")
    assert db.execute("SELECT profile_id FROM sends WHERE campaign_id = 'c1'").fetchone()[0] == "ok"


def test_a_send_cannot_be_repointed_to_another_consented_customer_either(db):
    """Only a merge moves a send, and only into the master its profile was merged into."""
    with pytest.raises(sqlite3.IntegrityError, match="follow its customer"):
        raw(db, "UPDATE sends SET profile_id = 'other' WHERE campaign_id = 'c1'")
    # a recorded merge into a master without consent is refused for a scheduled send too
    raw(
        db,
        "INSERT INTO profile_merges (merged_profile_id, master_profile_id, merged_at) VALUES ('ok', 'nocon', ?)",
        [NOW],
    )
    with pytest.raises(sqlite3.IntegrityError, match="granted consent"):
        raw(db, "UPDATE sends SET profile_id = 'nocon' WHERE campaign_id = 'c1'")


def test_a_send_cannot_be_moved_in_time_into_quiet_hours_or_earlier(db):
    for new in ("2026-11-25T03:00:00Z", at(hours=1), "2026-11-26T15:00:00Z"):  # 22:00 EST, earlier, later
        with pytest.raises(sqlite3.IntegrityError, match="time of a send is fixed"):
            raw(db, "UPDATE sends SET scheduled_for = ? WHERE campaign_id = 'c2'", [new])
    with pytest.raises(sqlite3.IntegrityError, match="time of a send is fixed"):
        raw(db, "UPDATE sends SET requested_for = ? WHERE campaign_id = 'c2'", [at(hours=1)])
    assert db.execute("SELECT scheduled_for FROM sends WHERE campaign_id = 'c2'").fetchone()[0] == (
        "2026-11-25T18:00:00Z"  # no city: 08:00 in every US zone, Honolulu's included
    )


def test_a_send_cannot_be_marked_delivered_after_consent_is_revoked(db):
    raw(db, "UPDATE consents SET status = 'revoked', updated_at = ? WHERE profile_id = 'ok'", [NOW])
    with pytest.raises(sqlite3.IntegrityError, match="delivered only by the delivery step"):
        raw(db, "UPDATE sends SET status = 'delivered' WHERE campaign_id = 'c1'")
    # cancelling is always allowed, and a cancelled send cannot be delivered
    raw(db, "UPDATE sends SET status = 'cancelled' WHERE campaign_id = 'c1'")
    raw(db, "UPDATE consents SET status = 'granted', updated_at = ? WHERE profile_id = 'ok'", [at(hours=1)])
    with pytest.raises(sqlite3.IntegrityError):
        raw(db, "UPDATE sends SET status = 'delivered' WHERE campaign_id = 'c1'")
    assert db.execute("SELECT count(*) FROM sends WHERE status = 'delivered'").fetchone()[0] == 0


def test_the_channel_stays_fixed(db):
    with pytest.raises(sqlite3.IntegrityError):
        raw(db, "UPDATE sends SET channel = 'sms' WHERE campaign_id = 'c1'")
