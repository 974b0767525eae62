"""A consent grant is never dated later than the moment the CDP recorded it.

Consent follows the latest change by event time, then by arrival (`>=` in every upsert and in the
unsubscribe trigger of m001). A grant dated in the future (a row written with `updated_at` in 2999)
would outrank every real unsubscribe until that date. Imports and the ingestion API refuse such
timestamps; these triggers hold for any other writer too: a grant dated after the CDP clock is
clamped to the clock before it is compared or stored, so it orders by its arrival and a later
unsubscribe wins. The consent history records the clamped time, never the claimed one.

A future-dated revocation or denial is left as it is: it can only stop contact, never allow it.
Rows already in a CDP are repaired once here, the same way.
"""

from __future__ import annotations

#: The CDP clock in SQL: the pinned instant, else wall-clock time (see `cdp.clock`).
CLOCK_SQL = "(SELECT COALESCE(now, strftime('%Y-%m-%dT%H:%M:%SZ', 'now')) FROM cdp_clock WHERE id = 1)"

STATEMENTS = [
    # Repair: grants already dated after the clock take the clock's time; the history drops the claim.
    f"""UPDATE consents SET updated_at = {CLOCK_SQL}
        WHERE status = 'granted' AND updated_at > {CLOCK_SQL}""",
    f"DELETE FROM consent_history WHERE status = 'granted' AND updated_at > {CLOCK_SQL}",
    # Before the row is written (and before an upsert compares times), a future grant is re-issued
    # at the clock's time with the ordering every writer of the product uses; the original row is
    # then skipped (RAISE(IGNORE) skips this row only), so nothing compares or stores the claim.
    f"""CREATE TRIGGER consents_grant_clamp_insert BEFORE INSERT ON consents
        WHEN NEW.status = 'granted' AND NEW.updated_at > {CLOCK_SQL}
        BEGIN
            INSERT INTO consents (profile_id, channel, status, updated_at, source)
            VALUES (NEW.profile_id, NEW.channel, NEW.status, {CLOCK_SQL}, NEW.source)
            ON CONFLICT (profile_id, channel) DO UPDATE SET
                status = excluded.status, updated_at = excluded.updated_at, source = excluded.source
            WHERE excluded.updated_at >= consents.updated_at;
            SELECT RAISE(IGNORE);
        END""",
    f"""CREATE TRIGGER consents_grant_clamp_update BEFORE UPDATE OF status, updated_at ON consents
        WHEN NEW.status = 'granted' AND NEW.updated_at > {CLOCK_SQL}
        BEGIN
            UPDATE consents SET status = NEW.status, updated_at = {CLOCK_SQL}, source = NEW.source
            WHERE profile_id = OLD.profile_id AND channel = OLD.channel;
            SELECT RAISE(IGNORE);
        END""",
]


def migrate(db) -> None:
    for statement in STATEMENTS:
        db.execute(statement)
