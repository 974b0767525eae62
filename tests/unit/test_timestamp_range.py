"""Timestamps outside the accepted years, and consent changes within one second.

Every timestamp the product accepts (`CDP_NOW`, imported rows, ingestion events, `send_at`) lies in
the years `clock.MIN_YEAR`..`clock.MAX_YEAR`; outside it the value is refused with one line, never
stored with a three-digit year (which sorts after every real date) and never a traceback. Two
consent changes in the same second (stored times have whole seconds) leave the stop standing.
"""

from __future__ import annotations

import re
from datetime import UTC, datetime
from pathlib import Path

import pytest
import typer
from typer.testing import CliRunner

from cdp import clock, memory_cdp
from cdp.ingest import ingest_events, upsert_consents, upsert_profiles
from cdp.migrations import m067_timestamp_range
from cli.main import app

runner = CliRunner()
OUT_OF_RANGE = [
    "0999-01-01T00:00:00Z",
    "0001-01-01T00:30:00+01:00",  # OverflowError in Python's own conversion
    "0001-01-01T00:00:00+14:00",
    "9999-12-31T23:59:59-01:00",
    "9999-12-30T00:00:00Z",
    "2201-01-01T00:00:00Z",
    "1969-12-31T23:59:59Z",
]


def _db():
    db = memory_cdp()
    clock.set_clock(db, "2026-11-24T12:00:00Z")
    upsert_profiles(db, [{"profile_id": "p1", "signup_at": "2025-01-01T00:00:00Z"}])
    return db


def test_iso_always_writes_four_digit_years():
    assert clock.iso(datetime(999, 1, 1, tzinfo=UTC)) == "0999-01-01T00:00:00Z"
    assert clock.iso(datetime(2026, 11, 24, 12, tzinfo=UTC)) == "2026-11-24T12:00:00Z"


@pytest.mark.parametrize("value", OUT_OF_RANGE)
def test_parse_ts_refuses_years_outside_the_range_with_a_value_error(value):
    with pytest.raises(ValueError, match=r"accepted years 1970\.\.2200"):
        clock.parse_ts(value)
    with pytest.raises(ValueError):
        clock.normalize_ts(value)


def test_an_ancient_grant_does_not_override_a_fresh_revocation():
    db = _db()
    upsert_consents(db, [{"profile_id": "p1", "channel": "email", "status": "granted",
                          "updated_at": "2026-01-01T00:00:00Z"}])  # fmt: skip
    upsert_consents(db, [{"profile_id": "p1", "channel": "email", "status": "revoked",
                          "updated_at": "2026-11-24T11:00:00Z"}])  # fmt: skip
    result = upsert_consents(db, [{"profile_id": "p1", "channel": "email", "status": "granted",
                                   "updated_at": "0999-01-01T00:00:00Z"}])  # fmt: skip
    assert result.rejected == 1
    assert db.execute("SELECT status, updated_at FROM consents").fetchall() == [
        ("revoked", "2026-11-24T11:00:00Z")
    ]
    assert db.execute("SELECT count(*) FROM consent_history WHERE status = 'granted'").fetchone()[0] == 1


@pytest.mark.parametrize("value", OUT_OF_RANGE)
def test_ingestion_refuses_events_outside_the_range(value):
    db = _db()
    result = ingest_events(db, [{"message_id": "m1", "profile_id": "p1", "type": "unsubscribe", "ts": value}])
    assert result.inserted == 0
    assert db.execute("SELECT count(*) FROM events").fetchone()[0] == 0


