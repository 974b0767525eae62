"""A running campaign: daily measurement against the holdout, follow-up waves and adjustments.

Measurement is set-based SQL over the campaign's sends, decisions and events, written to
`campaign_metrics` and `campaign_results` (see migration m050 for what each column means).
Adjustments change only how the *next* sends are allocated (`campaigns.allocation`) or cancel sends not
yet delivered; new sends are only ever staged as requests and decided by the contact-policy gate, so an
adjustment can never reach a customer the gate would stop.
"""

from __future__ import annotations

import json
import math
import sqlite3
from typing import Any

from cdp import clock
from cdp.db import sqlite_connection
from cdp.errors import CdpError, UnknownCampaignError
from cdp.gate import CHANNELS, GateResult, run_gate
from cdp.migrations.m050_lifecycle import ACTIONS
from cdp.policy import ContactPolicy
from cdp.status import set_campaign_status
from cdp.vocabulary import effective_language_sql

#: Cells smaller than this are reported but never used to pick a winner.
MIN_CELL = 100
Z_95 = 1.96


class AdjustmentError(CdpError, ValueError):
    """An adjustment that cannot apply: unknown action or target, or it would leave nothing live."""


# ----------------------------------------------------------------------------------------- allocation


def allocation(db, campaign_id: str) -> dict[str, Any]:
    row = (
        sqlite_connection(db)
        .execute("SELECT allocation FROM campaigns WHERE campaign_id = ?", [campaign_id])
        .fetchone()
    )
    if row is None:
        raise UnknownCampaignError(f"unknown campaign {campaign_id!r}")
    data = json.loads(row[0] or "{}")
    return {
        "paused_variants": list(data.get("paused_variants") or []),
        "paused_channels": list(data.get("paused_channels") or []),
        "preferred_variant": data.get("preferred_variant"),
        "preferred_channel": data.get("preferred_channel"),
        "stopped": bool(data.get("stopped")),
    }


def _save_allocation(conn: sqlite3.Connection, campaign_id: str, alloc: dict[str, Any]) -> None:
    conn.execute(
        "UPDATE campaigns SET allocation = ?, updated_at = ? WHERE campaign_id = ?",
        [json.dumps(alloc, sort_keys=True), clock.now_iso(conn), campaign_id],
    )


def start(db, campaign_id: str) -> str:
    """Mark the campaign running and return its launch instant (kept from the first call)."""
    conn = sqlite_connection(db)
    row = conn.execute("SELECT launched_at FROM campaigns WHERE campaign_id = ?", [campaign_id]).fetchone()
    if row is None:
        raise UnknownCampaignError(f"unknown campaign {campaign_id!r}")
    if row[0]:
        return str(row[0])
    now = clock.now_iso(conn)
    with conn:
        conn.execute("UPDATE campaigns SET launched_at = ? WHERE campaign_id = ?", [now, campaign_id])
        set_campaign_status(conn, campaign_id, "running", at=now)
    return now


def live_cells(db, campaign_id: str, alloc: dict[str, Any] | None = None) -> dict[str, list[str]]:
    """Variants and channels the campaign has sent with and not paused (`alloc`: its allocation,
    when the caller has read it already)."""
    conn = sqlite_connection(db)
    alloc = alloc or allocation(conn, campaign_id)
    variants = [
        r[0]
        for r in conn.execute(
            "SELECT DISTINCT COALESCE(variant, 'default') FROM sends WHERE campaign_id = ? ORDER BY 1",
            [campaign_id],
        )
    ]
    channels = [
        r[0]
        for r in conn.execute(
            "SELECT DISTINCT channel FROM sends WHERE campaign_id = ? ORDER BY 1", [campaign_id]
        )
    ]
    return {
        "variants": [v for v in variants if v not in alloc["paused_variants"]],
        "channels": [c for c in channels if c not in alloc["paused_channels"]],
    }


# ---------------------------------------------------------------------------------------- measurement


