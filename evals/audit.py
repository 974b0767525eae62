"""The contact-policy promise, checked over a whole CDP after the fact: every campaign, every send.

Each check is one SQL query returning the offending rows (quiet hours adds the local time in Python,
once per distinct (country, city, time), because SQLite has no zone data, in every zone the customer
may be in, from its own reading of tzdata, not the product's tables). The checks read only what the CDP
records (consent history, tickets, complaint events, sends with their delivery time), never the code
that made the decisions, so a bug in the gate or the delivery step cannot hide itself here.

    from evals.audit import assert_promise_holds
    assert_promise_holds(path)            # or a sqlite3 connection, or an open CDP

`cdp-agents eval` runs it over each run's copy of the CDP; the tests run it after every lifecycle,
concurrency and crash scenario.
"""

from __future__ import annotations

import importlib.resources
import sqlite3
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

from cdp.policy import ContactPolicy

LIVE = "('scheduled', 'delivered')"
#: When a send went out (delivered) or is due (scheduled).
AT = "COALESCE(s.delivered_at, s.scheduled_for)"
SHOW = 5


def _conn(db: Any) -> tuple[sqlite3.Connection, bool]:
    if isinstance(db, sqlite3.Connection):
        return db, False
    if hasattr(db, "conn"):
        return db.conn, False
    return sqlite3.connect(str(Path(db))), True


