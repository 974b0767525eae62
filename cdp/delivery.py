"""The delivery step: the gate's second look, in the transaction that lets a send go out.

The gate decides when it schedules a send; hours or days can pass before the send is due, and in that
time a customer may unsubscribe, complain, open a ticket, be paused by customer service or receive
other messages. Every channel (the engagement simulator today, SMTP or webhooks later) hands its due
sends to `deliver_due`, which re-checks, set-based in SQL and in one `BEGIN IMMEDIATE` transaction,
every rule that depends on the customer's state at that moment, then marks the survivors `delivered`
and cancels the rest with a `decisions` row (outcome ``cancelled``) carrying the gate's reason code:

1. ``unknown_profile``      the customer's profile is gone (merged away without the send following);
2. ``duplicate_request``    another live send already covers this (campaign, customer, step);
3. ``no_consent``           the channel's consent is not ``granted`` now;
4. ``open_ticket``          promotional and an open support ticket (when the policy suppresses them);
5. ``recent_complaint``     promotional and a complaint within ``complaint_window_days`` of delivery;
6. ``service_suppression``  promotional and trait ``suppress_promotions`` = '1';
7. ``quiet_hours``          SMS or push whose delivery moment falls in the quiet hours in any zone the
                            customer may be in (always, when no local time is known);
8. ``frequency_cap``        promotional and ``frequency_cap`` delivered promotional sends already lie
                            within ``frequency_window_days`` of the delivery moment.

Whether a send is promotional is the send row's own `promotional` flag, written by the gate: delivery
never re-derives it. The delivery moment is the later of `scheduled_for` and the CDP clock. Local times
are computed in Python once per distinct (country, city, moment), as the gate does, never per customer.

Identity merges use the same re-check (`recheck_merged`) on the master's scheduled sends, inside the
merge's own transaction: duplicates per campaign step, the master's consent, and the cap counting the
master's delivered and scheduled sends.

Within one batch, the cap counts the batch's own earlier sends (ranked per customer: consented first,
then by time) as if already delivered, so no rolling window ever ends up over the cap; when that ranking
is not the order sends would have gone out one by one, it can only cancel more, never fewer.
"""

from __future__ import annotations

import sqlite3
from dataclasses import asdict, dataclass, field
from datetime import datetime, timedelta
from typing import Any

from cdp import clock
from cdp.db import sqlite_connection
from cdp.errors import CdpError
from cdp.gate import (
    DEFAULT_OFFER_LIVE_DAYS,
    DUPLICATE,
    QUIET_CHANNELS,
    SUPPRESSION_TRAIT,
    customer_zones,
    immediate_transaction,
    offer_conflict_sql,
    offer_end_sql,
    offer_kinds_sql,
    quiet_zone,
)
from cdp.policy import ContactPolicy

__all__ = [
    "CANCELLED",
    "DELIVERY_RULES",
    "MERGE_RULES",
    "DeliveryError",
    "DeliveryResult",
    "deliver_due",
    "deliver_in_transaction",
    "recheck_merged",
]

CANCELLED = "cancelled"
DELIVERY_RULES = (
    "unknown_profile",
    DUPLICATE,
    "no_consent",
    "open_ticket",
    "recent_complaint",
    "service_suppression",
    "conflicting_offer",
    "quiet_hours",
    "frequency_cap",
)
#: What a merge decides again for the master: the rules a merge itself can break.
MERGE_RULES = (DUPLICATE, "no_consent", "conflicting_offer", "frequency_cap")
_TEMP = ("d_due", "d_who", "d_chk", "d_ctx", "d_quiet", "d_conf")


class DeliveryError(CdpError, ValueError):
    """The delivery step cannot run as asked (bad limit or time, open transaction ...)."""


@dataclass
class DeliveryResult:
    """What one delivery batch did: `due` = `delivered` + sum(`cancelled`), ids of what went out.

    A dispatcher hands `delivered_ids` to its channel (SMTP, webhook) after the transaction commits.
    """

    until: str
    due: int = 0
    delivered: int = 0
    cancelled: dict[str, int] = field(default_factory=dict)
    delivered_ids: list[str] = field(default_factory=list)

    def to_dict(self) -> dict[str, Any]:
        data = asdict(self)
        data["cancelled"] = dict(sorted(self.cancelled.items()))
        return data