def _wald(p1: float, n1: int, p2: float, n2: int) -> tuple[float | None, float | None]:
    """95% interval of p1 - p2 (Wald, unpooled); None while an arm is empty."""
    if not n1 or not n2:
        return None, None
    se = math.sqrt(p1 * (1 - p1) / n1 + p2 * (1 - p2) / n2)
    d = p1 - p2
    return round(d - Z_95 * se, 5), round(d + Z_95 * se, 5)


def measure_day(db, campaign_id: str, day: int) -> dict[str, Any]:
    """Write the day's cumulative metrics per arm and cut, and the headline result; return the headline.

    Treated customers are cut by the variant and channel of their first (step 0) send, the cell they
    were assigned at launch, so cells compare like with like even after later waves were reallocated.
    """
    conn = sqlite_connection(db)
    launched = conn.execute(
        "SELECT launched_at FROM campaigns WHERE campaign_id = ?", [campaign_id]
    ).fetchone()
    if launched is None or not launched[0]:
        raise UnknownCampaignError(f"campaign {campaign_id!r} has not been launched")
    as_of = clock.now_iso(conn)
    params = {"cid": campaign_id, "t0": launched[0], "as_of": as_of, "day": day}
    with conn:
        conn.execute("DROP TABLE IF EXISTS temp.lc_members")
        conn.execute(
            """CREATE TEMP TABLE lc_members AS
               SELECT 'treated' AS arm, s.profile_id, COALESCE(s.variant, 'default') AS variant, s.channel
               FROM sends s WHERE s.campaign_id = :cid AND s.step = 0
                 AND EXISTS (SELECT 1 FROM sends d WHERE d.campaign_id = s.campaign_id
                             AND d.profile_id = s.profile_id AND d.status = 'delivered')
               UNION ALL
               SELECT 'holdout', profile_id, '', '' FROM decisions
               WHERE campaign_id = :cid AND step = 0 AND outcome = 'holdout'""",
            params,
        )
        conn.execute("CREATE INDEX temp.lc_members_pid ON lc_members (profile_id)")
        # One row per member: what they did since launch (customers, not events). `+e.type` keeps
        # SQLite on the (profile_id, ts) index rather than walking every event of those types.
        conn.execute("DROP TABLE IF EXISTS temp.lc_done")
        conn.execute(
            """CREATE TEMP TABLE lc_done AS
               SELECT m.arm, m.profile_id, m.variant, m.channel,
                      (SELECT count(*) FROM sends d WHERE d.campaign_id = :cid AND d.profile_id = m.profile_id
                         AND d.status = 'delivered') AS delivered,
                      max(e.type IN ('email_open', 'push_open', 'sms_click')
                          AND json_extract(e.properties, '$.campaign_id') = :cid) AS opened,
                      max(e.type IN ('email_click', 'sms_click', 'push_open')
                          AND json_extract(e.properties, '$.campaign_id') = :cid) AS clicked,
                      max(e.type = 'purchase') AS bought,
                      total(CASE WHEN e.type = 'purchase' THEN json_extract(e.properties, '$.amount') END)
                          AS revenue,
                      max(e.type = 'unsubscribe' AND json_extract(e.properties, '$.campaign_id') = :cid)
                          AS unsubscribed
               FROM lc_members m
               LEFT JOIN events e ON e.profile_id = m.profile_id AND e.ts >= :t0 AND e.ts < :as_of
                    AND +e.type IN ('email_open', 'push_open', 'sms_click', 'email_click', 'purchase',
                                   'unsubscribe')
               GROUP BY m.arm, m.profile_id""",
            params,
        )
        cuts = [("''", "''"), ("variant", "''"), ("''", "channel")]
        conn.execute("DELETE FROM campaign_metrics WHERE campaign_id = :cid AND day = :day", params)
        for variant_col, channel_col in cuts:
            conn.execute(
                f"""INSERT INTO campaign_metrics (campaign_id, day, as_of, arm, variant, channel, customers,
                        delivered, opens, clicks, purchasers, unsubscribes, revenue)
                    SELECT :cid, :day, :as_of, arm, {variant_col}, {channel_col}, count(*), total(delivered),
                           total(COALESCE(opened, 0)), total(COALESCE(clicked, 0)),
                           total(COALESCE(bought, 0)), total(COALESCE(unsubscribed, 0)), round(total(revenue), 2)
                    FROM lc_done
                    WHERE {"1" if variant_col == channel_col else "arm = 'treated'"}
                    GROUP BY arm, {variant_col}, {channel_col}""",
                params,
            )
        conn.execute("DROP TABLE temp.lc_done")
        conn.execute("DROP TABLE temp.lc_members")
        arms = {
            arm: (int(n), int(buyers), int(unsubs))
            for arm, n, buyers, unsubs in conn.execute(
                """SELECT arm, customers, purchasers, unsubscribes FROM campaign_metrics
                   WHERE campaign_id = :cid AND day = :day AND variant = '' AND channel = ''""",
                params,
            )
        }
        n1, b1, u1 = arms.get("treated", (0, 0, 0))
        n2, b2, _ = arms.get("holdout", (0, 0, 0))
        p1 = b1 / n1 if n1 else 0.0
        p2 = b2 / n2 if n2 else 0.0
        low, high = _wald(p1, n1, p2, n2)
        headline = {
            "campaign_id": campaign_id,
            "day": day,
            "as_of": as_of,
            "treated_n": n1,
            "treated_rate": round(p1, 5),
            "holdout_n": n2,
            "holdout_rate": round(p2, 5),
            "lift": round(p1 - p2, 5),
            "ci_low": low,
            "ci_high": high,
            "unsubscribe_rate": round(u1 / n1, 5) if n1 else 0.0,
        }
        conn.execute(
            """INSERT OR REPLACE INTO campaign_results (campaign_id, day, as_of, treated_n, treated_rate,
                   holdout_n, holdout_rate, lift, ci_low, ci_high, unsubscribe_rate)
               VALUES (:campaign_id, :day, :as_of, :treated_n, :treated_rate, :holdout_n, :holdout_rate,
                       :lift, :ci_low, :ci_high, :unsubscribe_rate)""",
            headline,
        )
    return headline


