"""The unified profile of one customer, found by profile id, a merged-away id or any identifier.

For people (the `cdp-agents profile` command): it shows identifiers such as emails. Agent tools
never call this; they read `customer_360` and traits, which hold no raw contact data.
"""

from __future__ import annotations

import json
from typing import Any

from cdp.errors import UnknownProfileError
from cdp.identity import masters_of, normalize_identifier
from cdp.migrations.m001_core import IDENTITY_KINDS


def _rows(db, sql: str, params: list[Any]) -> list[dict[str, Any]]:
    return list(db.query(sql, params))


def _candidates(query: str) -> list[tuple[str, str]]:
    """(kind, normalised value) pairs the text could be, for one indexed lookup in `identities`."""
    pairs = []
    for kind in IDENTITY_KINDS:
        try:
            pairs.append((kind, normalize_identifier(kind, query)))
        except ValueError:
            continue
    return pairs


def find_profile_id(db, query: str) -> tuple[str, str]:
    """(live profile id, how it matched: 'profile_id', 'merged_id' or the identifier kind)."""
    text = (query or "").strip()
    if not text:
        raise UnknownProfileError(
            "give a profile id, a merged id or an identifier (email, phone, crm id ...)"
        )
    if db.execute("SELECT 1 FROM profiles WHERE profile_id = ?", [text]).fetchone():
        return text, "profile_id"
    master = masters_of(db.conn, [text]).get(text)
    if master:
        return master, "merged_id"
    for kind, value in _candidates(text):
        row = db.execute(
            "SELECT profile_id FROM identities WHERE kind = ? AND value = ?", [kind, value]
        ).fetchone()
        if row:
            pid = masters_of(db.conn, [row[0]]).get(row[0], row[0])
            return pid, kind
    raise UnknownProfileError(
        f"no profile matches {text!r} (tried profile ids, merged ids and identifiers); "
        "check the spelling or import the customer first"
    )


def unified_profile(db, query: str, *, recent_events: int = 10) -> dict[str, Any]:
    """Everything the CDP knows about one customer, as JSON-safe data."""
    pid, matched_by = find_profile_id(db, query)
    profile = _rows(
        db,
        """SELECT profile_id, first_name, last_name, country, city, language, tier, signup_at, created_at
           FROM profiles WHERE profile_id = ?""",
        [pid],
    )[0]
    c360 = _rows(db, "SELECT * FROM customer_360 WHERE profile_id = ?", [pid])[0]
    events = _rows(
        db,
        """SELECT message_id, type, ts, properties FROM events WHERE profile_id = ?
           ORDER BY ts DESC, event_id DESC LIMIT ?""",
        [pid, recent_events],
    )
    for event in events:
        event["properties"] = json.loads(event["properties"])
    return {
        "query": query,
        "matched_by": matched_by,
        "profile": profile,
        "customer_360": c360,
        "consents": _rows(
            db,
            "SELECT channel, status, updated_at, source FROM consents WHERE profile_id = ? ORDER BY channel",
            [pid],
        ),
        "traits": _rows(
            db, "SELECT name, value, source, updated_at FROM traits WHERE profile_id = ? ORDER BY name", [pid]
        ),
        "identities": _rows(
            db,
            """SELECT kind, value, source, first_seen_at FROM identities WHERE profile_id = ?
               ORDER BY kind, value""",
            [pid],
        ),
        "merged_from": _rows(
            db,
            """SELECT merged_profile_id, via_kind, merged_at FROM profile_merges
               WHERE master_profile_id = ? ORDER BY merged_profile_id""",
            [pid],
        ),
        "open_tickets": _rows(
            db,
            "SELECT ticket_id, subject, opened_at FROM tickets WHERE profile_id = ? AND status = 'open'"
            " ORDER BY opened_at",
            [pid],
        ),
        "recent_events": events,
    }