def deliver_due(
    db,
    *,
    until: str | datetime | None = None,
    policy: ContactPolicy | None = None,
    campaign_id: str | None = None,
    limit: int | None = None,
) -> DeliveryResult:
    """Deliver the sends scheduled before `until` (default: due by the CDP clock now), in one transaction.

    Each due send is re-checked on its customer's current state; survivors become `delivered`, the
    others `cancelled` with a decision. `campaign_id` restricts the batch to one campaign, `limit` to
    the `limit` earliest due sends (a dispatcher's batch size); the rest stay scheduled for the next call.
    """
    conn = sqlite_connection(db)
    with immediate_transaction(conn):
        return deliver_in_transaction(conn, until=until, policy=policy, campaign_id=campaign_id, limit=limit)


def deliver_in_transaction(
    conn: sqlite3.Connection,
    *,
    until: str | datetime | None = None,
    policy: ContactPolicy | None = None,
    campaign_id: str | None = None,
    limit: int | None = None,
) -> DeliveryResult:
    """`deliver_due`'s work inside a write transaction the caller holds (the simulator's day)."""
    policy = policy or ContactPolicy()
    if not conn.in_transaction:
        raise DeliveryError(
            "deliver_in_transaction needs the caller's open write transaction (BEGIN IMMEDIATE)"
        )
    if limit is not None and (isinstance(limit, bool) or not isinstance(limit, int) or limit < 1):
        raise DeliveryError(f"limit must be a positive number of sends, got {limit!r}")
    now = clock.now(conn)
    try:
        until_iso = clock.normalize_ts(until) if until is not None else clock.iso(now + timedelta(seconds=1))
    except ValueError as exc:
        raise DeliveryError(f"until must be an ISO timestamp, got {until!r}") from exc
    _drop(conn)
    where = "AND campaign_id = :cid" if campaign_id is not None else ""
    conn.execute(
        f"""CREATE TEMP TABLE d_due AS SELECT send_id, profile_id FROM sends
            WHERE status = 'scheduled' AND scheduled_for < :until {where}
            ORDER BY scheduled_for, send_id {"LIMIT :limit" if limit else ""}""",
        {"until": until_iso, "cid": campaign_id, "limit": limit},
    )
    conn.execute("CREATE TEMP TABLE d_who AS SELECT DISTINCT profile_id, profile_id AS target FROM d_due")
    _recheck(
        conn,
        policy=policy,
        rules=DELIVERY_RULES,
        at_sql="max(s.scheduled_for, :now)",
        order_sql="at, send_id",
        now=clock.iso(now),
    )
    result = DeliveryResult(until=until_iso)
    result.cancelled = _cancel(conn, policy, stage="delivery", now=clock.iso(now))
    conn.execute(
        """UPDATE sends SET status = 'delivered', delivered_at = c.at
           FROM d_chk c WHERE sends.send_id = c.send_id AND c.reason IS NULL"""
    )
    result.delivered_ids = [
        r[0] for r in conn.execute("SELECT send_id FROM d_chk WHERE reason IS NULL ORDER BY at, send_id")
    ]
    result.delivered = len(result.delivered_ids)
    result.due = result.delivered + sum(result.cancelled.values())
    _drop(conn)
    return result


def recheck_merged(conn: sqlite3.Connection, policy: ContactPolicy | None = None) -> dict[str, int]:
    """Decide the scheduled sends of merged customers again, for their master, inside the merge.

    Reads the merge map `temp._ir_map` (old id -> master) that `cdp.identity.apply_merges` builds,
    after the master's consents were merged and before sends are re-pointed: the master's and the
    merged profiles' scheduled sends are checked as the master's, against its delivered sends.
    Returns the cancellations by reason.
    """
    policy = policy or ContactPolicy()
    _drop(conn)
    conn.execute(
        """CREATE TEMP TABLE d_who AS
           SELECT old AS profile_id, master AS target FROM temp._ir_map
           UNION SELECT DISTINCT master, master FROM temp._ir_map"""
    )
    conn.execute(
        """CREATE TEMP TABLE d_due AS SELECT s.send_id, s.profile_id FROM sends s
           JOIN d_who w ON w.profile_id = s.profile_id WHERE s.status = 'scheduled'"""
    )
    now = clock.now_iso(conn)
    _recheck(
        conn,
        policy=policy,
        rules=MERGE_RULES,
        at_sql="s.scheduled_for",
        order_sql="created_at, send_id",
        now=now,
    )
    cancelled = _cancel(conn, policy, stage="merge", now=now)
    _drop(conn)
    return cancelled