def cells(db, campaign_id: str, day: int, by: str) -> list[dict[str, Any]]:
    """The treated arm cut by `variant` or `channel` on `day`, with each cell's conversion rate."""
    if by not in ("variant", "channel"):
        raise ValueError("cut by 'variant' or 'channel'")
    other = "channel" if by == "variant" else "variant"
    rows = (
        sqlite_connection(db)
        .execute(
            f"""SELECT {by}, customers, purchasers, unsubscribes, revenue FROM campaign_metrics
            WHERE campaign_id = ? AND day = ? AND arm = 'treated' AND {by} != '' AND {other} = ''
            ORDER BY {by}""",
            [campaign_id, day],
        )
        .fetchall()
    )
    return [
        {
            by: name,
            "customers": int(n),
            "purchasers": int(b),
            "conversion_rate": round(b / n, 5) if n else 0.0,
            "unsubscribes": int(u),
            "revenue": float(r),
        }
        for name, n, b, u, r in rows
    ]


def latest(db, campaign_id: str) -> dict[str, Any] | None:
    """The newest headline result, its cells and the current allocation, for the agents to read."""
    out = next(
        db.query(
            """SELECT day, as_of, treated_n, treated_rate, holdout_n, holdout_rate, lift, ci_low, ci_high,
                      unsubscribe_rate FROM campaign_results WHERE campaign_id = ? ORDER BY day DESC LIMIT 1""",
            [campaign_id],
        ),
        None,
    )
    if out is None:
        return None
    conn = sqlite_connection(db)
    out["by_variant"] = cells(conn, campaign_id, out["day"], "variant")
    out["by_channel"] = cells(conn, campaign_id, out["day"], "channel")
    out["allocation"] = allocation(conn, campaign_id)
    out["live"] = live_cells(conn, campaign_id, out["allocation"])
    return out