def test_a_revocation_wins_over_an_older_grant_in_the_same_second():
    db = _db()
    upsert_consents(db, [{"profile_id": "p1", "channel": "email", "status": "revoked",
                          "updated_at": "2026-11-24T11:00:00.900Z"}])  # fmt: skip
    upsert_consents(db, [{"profile_id": "p1", "channel": "email", "status": "granted",
                          "updated_at": "2026-11-24T11:00:00.100Z"}])  # fmt: skip
    assert db.execute("SELECT status FROM consents").fetchone()[0] == "revoked"
    assert db.execute("SELECT consent_email FROM customer_360").fetchone()[0] == 0
    # Any SQLite client writing the product's upsert is held to the same rule.
    with db.conn:
        db.execute(
            """INSERT INTO consents (profile_id, channel, status, updated_at, source)
               VALUES ('p1', 'email', 'granted', '2026-11-24T11:00:00Z', 'raw')
               ON CONFLICT (profile_id, channel) DO UPDATE SET
                   status = excluded.status, updated_at = excluded.updated_at
               WHERE excluded.updated_at >= consents.updated_at"""
        )
    assert db.execute("SELECT status FROM consents").fetchone()[0] == "revoked"
    # A later grant still wins.
    upsert_consents(db, [{"profile_id": "p1", "channel": "email", "status": "granted",
                          "updated_at": "2026-11-24T11:00:01Z"}])  # fmt: skip
    assert db.execute("SELECT status FROM consents").fetchone()[0] == "granted"


def test_m067_pads_three_digit_years_and_unpins_an_impossible_clock():
    db = _db()
    with db.conn:
        db.execute(
            "INSERT INTO consents (profile_id, channel, status, updated_at) "
            "VALUES ('p1', 'sms', 'revoked', '999-01-01T00:00:00Z')"
        )
        db.execute("UPDATE cdp_clock SET now = '9999-12-30T00:00:00Z'")
    with db.conn:
        m067_timestamp_range.repair(db)
    assert db.execute("SELECT updated_at FROM consents WHERE channel = 'sms'").fetchone()[0] == (
        "0999-01-01T00:00:00Z"
    )
    assert db.execute("SELECT now FROM cdp_clock").fetchone()[0] is None
    upsert_consents(db, [{"profile_id": "p1", "channel": "sms", "status": "granted",
                          "updated_at": "2026-11-01T00:00:00Z"}])  # fmt: skip
    assert db.execute("SELECT status FROM consents WHERE channel = 'sms'").fetchone()[0] == "granted"


@pytest.mark.parametrize(
    "value", ["0999-01-01T00:00:00Z", "9999-12-30T00:00:00Z", "0001-01-01T00:00:00+14:00"]
)
def test_cdp_now_outside_the_range_is_one_line_and_exit_2(monkeypatch, capsys, value):
    from cli.settings import check_settings_or_exit

    monkeypatch.setenv("CDP_NOW", value)
    with pytest.raises(typer.Exit) as info:
        check_settings_or_exit()
    assert info.value.exit_code == 2
    lines = capsys.readouterr().err.strip().splitlines()
    assert len(lines) == 1 and "CDP_NOW" in lines[0] and "1970..2200" in lines[0], lines


@pytest.mark.parametrize(
    ("name", "content", "line"),
    [
        ("consents.csv", "profile_id,channel,status,updated_at\nc1,email,granted,0999-01-01T00:00:00Z\n", 2),
        ("events.jsonl", '{"profile_id": "c1", "type": "page_view", "ts": "0001-01-01T00:30:00+01:00"}\n', 1),
        ("profiles.csv", "profile_id,first_name,signup_at\nc9,Ann,0001-01-01T00:00:00+00:01\n", 2),
        ("identities.csv", "profile_id,kind,value,seen_at\nc1,crm_id,X1,9999-12-31T23:59:59-01:00\n", 2),
    ],
)
def test_an_import_outside_the_range_is_one_line_naming_the_line(tmp_path, name, content, line):
    db = tmp_path / "cdp.db"
    seed = tmp_path / "seed-profiles.csv"
    seed.write_text("profile_id,first_name\nc1,Ann\n", encoding="utf-8")
    assert runner.invoke(app, ["import", str(seed), "--db", str(db)]).exit_code == 0
    path: Path = tmp_path / name
    path.write_text(content, encoding="utf-8")
    result = runner.invoke(app, ["import", str(path), "--db", str(db)])
    assert result.exit_code == 1, result.output
    assert isinstance(result.exception, SystemExit), result.exception
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1 and re.match(rf"error: line {line}: .*1970\.\.2200", lines[0]), lines


def test_send_at_outside_the_range_is_refused():
    from cdp.requests import InvalidSendRequestError, _send_time

    db = _db()
    with pytest.raises(InvalidSendRequestError, match=r"1970\.\.2200"):
        _send_time(db.conn, "0999-01-01T00:00:00Z")
