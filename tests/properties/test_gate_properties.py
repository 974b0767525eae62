"""Property tests of the contact-policy gate: random CDPs, campaigns run back to back, adversarial requests.

Each example builds a tiny CDP (5-30 profiles) in memory from a migrated template, runs random
campaigns through the gate while customers revoke consent, complain, open tickets and get paused, and
then checks every promise with independent SQL over the final database (and over a snapshot of the
signals taken just before each gate run, i.e. at decision time).
"""

from __future__ import annotations

import sqlite3
from datetime import timedelta

import pytest
import sqlite_utils
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from cdp import clock, memory_cdp
from cdp.errors import CdpError
from cdp.gate import holdout_bucket_sql, run_gate
from cdp.policy import ContactPolicy
from cdp.requests import stage_requests, stage_segment_requests

START = "2026-11-24T12:00:00Z"
CHANNELS = ("email", "sms", "push")
COUNTRIES = ("US", "JP", "FR", "DE", "AU", None, "ZZ")
CONSENT = ("granted", "granted", "granted", "granted", "denied", "revoked", None)
OFFERS = (
    {},
    {"discount_pct": 10, "offer_category": "shoes"},
    {"discount_pct": 20, "offer_category": "shoes"},
    {"discount_pct": 20, "offer_category": "bags"},
    {"discount_pct": 15},
    {"offer_kind": "welcome"},
    {"offer_kind": "last_chance", "offer_category": "shoes"},
    {"offer_kind": "winback", "discount_pct": 10, "offer_category": "shoes"},
    {"offer_kind": "welcome", "offer_expires_at": "2026-11-26T00:00:00Z"},
)

EXAMPLES = int(__import__("os").environ.get("GATE_EXAMPLES", "1000"))


@pytest.fixture(scope="module")
def template() -> sqlite3.Connection:
    """One migrated CDP, copied into a fresh in-memory database for every example (fast)."""
    db = memory_cdp()
    yield db.conn
    db.conn.close()


profile_st = st.fixed_dictionaries(
    {
        "country": st.sampled_from(COUNTRIES),
        "ltv": st.integers(0, 500),
        "consent": st.tuples(*[st.sampled_from(CONSENT) for _ in CHANNELS]),
        "ticket": st.sampled_from((False,) * 9 + (True,)),
        "complaint_days": st.sampled_from((None,) * 6 + (1, 29, 31, 50)),
        "suppress": st.sampled_from((None,) * 6 + ("0", "1")),
    }
)

campaign_st = st.fixed_dictionaries(
    {
        "promotional": st.sampled_from((0, 1, 1)),
        # service_notice is configured transactional below; marketing never is.
        "message_kind": st.sampled_from(("marketing", "service_notice", "receipt")),
        "offer": st.sampled_from(OFFERS),
        "budget": st.sampled_from((None, None, None, 0.0, 0.01, 0.05, 0.1, 0.3)),
        "holdout_pct": st.sampled_from((None, 0, 0, 10, 50)),
    }
)

request_st = st.tuples(
    st.integers(0, 31),  # profile index; beyond the audience means an unknown id
    st.sampled_from((*CHANNELS, "fax")),
    st.integers(-48, 24 * 10),  # send_at offset in hours from the run's clock
)

run_st = st.fixed_dictionaries(
    {
        "campaign": st.integers(0, 4),
        "step": st.integers(0, 2),
        "advance_hours": st.integers(0, 24 * 3),
        "segment": st.one_of(
            st.none(),
            st.tuples(
                st.lists(st.integers(0, 29), min_size=3, max_size=30),
                st.permutations(CHANNELS).map(lambda p: list(p[:2])),
            ),
        ),
        "segment_send_hours": st.integers(-5, 24 * 3),
        "explicit": st.lists(request_st, max_size=16),
        "raw": st.lists(request_st, max_size=3),
        "signals": st.lists(
            st.tuples(
                st.sampled_from(("revoke", "grant", "complaint", "open", "close", "pause", "unpause")),
                st.integers(0, 29),
                st.sampled_from(CHANNELS),
            ),
            max_size=4,
        ),
        "dry_run_first": st.booleans(),
    }
)

