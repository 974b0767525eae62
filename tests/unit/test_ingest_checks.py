"""The ingestion API applies the import's checks: hostile rows are rejected with a reason, never stored."""

from __future__ import annotations

import pytest

from cdp.ingest import add_identities, ingest_events, upsert_consents, upsert_profiles

DEEP = "[" * 100_000 + "]" * 100_000


def _nested(levels: int) -> list:
    value: list = []
    for _ in range(levels):
        value = [value]
    return value


@pytest.fixture
def db(cdp_db):
    upsert_profiles(cdp_db, [{"profile_id": "p1", "signup_at": "2025-01-01T00:00:00Z"}])
    return cdp_db


def _count(db, table: str) -> int:
    return db.execute(f"SELECT count(*) FROM {table}").fetchone()[0]


@pytest.mark.parametrize(
    ("row", "words"),
    [
        ({"profile_id": "p1", "type": "page_view", "ts": "2999-01-01T00:00:00Z"}, "ts: 2999"),
        ({"profile_id": "p1", "type": "page_view", "properties": DEEP}, "nested deeper"),
        ({"profile_id": "p1", "type": "page_view", "properties": {"a": _nested(40)}}, "nested deeper"),
        ({"profile_id": "p1\x1b[2J", "type": "page_view"}, "U+001B"),
        ({"profile_id": "p1", "type": "page_view", "message_id": "m\x00"}, "NUL"),
        ({"profile_id": "p1", "type": "support_ticket", "properties": {"subject": "\u202eevil"}}, "U+202E"),
        ({"profile_id": "p1", "type": "support_ticket", "properties": {"subject": "=HYPERLINK(1)"}}, "formula"),
        ({"profile_id": "p1", "type": "page_view", "properties": {"k\x07": 1}}, "U+0007"),
        ({"profile_id": "p1", "type": "page_view", "properties": '{"a": 1, "a": 2}'}, "more than once"),
    ],
)  # fmt: skip
def test_hostile_events_are_rejected_with_a_reason(db, row, words):
    before = _count(db, "events"), _count(db, "profiles")
    result = ingest_events(db, [row])
    assert (result.inserted, result.rejected) == (0, 1)
    assert words in result.errors[0], result.errors
    assert (_count(db, "events"), _count(db, "profiles")) == before


def test_hostile_profiles_consents_and_identities_are_rejected(db):
    profiles = upsert_profiles(
        db,
        [
            {"profile_id": "p2", "first_name": "\x1b[31mRed", "signup_at": "2025-01-01"},
            {"profile_id": "p3", "last_name": "@SUM(A1)", "signup_at": "2025-01-01"},
            {"profile_id": "p4", "city": "x" * 70_000, "signup_at": "2025-01-01"},
            {"profile_id": "p5", "signup_at": "2999-01-01"},
        ],
    )
    assert (profiles.written, profiles.rejected) == (0, 4)
    consents = upsert_consents(
        db, [{"profile_id": "p1", "channel": "sms", "status": "granted", "source": "\u2067x"}]
    )
    ids = add_identities(db, [{"profile_id": "p1", "kind": "cookie", "value": "ab\x00cd"}])
    assert consents.rejected == ids.rejected == 1
    assert [_count(db, t) for t in ("profiles", "consents", "identity_links")] == [1, 0, 0]