# ---------------------------------------------------------------------------------------- adjustments


def apply_adjustment(
    db,
    campaign_id: str,
    *,
    day: int,
    action: str,
    target: str | None,
    reason: str,
    decided_by: str,
    evidence: dict[str, Any] | None = None,
    thread_id: str | None = None,
    at: str | None = None,
) -> dict[str, Any]:
    """Record one adjustment and apply it; a second call for the same (day, action, target) changes
    nothing and returns the first. Pausing or stopping cancels sends not yet delivered; shifting only
    changes how the next wave is allocated."""
    conn = sqlite_connection(db)
    if action not in ACTIONS:
        raise AdjustmentError(f"unknown action {action!r}: use one of {', '.join(ACTIONS)}")
    reason = (reason or "").strip()[:500]
    if not reason:
        raise AdjustmentError("give the reason for the adjustment (the figures it rests on)")
    target = (target or "").strip() or None
    existing = conn.execute(
        """SELECT adjustment_id, affected FROM campaign_adjustments
           WHERE campaign_id = ? AND day = ? AND action = ? AND target IS ?""",
        [campaign_id, day, action, target],
    ).fetchone()
    if existing:
        return {
            "adjustment_id": existing[0],
            "action": action,
            "target": target,
            "affected": existing[1],
            "already_applied": True,
        }
    alloc = allocation(conn, campaign_id)
    if alloc["stopped"] and action != "keep":
        raise AdjustmentError("the campaign was stopped: nothing more can change")
    live = live_cells(conn, campaign_id, alloc)
    affected = 0
    now = at or clock.now_iso(conn)
    if action in ("pause_variant", "shift_variant") and target not in live["variants"]:
        raise AdjustmentError(
            f"variant {target!r} is not live in this campaign; live variants: {', '.join(live['variants']) or 'none'}"
        )
    if action in ("pause_channel", "shift_channel") and target not in live["channels"]:
        raise AdjustmentError(
            f"channel {target!r} is not live in this campaign; live channels: {', '.join(live['channels']) or 'none'}"
        )
    with conn:
        if action == "pause_variant":
            if len(live["variants"]) < 2:
                raise AdjustmentError("cannot pause the last live variant: stop the campaign instead")
            alloc["paused_variants"].append(target)
            if alloc["preferred_variant"] == target:
                alloc["preferred_variant"] = None
            affected = conn.execute(
                """UPDATE sends SET status = 'cancelled' WHERE campaign_id = ? AND status = 'scheduled'
                   AND COALESCE(variant, 'default') = ?""",
                [campaign_id, target],
            ).rowcount
        elif action == "pause_channel":
            if len(live["channels"]) < 2:
                raise AdjustmentError("cannot pause the last live channel: stop the campaign instead")
            alloc["paused_channels"].append(target)
            if alloc["preferred_channel"] == target:
                alloc["preferred_channel"] = None
            affected = conn.execute(
                "UPDATE sends SET status = 'cancelled' WHERE campaign_id = ? AND status = 'scheduled' AND channel = ?",
                [campaign_id, target],
            ).rowcount
        elif action == "shift_variant":
            alloc["preferred_variant"] = target
        elif action == "shift_channel":
            alloc["preferred_channel"] = target
        elif action == "stop":
            alloc["stopped"] = True
            affected = conn.execute(
                "UPDATE sends SET status = 'cancelled' WHERE campaign_id = ? AND status = 'scheduled'",
                [campaign_id],
            ).rowcount
            set_campaign_status(conn, campaign_id, "stopped", at=now)
        if action != "keep":
            _save_allocation(conn, campaign_id, alloc)
        cur = conn.execute(
            """INSERT INTO campaign_adjustments (campaign_id, thread_id, day, at, action, target, reason,
                   evidence, decided_by, affected) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)""",
            [
                campaign_id,
                thread_id,
                day,
                now,
                action,
                target,
                reason,
                json.dumps(evidence or {}, default=str),
                decided_by,
                affected,
            ],
        )
    return {
        "adjustment_id": cur.lastrowid,
        "action": action,
        "target": target,
        "affected": affected,
        "already_applied": False,
    }