scenario_st = st.fixed_dictionaries(
    {
        "profiles": st.lists(profile_st, min_size=5, max_size=30),
        "campaigns": st.lists(campaign_st, min_size=1, max_size=5),
        "runs": st.lists(run_st, min_size=2, max_size=6),
        "cap": st.integers(1, 3),
        "window_days": st.integers(2, 10),
        "complaint_days": st.integers(5, 40),
        "quiet": st.sampled_from(((21, 8), (22, 7), (23, 6))),
    }
)


def _build(template: sqlite3.Connection, sc: dict) -> sqlite_utils.Database:
    conn = sqlite3.connect(":memory:", check_same_thread=False)
    template.backup(conn)
    db = sqlite_utils.Database(conn)
    clock.set_clock(db, START)
    now = clock.parse_ts(START)
    profiles, consents, events, traits = [], [], [], []
    for i, p in enumerate(sc["profiles"]):
        pid = f"p{i:02d}"
        profiles.append((pid, p["country"], "en", "standard", START, p["ltv"]))
        for ch, status in zip(CHANNELS, p["consent"], strict=True):
            if status:
                consents.append((pid, ch, status, "2026-01-01T00:00:00Z", "seed"))
        if p["ticket"]:
            events.append(
                (
                    f"t-{pid}",
                    pid,
                    "support_ticket",
                    "2026-11-20T00:00:00Z",
                    f'{{"ticket_id": "T{pid}", "status": "open"}}',
                )
            )
        if p["complaint_days"] is not None:
            events.append(
                (f"c-{pid}", pid, "complaint", clock.iso(now - timedelta(days=p["complaint_days"])), "{}")
            )
        if p["suppress"] is not None:
            traits.append((pid, "suppress_promotions", p["suppress"], "customer_service", START))
    with conn:
        conn.executemany(
            "INSERT INTO profiles (profile_id, country, language, tier, signup_at, lifetime_value) "
            "VALUES (?, ?, ?, ?, ?, ?)",
            profiles,
        )
        conn.executemany("INSERT INTO consents VALUES (?, ?, ?, ?, ?)", consents)
        conn.executemany(
            "INSERT INTO events (message_id, profile_id, type, ts, properties) VALUES (?,?,?,?,?)", events
        )
        conn.executemany("INSERT INTO traits VALUES (?, ?, ?, ?, ?)", traits)
        conn.execute(
            "INSERT INTO transactional_message_kinds (kind, configured_by, configured_at) "
            "VALUES ('service_notice', 'ops', ?)",
            [START],
        )
        for k, c in enumerate(sc["campaigns"]):
            cols = {
                "campaign_id": f"c{k}",
                "name": f"c{k}",
                "objective": "o",
                "created_at": START,
                "updated_at": START,
                "promotional": c["promotional"],
                "message_kind": c["message_kind"],
                "budget": c["budget"],
                "holdout_pct": c["holdout_pct"],
                **c["offer"],
            }
            conn.execute(
                f"INSERT INTO campaigns ({', '.join(cols)}) VALUES ({', '.join('?' for _ in cols)})",
                list(cols.values()),
            )
    return db


def _signal(conn: sqlite3.Connection, kind: str, pid: str, channel: str, now: str, n: int) -> None:
    if conn.execute("SELECT 1 FROM profiles WHERE profile_id = ?", [pid]).fetchone() is None:
        return
    with conn:
        if kind in ("revoke", "grant"):
            conn.execute(
                """INSERT INTO consents VALUES (?, ?, ?, ?, 'signal') ON CONFLICT (profile_id, channel)
                   DO UPDATE SET status = excluded.status, updated_at = excluded.updated_at""",
                [pid, channel, "revoked" if kind == "revoke" else "granted", now],
            )
        elif kind == "complaint":
            conn.execute(
                "INSERT OR IGNORE INTO events (message_id, profile_id, type, ts) "
                "VALUES (?, ?, 'complaint', ?)",
                [f"sig-{n}", pid, now],
            )
        elif kind in ("open", "close"):
            conn.execute(
                "INSERT OR IGNORE INTO events (message_id, profile_id, type, ts, properties) VALUES (?, ?, "
                "'support_ticket', ?, ?)",
                [
                    f"sig-{n}",
                    pid,
                    now,
                    f'{{"ticket_id": "S{pid}", "status": "{"open" if kind == "open" else "closed"}"}}',
                ],
            )
        else:
            conn.execute(
                "INSERT OR REPLACE INTO traits VALUES (?, 'suppress_promotions', ?, 'customer_service', ?)",
                [pid, "1" if kind == "pause" else "0", now],
            )


