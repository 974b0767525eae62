"""A consent grant is never dated later than the moment the CDP recorded it.

Consent follows the latest change by event time, then by arrival (`>=` in every upsert and in the
unsubscribe trigger of m001). A grant dated in the future (a row written with `updated_at` in 2999)
would outrank every real unsubscribe until that date. Imports and the ingestion API refuse such
timestamps; these triggers hold for any other writer too: a grant dated after the CDP clock is
clamped to the clock as it is written, so it orders by its arrival and a later unsubscribe wins.
The consent history keeps the clamped time, not the claimed one.

A future-dated revocation or denial is left as it is: it can only stop contact, never allow it.
Rows already in a CDP are repaired once here, the same way.
"""

from __future__ import annotations

#: The CDP clock in SQL: the pinned instant, else wall-clock time (see `cdp.clock`).
CLOCK_SQL = "(SELECT COALESCE(now, strftime('%Y-%m-%dT%H:%M:%SZ', 'now')) FROM cdp_clock WHERE id = 1)"

STATEMENTS = [
    f"""UPDATE consents SET updated_at = {CLOCK_SQL}
        WHERE status = 'granted' AND updated_at > {CLOCK_SQL}""",
    f"DELETE FROM consent_history WHERE status = 'granted' AND updated_at > {CLOCK_SQL}",
    f"""CREATE TRIGGER consents_grant_clamp_insert AFTER INSERT ON consents
        WHEN NEW.status = 'granted' AND NEW.updated_at > {CLOCK_SQL}
        BEGIN
            UPDATE consents SET updated_at = {CLOCK_SQL}
            WHERE profile_id = NEW.profile_id AND channel = NEW.channel;
        END""",
    f"""CREATE TRIGGER consents_grant_clamp_update AFTER UPDATE OF status, updated_at ON consents
        WHEN NEW.status = 'granted' AND NEW.updated_at > {CLOCK_SQL}
        BEGIN
            UPDATE consents SET updated_at = {CLOCK_SQL}
            WHERE profile_id = NEW.profile_id AND channel = NEW.channel;
        END""",
    # m001's history triggers log the claimed time first; the clamped change is logged after it.
    f"""CREATE TRIGGER consent_history_grant_clamp AFTER INSERT ON consent_history
        WHEN NEW.status = 'granted' AND NEW.updated_at > {CLOCK_SQL}
        BEGIN
            DELETE FROM consent_history WHERE history_id = NEW.history_id;
        END""",
]


def migrate(db) -> None:
    for statement in STATEMENTS:
        db.execute(statement)