# ------------------------------------------------------------------------------------------ follow-up


def stage_followup(
    db,
    campaign_id: str,
    step: int,
    *,
    policy: ContactPolicy,
    thread_id: str | None = None,
) -> GateResult | None:
    """Stage a reminder (`step`) for contacted customers who have not bought or unsubscribed since
    launch, allocated as the campaign now says (preferred variant where it fits the customer, no
    paused variant or channel), then let the gate decide it. None when the campaign is stopped."""
    conn = sqlite_connection(db)
    alloc = allocation(conn, campaign_id)
    if alloc["stopped"]:
        return None
    launched = conn.execute(
        "SELECT launched_at FROM campaigns WHERE campaign_id = ?", [campaign_id]
    ).fetchone()[0]
    paused_v = alloc["paused_variants"]
    paused_c = alloc["paused_channels"]
    pref_c = alloc["preferred_channel"]
    # Channel: the preferred one where the customer consented to it, else the first send's channel
    # unless it is paused, else any live channel they consented to (the gate still checks consent).
    options = [c for c in CHANNELS if c not in paused_c]
    channel_sql = "CASE "
    if pref_c and pref_c in options:
        channel_sql += f"WHEN p.consent_{pref_c} = 1 THEN '{pref_c}' "
    channel_sql += "WHEN s.channel NOT IN (SELECT value FROM json_each(:paused_c)) THEN s.channel "
    channel_sql += " ".join(f"WHEN p.consent_{c} = 1 THEN '{c}'" for c in options) + " END"
    # A customer without a supported language reads the campaign's default one (as at launch).
    language = effective_language_sql(
        "p.language", "(SELECT default_language FROM campaigns WHERE campaign_id = :cid)"
    )
    variant_sql = f"""CASE WHEN :pref IS NOT NULL AND EXISTS (
            SELECT 1 FROM content_variants v WHERE v.campaign_id = :cid AND v.variant_id = :pref
              AND (v.language IS NULL OR v.language = {language})
              AND (v.category IS NULL OR v.category = p.favorite_category)
              AND (v.tier IS NULL OR v.tier = p.tier)) THEN :pref
        WHEN COALESCE(s.variant, 'default') NOT IN (SELECT value FROM json_each(:paused_v))
            THEN COALESCE(s.variant, 'default')
        ELSE 'default' END"""
    now = clock.now_iso(conn)
    params: dict[str, Any] = {
        "cid": campaign_id,
        "step": step,
        "pref": alloc["preferred_variant"],
        "paused_v": json.dumps(paused_v),
        "paused_c": json.dumps(paused_c),
        "t0": launched,
        "now": now,
        "thread": thread_id,
    }
    with conn:
        conn.execute(
            f"""INSERT OR IGNORE INTO send_requests (campaign_id, profile_id, channel, step, variant, send_at,
                    thread_id, task_id, agent, requested_at)
                SELECT * FROM (
                    SELECT :cid, s.profile_id, {channel_sql} AS channel, :step, {variant_sql} AS variant, :now,
                           :thread, 'followup-' || :step, 'optimization', :now
                    FROM sends s JOIN profiles p ON p.profile_id = s.profile_id
                    WHERE s.campaign_id = :cid AND s.step = 0 AND s.status = 'delivered'
                      AND NOT EXISTS (SELECT 1 FROM events e WHERE e.profile_id = s.profile_id
                                      AND +e.type IN ('purchase', 'unsubscribe') AND e.ts >= :t0)
                ) WHERE channel IS NOT NULL AND variant NOT IN (SELECT value FROM json_each(:paused_v))""",
            params,
        )
    return run_gate(db, campaign_id, step=step, policy=policy)
