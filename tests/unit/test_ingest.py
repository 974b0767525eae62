"""Event, profile and consent ingestion: dedupe, validation, consent semantics, trigger == recompute."""

from __future__ import annotations

import json
from datetime import datetime

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from cdp import memory_cdp, open_cdp, stats
from cdp.ingest import add_identities, ingest_events, upsert_consents, upsert_profiles
from tests.seeded import seeded_copy

EVENT_COLUMNS = "message_id, profile_id, type, ts, properties, received_at"
PROFILE_COLUMNS = "profile_id, first_name, last_name, country, city, language, tier, signup_at, created_at"


def _purchase(mid: str, pid: str, amount, category="shoes", ts="2026-11-01T10:00:00Z") -> dict:
    return {
        "message_id": mid,
        "profile_id": pid,
        "type": "purchase",
        "ts": ts,
        "properties": {"amount": amount, "category": category},
    }


def _profiles_table(db) -> list[tuple]:
    return db.execute("SELECT * FROM profiles ORDER BY profile_id").fetchall()


def _categories(db) -> list[tuple]:
    return db.execute(
        "SELECT profile_id, category, orders, round(amount, 6) FROM profile_categories ORDER BY 1, 2"
    ).fetchall()


def test_resent_events_are_ignored_never_doubled(cdp_db):
    upsert_profiles(cdp_db, [{"profile_id": "p1", "signup_at": "2026-01-01T00:00:00Z"}])
    batch = [_purchase("m1", "p1", 40), _purchase("m2", "p1", 10.5, "books")]
    first = ingest_events(cdp_db, batch)
    again = ingest_events(cdp_db, [*batch, _purchase("m1", "p1", 999)])  # same id, other content
    assert (first.inserted, first.duplicates) == (2, 0)
    assert (again.inserted, again.duplicates, again.rejected) == (0, 3, 0)
    row = cdp_db.execute(
        "SELECT orders_count, lifetime_value FROM profiles WHERE profile_id = 'p1'"
    ).fetchone()
    assert row == (2, 50.5)
    assert cdp_db.execute("SELECT count(*) FROM events").fetchone()[0] == 2


def test_duplicates_inside_one_batch_and_events_without_id(cdp_db):
    event = {
        "profile_id": "p1",
        "type": "page_view",
        "ts": "2026-11-01T10:00:00Z",
        "properties": {"path": "/"},
    }
    res = ingest_events(cdp_db, [event, dict(event), _purchase("x", "p1", 5), _purchase("x", "p1", 5)])
    assert (res.inserted, res.duplicates) == (2, 2)
    # Re-sent later without a message_id: the derived id is the same, so it is still a duplicate.
    assert ingest_events(cdp_db, [dict(event)]).duplicates == 1


def test_unknown_profile_gets_a_bare_profile_or_is_rejected(cdp_db):
    res = ingest_events(cdp_db, [_purchase("m1", "visitor-9", 12, ts="2026-10-01T08:00:00Z")])
    assert res.inserted == 1
    row = cdp_db.execute(
        "SELECT signup_at, orders_count, tier FROM profiles WHERE profile_id = 'visitor-9'"
    ).fetchone()
    assert row == ("2026-10-01T08:00:00Z", 1, "standard")
    strict = ingest_events(cdp_db, [_purchase("m2", "ghost", 12)], create_missing=False)
    assert (strict.inserted, strict.rejected) == (0, 1)
    assert cdp_db.execute("SELECT count(*) FROM profiles WHERE profile_id = 'ghost'").fetchone()[0] == 0


@pytest.mark.parametrize(
    ("row", "message"),
    [
        ({"profile_id": "p1", "type": "purchased"}, "unknown event type"),
        ({"profile_id": "", "type": "page_view"}, "profile_id"),
        ({"profile_id": "p1", "type": "page_view", "ts": "yesterday"}, "not an ISO timestamp"),
        ({"profile_id": "p1", "type": "page_view", "ts": 1700000000}, "ISO timestamp"),
        ({"profile_id": "p1", "type": "purchase", "properties": {"category": "shoes"}}, "numeric amount"),
        (
            {"profile_id": "p1", "type": "purchase", "properties": {"amount": "12", "category": "x"}},
            "numeric",
        ),
        (
            {"profile_id": "p1", "type": "purchase", "properties": {"amount": True, "category": "x"}},
            "numeric",
        ),
        (
            {"profile_id": "p1", "type": "purchase", "properties": {"amount": float("nan"), "category": "x"}},
            "numeric",
        ),
        ({"profile_id": "p1", "type": "purchase", "properties": {"amount": -5, "category": "x"}}, "negative"),
        ({"profile_id": "p1", "type": "purchase", "properties": {"amount": 5}}, "category"),
        ({"profile_id": "p1", "type": "purchase", "properties": {"amount": 5, "category": " "}}, "category"),
        ({"profile_id": "p1", "type": "page_view", "properties": "[1, 2]"}, "JSON object"),
        ({"profile_id": "p1", "type": "page_view", "properties": "{oops"}, "not valid JSON"),
        ({"profile_id": "p1", "type": "page_view", "properties": 7}, "JSON object"),
        ({"profile_id": "p1", "type": "unsubscribe", "properties": {"channel": "fax"}}, "channel"),
        (
            {"profile_id": "p1", "type": "support_ticket", "properties": {"status": "pending"}},
            "open or closed",
        ),
    ],
)
def test_invalid_events_are_rejected_with_a_reason(cdp_db, row, message):
    res = ingest_events(cdp_db, [row])
    assert (res.inserted, res.rejected) == (0, 1)
    assert message in res.errors[0] and res.errors[0].startswith("row 1:")
    assert cdp_db.execute("SELECT count(*) FROM events").fetchone()[0] == 0


