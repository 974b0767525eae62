"""Engagement simulator: what customers do after a campaign's messages reach them, one day at a time.

It lets a marketer (and the tests) watch a campaign run without real traffic. Everything is
deterministic given the seed: each delivered send draws its customer's response from a hash of
(seed, send id, what), so a re-run of the same day writes the same events, and the events' message ids
make a second write a no-op.

Response rates are driven by what would drive them in life:

* the customer's engagement (engagement events the CDP has counted for them: 0.6x to 1.4x),
* the channel (email is opened and clicked, push is opened, SMS is clicked),
* the variant (each variant of a campaign gets a fixed appeal between 0.7x and 1.3x from the seed),
* timing (a message landing between 21:00 and 08:00 UTC draws 0.8x) and fatigue (each follow-up
  step draws 0.8x the step before, and raises the unsubscribe risk).

Every customer of the campaign, contacted or held out, also buys on their own at a small daily rate, so
the holdout comparison measures the campaign's lift and not the customers' habits. Events go into
`events` like any other, so triggers keep profiles, consent (an unsubscribe revokes it) and the
360 view current for every agent at once.
"""

from __future__ import annotations

import hashlib
import json
import sqlite3
import struct
from dataclasses import asdict, dataclass
from datetime import timedelta

from cdp import clock
from cdp.delivery import deliver_in_transaction
from cdp.gate import immediate_transaction
from cdp.policy import ContactPolicy

#: Chance that a delivered message is opened (email, push) or clicked (SMS), before the factors above.
ENGAGE_BASE = {"email": 0.30, "push": 0.18, "sms": 0.10}
#: Chance of a click after an email open (push and SMS count their one response as the click).
EMAIL_CLICK = 0.35
#: Chance of a purchase after the click, before the variant's appeal.
PURCHASE_AFTER_CLICK = {"email": 0.22, "push": 0.10, "sms": 0.18}
#: Chance that a delivered message makes its customer unsubscribe from that channel.
UNSUBSCRIBE_BASE = 0.002
#: Daily chance that any customer of the campaign buys without being prompted.
ORGANIC_DAILY = 0.004
ENGAGE_TYPE = {"email": "email_open", "push": "push_open", "sms": "sms_click"}


@dataclass(frozen=True)
class DayResult:
    day: int
    window_start: str
    window_end: str
    delivered: int
    events: int
    #: Due sends the delivery step cancelled (consent revoked, ticket opened ... since scheduling).
    cancelled: int = 0

    def to_dict(self) -> dict[str, object]:
        return asdict(self)


def _uniform(seed: int, key: str) -> float:
    """A number in [0, 1) fixed by (seed, key): the simulator's only source of chance."""
    digest = hashlib.blake2b(f"{seed}|{key}".encode(), digest_size=8).digest()
    return struct.unpack(">Q", digest)[0] / 2**64


def register_functions(conn: sqlite3.Connection) -> None:
    """`sim_u(seed, key)` for the set-based SQL below (deterministic, so SQLite may cache it)."""
    conn.create_function("sim_u", 2, _uniform, deterministic=True)


def day_window(launched_at: str, day: int) -> tuple[str, str]:
    """Day `day` (1-based) of a campaign: [launch + day - 1 days, launch + day days)."""
    t0 = clock.parse_ts(launched_at)
    return clock.iso(t0 + timedelta(days=day - 1)), clock.iso(t0 + timedelta(days=day))


#: The customer's engagement, 0..1 (20 counted engagement events or more is 1), and the factor it
#: puts on every response rate (0.6x to 1.4x).
ENGAGEMENT = "min(1.0, p.engagement_events / 20.0)"
ENGAGEMENT_FACTOR = f"(0.6 + 0.8 * {ENGAGEMENT})"
#: The send's variant's fixed appeal in this campaign (0.7x to 1.3x), drawn from the seed.
APPEAL = "(0.7 + 0.6 * sim_u(:seed, 'appeal|' || s.campaign_id || '|' || COALESCE(s.variant, 'default')))"


def _case(mapping: dict[str, float], column: str) -> str:
    return "CASE " + " ".join(f"WHEN {column} = '{k}' THEN {v}" for k, v in mapping.items()) + " ELSE 0 END"