# --- the shared re-check -------------------------------------------------------------------------------


def _drop(conn: sqlite3.Connection) -> None:
    for name in _TEMP:
        conn.execute(f"DROP TABLE IF EXISTS temp.{name}")


def _recheck(
    conn: sqlite3.Connection,
    *,
    policy: ContactPolicy,
    rules: tuple[str, ...],
    at_sql: str,
    order_sql: str,
    now: str,
) -> None:
    """Fill `d_chk` (one row per send in `d_due`, as its `d_who` target's) and stop what `rules` refuse.

    `d_ctx` holds the target's delivered sends, which count for duplicates and the cap.
    """
    params = {"now": now, "trait": SUPPRESSION_TRAIT}
    window_days = int(policy.frequency_window_days)
    conn.execute(
        f"""CREATE TEMP TABLE d_chk AS
        WITH base AS (
            SELECT s.send_id, s.campaign_id, w.target AS profile_id, s.channel, s.step, s.promotional,
                   s.scheduled_for, s.created_at, s.thread_id, s.task_id, s.agent, {at_sql} AS at,
                   p.profile_id IS NOT NULL AS known, p.country, p.open_tickets, p.last_complaint_at,
                   c.status AS consent_status, c.updated_at AS consent_updated_at,
                   c.source AS consent_source,
                   t.value AS sup_value, t.source AS sup_source, t.updated_at AS sup_updated_at
            FROM d_due d JOIN sends s ON s.send_id = d.send_id
            JOIN d_who w ON w.profile_id = s.profile_id
            LEFT JOIN profiles p ON p.profile_id = w.target
            LEFT JOIN consents c ON c.profile_id = w.target AND c.channel = s.channel
            LEFT JOIN traits t ON t.profile_id = w.target AND t.name = :trait
        )
        SELECT base.*,
               ROW_NUMBER() OVER (PARTITION BY profile_id
                                  ORDER BY consent_status IS 'granted' DESC, {order_sql})
                   AS rnk,
               strftime('%Y-%m-%dT%H:%M:%SZ', at, '-{window_days} days') AS win_lo,
               strftime('%Y-%m-%dT%H:%M:%SZ', at, '+{window_days} days') AS win_hi,
               CAST(NULL AS INTEGER) AS n_window, CAST(NULL AS TEXT) AS kept_send,
               CAST(NULL AS TEXT) AS conflict_send,
               CAST(NULL AS TEXT) AS local_time, CAST(NULL AS TEXT) AS tz, CAST(NULL AS TEXT) AS reason
        FROM base""",
        params,
    )
    conn.execute("CREATE INDEX temp.d_chk_profile ON d_chk (profile_id, campaign_id, step)")
    conn.execute(
        """CREATE TEMP TABLE d_ctx AS
           SELECT s.send_id, w.target AS profile_id, s.campaign_id, s.step, s.promotional,
                  COALESCE(s.delivered_at, s.scheduled_for) AS t
           FROM d_who w JOIN sends s ON s.profile_id = w.profile_id AND s.status = 'delivered'"""
    )
    conn.execute("CREATE INDEX temp.d_ctx_profile ON d_ctx (profile_id, campaign_id, step)")

    if "unknown_profile" in rules:
        conn.execute("UPDATE d_chk SET reason = 'unknown_profile' WHERE reason IS NULL AND NOT known")
    if DUPLICATE in rules:
        conn.execute(
            """UPDATE d_chk SET kept_send = COALESCE(
                    (SELECT x.send_id FROM d_ctx x WHERE x.profile_id = d_chk.profile_id
                       AND x.campaign_id = d_chk.campaign_id AND x.step = d_chk.step
                     ORDER BY x.t, x.send_id LIMIT 1),
                    (SELECT b.send_id FROM d_chk b WHERE b.profile_id = d_chk.profile_id
                       AND b.campaign_id = d_chk.campaign_id AND b.step = d_chk.step AND b.rnk < d_chk.rnk
                     ORDER BY b.rnk LIMIT 1))
                WHERE reason IS NULL"""
        )
        conn.execute(
            f"UPDATE d_chk SET reason = '{DUPLICATE}' WHERE reason IS NULL AND kept_send IS NOT NULL"
        )
    if "no_consent" in rules:
        conn.execute(
            "UPDATE d_chk SET reason = 'no_consent' WHERE reason IS NULL AND consent_status IS NOT 'granted'"
        )
    if "open_ticket" in rules and policy.suppress_open_tickets:
        conn.execute(
            "UPDATE d_chk SET reason = 'open_ticket' WHERE reason IS NULL AND promotional = 1 AND open_tickets > 0"
        )
    if "recent_complaint" in rules:
        conn.execute(
            f"""UPDATE d_chk SET reason = 'recent_complaint' WHERE reason IS NULL AND promotional = 1
                AND last_complaint_at > strftime('%Y-%m-%dT%H:%M:%SZ', at,
                                                 '-{int(policy.complaint_window_days)} days')"""
        )
    if "service_suppression" in rules:
        conn.execute(
            "UPDATE d_chk SET reason = 'service_suppression' WHERE reason IS NULL AND promotional = 1 AND sup_value = '1'"
        )
    if "conflicting_offer" in rules:
        _conflicting_offer(conn, policy)
    if "quiet_hours" in rules:
        _quiet_hours(conn, policy)
    if "frequency_cap" in rules:
        conn.execute(
            """UPDATE d_chk SET n_window =
                   (SELECT count(*) FROM d_ctx x WHERE x.profile_id = d_chk.profile_id AND x.promotional = 1
                      AND x.t > d_chk.win_lo AND x.t < d_chk.win_hi)
                 + (SELECT count(*) FROM d_chk b WHERE b.profile_id = d_chk.profile_id AND b.promotional = 1
                      AND b.reason IS NULL AND b.rnk < d_chk.rnk AND b.at > d_chk.win_lo AND b.at < d_chk.win_hi)
               WHERE reason IS NULL AND promotional = 1"""
        )
        conn.execute(
            "UPDATE d_chk SET reason = 'frequency_cap' WHERE reason IS NULL AND n_window >= ?",
            [policy.frequency_cap],
        )