def _checks(policy: ContactPolicy) -> dict[str, str]:
    window = int(policy.frequency_window_days)
    complaint = int(policy.complaint_window_days)
    return {
        # The last consent change at or before delivery, per customer and channel, must be a grant.
        "consent_at_delivery": f"""
            SELECT * FROM (
                SELECT s.send_id, s.profile_id, s.channel, {AT} AS at,
                       (SELECT h.status FROM consent_history h
                        WHERE h.profile_id = s.profile_id AND h.channel = s.channel AND h.updated_at <= {AT}
                        ORDER BY h.updated_at DESC, h.history_id DESC LIMIT 1) AS consent
                FROM sends s WHERE s.status = 'delivered')
            WHERE consent IS NOT 'granted'""",
        # A send with `cap` or more other live promotional sends of its customer in the window before it
        # (inclusive of its own time) ends a rolling window that holds more than the cap.
        "frequency_cap": f"""
            SELECT s.send_id, s.profile_id, {AT} AS at, n FROM (
                SELECT s.*, (SELECT count(*) FROM sends o
                             WHERE o.profile_id = s.profile_id AND o.send_id != s.send_id
                               AND o.status IN {LIVE} AND o.promotional = 1
                               AND COALESCE(o.delivered_at, o.scheduled_for) <= {AT}
                               AND COALESCE(o.delivered_at, o.scheduled_for)
                                   > strftime('%Y-%m-%dT%H:%M:%SZ', {AT}, '-{window} days')) AS n
                FROM sends s WHERE s.status IN {LIVE} AND s.promotional = 1) s
            WHERE n >= {int(policy.frequency_cap)}""",
        # Open at delivery: opened by then and not closed before it.
        "open_ticket_at_delivery": f"""
            SELECT s.send_id, s.profile_id, {AT} AS at, t.ticket_id
            FROM sends s JOIN tickets t ON t.profile_id = s.profile_id
            WHERE s.status = 'delivered' AND s.promotional = 1 AND t.opened_at <= {AT}
              AND (t.status = 'open' OR t.updated_at > {AT})
              AND NOT EXISTS (SELECT 1 FROM events x WHERE x.type = 'support_ticket'
                                AND json_extract(x.properties, '$.ticket_id') = t.ticket_id)
            UNION ALL
            -- tickets that events opened and closed: the ticket's state is its latest event's at the time
            SELECT s.send_id, s.profile_id, {AT} AS at, json_extract(e.properties, '$.ticket_id')
            FROM sends s JOIN events e ON e.profile_id = s.profile_id AND +e.type = 'support_ticket'
            WHERE s.status = 'delivered' AND s.promotional = 1 AND e.ts <= {AT}
              AND COALESCE(json_extract(e.properties, '$.status'), 'open') != 'closed'
              AND NOT EXISTS (SELECT 1 FROM events l WHERE l.type = 'support_ticket'
                                AND json_extract(l.properties, '$.ticket_id')
                                    = json_extract(e.properties, '$.ticket_id')
                                AND l.ts <= {AT} AND (l.ts > e.ts OR (l.ts = e.ts AND l.rowid > e.rowid)))"""
        if policy.suppress_open_tickets
        else "SELECT 1 WHERE 0",
        "recent_complaint_at_delivery": f"""
            SELECT s.send_id, s.profile_id, {AT} AS at, e.ts AS complained_at
            FROM sends s JOIN events e ON e.profile_id = s.profile_id AND +e.type = 'complaint'
            WHERE s.status = 'delivered' AND s.promotional = 1 AND e.ts <= {AT}
              AND e.ts > strftime('%Y-%m-%dT%H:%M:%SZ', {AT}, '-{complaint} days')""",
        # Two live sends of different campaigns whose offers contradict while both are live. A
        # campaign's offer is what its plan declares UNION what its saved copy names
        # (`campaign_offer_kinds`); expiries are compared in UTC, unreadable ones never expire.
        "contradicting_offers": f"""
            WITH kinds AS (
                SELECT campaign_id, lower(offer_kind) AS kind FROM campaigns WHERE offer_kind IS NOT NULL
                UNION SELECT campaign_id, kind FROM campaign_offer_kinds),
            pcts AS (
                SELECT campaign_id, discount_pct AS pct FROM campaigns WHERE discount_pct IS NOT NULL
                UNION SELECT campaign_id, discount_pct FROM campaign_offer_kinds WHERE discount_pct IS NOT NULL),
            offers AS (
                SELECT campaign_id, NULLIF(lower(trim(offer_category)), '') AS cat,
                       CASE WHEN offer_expires_at IS NULL THEN NULL
                            ELSE COALESCE(strftime('%Y-%m-%dT%H:%M:%SZ', offer_expires_at),
                                          '9999-12-31T23:59:59Z') END AS expires
                FROM campaigns)
            SELECT a.profile_id, a.send_id, b.send_id FROM sends a
            JOIN offers ca ON ca.campaign_id = a.campaign_id
            JOIN sends b ON b.profile_id = a.profile_id AND b.campaign_id > a.campaign_id
            JOIN offers cb ON cb.campaign_id = b.campaign_id
            WHERE a.status IN {LIVE} AND b.status IN {LIVE}
              AND a.scheduled_for < COALESCE(cb.expires,
                                             strftime('%Y-%m-%dT%H:%M:%SZ', b.scheduled_for, '+14 days'))
              AND b.scheduled_for < COALESCE(ca.expires,
                                             strftime('%Y-%m-%dT%H:%M:%SZ', a.scheduled_for, '+14 days'))
              AND ((EXISTS (SELECT 1 FROM pcts pa JOIN pcts pb ON pa.pct != pb.pct
                            WHERE pa.campaign_id = ca.campaign_id AND pb.campaign_id = cb.campaign_id)
                    AND (ca.cat IS NULL OR cb.cat IS NULL OR ca.cat = cb.cat))
                   OR EXISTS (SELECT 1 FROM offer_kind_conflicts k
                              JOIN kinds ka ON ka.campaign_id = ca.campaign_id AND ka.kind = k.kind_a
                              JOIN kinds kb ON kb.campaign_id = cb.campaign_id AND kb.kind = k.kind_b))""",
        "duplicate_sends": f"""
            SELECT campaign_id, profile_id, step, count(*) FROM sends WHERE status IN {LIVE}
            GROUP BY campaign_id, profile_id, step HAVING count(*) > 1""",
    }


def _in_quiet_hours(hour: int, policy: ContactPolicy) -> bool:
    start, end = policy.quiet_hours_start, policy.quiet_hours_end
    if start == end:
        return False
    return (hour >= start or hour < end) if start > end else start <= hour < end


