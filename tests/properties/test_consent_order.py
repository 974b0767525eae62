"""Property: consent is the latest change by (event time, arrival), whoever writes it and in any order.

Grants, denials and revocations arrive through the product's paths (consent upserts, unsubscribe
events) and through raw SQL, with random times (many equal, some after the CDP clock for raw
writes) in random arrival order. The stored consent must equal the change that is latest by
(event time, arrival), where a grant's event time is never later than the moment it was recorded
and, at equal stored time (whole seconds), a revocation or denial comes after a grant.
"""

from __future__ import annotations

from datetime import timedelta

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from cdp import clock, memory_cdp
from cdp.ingest import ingest_events, upsert_consents, upsert_profiles

NOW = "2026-11-24T12:00:00Z"
# A few instants so that equal times are common; the last two lie after the clock.
OFFSETS_H = (-72, -24, -1, 0, 0.05, 24 * 365 * 900)


def _at(hours: float) -> str:
    return clock.iso(clock.parse_ts(NOW) + timedelta(hours=hours))


_CHANGE = st.tuples(
    st.sampled_from(("upsert", "unsubscribe_event", "raw")),
    st.sampled_from(("granted", "denied", "revoked")),
    st.sampled_from(OFFSETS_H),
)


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(changes=st.lists(_CHANGE, min_size=1, max_size=12))
def test_consent_equals_the_latest_change_by_event_time_then_arrival(changes):
    db = memory_cdp()
    clock.set_clock(db, NOW)
    upsert_profiles(db, [{"profile_id": "p1", "signup_at": "2025-01-01T00:00:00Z"}])
    latest = clock.iso(clock.parse_ts(NOW) + timedelta(minutes=5))
    accepted: list[tuple[str, bool, int, str]] = []  # (event time, is a stop, arrival, status)
    for arrival, (path, status, offset) in enumerate(changes):
        ts = _at(offset)
        if path == "unsubscribe_event":
            status = "revoked"
            result = ingest_events(
                db, [{"message_id": f"u{arrival}", "profile_id": "p1", "type": "unsubscribe", "ts": ts}]
            )
            assert result.inserted == (1 if ts <= latest else 0)
        elif path == "upsert":
            result = upsert_consents(
                db, [{"profile_id": "p1", "channel": "email", "status": status, "updated_at": ts}]
            )
            assert result.rejected == (0 if ts <= latest else 1)
        else:  # another SQLite client writing the same upsert the product uses
            with db.conn:
                db.execute(
                    """INSERT INTO consents (profile_id, channel, status, updated_at, source)
                       VALUES ('p1', 'email', ?, ?, 'raw')
                       ON CONFLICT (profile_id, channel) DO UPDATE SET
                           status = excluded.status, updated_at = excluded.updated_at
                       WHERE excluded.updated_at >= consents.updated_at""",
                    [status, ts],
                )
        if path != "raw" and ts > latest:
            continue  # refused: it never happened
        effective = min(ts, NOW) if status == "granted" else ts
        accepted.append((effective, status != "granted", arrival, status))
    row = db.execute("SELECT status, updated_at FROM consents WHERE profile_id = 'p1'").fetchone()
    if not accepted:
        assert row is None
        return
    when, _, _, status = max(accepted)
    assert row == (status, when), (changes, accepted)
    flag = db.execute("SELECT consent_email FROM customer_360 WHERE profile_id = 'p1'").fetchone()[0]
    assert flag == (status == "granted")
    assert db.execute(
        "SELECT max(updated_at) <= ? FROM consent_history WHERE status = 'granted'", [NOW]
    ).fetchone()[0] in (1, None)