def test_timestamps_and_amounts_are_normalised(cdp_db):
    ingest_events(cdp_db, [_purchase("m1", "p1", 19.999, ts="2026-11-01T10:00:00+02:00")])
    ts, props = cdp_db.execute("SELECT ts, properties FROM events").fetchone()
    assert ts == "2026-11-01T08:00:00Z"
    assert json.loads(props) == {"amount": 20.0, "category": "shoes"}


def test_events_for_a_merged_profile_go_to_the_master(cdp_db):
    upsert_profiles(
        cdp_db,
        [
            {"profile_id": "old", "signup_at": "2024-01-01T00:00:00Z"},
            {"profile_id": "new", "signup_at": "2025-01-01T00:00:00Z"},
        ],
    )
    add_identities(
        cdp_db,
        [
            {"profile_id": "old", "kind": "email", "value": "a@example.com"},
            {"profile_id": "new", "kind": "email", "value": "a@example.com"},
        ],
    )
    ingest_events(cdp_db, [_purchase("m1", "new", 30)])
    assert cdp_db.execute("SELECT profile_id FROM events").fetchone()[0] == "old"
    assert cdp_db.execute("SELECT orders_count FROM profiles WHERE profile_id = 'old'").fetchone()[0] == 1
    assert cdp_db.execute("SELECT count(*) FROM profiles WHERE profile_id = 'new'").fetchone()[0] == 0
    upsert_consents(cdp_db, [{"profile_id": "new", "channel": "sms", "status": "granted"}])
    assert cdp_db.execute("SELECT consent_sms FROM profiles WHERE profile_id = 'old'").fetchone()[0] == 1


def _consent(db) -> tuple:
    return db.execute(
        "SELECT consent_email, consent_sms, consent_push FROM customer_360 WHERE profile_id = 'p1'"
    ).fetchone()


def test_consent_semantics(cdp_db):
    upsert_profiles(cdp_db, [{"profile_id": "p1", "signup_at": "2026-01-01T00:00:00Z"}])
    assert _consent(cdp_db) == (0, 0, 0)  # absent means not granted
    res = upsert_consents(
        cdp_db,
        [
            {
                "profile_id": "p1",
                "channel": "email",
                "status": "granted",
                "updated_at": "2026-05-01T00:00:00Z",
            },
            {"profile_id": "p1", "channel": "sms", "status": "denied", "updated_at": "2026-05-01T00:00:00Z"},
            {
                "profile_id": "p1",
                "channel": "push",
                "status": "revoked",
                "updated_at": "2026-05-01T00:00:00Z",
            },
        ],
    )
    assert res.written == 3
    assert _consent(cdp_db) == (1, 0, 0)
    # An update older than the stored one is ignored; a newer one wins.
    stale = upsert_consents(
        cdp_db,
        [
            {
                "profile_id": "p1",
                "channel": "email",
                "status": "revoked",
                "updated_at": "2026-04-30T23:59:59Z",
            },
            {"profile_id": "p1", "channel": "sms", "status": "granted", "updated_at": "2026-06-01T00:00:00Z"},
        ],
    )
    assert (stale.written, stale.unchanged) == (1, 1)
    assert _consent(cdp_db) == (1, 1, 0)
    # An unsubscribe event revokes email at its time.
    ingest_events(
        cdp_db,
        [{"message_id": "u1", "profile_id": "p1", "type": "unsubscribe", "ts": "2026-07-01T00:00:00Z"}],
    )
    assert _consent(cdp_db) == (0, 1, 0)
    history = cdp_db.execute("SELECT count(*) FROM consent_history WHERE profile_id = 'p1'").fetchone()[0]
    assert history == 5


def test_bad_consent_rows_are_rejected(cdp_db):
    upsert_profiles(cdp_db, [{"profile_id": "p1"}])
    res = upsert_consents(
        cdp_db,
        [
            {"profile_id": "p1", "channel": "fax", "status": "granted"},
            {"profile_id": "p1", "channel": "email", "status": "maybe"},
            {"profile_id": "p1", "channel": "email", "status": "granted", "updated_at": "soon"},
            {"profile_id": "nobody", "channel": "email", "status": "granted"},
        ],
    )
    assert (res.written, res.rejected) == (0, 4)
    assert cdp_db.execute("SELECT count(*) FROM consents").fetchone()[0] == 0


