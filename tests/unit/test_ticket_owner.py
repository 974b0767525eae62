"""A support_ticket event changes only its own customer's ticket, whichever path writes it.

The attack: an event for one profile names another customer's open ticket with `status: closed`;
before m068 it closed the ticket and lifted that customer's `open_ticket` pause. Events of the other
kinds that change a customer's state (unsubscribe, complaint, purchase) change only the profile the
event names, which these tests check too.
"""

from __future__ import annotations

import json
import sqlite3

import pytest
from typer.testing import CliRunner

from cdp import open_cdp
from cdp.ingest import add_identities, ingest_events, upsert_profiles
from cli.main import app

runner = CliRunner()


def _setup(db) -> None:
    upsert_profiles(
        db,
        [
            {"profile_id": "a", "signup_at": "2025-01-01T00:00:00Z"},
            {"profile_id": "b", "signup_at": "2025-02-01T00:00:00Z"},
            {"profile_id": "c", "signup_at": "2025-03-01T00:00:00Z"},
        ],
    )
    res = ingest_events(
        db,
        [
            {
                "profile_id": "b",
                "type": "support_ticket",
                "ts": "2026-11-20T10:00:00Z",
                "properties": {"ticket_id": "T-b", "status": "open", "subject": "late parcel"},
            }
        ],
    )
    assert res.inserted == 1


def _ticket(db, ticket_id: str = "T-b") -> tuple:
    return db.execute("SELECT profile_id, status FROM tickets WHERE ticket_id = ?", [ticket_id]).fetchone()


def _open_tickets(db, pid: str) -> int:
    return db.execute("SELECT open_tickets FROM profiles WHERE profile_id = ?", [pid]).fetchone()[0]


def _close_event(pid: str, ticket_id: str = "T-b", ts: str = "2026-11-21T10:00:00Z") -> dict:
    return {
        "profile_id": pid,
        "type": "support_ticket",
        "ts": ts,
        "properties": {"ticket_id": ticket_id, "status": "closed"},
    }


def test_ingestion_rejects_an_event_closing_another_customers_ticket(cdp_db):
    _setup(cdp_db)
    res = ingest_events(cdp_db, [_close_event("a"), {"profile_id": "a", "type": "page_view"}])
    assert (res.inserted, res.rejected) == (1, 1)  # the page view of the same batch still lands
    assert "ticket_id 'T-b' belongs to another profile" in res.errors[0]
    assert _ticket(cdp_db) == ("b", "open")
    assert _open_tickets(cdp_db, "b") == 1
    n = cdp_db.execute("SELECT count(*) FROM events WHERE type = 'support_ticket'").fetchone()[0]
    assert n == 1
    # The owner closes it: that works.
    assert ingest_events(cdp_db, [_close_event("b")]).inserted == 1
    assert _ticket(cdp_db) == ("b", "closed") and _open_tickets(cdp_db, "b") == 0


def test_two_profiles_naming_one_new_ticket_in_a_batch(cdp_db):
    _setup(cdp_db)
    res = ingest_events(
        cdp_db,
        [
            {"profile_id": "c", "type": "support_ticket", "ts": "2026-11-21T10:00:00Z",
             "properties": {"ticket_id": "T-new"}},
            _close_event("a", "T-new", "2026-11-21T11:00:00Z"),
        ],
    )  # fmt: skip
    assert (res.inserted, res.rejected) == (1, 1)
    assert _ticket(cdp_db, "T-new") == ("c", "open")


def test_a_merged_profiles_event_updates_the_masters_ticket(cdp_db):
    _setup(cdp_db)
    res = add_identities(
        cdp_db,
        [
            {"profile_id": "b", "kind": "email", "value": "same@example.com"},
            {"profile_id": "c", "kind": "email", "value": "same@example.com"},
        ],
    )
    assert res.resolution is not None and res.resolution.merged == 1  # c merged into b
    assert ingest_events(cdp_db, [_close_event("c")]).inserted == 1
    assert _ticket(cdp_db) == ("b", "closed")


def test_the_trigger_refuses_a_foreign_ticket_event_from_any_sqlite_client(cdp_db):
    _setup(cdp_db)
    with pytest.raises(sqlite3.IntegrityError, match="its own profile"), cdp_db.conn:
        cdp_db.conn.execute(
            """INSERT INTO events (message_id, profile_id, type, ts, properties, received_at)
               VALUES ('raw-1', 'a', 'support_ticket', '2026-11-21T10:00:00Z', ?, '2026-11-21T10:00:00Z')""",
            [json.dumps({"ticket_id": "T-b", "status": "closed"})],
        )
    assert _ticket(cdp_db) == ("b", "open") and _open_tickets(cdp_db, "b") == 1


