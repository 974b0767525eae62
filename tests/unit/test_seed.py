"""The synthetic CDP: deterministic, realistically shaped, resolved, with consistent aggregates."""

from __future__ import annotations

import re

import pytest

from cdp import open_cdp, stats
from cdp.seed import SeedError, seed_cdp
from tests.seeded import seeded_copy

TABLES = (
    "profiles",
    "identities",
    "identity_links",
    "profile_merges",
    "identity_flags",
    "events",
    "consents",
    "consent_history",
    "tickets",
    "profile_categories",
    "traits",
)


def _content(db) -> dict[str, list[tuple]]:
    return {t: db.execute(f"SELECT * FROM {t} ORDER BY 1, 2, 3").fetchall() for t in TABLES}


def _one(db, sql: str) -> float:
    return db.execute(sql).fetchone()[0]


@pytest.fixture(scope="module")
def shaped(tmp_path_factory):
    """A 3,000-customer seed shared by the read-only shape tests of this module."""
    path = seeded_copy(tmp_path_factory.mktemp("shape"), customers=3000, seed=5)
    db = open_cdp(path)
    yield db
    db.conn.close()


def test_same_seed_and_clock_give_the_same_database(tmp_path):
    a = open_cdp(tmp_path / "a.db")
    b = open_cdp(tmp_path / "b.db")
    c = open_cdp(tmp_path / "c.db")
    seed_cdp(a, customers=1200, seed=3)
    seed_cdp(b, customers=1200, seed=3)
    seed_cdp(c, customers=1200, seed=4)
    assert _content(a) == _content(b)
    assert _content(a)["events"] != _content(c)["events"]


def test_time_follows_cdp_now(tmp_path, monkeypatch):
    monkeypatch.setenv("CDP_NOW", "2030-01-01T00:00:00Z")
    db = open_cdp(tmp_path / "later.db")
    seed_cdp(db, customers=200, seed=1)
    assert _one(db, "SELECT max(ts) FROM events") <= "2030-01-01T00:00:00Z"
    assert _one(db, "SELECT min(signup_at) FROM profiles") >= "2026-12-01T00:00:00Z"


def test_refuses_a_cdp_that_has_customers(tmp_path):
    db = open_cdp(tmp_path / "x.db")
    seed_cdp(db, customers=50, seed=1)
    with pytest.raises(SeedError, match="already holds 50 profiles"):
        seed_cdp(db, customers=50, seed=1)
    with pytest.raises(SeedError):
        seed_cdp(open_cdp(tmp_path / "y.db"), customers=0)


def test_customers_countries_languages_and_tiers(shaped):
    db = shaped
    assert _one(db, "SELECT count(*) FROM profiles") == 3000
    countries = dict(db.execute("SELECT country, count(*) FROM profiles GROUP BY 1").fetchall())
    assert len(countries) == 10 and all(re.fullmatch(r"[A-Z]{2}", c) for c in countries)
    pairs = set(db.execute("SELECT country, language FROM profiles").fetchall())
    assert (
        ("DE", "de") in pairs
        and ("JP", "ja") in pairs
        and ("CA", "fr") in pairs
        and ("DE", "en") not in pairs
    )
    tiers = dict(db.execute("SELECT tier, count(*) * 1.0 / 3000 FROM profiles GROUP BY 1").fetchall())
    assert 0.10 < tiers["premium"] < 0.20 and 0.02 < tiers["vip"] < 0.07
    assert 0.01 < _one(db, "SELECT avg(days_since_signup <= 30) FROM customer_360") < 0.06
    assert _one(db, "SELECT max(days_since_signup) FROM customer_360") <= 3 * 365 + 1


def test_purchase_history_churn_and_engagement(shaped):
    db = shaped
    share = lambda where: _one(db, f"SELECT avg({where}) FROM customer_360")  # noqa: E731
    assert 0.05 < share("orders_count = 0") < 0.20  # some never purchased
    assert 0.25 < share("days_since_purchase <= 30") < 0.55  # many active buyers
    assert 0.15 < share("days_since_purchase >= 90") < 0.45  # a good share lapsed
    assert 0.10 <= share("churn_risk >= 0.7") <= 0.25  # at-risk
    assert _one(db, "SELECT count(DISTINCT favorite_category) FROM profiles") == 8
    by_tier = dict(db.execute("SELECT tier, avg(avg_order_value) FROM customer_360 GROUP BY 1").fetchall())
    assert by_tier["standard"] < by_tier["premium"] < by_tier["vip"]
    # Seasonality: November and December 2025 outsell the two months before and after them.
    months = dict(
        db.execute(
            "SELECT substr(ts, 1, 7), count(*) FROM events WHERE type = 'purchase' GROUP BY 1"
        ).fetchall()
    )
    holidays = months["2025-11"] + months["2025-12"]
    assert holidays > 1.4 * (months["2025-09"] + months["2025-10"])
    assert holidays > 1.4 * (months["2026-01"] + months["2026-02"])
    kinds = {r[0] for r in db.execute("SELECT DISTINCT type FROM events")}
    assert {"email_open", "email_click", "page_view", "sms_click", "push_open", "complaint"} <= kinds
    assert 0 < _one(db, "SELECT avg(engagement_score) FROM customer_360") < 1