def test_profile_upsert_keeps_values_not_given(cdp_db):
    upsert_profiles(cdp_db, [{"profile_id": "p1", "first_name": "Ann", "country": "de", "tier": "vip"}])
    upsert_profiles(cdp_db, [{"profile_id": "p1", "city": "Berlin"}])
    row = cdp_db.execute("SELECT first_name, country, city, tier FROM profiles").fetchone()
    assert row == ("Ann", "DE", "Berlin", "vip")
    bad = upsert_profiles(
        cdp_db, [{"profile_id": "p2", "country": "Germny"}, {"profile_id": "p3", "tier": "gold"}]
    )
    assert bad.rejected == 2


_EVENT = st.fixed_dictionaries(
    {
        "profile_id": st.sampled_from(["p1", "p2", "p3"]),
        "type": st.sampled_from(
            ["purchase", "purchase", "page_view", "email_open", "complaint", "support_ticket", "unsubscribe"]
        ),
        "ts": st.datetimes(
            min_value=datetime(2025, 1, 1),
            max_value=datetime(2026, 11, 1),
        ).map(lambda d: d.replace(microsecond=0).isoformat() + "Z"),
        "amount": st.decimals(min_value=0, max_value=500, places=2).map(float),
        "category": st.sampled_from(["shoes", "books", "toys"]),
        "ticket": st.sampled_from(["t1", "t2"]),
        "status": st.sampled_from(["open", "closed"]),
        "mid": st.integers(0, 40),
    }
)


def _as_row(e: dict) -> dict:
    props: dict = {}
    if e["type"] == "purchase":
        props = {"amount": e["amount"], "category": e["category"]}
    elif e["type"] == "support_ticket":
        props = {"ticket_id": f"{e['profile_id']}-{e['ticket']}", "status": e["status"]}
    return {
        "message_id": f"m{e['mid']}",
        "profile_id": e["profile_id"],
        "type": e["type"],
        "ts": e["ts"],
        "properties": props,
    }


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(events=st.lists(_EVENT, max_size=40), batch=st.integers(1, 9), consents=st.booleans())
def test_triggers_agree_with_set_based_recompute(events, batch, consents):
    """Random events in random batches (with re-sent ids): incremental triggers == stats.recompute."""
    db = memory_cdp()
    upsert_profiles(db, [{"profile_id": p, "signup_at": "2024-06-01T00:00:00Z"} for p in ("p1", "p2", "p3")])
    if consents:
        upsert_consents(
            db,
            [
                {
                    "profile_id": "p2",
                    "channel": "email",
                    "status": "granted",
                    "updated_at": "2025-01-01T00:00:00Z",
                }
            ],
        )
    ingest_events(db, [_as_row(e) for e in events], batch_size=batch)
    incremental, categories = _profiles_table(db), _categories(db)
    stats.recompute(db)
    assert _profiles_table(db) == incremental
    assert _categories(db) == categories
    stats.recompute(db, ["p1", "p3"])  # a scoped recompute leaves the same rows too
    assert _profiles_table(db) == incremental


def test_seeded_cdp_triggers_replay_equals_recompute(tmp_path):
    """Replaying a seeded CDP's events through the m001 triggers gives the seed's recomputed aggregates."""
    seeded = open_cdp(seeded_copy(tmp_path, customers=1000, seed=11))
    replay = open_cdp(tmp_path / "replay.db")
    conn = replay.conn
    with conn:
        conn.executemany(
            f"INSERT INTO profiles ({PROFILE_COLUMNS}) VALUES ({', '.join('?' * 9)})",
            seeded.execute(f"SELECT {PROFILE_COLUMNS} FROM profiles").fetchall(),
        )
        conn.executemany(
            "INSERT INTO consents VALUES (?, ?, ?, ?, ?)",
            seeded.execute("SELECT * FROM consents ORDER BY updated_at").fetchall(),
        )
        conn.executemany(
            f"INSERT INTO events ({EVENT_COLUMNS}) VALUES (?, ?, ?, ?, ?, ?)",
            seeded.execute(f"SELECT {EVENT_COLUMNS} FROM events ORDER BY event_id").fetchall(),
        )
    assert _profiles_table(replay) == _profiles_table(seeded)
    assert _categories(replay) == _categories(seeded)
    tickets = "SELECT * FROM tickets ORDER BY ticket_id"
    assert replay.execute(tickets).fetchall() == seeded.execute(tickets).fetchall()


def test_bulk_mode_restores_the_exact_m001_triggers(tmp_path):
    db = open_cdp(tmp_path / "t.db")
    sql = "SELECT name, sql FROM sqlite_master WHERE type = 'trigger' ORDER BY name"
    before = db.execute(sql).fetchall()
    core = [(name, text) for name, text in before if name in stats.TRIGGERS]
    assert {name for name, _ in core} == set(stats.TRIGGERS) and len(core) == 13
    with pytest.raises(RuntimeError), stats.triggers_dropped(db):
        remaining = {name for name, _ in db.execute(sql).fetchall()}
        assert not remaining & set(stats.TRIGGERS)  # other migrations' guards stay in place
        raise RuntimeError("load failed")
    assert db.execute(sql).fetchall() == before
