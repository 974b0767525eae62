"""A timestamp from the future never outranks the present: imports refuse it, stored grants are clamped.

The attack: a consent row imported with `updated_at` in 2999 made every later unsubscribe lose
(`excluded.updated_at >= consents.updated_at`), and the next campaign reached people who had just
unsubscribed.
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from typer.testing import CliRunner

from cdp import clock, open_cdp
from cdp.errors import ImportRowError
from cdp.importer import import_file
from cdp.ingest import ingest_events, upsert_consents, upsert_profiles
from cdp.input_checks import FUTURE_SKEW
from cli.main import app
from tests.unit.test_gate import NOW, add_campaign, add_profile, at, decision, gate, sent

TABLES = ("profiles", "identities", "identity_links", "consents", "consent_history", "events", "tickets")
FUTURE = "2999-01-01T00:00:00Z"


def _counts(db) -> dict[str, int]:
    return {t: db.execute(f"SELECT count(*) FROM {t}").fetchone()[0] for t in TABLES}


def _consent(db, pid: str, channel: str = "email") -> tuple[str, str] | None:
    return db.execute(
        "SELECT status, updated_at FROM consents WHERE profile_id = ? AND channel = ?", [pid, channel]
    ).fetchone()


@pytest.fixture
def db(cdp_db):
    upsert_profiles(cdp_db, [{"profile_id": p, "signup_at": "2025-01-01T00:00:00Z"} for p in ("c1", "c2")])
    return cdp_db


def _write(tmp_path: Path, name: str, text: str) -> Path:
    path = tmp_path / name
    path.write_text(text, encoding="utf-8")
    return path


FUTURE_FILES = [
    # (file, content, line of the future timestamp, field named)
    ("profiles.csv", f"profile_id,signup_at\nc3,2025-01-01\nc4,{FUTURE}\n", 3, "signup_at"),
    (
        "identities.jsonl",
        json.dumps({"profile_id": "c1", "kind": "email", "value": "a@example.com"})
        + "\n"
        + json.dumps({"profile_id": "c2", "kind": "email", "value": "b@example.com", "seen_at": FUTURE})
        + "\n",
        2,
        "seen_at",
    ),
    (
        "consents.csv",
        "profile_id,channel,status,updated_at\nc1,email,granted,2026-01-01T00:00:00Z\n"
        f"c2,email,granted,{FUTURE}\n",
        3,
        "updated_at",
    ),
    (
        "events.jsonl",
        json.dumps({"message_id": "e1", "profile_id": "c1", "type": "page_view", "ts": NOW})
        + "\n\n"
        + json.dumps({"message_id": "e2", "profile_id": "c1", "type": "support_ticket", "ts": FUTURE})
        + "\n",
        3,
        "ts",
    ),
]


@pytest.mark.parametrize(("name", "content", "line", "field"), FUTURE_FILES)
def test_import_refuses_a_future_timestamp_in_every_kind(db, tmp_path, name, content, line, field):
    before = _counts(db)
    with pytest.raises(ImportRowError) as err:
        import_file(db, _write(tmp_path, name, content))
    assert err.value.line == line
    assert str(err.value).startswith(f"line {line}: {field}:") and "in the future" in str(err.value)
    assert _counts(db) == before


def test_future_consent_through_the_cli_is_one_line_and_writes_nothing(db, cdp_path, tmp_path):
    before = _counts(db)
    path = _write(tmp_path, "consents.csv", FUTURE_FILES[2][1])
    result = CliRunner().invoke(app, ["import", str(path), "--db", str(cdp_path)])
    assert result.exit_code == 1 and isinstance(result.exception, SystemExit)
    (line,) = result.stderr.strip().splitlines()
    assert line.startswith("error: line 3: updated_at:") and FUTURE in line
    assert _counts(open_cdp(cdp_path)) == before


def test_the_skew_is_checked_against_the_cdp_clock_not_the_wall_clock(db, tmp_path):
    clock.set_clock(db, "2026-06-01T00:00:00Z")  # a CDP whose clock is pinned in the past
    edge = clock.iso(clock.parse_ts("2026-06-01T00:00:00Z") + FUTURE_SKEW)
    ok = _write(tmp_path, "consents.csv", f"profile_id,channel,status,updated_at\nc1,sms,granted,{edge}\n")
    assert import_file(db, ok).written == 1
    assert _consent(db, "c1", "sms") == ("granted", "2026-06-01T00:00:00Z")  # dated when recorded
    late = clock.iso(clock.parse_ts(edge).replace(second=1))
    bad = _write(
        tmp_path, "more-consents.csv", f"profile_id,channel,status,updated_at\nc2,sms,granted,{late}\n"
    )
    with pytest.raises(ImportRowError, match=r"line 2: updated_at: .* in the future"):
        import_file(db, bad)
    assert _consent(db, "c2", "sms") is None


def test_the_ingestion_api_refuses_future_events_and_consents(db):
    before = _counts(db)
    result = ingest_events(
        db,
        [{"message_id": "u1", "profile_id": "c1", "type": "unsubscribe", "ts": FUTURE}],
    )
    assert (result.inserted, result.rejected) == (0, 1) and "ts:" in result.errors[0]
    consents = upsert_consents(
        db, [{"profile_id": "c1", "channel": "email", "status": "granted", "updated_at": FUTURE}]
    )
    assert (consents.written, consents.rejected) == (0, 1) and "in the future" in consents.errors[0]
    assert _counts(db) == before


def test_a_future_grant_already_stored_does_not_block_an_unsubscribe_now(cdp_db):
    """The reproduction: a grant dated 2999 (written raw), then the customer unsubscribes now."""
    db = cdp_db
    clock.set_clock(db, NOW)
    add_profile(db, "p1", consent_at=FUTURE)  # raw INSERT, past every check of the import
    add_profile(db, "p2")
    assert _consent(db, "p1") == ("granted", NOW)  # dated when it was recorded, not when it claims
    history = db.execute("SELECT status, updated_at FROM consent_history WHERE profile_id = 'p1'").fetchall()
    assert history == [("granted", NOW)]
    result = ingest_events(
        db, [{"message_id": "u1", "profile_id": "p1", "type": "unsubscribe", "ts": NOW, "properties": {}}]
    )
    assert result.inserted == 1
    assert _consent(db, "p1") == ("revoked", NOW)
    assert db.execute("SELECT consent_email FROM customer_360 WHERE profile_id = 'p1'").fetchone()[0] == 0
    add_campaign(db, "c1")
    outcome = gate(db, "c1", ["p1", "p2"])
    assert (outcome.scheduled, outcome.suppressed) == (1, {"no_consent": 1})
    d = decision(db, "c1", "p1")
    assert d["reason_code"] == "no_consent" and d["evidence"]["consent"]["status"] == "revoked"
    assert sent(db, "c1", "p1") == [] and len(sent(db, "c1", "p2")) == 1


def test_an_update_to_a_future_grant_is_clamped_too(cdp_db):
    db = cdp_db
    clock.set_clock(db, NOW)
    add_profile(db, "p1", consents={"email": "revoked"}, consent_at=at(days=-1))
    with db.conn:
        db.execute("UPDATE consents SET status = 'granted', updated_at = ? WHERE profile_id = 'p1'", [FUTURE])
    assert _consent(db, "p1") == ("granted", NOW)
    ingest_events(db, [{"message_id": "u1", "profile_id": "p1", "type": "unsubscribe", "ts": NOW}])
    assert _consent(db, "p1") == ("revoked", NOW)


def test_a_future_revocation_is_left_as_it_is(cdp_db):
    """Only grants are clamped: a future-dated revocation can only stop contact."""
    db = cdp_db
    clock.set_clock(db, NOW)
    add_profile(db, "p1", consents={"email": "revoked"}, consent_at=FUTURE)
    assert _consent(db, "p1") == ("revoked", FUTURE)


def test_the_migration_repairs_future_grants_of_an_existing_cdp(tmp_path):
    path = tmp_path / "old.db"
    db = open_cdp(path)
    clock.set_clock(db, NOW)
    with db.conn:  # the CDP as it was before the clamp existed
        for name in ("consents_grant_clamp_insert", "consents_grant_clamp_update"):
            db.execute(f"DROP TRIGGER {name}")
        db.execute("DELETE FROM _sqlite_migrations WHERE name = 'm064_consent_grant_clock'")
    add_profile(db, "p1", consent_at=FUTURE)
    add_profile(db, "p2", consents={"sms": "revoked"}, consent_at=FUTURE)
    add_profile(db, "p3", consent_at=at(days=-3))
    assert _consent(db, "p1") == ("granted", FUTURE)
    db.conn.close()
    db = open_cdp(path)
    assert _consent(db, "p1") == ("granted", NOW)
    assert _consent(db, "p2", "sms") == ("revoked", FUTURE)
    assert _consent(db, "p3") == ("granted", at(days=-3))
    assert (
        db.execute("SELECT count(*) FROM consent_history WHERE updated_at = ?", [FUTURE]).fetchone()[0] == 1
    )
    ingest_events(db, [{"message_id": "u1", "profile_id": "p1", "type": "unsubscribe", "ts": NOW}])
    assert _consent(db, "p1") == ("revoked", NOW)


def test_order_is_event_time_then_arrival(db):
    """A later grant re-subscribes; at equal times a stop wins over a grant; an older grant loses."""
    t = at(days=-2)

    def grant(when: str) -> None:
        upsert_consents(
            db, [{"profile_id": "c1", "channel": "email", "status": "granted", "updated_at": when}]
        )

    grant(t)
    ingest_events(db, [{"message_id": "u1", "profile_id": "c1", "type": "unsubscribe", "ts": t}])
    assert _consent(db, "c1") == ("revoked", t)  # same time, later arrival
    grant(at(days=-3))
    assert _consent(db, "c1") == ("revoked", t)  # an older grant arriving late loses
    grant(t)
    assert _consent(db, "c1") == ("revoked", t)  # same stored second: the stop wins over a grant
    grant(at(days=-1))
    assert _consent(db, "c1") == ("granted", at(days=-1))
    ingest_events(db, [{"message_id": "u2", "profile_id": "c1", "type": "unsubscribe", "ts": at(days=-4)}])
    assert _consent(db, "c1") == ("granted", at(days=-1))  # an old unsubscribe replayed late loses
