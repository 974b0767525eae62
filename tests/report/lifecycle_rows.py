"""Realistic lifecycle rows for a launched campaign, written the way the m050 tables define them.

The daily simulator fills these tables in production; report tests need known figures, so they write
a fortnight of cumulative measurements (both arms, each variant and channel of the real sends) and a
few adjustments straight into the CDP after a real run.
"""

from __future__ import annotations

import json
import math
import sqlite3
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

DAYS = 14
#: Cumulative conversion by day d is rate * (1 - exp(-d / 4)): most buying happens in the first week.
TREATED_RATE, HOLDOUT_RATE = 0.11, 0.05
#: A reason with markup in it: it must show as text in the HTML page.
LAUNCH = datetime(2026, 11, 24, 12)
SMS_REASON = "sms unsubscribes 4.1% > the 2% limit <b>& rising</b>"


def _wald(p1: float, n1: int, p2: float, n2: int) -> tuple[float | None, float | None]:
    if not n1 or not n2:
        return None, None
    se = math.sqrt(p1 * (1 - p1) / n1 + p2 * (1 - p2) / n2)
    return round(p1 - p2 - 1.96 * se, 5), round(p1 - p2 + 1.96 * se, 5)


def _as_of(day: int) -> str:
    """The end of launch day + `day` (launch at the tests' fixed clock, 2026-11-24 12:00 UTC)."""
    return (LAUNCH + timedelta(days=day)).strftime("%Y-%m-%dT%H:%M:%SZ")


def _cumulative(n: int, rate: float, day: int) -> int:
    return round(n * rate * (1 - math.exp(-day / 4)))


def insert_lifecycle(db_path: str | Path, campaign_id: str, thread_id: str) -> dict[str, Any]:
    """Write DAYS days of metrics and results plus three adjustments; return what was written."""
    conn = sqlite3.connect(db_path)
    try:
        treated_n = conn.execute(
            "SELECT count(DISTINCT profile_id) FROM sends WHERE campaign_id = ?", [campaign_id]
        ).fetchone()[0]
        holdout_n = conn.execute(
            "SELECT count(*) FROM decisions WHERE campaign_id = ? AND outcome = 'holdout'", [campaign_id]
        ).fetchone()[0]
        cuts = {
            kind: conn.execute(
                f"SELECT {kind}, count(DISTINCT profile_id) FROM sends WHERE campaign_id = ? AND step = 0 "
                f"GROUP BY {kind} ORDER BY {kind}",
                [campaign_id],
            ).fetchall()
            for kind in ("variant", "channel")
        }
        variant_lift = {name: 0.6 + 0.15 * i for i, (name, _) in enumerate(cuts["variant"])}
        results, metrics = [], []
        for day in range(1, DAYS + 1):
            as_of = _as_of(day)
            bought_t = _cumulative(treated_n, TREATED_RATE, day)
            bought_h = _cumulative(holdout_n, HOLDOUT_RATE, day)
            unsubscribed = round(treated_n * 0.004 * day / DAYS * 3)
            p1, p2 = bought_t / treated_n, bought_h / holdout_n
            low, high = _wald(p1, treated_n, p2, holdout_n)
            results.append(
                (
                    campaign_id,
                    day,
                    as_of,
                    treated_n,
                    round(p1, 5),
                    holdout_n,
                    round(p2, 5),
                    round(p1 - p2, 5),
                    low,
                    high,
                    round(unsubscribed / treated_n, 5),
                )
            )
            metrics.append(
                (campaign_id, day, as_of, "treated", "", "", treated_n, treated_n, bought_t, unsubscribed)
            )
            metrics.append((campaign_id, day, as_of, "holdout", "", "", holdout_n, 0, bought_h, 0))
            for name, n in cuts["variant"]:
                bought = min(n, _cumulative(n, TREATED_RATE * variant_lift[name], day))
                metrics.append((campaign_id, day, as_of, "treated", name, "", n, n, bought, 0))
            for name, n in cuts["channel"]:
                metrics.append(
                    (campaign_id, day, as_of, "treated", "", name, n, n, _cumulative(n, TREATED_RATE, day), 0)
                )
        conn.executemany("INSERT INTO campaign_results VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)", results)
        conn.executemany(
            "INSERT INTO campaign_metrics (campaign_id, day, as_of, arm, variant, channel, customers, delivered, "
            "purchasers, unsubscribes) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
            metrics,
        )
        best = cuts["variant"][-1][0]
        adjustments = [
            (
                3,
                "keep",
                None,
                "too early: fewer than 30 buyers in the treated arm",
                "optimization",
                0,
                {"buyers": 9},
            ),
            (
                5,
                "shift_variant",
                best,
                f"{best} converts best after five days",
                "optimization",
                40,
                {"winner": best, "winner_rate": 0.081, "runner_up_rate": 0.052},
            ),
            (
                8,
                "pause_channel",
                "sms",
                SMS_REASON,
                "compliance",
                11,
                {"unsubscribe_rate": 0.041, "limit": 0.02},
            ),
        ]
        conn.executemany(
            "INSERT INTO campaign_adjustments (campaign_id, thread_id, day, at, action, target, reason, evidence, "
            "decided_by, affected) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
            [
                (
                    campaign_id,
                    thread_id,
                    day,
                    _as_of(day),
                    action,
                    target,
                    reason,
                    json.dumps(evidence),
                    who,
                    n,
                )
                for day, action, target, reason, who, n, evidence in adjustments
            ],
        )
        conn.commit()
    finally:
        conn.close()
    return {
        "days": DAYS,
        "treated_n": treated_n,
        "holdout_n": holdout_n,
        "variants": [v for v, _ in cuts["variant"]],
    }