# The checker's own idea of where a customer may be, independent of the product's tables: every zone
# tzdata's zone1970.tab lists for the country (read here, at check time), one zone for the seed's cities
# (kept here by hand), every zone of the world when the country is missing or unknown.
_SEED_CITY_ZONES = {
    "US": {
        "New York": "America/New_York",
        "Chicago": "America/Chicago",
        "Houston": "America/Chicago",
        "Los Angeles": "America/Los_Angeles",
        "Seattle": "America/Los_Angeles",
    },
    "CA": {
        "Toronto": "America/Toronto",
        "Montreal": "America/Toronto",
        "Vancouver": "America/Vancouver",
        "Calgary": "America/Edmonton",
    },
    "BR": {c: "America/Sao_Paulo" for c in ("Sao Paulo", "Rio De Janeiro", "Belo Horizonte", "Curitiba")},
    "ES": {c: "Europe/Madrid" for c in ("Madrid", "Barcelona", "Valencia", "Seville")},
}


def _tzdata_country_zones() -> dict[str, set[str]]:
    text = (importlib.resources.files("tzdata.zoneinfo") / "zone1970.tab").read_text(encoding="utf-8")
    zones: dict[str, set[str]] = {}
    for line in text.splitlines():
        if line and not line.startswith("#"):
            codes, _, zone = line.split("\t")[:3]
            for code in codes.split(","):
                zones.setdefault(code, set()).add(zone)
    zones["UK"] = zones["GB"]
    return zones


def _zones_of(country: str, city: str, by_country: dict[str, set[str]]) -> set[str]:
    code = country.strip().upper()
    city_zone = _SEED_CITY_ZONES.get(code, {}).get(city.strip().title())
    if city_zone:
        return {city_zone}
    if code in by_country:
        return by_country[code]
    return set().union(*by_country.values())


def _quiet_hours(conn: sqlite3.Connection, policy: ContactPolicy) -> list[tuple]:
    """Delivered SMS and push whose delivery time falls in the quiet hours in any zone the customer may be in."""
    from cdp import clock

    slots = conn.execute(
        f"""SELECT DISTINCT COALESCE(p.country, ''), COALESCE(p.city, ''), {AT} FROM sends s
            LEFT JOIN profiles p ON p.profile_id = s.profile_id
            WHERE s.status = 'delivered' AND s.channel IN ('sms', 'push')"""
    ).fetchall()
    by_country = _tzdata_country_zones()
    quiet = []
    for country, city, at in slots:
        instant = clock.parse_ts(at)
        for zone in sorted(_zones_of(country, city, by_country)):
            local = instant.astimezone(ZoneInfo(zone))
            if _in_quiet_hours(local.hour, policy):
                quiet.append((country, city, at, zone, local.strftime("%H:%M")))
                break
    out = []
    for country, city, at, zone, local_time in quiet[:50]:
        out += conn.execute(
            f"""SELECT s.send_id, s.profile_id, s.channel, ? AS country, ? AS city, {AT} AS at,
                       ? AS zone, ? AS local_time FROM sends s
                LEFT JOIN profiles p ON p.profile_id = s.profile_id
                WHERE s.status = 'delivered' AND s.channel IN ('sms', 'push')
                  AND COALESCE(p.country, '') = ? AND COALESCE(p.city, '') = ? AND {AT} = ? LIMIT {SHOW}""",
            [country, city, zone, local_time, country, city, at],
        ).fetchall()
    return out


def promise_violations(db: Any, policy: ContactPolicy | None = None) -> dict[str, list[tuple]]:
    """Offending rows per check (only the checks that found some)."""
    policy = policy or ContactPolicy()
    conn, owned = _conn(db)
    try:
        found = {name: conn.execute(sql).fetchall() for name, sql in _checks(policy).items()}
        found["quiet_hours_at_delivery"] = _quiet_hours(conn, policy)
    finally:
        if owned:
            conn.close()
    return {name: rows for name, rows in found.items() if rows}


class PromiseBroken(AssertionError):
    """The CDP records a send the contact-policy promise forbids (an AssertionError, so a test fails)."""


def assert_promise_holds(db_path_or_conn: Any, policy: ContactPolicy | None = None) -> None:
    """Fail, showing a few offending rows per broken check, unless every check finds none."""
    broken = promise_violations(db_path_or_conn, policy)
    if broken:
        raise PromiseBroken(
            "the contact-policy promise is broken: "
            + "; ".join(f"{name}: {len(rows)} rows, e.g. {rows[:SHOW]}" for name, rows in broken.items())
        )
