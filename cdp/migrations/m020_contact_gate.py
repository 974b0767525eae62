"""Schema of the contact-policy gate: request outcomes, contradicting offer kinds, and the DB-level
guard that only lets a gate-approved, consented send into `sends`.

The guard is defence in depth behind `cdp.gate.run_gate` (the only code that writes `sends`): a row
is refused unless its request was staged in `send_requests`, no decision stopped that customer for
that campaign step, the channel's consent is `granted` at insert time and the row says
`rule = 'allowed'`, `status = 'scheduled'`. Any SQLite client, not only our code, meets the guard.
"""

from __future__ import annotations

# Offer kinds that contradict each other whatever their category or discount: the customer would hold
# two messages that cannot both be true. Stored as data so explanations and reviews can read it.
KIND_CONFLICTS = (
    ("last_chance", "welcome", "a 'last chance' says the deal is ending, a 'welcome' that it has just begun"),
    ("welcome", "winback", "a 'welcome' treats the customer as new, a 'win-back' as lapsed"),
    (
        "last_chance",
        "early_access",
        "'early access' says the deal has not opened, 'last chance' that it closes",
    ),
)

GUARD_MESSAGE = (
    "sends are written only by the contact-policy gate (cdp.gate.run_gate): stage a send_request "
    "and run the gate; this row has no staged request, was stopped by a decision, lacks granted "
    "consent for its channel, or is not rule='allowed' status='scheduled'"
)

FIXED_MESSAGE = (
    "the campaign, channel, step, cost and promotional flag of a send are fixed by the contact-policy "
    "gate, and a cancelled or failed send cannot be revived: stage a new request and run the gate"
)

STATEMENTS = [
    # Every request gets exactly one outcome: scheduled, held_out, suppressed or superseded.
    "ALTER TABLE send_requests ADD COLUMN outcome TEXT",
    "ALTER TABLE send_requests ADD COLUMN reason_code TEXT",
    "ALTER TABLE send_requests ADD COLUMN decided_at TEXT",
    # The time the agent asked for; scheduled_for is later when quiet hours deferred the send.
    "ALTER TABLE sends ADD COLUMN requested_for TEXT",
    "CREATE INDEX idx_sends_campaign_profile ON sends (campaign_id, profile_id, step)",
    """CREATE TABLE offer_kind_conflicts (
        kind_a TEXT NOT NULL,
        kind_b TEXT NOT NULL,
        why TEXT NOT NULL,
        PRIMARY KEY (kind_a, kind_b)
    ) WITHOUT ROWID""",
    f"""CREATE TRIGGER sends_gate_only BEFORE INSERT ON sends
    WHEN NEW.rule IS NOT 'allowed'
      OR NEW.status IS NOT 'scheduled'
      OR NOT EXISTS (SELECT 1 FROM send_requests r
                     WHERE r.campaign_id = NEW.campaign_id AND r.profile_id = NEW.profile_id
                       AND r.channel = NEW.channel AND r.step = NEW.step)
      OR EXISTS (SELECT 1 FROM decisions d
                 WHERE d.campaign_id = NEW.campaign_id AND d.profile_id = NEW.profile_id
                   AND d.step = NEW.step)
      OR NOT EXISTS (SELECT 1 FROM consents c
                     WHERE c.profile_id = NEW.profile_id AND c.channel = NEW.channel
                       AND c.status = 'granted')
    BEGIN
        SELECT RAISE(ABORT, '{GUARD_MESSAGE.replace("'", "''")}');
    END""",
    # Delivery may move a send forward (scheduled -> delivered, failed, cancelled) and identity
    # resolution may re-point it to a master profile, but nothing may change what the gate decided
    # (campaign, channel, step, cost, promotional flag) or revive a dead send past the frequency cap.
    f"""CREATE TRIGGER sends_gate_fields_fixed BEFORE UPDATE ON sends
    WHEN NEW.campaign_id IS NOT OLD.campaign_id
      OR NEW.channel IS NOT OLD.channel
      OR NEW.step IS NOT OLD.step
      OR NEW.cost IS NOT OLD.cost
      OR NEW.promotional IS NOT OLD.promotional
      OR NEW.idempotency_key IS NOT OLD.idempotency_key
      OR (NEW.status IN ('scheduled', 'delivered') AND OLD.status NOT IN ('scheduled', 'delivered'))
    BEGIN
        SELECT RAISE(ABORT, '{FIXED_MESSAGE}');
    END""",
]


def migrate(db) -> None:
    for statement in STATEMENTS:
        db.execute(statement)
    rows = [(a, b, why) for a, b, why in KIND_CONFLICTS] + [(b, a, why) for a, b, why in KIND_CONFLICTS]
    db.conn.executemany("INSERT INTO offer_kind_conflicts (kind_a, kind_b, why) VALUES (?, ?, ?)", rows)
