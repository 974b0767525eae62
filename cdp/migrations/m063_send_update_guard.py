"""The database backstop for updates of a send: who it goes to, when, and when it may go out.

Migration m020 guards inserts (`sends_gate_only`) and the fields the gate fixed (`sends_gate_fields_fixed`:
campaign, channel, step, cost, promotional flag, idempotency key, no revival of a dead send). This one
closes what an UPDATE could still do, for any SQLite client, not only this project's code:

* ``sends_profile_follows_merge``: a send's `profile_id` may change only to the master its profile was
  merged into (a `profile_merges` row from the old id to the new one), and a send still `scheduled`
  only to a master whose consent for the send's channel is `granted` at that moment. Identity merges
  cancel the master's sends that fail this before they re-point them (see `cdp.identity`).
* ``sends_time_fixed``: `scheduled_for` and `requested_for` never change once the gate wrote them.
  Quiet hours depend on the customer's local time, which SQLite cannot compute without zone data, so
  the trigger does not judge a new time: no time may be moved at all. Only the gate decides a time
  (it defers into allowed hours before inserting), and the delivery step re-checks quiet hours.
* ``sends_delivered_needs_consent``: a send may become `delivered` only from `scheduled`, and only
  while its customer's consent for its channel is `granted`.

What no trigger checks (the delivery step in `cdp.delivery` does, in the transaction that marks a send
delivered): open tickets, recent complaints, suppression traits, quiet hours and the frequency cap.
"""

from __future__ import annotations

REPOINT_MESSAGE = (
    "a send may only follow its customer into the profile they were merged into, and a scheduled send "
    "only to a profile with granted consent for its channel: stage a new request and run the gate"
)
TIME_MESSAGE = (
    "the time of a send is fixed by the contact-policy gate (quiet hours, frequency cap): cancel it "
    "and stage a new request instead of moving it"
)
DELIVERED_MESSAGE = (
    "a send is marked delivered only by the delivery step (cdp.delivery.deliver_due), from status "
    "scheduled and with granted consent for its channel"
)

STATEMENTS = [
    f"""CREATE TRIGGER sends_profile_follows_merge BEFORE UPDATE OF profile_id ON sends
    WHEN NEW.profile_id IS NOT OLD.profile_id AND (
        NOT EXISTS (SELECT 1 FROM profile_merges m
                    WHERE m.merged_profile_id = OLD.profile_id AND m.master_profile_id = NEW.profile_id)
        OR (NEW.status = 'scheduled'
            AND NOT EXISTS (SELECT 1 FROM consents c
                            WHERE c.profile_id = NEW.profile_id AND c.channel = NEW.channel
                              AND c.status = 'granted')))
    BEGIN
        SELECT RAISE(ABORT, '{REPOINT_MESSAGE}');
    END""",
    f"""CREATE TRIGGER sends_time_fixed BEFORE UPDATE OF scheduled_for, requested_for ON sends
    WHEN NEW.scheduled_for IS NOT OLD.scheduled_for OR NEW.requested_for IS NOT OLD.requested_for
    BEGIN
        SELECT RAISE(ABORT, '{TIME_MESSAGE}');
    END""",
    f"""CREATE TRIGGER sends_delivered_needs_consent BEFORE UPDATE OF status ON sends
    WHEN NEW.status = 'delivered' AND OLD.status IS NOT 'delivered' AND (
        OLD.status IS NOT 'scheduled'
        OR NOT EXISTS (SELECT 1 FROM consents c
                       WHERE c.profile_id = NEW.profile_id AND c.channel = NEW.channel
                         AND c.status = 'granted'))
    BEGIN
        SELECT RAISE(ABORT, '{DELIVERED_MESSAGE}');
    END""",
]


def migrate(db) -> None:
    for statement in STATEMENTS:
        db.execute(statement)