def _snapshot(conn: sqlite3.Connection, complaint_days: int, now: str) -> dict:
    """The signals as they stand right before a gate run, read with plain SQL."""
    lo = clock.iso(clock.parse_ts(now) - timedelta(days=complaint_days))
    return {
        "granted": set(
            conn.execute("SELECT profile_id, channel FROM consents WHERE status = 'granted'").fetchall()
        ),
        "ticket": {r[0] for r in conn.execute("SELECT profile_id FROM tickets WHERE status = 'open'")},
        "complaint": {
            r[0]
            for r in conn.execute("SELECT profile_id FROM events WHERE type = 'complaint' AND ts > ?", [lo])
        },
        "paused": {
            r[0]
            for r in conn.execute(
                "SELECT profile_id FROM traits WHERE name = 'suppress_promotions' AND value = '1'"
            )
        },
        "sends": {r[0] for r in conn.execute("SELECT send_id FROM sends")},
    }


@settings(
    max_examples=EXAMPLES,
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.function_scoped_fixture],
)
@given(sc=scenario_st)
def test_no_send_ever_breaks_the_contact_policy(template, sc):
    db = _build(template, sc)
    conn = db.conn
    n_profiles = len(sc["profiles"])
    policy = ContactPolicy(
        frequency_cap=sc["cap"],
        frequency_window_days=sc["window_days"],
        complaint_window_days=sc["complaint_days"],
        quiet_hours_start=sc["quiet"][0],
        quiet_hours_end=sc["quiet"][1],
        holdout_pct=10,
    )
    now = clock.parse_ts(START)
    with conn:
        conn.execute(
            "INSERT INTO segments (segment_id, name, filter_json, created_by, created_at) "
            "VALUES ('seg', 'seg', '{}', 't', ?)",
            [START],
        )
    signal_no = 0
    for run in sc["runs"]:
        cid = f"c{run['campaign'] % len(sc['campaigns'])}"
        step = run["step"]
        now += timedelta(hours=run["advance_hours"])
        now_iso = clock.iso(now)
        clock.set_clock(db, now_iso)
        for kind, idx, channel in run["signals"]:  # signals written by other agents before the gate runs
            signal_no += 1
            _signal(conn, kind, f"p{idx:02d}", channel, now_iso, signal_no)
        if run["segment"] is not None:
            members, priority = run["segment"]
            with conn:
                conn.execute("DELETE FROM segment_members WHERE segment_id = 'seg'")
                conn.executemany(
                    "INSERT OR IGNORE INTO segment_members VALUES ('seg', ?)",
                    [(f"p{i:02d}",) for i in members if i < n_profiles],
                )
            stage_segment_requests(
                db,
                cid,
                "seg",
                channel_priority=priority,
                step=step,
                send_at=clock.iso(now + timedelta(hours=run["segment_send_hours"])),
            )
        explicit = [
            {"profile_id": f"p{i:02d}", "channel": ch, "send_at": clock.iso(now + timedelta(hours=h))}
            for i, ch, h in run["explicit"]
        ]
        try:
            stage_requests(db, cid, explicit, step=step)
        except CdpError:
            # Unknown ids or channels reject the whole list; stage the valid ones instead.
            valid = [
                r for r in explicit if r["channel"] in CHANNELS and int(r["profile_id"][1:]) < n_profiles
            ]
            stage_requests(db, cid, valid, step=step)
        with conn:  # an adversary writing requests directly: unknown ids, bogus channels
            conn.executemany(
                "INSERT OR IGNORE INTO send_requests "
                "(campaign_id, profile_id, channel, step, send_at, requested_at) "
                "VALUES (?, ?, ?, ?, ?, ?)",
                [
                    (cid, f"p{i:02d}", ch, step, clock.iso(now + timedelta(hours=h)), now_iso)
                    for i, ch, h in run["raw"]
                ],
            )
        snap = _snapshot(conn, sc["complaint_days"], now_iso)
        if run["dry_run_first"]:
            preview = run_gate(db, cid, step=step, policy=policy, dry_run=True)
            assert {r[0] for r in conn.execute("SELECT send_id FROM sends")} == snap["sends"]
        result = run_gate(db, cid, step=step, policy=policy)
        if run["dry_run_first"]:
            assert preview.to_dict() | {"dry_run": False} == result.to_dict()
        assert result.requested == (
            result.scheduled + result.held_out + sum(result.suppressed.values()) + result.superseded
        )
        _check_run(conn, cid, snap, policy)
    _check_final(conn, policy)


