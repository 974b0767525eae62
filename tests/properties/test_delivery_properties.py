"""Property: whatever happens to customers between scheduling and delivery, and however late the
dispatcher runs, what the delivery step lets out keeps the whole promise (checked by tests.invariants),
and every send it stops is cancelled with a decision and its reason.

Each example is a tiny in-memory CDP: random profiles and consents, campaigns scheduled through the
gate, then five days in 3-hour ticks where customers unsubscribe, complain, open or close tickets or
get paused, and the dispatcher delivers what is due by the clock.
"""

from __future__ import annotations

from datetime import timedelta

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from cdp import clock, memory_cdp
from cdp.delivery import deliver_due
from cdp.gate import run_gate
from cdp.policy import ContactPolicy
from cdp.requests import stage_requests
from tests.invariants import assert_promise_holds

START = "2026-11-24T12:00:00Z"
CHANNELS = ("email", "sms", "push")
# (country, city): one-zone cities, multi-zone countries without a city (US, CA, BR), no or unknown country.
COUNTRIES = (
    ("US", None),
    ("US", "Seattle"),
    ("US", "New York"),
    ("CA", None),
    ("CA", "Vancouver"),
    ("BR", None),
    ("JP", "Tokyo"),
    ("DE", None),
    ("GB", None),
    (None, None),
    ("ZZ", None),
)
POLICY = ContactPolicy(frequency_cap=2, frequency_window_days=3, holdout_pct=0, complaint_window_days=30)
CHANGES = ("unsubscribe", "complaint", "ticket_open", "ticket_close", "pause", "nothing")

profiles = st.lists(
    st.tuples(st.sampled_from(COUNTRIES), st.sets(st.sampled_from(CHANNELS))), min_size=2, max_size=8
)
requests = st.lists(  # (campaign, profile index, channel, hours after start)
    st.tuples(st.integers(0, 3), st.integers(0, 7), st.sampled_from(CHANNELS), st.integers(0, 96)),
    min_size=1,
    max_size=30,
)
changes = st.lists(  # (tick, profile index, change, channel)
    st.tuples(st.integers(0, 40), st.integers(0, 7), st.sampled_from(CHANGES), st.sampled_from(CHANNELS)),
    max_size=25,
)


def _at(hours: float) -> str:
    return clock.iso(clock.parse_ts(START) + timedelta(hours=hours))


@settings(max_examples=30, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(profiles=profiles, requests=requests, changes=changes, lag=st.integers(0, 2))
def test_delivered_sends_keep_the_promise_whatever_changes_before_delivery(profiles, requests, changes, lag):
    db = memory_cdp()
    clock.set_clock(db, START)
    pids = [f"p{i}" for i in range(len(profiles))]
    with db.conn:
        for pid, ((country, city), granted) in zip(pids, profiles, strict=True):
            db.execute(
                "INSERT INTO profiles (profile_id, country, city, signup_at) VALUES (?, ?, ?, '2026-01-01T00:00:00Z')",
                [pid, country, city],
            )
            for ch in granted:
                db.execute(
                    "INSERT INTO consents VALUES (?, ?, 'granted', '2026-01-01T00:00:00Z', 'signup')",
                    [pid, ch],
                )
        for c in range(4):
            db.execute(
                "INSERT INTO campaigns (campaign_id, name, objective, created_at, updated_at) "
                "VALUES (?, ?, 'o', ?, ?)",
                [f"c{c}", f"c{c}", START, START],
            )
    for c in range(4):
        asked = {
            (pids[p % len(pids)], ch): _at(h) for cc, p, ch, h in requests if cc == c
        }  # one request per customer and channel
        if asked:
            stage_requests(
                db, f"c{c}", [{"profile_id": p, "channel": ch, "send_at": t} for (p, ch), t in asked.items()]
            )
            run_gate(db, f"c{c}", policy=POLICY)

    by_tick: dict[int, list[tuple[int, str, str]]] = {}
    for tick, p, change, ch in changes:
        by_tick.setdefault(tick, []).append((p % len(pids), change, ch))
    for tick in range(41):
        now = _at(3 * tick)
        clock.set_clock(db, now)
        for n, (p, change, ch) in enumerate(by_tick.get(tick, [])):
            pid = pids[p]
            props = {
                "unsubscribe": f'{{"channel": "{ch}"}}',
                "ticket_open": '{"ticket_id": "T-' + pid + '", "status": "open"}',
                "ticket_close": '{"ticket_id": "T-' + pid + '", "status": "closed"}',
            }
            etype = {"ticket_open": "support_ticket", "ticket_close": "support_ticket"}.get(change, change)
            with db.conn:
                if change == "pause":
                    db.execute(
                        "INSERT OR REPLACE INTO traits VALUES (?, 'suppress_promotions', '1', 'service', ?)",
                        [pid, now],
                    )
                elif change != "nothing":
                    db.execute(
                        "INSERT INTO events (message_id, profile_id, type, ts, properties) VALUES (?, ?, ?, ?, ?)",
                        [f"e{tick}-{n}", pid, etype, now, props.get(change, "{}")],
                    )
        if tick % (lag + 1) == 0:  # a dispatcher that runs every 3, 6 or 9 hours
            deliver_due(db, policy=POLICY)
    clock.set_clock(db, _at(200))
    deliver_due(db, policy=POLICY)

    assert db.execute("SELECT count(*) FROM sends WHERE status = 'scheduled'").fetchone()[0] == 0
    assert_promise_holds(db, POLICY)
    unexplained = db.execute(
        """SELECT count(*) FROM sends s WHERE s.status = 'cancelled' AND NOT EXISTS (
               SELECT 1 FROM decisions d WHERE d.campaign_id = s.campaign_id AND d.profile_id = s.profile_id
                 AND d.step = s.step AND d.outcome = 'cancelled' AND d.reason_code IS NOT NULL)"""
    ).fetchone()[0]
    assert unexplained == 0