def _draws_sql(just_delivered: bool = False) -> str:
    """One row per newly delivered send of the campaign with its response drawn once, from the
    customer as they are at delivery: when they engage, click, buy and unsubscribe (NULL when they
    don't). Times are seconds after delivery."""
    engage = f"""min(0.95, {_case(ENGAGE_BASE, "s.channel")}
                 * {ENGAGEMENT_FACTOR}
                 * {APPEAL}
                 * (CASE WHEN CAST(strftime('%H', s.scheduled_for) AS INTEGER) >= 21
                           OR CAST(strftime('%H', s.scheduled_for) AS INTEGER) < 8 THEN 0.8 ELSE 1.0 END)
                 * (CASE s.step WHEN 0 THEN 1.0 WHEN 1 THEN 0.8 WHEN 2 THEN 0.64 ELSE 0.5 END))"""
    key = "s.send_id || '|'"
    return f"""
        SELECT s.send_id, s.campaign_id, s.profile_id, s.channel, COALESCE(s.variant, 'default') AS variant,
               s.step, COALESCE(s.delivered_at, s.scheduled_for) AS t0,
               CASE WHEN sim_u(:seed, {key} || 'engage') < {engage}
                    THEN CAST(600 + 172800 * sim_u(:seed, {key} || 'engage_at') * sim_u(:seed, {key} || 'engage_at')
                              AS INTEGER) END AS engage_s,
               CASE WHEN s.channel != 'email' OR sim_u(:seed, {key} || 'click') < {EMAIL_CLICK}
                    THEN 60 + CAST(3600 * sim_u(:seed, {key} || 'click_at') AS INTEGER) END AS click_lag,
               CASE WHEN sim_u(:seed, {key} || 'buy') < {_case(PURCHASE_AFTER_CLICK, "s.channel")} * {APPEAL}
                    THEN 1800 + CAST(172800 * sim_u(:seed, {key} || 'buy_at') AS INTEGER) END AS buy_lag,
               20 + round(180 * sim_u(:seed, {key} || 'amount'), 2) AS amount,
               CASE WHEN sim_u(:seed, {key} || 'unsub') < {UNSUBSCRIBE_BASE}
                         * (2.0 - {ENGAGEMENT}) * (1 + 0.5 * s.step)
                    THEN CAST(300 + 86400 * sim_u(:seed, {key} || 'unsub_at') AS INTEGER) END AS unsub_s
        FROM sends s JOIN profiles p ON p.profile_id = s.profile_id
        WHERE s.campaign_id = :cid AND s.status = 'delivered'
          {"AND s.send_id IN (SELECT value FROM json_each(:ids))" if just_delivered else ""}
          AND NOT EXISTS (SELECT 1 FROM simulated_responses r WHERE r.send_id = s.send_id)"""


def _at(base: str, seconds: str) -> str:
    return f"strftime('%Y-%m-%dT%H:%M:%SZ', {base}, '+' || ({seconds}) || ' seconds')"


def _write_responses(conn: sqlite3.Connection, params: dict[str, object], *, only: str | None = None) -> None:
    """Write the drawn responses (opens, clicks, purchases, unsubscribes) whose time is in [lo, hi);
    `only` restricts them to one kind (`unsub`: what the delivery step must see before the next slice)."""
    engage_ts = _at("t0", "engage_s")
    click_ts = _at("t0", "engage_s + click_lag")
    buy_ts = _at("t0", "engage_s + click_lag + buy_lag")
    props = "json_object('campaign_id', campaign_id, 'variant', variant, 'channel', channel, 'step', step, 'simulated', 1"
    responses = [
        # engagement: open (email, push) or click (SMS)
        (
            "CASE channel WHEN 'email' THEN 'email_open' WHEN 'push' THEN 'push_open' ELSE 'sms_click' END",
            engage_ts,
            "engage",
            f"{props})",
            "engage_s IS NOT NULL",
        ),
        (
            "'email_click'",
            click_ts,
            "click",
            f"{props})",
            "channel = 'email' AND engage_s IS NOT NULL AND click_lag IS NOT NULL",
        ),
        (
            "'purchase'",
            buy_ts,
            "buy",
            f"{props}, 'amount', amount, 'order_id', 'sim-' || send_id)",
            "engage_s IS NOT NULL AND click_lag IS NOT NULL AND buy_lag IS NOT NULL",
        ),
        (
            "'unsubscribe'",
            _at("t0", "unsub_s"),
            "unsub",
            f"{props})",
            "unsub_s IS NOT NULL AND channel != 'push'",
        ),
    ]
    for etype, ts, what, properties, where in responses:
        if only is not None and what != only:
            continue
        conn.execute(
            f"""INSERT OR IGNORE INTO events (message_id, profile_id, type, ts, properties, received_at)
                SELECT 'sim:' || send_id || ':{what}', profile_id, {etype}, ts, {properties}, ts
                FROM (SELECT *, {ts} AS ts FROM simulated_responses WHERE campaign_id = :cid AND {where})
                WHERE ts >= :lo AND ts < :hi""",
            params,
        )