def _conflicting_offer(conn: sqlite3.Connection, policy: ContactPolicy) -> None:
    """Stop a send whose offer overlaps a contradicting offer the same customer holds or gets first.

    Uses the gate's one definition of a conflict (`offer_conflict_sql`, declared UNION copy-named
    kinds) between the campaigns involved, and the gate's offer end (`offer_end_sql`). The customer
    holds what was delivered (`d_ctx`) and the earlier-ranked sends still allowed in this batch.
    """
    live = int(getattr(policy, "offer_live_days", DEFAULT_OFFER_LIVE_DAYS))
    conn.execute(
        f"""CREATE TEMP TABLE d_conf AS
            SELECT a.campaign_id AS ours, b.campaign_id AS theirs,
                   ca.offer_expires_at AS our_expires, cb.offer_expires_at AS their_expires
            FROM (SELECT DISTINCT campaign_id FROM d_chk) a
            JOIN (SELECT campaign_id FROM d_chk UNION SELECT campaign_id FROM d_ctx) b
              ON b.campaign_id != a.campaign_id
            JOIN campaigns ca ON ca.campaign_id = a.campaign_id
            JOIN campaigns cb ON cb.campaign_id = b.campaign_id
            WHERE {offer_conflict_sql("a.campaign_id", "b.campaign_id")} IS NOT NULL"""
    )
    if not conn.execute("SELECT 1 FROM d_conf LIMIT 1").fetchone():
        return
    ours_end = offer_end_sql("f.our_expires", "d_chk.at", live)
    conn.execute(
        f"""UPDATE d_chk SET conflict_send = COALESCE(
                (SELECT x.send_id FROM d_ctx x JOIN d_conf f ON f.ours = d_chk.campaign_id
                   AND f.theirs = x.campaign_id
                 WHERE x.profile_id = d_chk.profile_id AND x.t < {ours_end}
                   AND d_chk.at < {offer_end_sql("f.their_expires", "x.t", live)}
                 ORDER BY x.t, x.send_id LIMIT 1),
                (SELECT b.send_id FROM d_chk b JOIN d_conf f ON f.ours = d_chk.campaign_id
                   AND f.theirs = b.campaign_id
                 WHERE b.profile_id = d_chk.profile_id AND b.reason IS NULL AND b.rnk < d_chk.rnk
                   AND b.at < {ours_end} AND d_chk.at < {offer_end_sql("f.their_expires", "b.at", live)}
                 ORDER BY b.rnk LIMIT 1))
            WHERE reason IS NULL AND campaign_id IN (SELECT ours FROM d_conf)"""
    )
    conn.execute(
        "UPDATE d_chk SET reason = 'conflicting_offer' WHERE reason IS NULL AND conflict_send IS NOT NULL"
    )