def _check_run(conn: sqlite3.Connection, cid: str, snap: dict, policy: ContactPolicy) -> None:
    """Sends this run created, against the signals at decision time."""
    promo_campaign = conn.execute(
        "SELECT promotional OR offer_kind IS NOT NULL OR discount_pct IS NOT NULL OR message_kind NOT IN "
        "(SELECT kind FROM transactional_message_kinds) FROM campaigns WHERE campaign_id = ?",
        [cid],
    ).fetchone()[0]
    new = [
        r
        for r in conn.execute(
            "SELECT send_id, profile_id, channel, promotional FROM sends WHERE campaign_id = ?", [cid]
        )
        if r[0] not in snap["sends"]
    ]
    for _sid, pid, channel, promotional in new:
        assert (pid, channel) in snap["granted"], f"{pid} sent on {channel} without granted consent"
        assert promotional == promo_campaign
        if promotional:
            assert pid not in snap["ticket"], f"promotion to {pid} with an open ticket"
            assert pid not in snap["complaint"], f"promotion to {pid} after a recent complaint"
            assert pid not in snap["paused"], f"promotion to {pid} while paused by customer service"


def _check_final(conn: sqlite3.Connection, policy: ContactPolicy) -> None:
    one = lambda sql, *p: conn.execute(sql, p).fetchone()[0]  # noqa: E731
    # No duplicate message: one idempotency key, and one send per customer per campaign step.
    assert one("SELECT count(*) - count(DISTINCT idempotency_key) FROM sends") == 0
    assert (
        one(
            "SELECT count(*) FROM (SELECT 1 FROM sends GROUP BY campaign_id, profile_id, step "
            "HAVING count(*) > 1)"
        )
        == 0
    )
    # Sends only to real profiles on real channels, each linked to a request the gate decided.
    assert one("SELECT count(*) FROM sends WHERE profile_id NOT IN (SELECT profile_id FROM profiles)") == 0
    assert (
        one("SELECT count(*) FROM sends WHERE channel NOT IN ('email', 'sms', 'push') OR rule != 'allowed'")
        == 0
    )
    # Frequency cap: no rolling window [t, t + W) ever holds more than the cap of promotional live sends.
    worst = one(
        f"""SELECT COALESCE(max(n), 0) FROM (
            SELECT a.send_id, count(*) AS n FROM sends a JOIN sends b
              ON b.profile_id = a.profile_id AND b.promotional = 1 AND b.status IN ('scheduled', 'delivered')
             AND b.scheduled_for >= a.scheduled_for
             AND b.scheduled_for < strftime('%Y-%m-%dT%H:%M:%SZ', a.scheduled_for,
                                            '+{policy.frequency_window_days} days')
            WHERE a.promotional = 1 AND a.status IN ('scheduled', 'delivered') GROUP BY a.send_id)"""
    )
    assert worst <= policy.frequency_cap
    # No two conflicting live offers held at once (definition restated independently of the gate).
    conflicts = one(
        """WITH offers AS (
               SELECT s.profile_id, s.campaign_id, c.offer_kind AS kind, lower(c.offer_category) AS cat,
                      c.discount_pct AS disc, s.scheduled_for AS start,
                      COALESCE(c.offer_expires_at,
                               strftime('%Y-%m-%dT%H:%M:%SZ', s.scheduled_for, '+14 days')) AS stop
               FROM sends s JOIN campaigns c ON c.campaign_id = s.campaign_id
               WHERE s.status IN ('scheduled', 'delivered')
                 AND (c.offer_kind IS NOT NULL OR c.discount_pct IS NOT NULL))
           SELECT count(*) FROM offers a JOIN offers b
             ON a.profile_id = b.profile_id AND a.campaign_id < b.campaign_id
            AND a.start < b.stop AND b.start < a.stop
           WHERE (a.disc IS NOT NULL AND b.disc IS NOT NULL AND a.disc != b.disc
                  AND (a.cat IS NULL OR b.cat IS NULL OR a.cat = b.cat))
              OR (a.kind, b.kind) IN (VALUES ('welcome', 'last_chance'), ('last_chance', 'welcome'),
                                             ('welcome', 'winback'), ('winback', 'welcome'),
                                             ('last_chance', 'early_access'),
                                             ('early_access', 'last_chance'))"""
    )
    assert conflicts == 0
    # Holdout: nobody in a campaign's control group (recomputed by hash) is ever sent that campaign.
    for cid, pct in conn.execute(
        "SELECT campaign_id, COALESCE(holdout_pct, ?) FROM campaigns", [policy.holdout_pct]
    ):
        cut = round(pct * 100)
        assert (
            one(
                f"SELECT count(*) FROM sends WHERE campaign_id = ? AND {holdout_bucket_sql(cid)} < ?",
                cid,
                cut,
            )
            == 0
        )
        assert (
            one(
                """SELECT count(*) FROM decisions d JOIN sends s ON s.campaign_id = d.campaign_id
                      AND s.profile_id = d.profile_id AND s.step = d.step WHERE d.campaign_id = ?""",
                cid,
            )
            == 0
        )
    # Budget: a campaign never commits more than it has.
    over = one(
        """SELECT count(*) FROM campaigns c WHERE c.budget IS NOT NULL AND
               (SELECT COALESCE(sum(cost), 0) FROM sends s WHERE s.campaign_id = c.campaign_id)
               > c.budget + 1e-9"""
    )
    assert over == 0
    # Every request has exactly one outcome, recorded where it belongs.
    assert one("SELECT count(*) FROM send_requests WHERE outcome IS NULL") == 0
    assert (
        one(
            """SELECT count(*) FROM send_requests r WHERE r.outcome = 'scheduled' AND NOT EXISTS (
               SELECT 1 FROM sends s WHERE s.idempotency_key = r.campaign_id || ':' || r.profile_id || ':'
                                                              || r.channel || ':' || r.step)"""
        )
        == 0
    )
    assert (
        one(
            """SELECT count(*) FROM send_requests r
               WHERE r.outcome IN ('suppressed', 'held_out') AND NOT EXISTS (
               SELECT 1 FROM decisions d WHERE d.campaign_id = r.campaign_id AND d.profile_id = r.profile_id
                 AND d.step = r.step AND d.channel = r.channel AND d.reason_code = r.reason_code)"""
        )
        == 0
    )
    assert (
        one(
            """SELECT count(*) FROM send_requests r WHERE r.outcome = 'superseded' AND NOT EXISTS (
               SELECT 1 FROM send_requests o
               WHERE o.campaign_id = r.campaign_id AND o.profile_id = r.profile_id
                 AND o.step = r.step AND o.channel != r.channel AND o.outcome != 'superseded')"""
        )
        == 0
    )
    # ... and no customer-step is both sent and stopped.
    assert (
        one(
            """SELECT count(*) FROM decisions d JOIN sends s ON s.campaign_id = d.campaign_id
           AND s.profile_id = d.profile_id AND s.step = d.step"""
        )
        == 0
    )