def test_import_refuses_the_line_naming_another_customers_ticket(tmp_path):
    db_path = tmp_path / "cdp.db"
    db = open_cdp(db_path)
    _setup(db)
    db.conn.close()
    events = tmp_path / "events.jsonl"
    lines = [
        {"profile_id": "a", "type": "page_view", "ts": "2026-11-21T09:00:00Z"},
        _close_event("a"),
    ]
    events.write_text("".join(json.dumps(x) + "\n" for x in lines), encoding="utf-8")
    result = runner.invoke(app, ["import", str(events), "--db", str(db_path)])
    assert result.exit_code == 1, result.output
    err = result.stderr.strip().splitlines()
    assert len(err) == 1 and "line 2" in err[0] and "belongs to another profile" in err[0], err
    db = open_cdp(db_path)
    assert _ticket(db) == ("b", "open") and _open_tickets(db, "b") == 1
    assert db.execute("SELECT count(*) FROM events").fetchone()[0] == 1  # nothing of the file
    db.conn.close()


def test_unsubscribes_and_complaints_change_only_the_profile_they_name(cdp_db):
    _setup(cdp_db)
    cdp_db.conn.executemany(
        "INSERT INTO consents (profile_id, channel, status, updated_at, source) VALUES (?, 'email', 'granted', ?, 't')",
        [("a", "2026-11-01T00:00:00Z"), ("b", "2026-11-01T00:00:00Z")],
    )
    cdp_db.conn.commit()
    res = ingest_events(
        cdp_db,
        [
            {"profile_id": "a", "type": "unsubscribe", "ts": "2026-11-22T00:00:00Z",
             "properties": {"channel": "email", "profile_id": "b", "ticket_id": "T-b"}},
            {"profile_id": "a", "type": "complaint", "ts": "2026-11-22T00:00:00Z",
             "properties": {"profile_id": "b"}},
        ],
    )  # fmt: skip
    assert res.inserted == 2
    rows = dict(cdp_db.execute("SELECT profile_id, status FROM consents WHERE channel = 'email'").fetchall())
    assert rows == {"a": "revoked", "b": "granted"}
    counts = dict(cdp_db.execute("SELECT profile_id, complaints_count FROM profiles").fetchall())
    assert counts == {"a": 1, "b": 0, "c": 0}
    assert _ticket(cdp_db) == ("b", "open")


def test_another_customers_message_id_cannot_swallow_an_unsubscribe(cdp_db):
    """A page view for `a` claims the message id that `b`'s unsubscribe later carries: the
    unsubscribe still revokes `b`'s consent (stored under an id of its own content), and an ordinary
    event reusing the id is rejected, not counted as a duplicate."""
    _setup(cdp_db)
    cdp_db.conn.execute(
        "INSERT INTO consents (profile_id, channel, status, updated_at, source) "
        "VALUES ('b', 'email', 'granted', '2026-11-01T00:00:00Z', 't')"
    )
    cdp_db.conn.commit()
    assert (
        ingest_events(cdp_db, [{"message_id": "m-1", "profile_id": "a", "type": "page_view"}]).inserted == 1
    )
    res = ingest_events(
        cdp_db,
        [
            {"message_id": "m-1", "profile_id": "b", "type": "unsubscribe", "ts": "2026-11-22T00:00:00Z"},
            {"message_id": "m-1", "profile_id": "c", "type": "page_view"},
            {"message_id": "m-1", "profile_id": "a", "type": "page_view"},  # a's own re-send
        ],
    )
    assert (res.inserted, res.duplicates, res.rejected) == (1, 1, 1), res
    assert "already used by an event of another profile" in res.errors[0]
    status = cdp_db.execute("SELECT status FROM consents WHERE profile_id = 'b' AND channel = 'email'")
    assert status.fetchone()[0] == "revoked"
    assert cdp_db.execute("SELECT count(*) FROM events WHERE profile_id = 'c'").fetchone()[0] == 0


def test_import_refuses_a_line_reusing_another_customers_message_id(tmp_path):
    db_path = tmp_path / "cdp.db"
    db = open_cdp(db_path)
    _setup(db)
    ingest_events(db, [{"message_id": "m-1", "profile_id": "a", "type": "page_view"}])
    db.conn.close()
    events = tmp_path / "events.jsonl"
    events.write_text(
        json.dumps(
            {"message_id": "m-1", "profile_id": "b", "type": "unsubscribe", "ts": "2026-11-22T00:00:00Z"}
        )
        + "\n",
        encoding="utf-8",
    )
    result = runner.invoke(app, ["import", str(events), "--db", str(db_path)])
    assert result.exit_code == 1, result.output
    err = result.stderr.strip().splitlines()
    assert len(err) == 1 and "line 1" in err[0] and "already used" in err[0], err