def test_consents_differ_by_channel(shaped):
    db = shaped
    granted = dict(
        db.execute("SELECT channel, avg(status = 'granted') FROM consents GROUP BY channel").fetchall()
    )
    rate = {ch: _one(db, f"SELECT avg(consent_{ch}) FROM customer_360") for ch in ("email", "sms", "push")}
    assert rate["email"] > rate["sms"] > rate["push"] > 0.1
    assert granted["email"] > 0.7
    statuses = set(db.execute("SELECT DISTINCT channel, status FROM consents").fetchall())
    assert {(ch, st) for ch in ("email", "sms", "push") for st in ("denied", "revoked")} <= statuses
    # Every revoked email has the unsubscribe event that revoked it.
    missing = _one(
        db,
        """SELECT count(*) FROM consents c WHERE channel = 'email' AND status = 'revoked' AND NOT EXISTS (
             SELECT 1 FROM events e WHERE e.profile_id = c.profile_id AND e.type = 'unsubscribe'
             AND e.ts = c.updated_at)""",
    )
    assert missing == 0


def test_complaints_and_open_tickets_for_a_few_percent(shaped):
    db = shaped
    assert 0.01 < _one(db, "SELECT avg(open_ticket) FROM customer_360") < 0.05
    assert 0.01 < _one(db, "SELECT avg(COALESCE(days_since_complaint <= 90, 0)) FROM customer_360") < 0.05
    ticket = db.execute(
        "SELECT properties FROM events WHERE type = 'support_ticket' AND properties LIKE '%closed%'"
    ).fetchone()[0]
    assert all(key in ticket for key in ("ticket_id", "status", "subject", "body"))
    open_count = _one(db, "SELECT count(*) FROM tickets WHERE status = 'open'")
    assert open_count == _one(db, "SELECT sum(open_tickets) FROM profiles")


def test_duplicates_were_resolved(shaped):
    db = shaped
    merges = _one(db, "SELECT count(*) FROM profile_merges")
    assert 0.04 * 3000 < merges < 0.15 * 3000
    assert _one(db, "SELECT count(*) FROM profile_merges WHERE via_kind = 'device_id'") > 0  # app chains
    # No identifier is shared by two live profiles unless a cap flagged the pair.
    shared = db.execute(
        """SELECT kind, value FROM identity_links GROUP BY kind, value HAVING count(*) > 1"""
    ).fetchall()
    assert all(kind == "device_id" and value.startswith("kiosk-") for kind, value in shared)
    assert _one(db, "SELECT count(*) FROM identity_flags WHERE reason = 'kind_cap:crm_id'") > 0
    assert (
        _one(db, "SELECT count(*) FROM events WHERE profile_id NOT IN (SELECT profile_id FROM profiles)") == 0
    )
    assert (
        _one(db, "SELECT count(*) FROM consents WHERE profile_id NOT IN (SELECT profile_id FROM profiles)")
        == 0
    )


def test_pii_lives_only_in_identities(shaped):
    db = shaped
    emails = [r[0] for r in db.execute("SELECT value FROM identities WHERE kind = 'email' LIMIT 50")]
    assert all(re.fullmatch(r"[a-z]+\.[a-z]+\.\d+@example\.com", e) for e in emails)
    phones = [r[0] for r in db.execute("SELECT value FROM identities WHERE kind = 'phone' LIMIT 50")]
    assert phones and all(re.fullmatch(r"\+1555\d{7}", p) for p in phones)
    for table in ("profiles", "events", "consents", "tickets", "profile_merges", "identity_flags"):
        dump = str(db.execute(f"SELECT * FROM {table}").fetchall())
        assert "@example.com" not in dump and "+1555" not in dump, table


def test_aggregates_equal_a_full_recompute(shaped, tmp_path):
    copy = open_cdp(seeded_copy(tmp_path, customers=3000, seed=5))
    before = copy.execute("SELECT * FROM profiles ORDER BY profile_id").fetchall()
    stats.recompute(copy)
    assert copy.execute("SELECT * FROM profiles ORDER BY profile_id").fetchall() == before