def _quiet_hours(conn: sqlite3.Connection, policy: ContactPolicy) -> None:
    """Stop SMS and push whose delivery moment is in the quiet hours in any zone the customer may be in.

    The zones are the gate's (`customer_zones`: the city's, else every zone of the country); with no
    known country the whole world's apply, so such a send never goes out. Once per (country, city,
    moment), never per customer.
    """
    slots = conn.execute(
        f"""SELECT DISTINCT COALESCE(d.country, ''), COALESCE(p.city, ''), d.at FROM d_chk d
            LEFT JOIN profiles p ON p.profile_id = d.profile_id
            WHERE d.reason IS NULL AND d.channel IN {QUIET_CHANNELS}"""
    ).fetchall()
    quiet = []
    for country, city, at in slots:
        when = clock.parse_ts(at)
        zones = customer_zones(country, city)
        tz = quiet_zone(when, zones, policy)
        if tz is None:
            continue
        if zones:
            quiet.append((country, city, at, when.astimezone(tz).strftime("%Y-%m-%d %H:%M"), tz.key))
        else:
            quiet.append(
                (country, city, at, "unknown", f"no local time known (country {country or 'missing'})")
            )
    if not quiet:
        return
    conn.execute(
        """CREATE TEMP TABLE d_quiet (country TEXT, city TEXT, at TEXT, local_time TEXT, tz TEXT,
           PRIMARY KEY (country, city, at))"""
    )
    conn.executemany("INSERT INTO d_quiet VALUES (?, ?, ?, ?, ?)", quiet)
    conn.execute(
        f"""UPDATE d_chk SET reason = 'quiet_hours', local_time = q.local_time, tz = q.tz
            FROM d_quiet q WHERE q.country = COALESCE(d_chk.country, '') AND q.at = d_chk.at
              AND q.city = COALESCE((SELECT p.city FROM profiles p WHERE p.profile_id = d_chk.profile_id), '')
              AND d_chk.reason IS NULL AND d_chk.channel IN {QUIET_CHANNELS}"""
    )


def _rule_texts(policy: ContactPolicy, stage: str) -> dict[str, str]:
    """The rule each cancellation enforced, with the limit used (stored on every decision)."""
    when = "at delivery" if stage == "delivery" else "after an identity merge"
    return {
        "unknown_profile": f"a send needs an existing profile {when}",
        DUPLICATE: f"one message per campaign step and customer {when}",
        "no_consent": f"channel consent must be granted {when}",
        "open_ticket": f"no promotion while a support ticket is open {when}",
        "recent_complaint": f"no promotion within {policy.complaint_window_days} days of a complaint {when}",
        "service_suppression": f"no promotion while trait {SUPPRESSION_TRAIT} = 1 {when}",
        "conflicting_offer": f"no two contradicting live offers {when}",
        "quiet_hours": (
            f"no SMS or push between {policy.quiet_hours_start}:00 and {policy.quiet_hours_end}:00 "
            f"local time {when}"
        ),
        "frequency_cap": (
            f"at most {policy.frequency_cap} promotional messages per {policy.frequency_window_days} days {when}"
        ),
    }