def _slices(conn: sqlite3.Connection, campaign_id: str, start: str, end: str) -> list[str]:
    """Ends (exclusive) of the day's delivery slices: just after each distinct due time, then the day's end.

    Sends go out in time order, and each slice first writes what customers did before it (an
    unsubscribe at 10:00 is in the CDP before the 15:00 send is re-checked).
    """
    due = [
        r[0]
        for r in conn.execute(
            """SELECT DISTINCT max(scheduled_for, :start) FROM sends
               WHERE campaign_id = :cid AND status = 'scheduled' AND scheduled_for < :end ORDER BY 1""",
            {"cid": campaign_id, "start": start, "end": end},
        )
    ]
    ends = [clock.iso(clock.parse_ts(t) + timedelta(seconds=1)) for t in due]
    return [t for t in ends if t < end] + [end]


def simulate_day(
    db,
    campaign_id: str,
    day: int,
    *,
    launched_at: str,
    seed: int = 7,
    policy: ContactPolicy | None = None,
) -> DayResult:
    """Advance the CDP clock to the end of `day`, deliver the sends due by then through the delivery
    step (which re-checks each on its customer's state and cancels what no longer may go out), and
    write the responses and organic purchases that fall inside the day. Idempotent for a given (seed, day)."""
    conn: sqlite3.Connection = db.conn
    start, end = day_window(launched_at, day)
    register_functions(conn)
    params = {"cid": campaign_id, "seed": seed, "start": start, "end": end, "day": day}
    before = conn.execute("SELECT count(*) FROM events").fetchone()[0]
    delivered = cancelled = 0
    with immediate_transaction(conn):
        # Opens, clicks and purchases change nothing the delivery step reads, so between slices only
        # unsubscribes are written; the whole day's responses follow once all its sends went out.
        lo = start
        for hi in _slices(conn, campaign_id, start, end):
            _write_responses(conn, {**params, "lo": lo, "hi": hi}, only="unsub")
            batch = deliver_in_transaction(conn, until=hi, policy=policy, campaign_id=campaign_id)
            delivered += batch.delivered
            cancelled += batch.due - batch.delivered
            if batch.delivered_ids:
                conn.execute(
                    f"""INSERT OR IGNORE INTO simulated_responses (send_id, campaign_id, profile_id, channel,
                            variant, step, t0, engage_s, click_lag, buy_lag, amount, unsub_s)
                        {_draws_sql(just_delivered=True)}""",
                    {**params, "ids": json.dumps(batch.delivered_ids)},
                )
            lo = hi
        conn.execute(
            f"""INSERT OR IGNORE INTO simulated_responses (send_id, campaign_id, profile_id, channel, variant,
                    step, t0, engage_s, click_lag, buy_lag, amount, unsub_s) {_draws_sql()}""",
            params,
        )
        _write_responses(conn, {**params, "lo": start, "hi": end})
        # Organic purchases by everyone the campaign concerns, contacted or held out.
        conn.execute(
            f"""INSERT OR IGNORE INTO events (message_id, profile_id, type, ts, properties, received_at)
                SELECT 'sim:organic:' || :cid || ':' || a.profile_id || ':' || :day, a.profile_id, 'purchase',
                       {_at(":start", "CAST(86399 * sim_u(:seed, 'organic_at|' || :cid || a.profile_id || :day) AS INTEGER)")},
                       json_object('amount', 20 + round(180 * sim_u(:seed, 'organic_amount|' || :cid || a.profile_id || :day), 2),
                                   'order_id', 'sim-org-' || :cid || '-' || a.profile_id || '-' || :day,
                                   'simulated', 1),
                       :end
                FROM (SELECT DISTINCT profile_id FROM sends WHERE campaign_id = :cid
                      UNION SELECT profile_id FROM decisions WHERE campaign_id = :cid AND outcome = 'holdout') a
                JOIN profiles p ON p.profile_id = a.profile_id
                WHERE sim_u(:seed, 'organic|' || :cid || a.profile_id || :day)
                      < {ORGANIC_DAILY} * {ENGAGEMENT_FACTOR}""",
            params,
        )
    clock.set_clock(db, end, by=clock.SIMULATION)
    after = conn.execute("SELECT count(*) FROM events").fetchone()[0]
    return DayResult(
        day=day,
        window_start=start,
        window_end=end,
        delivered=delivered,
        events=after - before,
        cancelled=cancelled,
    )
