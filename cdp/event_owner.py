"""Which customer an event may act on: its own tickets, and message ids nobody else holds.

An event changes state keyed by something other than its profile in two ways: a `support_ticket`
event upserts a ticket by `ticket_id`, and every event is deduplicated by `message_id`. Without a
check, an event for one customer could close another customer's ticket (lifting their
`open_ticket` pause) or claim the message id of another customer's later unsubscribe, which would
then be skipped as a "duplicate". Purchases, complaints and unsubscribes otherwise change only the
profile the event names. Migration m068 holds the ticket rule for any SQLite client.
"""

from __future__ import annotations

import json
from collections.abc import Sequence

from cdp.identity import masters_of

#: Event types whose effect on their customer must never be lost to another's message_id.
PROTECTIVE_TYPES = frozenset({"unsubscribe", "complaint"})


def foreign_tickets(conn, events: Sequence[tuple[str, str, str, str, str]]) -> dict[int, str]:
    """Index -> reason for each `support_ticket` event (message_id, profile_id, type, ts, properties)
    that names a ticket of another customer: one stored for an unrelated profile, or opened by an
    earlier event of the same list for another profile. Profile ids must be live (masters).

    Only the ticket's own customer may close it: otherwise one event lifts another customer's
    `open_ticket` pause. m068's triggers refuse the same for any other writer.
    """
    wanted = [
        (i, pid, str(json.loads(props).get("ticket_id") or message_id))
        for i, (message_id, pid, event_type, _, props) in enumerate(events)
        if event_type == "support_ticket"
    ]
    if not wanted:
        return {}
    ticket_ids = list(dict.fromkeys(t for _, _, t in wanted))
    owners = _owners(conn, "SELECT ticket_id, profile_id FROM tickets WHERE ticket_id IN ({})", ticket_ids)
    masters = masters_of(conn, list(owners.values()) + [pid for _, pid, _ in wanted])
    foreign: dict[int, str] = {}
    for i, pid, ticket_id in wanted:
        owner = owners.setdefault(ticket_id, pid)
        if masters.get(owner, owner) != masters.get(pid, pid):
            foreign[i] = (
                f"ticket_id {ticket_id!r} belongs to another profile; an event may only change its own tickets"
            )
    return foreign


def _owners(conn, sql: str, keys: list[str]) -> dict[str, str]:
    """key -> owning profile for `keys`, read in chunks under SQLite's bound-parameter limit."""
    owners: dict[str, str] = {}
    for start in range(0, len(keys), 900):
        chunk = keys[start : start + 900]
        owners.update(conn.execute(sql.format(",".join("?" * len(chunk))), chunk))
    return owners


def taken_message_ids(conn, events: Sequence[tuple[str, str, str, str, str]]) -> dict[int, str]:
    """Index -> reason for each event whose `message_id` is already used by an event of another
    customer (stored, or earlier in the same list). Profile ids must be live (masters).

    A re-sent event is a duplicate only for its own customer: otherwise one customer's event could
    swallow another's later unsubscribe as a "duplicate".
    """
    ids = list(dict.fromkeys(e[0] for e in events))
    owners = _owners(conn, "SELECT message_id, profile_id FROM events WHERE message_id IN ({})", ids)
    if not owners and len(ids) == len(events):
        return {}
    masters = masters_of(conn, list(owners.values()))
    taken: dict[int, str] = {}
    for i, (message_id, pid, *_rest) in enumerate(events):
        owner = owners.setdefault(message_id, pid)
        if masters.get(owner, owner) != pid:
            taken[i] = f"message_id {message_id!r} is already used by an event of another profile"
    return taken