def _evidence_sql() -> str:
    """JSON evidence per cancellation: the send, the consent read, plus what the deciding rule read."""
    common = (
        "'stage', :stage, 'send_id', send_id, 'channel', channel, 'scheduled_for', scheduled_for,"
        " 'delivery_at', at, 'promotional', promotional,"
        " 'consent', json_object('status', COALESCE(consent_status, 'absent'),"
        " 'updated_at', consent_updated_at, 'source', consent_source)"
    )
    return f"""CASE reason
        WHEN '{DUPLICATE}' THEN json_object({common}, 'kept_send_id', kept_send)
        WHEN 'open_ticket' THEN json_object({common}, 'open_tickets', open_tickets,
            'oldest_open_ticket_at', (SELECT min(opened_at) FROM tickets
                                      WHERE profile_id = d_chk.profile_id AND status = 'open'),
            'open_ticket_ids', (SELECT json_group_array(ticket_id) FROM tickets
                                WHERE profile_id = d_chk.profile_id AND status = 'open'))
        WHEN 'recent_complaint' THEN json_object({common}, 'last_complaint_at', last_complaint_at,
            'complaint_window_days', :complaint_days)
        WHEN 'service_suppression' THEN json_object({common}, 'trait', :trait, 'value', sup_value,
            'source', sup_source, 'updated_at', sup_updated_at)
        WHEN 'conflicting_offer' THEN json_object({common}, 'conflicting_send_id', conflict_send,
            'conflicting_campaign_id', (SELECT campaign_id FROM sends WHERE send_id = d_chk.conflict_send),
            'our_offer_kinds', (SELECT json_group_array(kind) FROM {offer_kinds_sql("d_chk.campaign_id")}))
        WHEN 'quiet_hours' THEN json_object({common}, 'local_time', local_time, 'timezone', tz,
            'quiet_hours_start', :quiet_start, 'quiet_hours_end', :quiet_end)
        WHEN 'frequency_cap' THEN json_object({common}, 'sends_in_window', n_window, 'cap', :cap,
            'window_days', :window_days, 'window_start', win_lo, 'window_end', win_hi)
        ELSE json_object({common}) END"""


def _cancel(conn: sqlite3.Connection, policy: ContactPolicy, *, stage: str, now: str) -> dict[str, int]:
    """Cancel every stopped send of `d_chk`, each with a decision; returns counts by reason.

    A decision already on that (campaign, customer, step), the gate's or a merged profile's, is
    replaced by the cancellation and kept inside its evidence as `previous_decision`.
    """
    counts = dict(
        conn.execute("SELECT reason, count(*) FROM d_chk WHERE reason IS NOT NULL GROUP BY reason").fetchall()
    )
    if not counts:
        return {}
    rules = _rule_texts(policy, stage)
    rule_case = " ".join(
        "WHEN '{}' THEN '{}'".format(reason, text.replace("'", "''")) for reason, text in rules.items()
    )
    conn.execute(
        f"""INSERT INTO decisions (campaign_id, profile_id, channel, step, outcome, reason_code, rule,
                evidence, thread_id, task_id, agent, created_at)
            SELECT campaign_id, profile_id, channel, step, '{CANCELLED}', reason, CASE reason {rule_case} END,
                   {_evidence_sql()}, thread_id, task_id, agent, :now
            FROM d_chk WHERE reason IS NOT NULL ORDER BY rnk
            ON CONFLICT (campaign_id, profile_id, step) DO UPDATE SET
                channel = excluded.channel, outcome = excluded.outcome, reason_code = excluded.reason_code,
                rule = excluded.rule, created_at = excluded.created_at,
                evidence = json_set(excluded.evidence, '$.previous_decision', json_object(
                    'outcome', decisions.outcome, 'reason_code', decisions.reason_code,
                    'channel', decisions.channel, 'created_at', decisions.created_at))""",
        {
            "stage": stage,
            "now": now,
            "trait": SUPPRESSION_TRAIT,
            "cap": policy.frequency_cap,
            "window_days": policy.frequency_window_days,
            "complaint_days": policy.complaint_window_days,
            "quiet_start": policy.quiet_hours_start,
            "quiet_end": policy.quiet_hours_end,
        },
    )
    conn.execute(
        f"""UPDATE sends SET status = '{CANCELLED}'
            WHERE send_id IN (SELECT send_id FROM d_chk WHERE reason IS NOT NULL)"""
    )
    return {str(k): int(v) for k, v in sorted(counts.items())}
