"""Set-based recompute of the per-profile aggregates that the m001 triggers keep incrementally.

The triggers update one profile per inserted event; after an identity merge or a bulk load with the
triggers dropped, the same figures are rebuilt here in a few SQL statements over whole sets. Every
expression mirrors its trigger so both paths give the same row (`tests/unit/test_ingest.py` checks).
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Iterator
from contextlib import contextmanager

from cdp.migrations.m001_core import CHANNELS, ENGAGEMENT_TYPES, STATEMENTS
from cdp.migrations.m011_day_numbers import DAY_COLUMNS
from cdp.migrations.m068_ticket_owner import STATEMENTS as TICKET_OWNER_STATEMENTS

_ENGAGEMENT = "(" + ", ".join(f"'{t}'" for t in ENGAGEMENT_TYPES) + ")"

#: The aggregate triggers exactly as the migrations create them, by name: m001's own text, and
#: m068's `events_ticket` (a ticket changes only by its own customer's events) in place of m001's.
TRIGGERS: dict[str, str] = {
    m.group(1): sql for sql in STATEMENTS if (m := re.match(r"\s*CREATE TRIGGER (\w+)", sql)) is not None
}
TRIGGERS.update(
    (m.group(1), sql)
    for sql in TICKET_OWNER_STATEMENTS
    if (m := re.match(r"\s*CREATE TRIGGER (\w+)", sql)) is not None and m.group(1) in TRIGGERS
)

#: The columns of `profiles` that `recompute` rebuilds.
AGGREGATE_COLUMNS = (
    "orders_count",
    "lifetime_value",
    "first_purchase_at",
    "last_purchase_at",
    "favorite_category",
    "engagement_events",
    "last_engagement_at",
    "complaints_count",
    "last_complaint_at",
    "open_tickets",
    *(f"consent_{ch}" for ch in CHANNELS),
    *DAY_COLUMNS.values(),
)

_SCOPE = "_stats_scope"


def _scope_clause(column: str, scoped: bool) -> str:
    return f" AND {column} IN (SELECT profile_id FROM temp.{_SCOPE})" if scoped else ""


def recompute(db, profile_ids: Iterable[str] | None = None) -> int:
    """Rebuild the aggregates of `profile_ids` (every profile when None) from events, tickets, consents.

    Runs in the caller's transaction when one is open, else in its own. Returns the number of
    profiles in scope. Costs a few passes over the scoped events, never one query per profile.
    """
    conn = db.conn
    scoped = profile_ids is not None
    conn.execute(f"DROP TABLE IF EXISTS temp.{_SCOPE}")
    if scoped:
        conn.execute(f"CREATE TEMP TABLE {_SCOPE} (profile_id TEXT PRIMARY KEY) WITHOUT ROWID")
        conn.executemany(
            f"INSERT OR IGNORE INTO temp.{_SCOPE} (profile_id) VALUES (?)", ((p,) for p in profile_ids or ())
        )
    in_scope = _scope_clause("profile_id", scoped)
    # Scoped: the unary + keeps SQLite off the (type, ts) index, so it reads only the scope's events.
    type_col = "+type" if scoped else "type"
    prof_scope = _scope_clause("profiles.profile_id", scoped)
    statements = [
        f"DELETE FROM profile_categories WHERE 1{in_scope}",
        # Same values the events_purchase trigger adds: one order and COALESCE(amount, 0) per event.
        f"""INSERT INTO profile_categories (profile_id, category, orders, amount)
            SELECT profile_id, category, count(*), sum(amount) FROM (
                SELECT profile_id, json_extract(properties, '$.category') AS category,
                       COALESCE(json_extract(properties, '$.amount'), 0) AS amount
                FROM events WHERE {type_col} = 'purchase'{in_scope} ORDER BY event_id)
            WHERE category IS NOT NULL GROUP BY profile_id, category""",
        "DROP TABLE IF EXISTS temp._stats_agg",
        f"""CREATE TEMP TABLE _stats_agg AS
            SELECT profile_id,
                sum(type = 'purchase') AS orders_count,
                round(total(CASE WHEN type = 'purchase'
                                 THEN COALESCE(json_extract(properties, '$.amount'), 0) END), 2)
                    AS lifetime_value,
                min(CASE WHEN type = 'purchase' THEN ts END) AS first_purchase_at,
                max(CASE WHEN type = 'purchase' THEN ts END) AS last_purchase_at,
                sum(type IN {_ENGAGEMENT}) AS engagement_events,
                max(CASE WHEN type IN {_ENGAGEMENT} THEN ts END) AS last_engagement_at,
                sum(type = 'complaint') AS complaints_count,
                max(CASE WHEN type = 'complaint' THEN ts END) AS last_complaint_at
            FROM events WHERE {type_col} IN ('purchase', 'complaint', {_ENGAGEMENT[1:-1]}){in_scope}
            GROUP BY profile_id""",
        "CREATE UNIQUE INDEX temp._stats_agg_pk ON _stats_agg (profile_id)",
        # The *_day columns (m011) are written with their timestamps, so m011's triggers find them
        # current and do not write each row a second time.
        f"""UPDATE profiles SET orders_count = 0, lifetime_value = 0, first_purchase_at = NULL,
                last_purchase_at = NULL, favorite_category = NULL, engagement_events = 0,
                last_engagement_at = NULL, complaints_count = 0, last_complaint_at = NULL,
                open_tickets = 0, consent_email = 0, consent_sms = 0, consent_push = 0,
                first_purchase_day = NULL, last_purchase_day = NULL, last_engagement_day = NULL,
                last_complaint_day = NULL, signup_day = julianday(signup_at)
            WHERE 1{prof_scope}""",
        """UPDATE profiles SET orders_count = a.orders_count, lifetime_value = a.lifetime_value,
                first_purchase_at = a.first_purchase_at, last_purchase_at = a.last_purchase_at,
                engagement_events = a.engagement_events, last_engagement_at = a.last_engagement_at,
                complaints_count = a.complaints_count, last_complaint_at = a.last_complaint_at,
                first_purchase_day = julianday(a.first_purchase_at),
                last_purchase_day = julianday(a.last_purchase_at),
                last_engagement_day = julianday(a.last_engagement_at),
                last_complaint_day = julianday(a.last_complaint_at)
            FROM temp._stats_agg AS a WHERE profiles.profile_id = a.profile_id""",
        # The trigger's choice: most orders, then most spent, then the first name alphabetically.
        f"""UPDATE profiles SET favorite_category = f.category FROM (
                SELECT profile_id, category, row_number() OVER (
                    PARTITION BY profile_id ORDER BY orders DESC, amount DESC, category) AS rank
                FROM profile_categories WHERE 1{in_scope}) AS f
            WHERE f.rank = 1 AND profiles.profile_id = f.profile_id""",
        f"""UPDATE profiles SET open_tickets = t.n FROM (
                SELECT profile_id, count(*) AS n FROM tickets WHERE status = 'open'{in_scope}
                GROUP BY profile_id) AS t
            WHERE profiles.profile_id = t.profile_id""",
        f"""UPDATE profiles SET
                consent_email = COALESCE(c.email, 0), consent_sms = COALESCE(c.sms, 0),
                consent_push = COALESCE(c.push, 0)
            FROM (SELECT profile_id,
                    max(CASE WHEN channel = 'email' THEN status = 'granted' END) AS email,
                    max(CASE WHEN channel = 'sms' THEN status = 'granted' END) AS sms,
                    max(CASE WHEN channel = 'push' THEN status = 'granted' END) AS push
                  FROM consents WHERE 1{in_scope} GROUP BY profile_id) AS c
            WHERE profiles.profile_id = c.profile_id""",
        "DROP TABLE temp._stats_agg",
    ]
    own_transaction = not conn.in_transaction
    if own_transaction:
        conn.execute("BEGIN")
    try:
        for sql in statements:
            conn.execute(sql)
        count = conn.execute(
            f"SELECT count(*) FROM temp.{_SCOPE}" if scoped else "SELECT count(*) FROM profiles"
        ).fetchone()[0]
        if own_transaction:
            conn.execute("COMMIT")
    except BaseException:
        if own_transaction:
            conn.execute("ROLLBACK")
        raise
    finally:
        if scoped:
            conn.execute(f"DROP TABLE IF EXISTS temp.{_SCOPE}")
    return int(count)


def drop_triggers(db, names: Iterable[str] | None = None) -> list[str]:
    """Drop the aggregate triggers (all of them by default) before a bulk load; returns the names."""
    chosen = list(names or TRIGGERS)
    for name in chosen:
        db.conn.execute(f"DROP TRIGGER IF EXISTS {name}")
    return chosen


def restore_triggers(db) -> list[str]:
    """Create every m001 aggregate trigger that is missing, from m001's own SQL; returns those created."""
    present = {r[0] for r in db.conn.execute("SELECT name FROM sqlite_master WHERE type = 'trigger'")}
    created = [name for name in TRIGGERS if name not in present]
    for name in created:
        db.conn.execute(TRIGGERS[name])
    return created


@contextmanager
def triggers_dropped(db) -> Iterator[None]:
    """Bulk-load with the aggregate triggers off; afterwards recompute everything and restore them.

    The triggers come back even when the load fails, so the CDP never stays without them.
    """
    drop_triggers(db)
    try:
        yield
        recompute(db)
    except BaseException:
        if db.conn.in_transaction:
            db.conn.execute("ROLLBACK")
        raise
    finally:
        if db.conn.in_transaction:
            db.conn.execute("COMMIT")
        restore_triggers(db)
