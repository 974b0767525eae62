"""A support ticket is changed only by events of the customer it belongs to.

m001's `events_ticket` trigger upserted on `ticket_id` alone, so a `support_ticket` event for any
profile that named another customer's ticket closed it, and that customer's `open_ticket` pause was
lifted. This migration replaces the trigger: an event updates a ticket only when the event's profile
is the ticket's profile, or one of the two was merged into the other (`profile_merges`). A second
trigger, `events_ticket_owner`, refuses such an event before it is stored, for any SQLite client;
the importer and ingestion reject it first, naming the line or row (`cdp.ingest.foreign_tickets`).
Events for other types change only their own profile's row (purchases, complaints, unsubscribes).
"""

from __future__ import annotations

OWNER_MESSAGE = (
    "a support_ticket event may only open or update a ticket of its own profile: "
    "this ticket_id belongs to another customer"
)

_TICKET_ID = "COALESCE(json_extract(NEW.properties, '$.ticket_id'), NEW.message_id)"

# True when the ticket row `t` belongs to the event's customer (itself or across a merge).
_SAME_CUSTOMER = """(t.profile_id = NEW.profile_id OR EXISTS (
        SELECT 1 FROM profile_merges m
        WHERE (m.merged_profile_id = t.profile_id AND m.master_profile_id = NEW.profile_id)
           OR (m.merged_profile_id = NEW.profile_id AND m.master_profile_id = t.profile_id)))"""

STATEMENTS = [
    "DROP TRIGGER IF EXISTS events_ticket",
    f"""CREATE TRIGGER events_ticket_owner BEFORE INSERT ON events WHEN NEW.type = 'support_ticket'
    AND EXISTS (SELECT 1 FROM tickets t WHERE t.ticket_id = {_TICKET_ID} AND NOT {_SAME_CUSTOMER})
    BEGIN
        SELECT RAISE(ABORT, '{OWNER_MESSAGE}');
    END""",
    # A support_ticket event opens or updates a ticket (properties: ticket_id, status, subject, body).
    f"""CREATE TRIGGER events_ticket AFTER INSERT ON events WHEN NEW.type = 'support_ticket'
    BEGIN
        INSERT INTO tickets (ticket_id, profile_id, status, opened_at, updated_at, subject, body)
        VALUES (
            {_TICKET_ID},
            NEW.profile_id,
            CASE WHEN json_extract(NEW.properties, '$.status') = 'closed' THEN 'closed' ELSE 'open' END,
            NEW.ts, NEW.ts,
            json_extract(NEW.properties, '$.subject'),
            json_extract(NEW.properties, '$.body'))
        ON CONFLICT (ticket_id) DO UPDATE SET
            status = CASE WHEN excluded.updated_at >= tickets.updated_at THEN excluded.status
                          ELSE tickets.status END,
            updated_at = max(tickets.updated_at, excluded.updated_at),
            subject = COALESCE(tickets.subject, excluded.subject),
            body = COALESCE(tickets.body, excluded.body)
        WHERE tickets.profile_id = excluded.profile_id OR EXISTS (
            SELECT 1 FROM profile_merges m
            WHERE (m.merged_profile_id = tickets.profile_id AND m.master_profile_id = excluded.profile_id)
               OR (m.merged_profile_id = excluded.profile_id AND m.master_profile_id = tickets.profile_id));
    END""",
]


def migrate(db) -> None:
    for statement in STATEMENTS:
        db.execute(statement)
