"""The one clock of the CDP.

`CDP_NOW` (an ISO timestamp) pins time for tests, demos and benchmarks. The current time is kept in
the `cdp_clock` table so that SQL views (`customer_360`) and Python code read the same instant, and
so that any SQLite client sees figures computed at that instant without the project's code.

The stored clock is shared by every connection: once pinned (by `CDP_NOW` at open, or by
`set_clock`, as the engagement simulator does) it stays pinned until `CDP_NOW` or `set_clock`
changes it. While a simulation owns it (`pinned_by = 'simulation'`), `CDP_NOW` only moves it forward. Opening the CDP without `CDP_NOW` leaves it alone; `set_clock(db, None)` returns the
CDP to wall-clock time.
"""

from __future__ import annotations

import os
import re
from datetime import UTC, datetime

ISO_FORMAT = "%Y-%m-%dT%H:%M:%SZ"
#: The years a timestamp the CDP accepts may fall in (UTC). Stored times compare as text, which is
#: time order only for four-digit years; outside this range a value is a typo or an attack.
MIN_YEAR = 1970
MAX_YEAR = 2200
#: `cdp_clock.pinned_by` while the engagement simulator owns the clock.
SIMULATION = "simulation"


def _utc(value: str | datetime) -> datetime:
    if isinstance(value, datetime):
        dt = value
    else:
        text = value.strip()
        if text.endswith("Z"):
            text = text[:-1] + "+00:00"
        dt = datetime.fromisoformat(text)
    if dt.tzinfo is None:
        dt = dt.replace(tzinfo=UTC)
    try:
        return dt.astimezone(UTC)
    except OverflowError:  # year 1 or 9999 moved past the calendar's end by its offset
        raise ValueError(_out_of_range(value, dt.year)) from None


def _out_of_range(value: str | datetime, year: int) -> str:
    where = f"is in the future beyond {MAX_YEAR}" if year > MAX_YEAR else f"lies before {MIN_YEAR}"
    return f"{value!s} {where} (accepted years {MIN_YEAR}..{MAX_YEAR})"


def parse_ts(value: str | datetime) -> datetime:
    """Parse an ISO timestamp (with `Z`, an offset, or naive = UTC) into an aware UTC datetime.

    Any failure, a year outside `MIN_YEAR`..`MAX_YEAR` included, is a `ValueError`.
    """
    dt = _utc(value)
    if not MIN_YEAR <= dt.year <= MAX_YEAR:
        raise ValueError(_out_of_range(value, dt.year))
    return dt


def iso(dt: datetime) -> str:
    """Format a datetime the way every CDP table stores time: `YYYY-MM-DDTHH:MM:SSZ` in UTC.

    The year always has four digits (strftime's `%Y` drops the zeros of years before 1000), so that
    text order stays time order.
    """
    u = _utc(dt)
    return f"{u.year:04d}-{u.month:02d}-{u.day:02d}T{u.hour:02d}:{u.minute:02d}:{u.second:02d}Z"


_STORED = re.compile(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ")


def normalize_ts(value: str | datetime) -> str:
    """Any accepted timestamp, in the canonical stored form (so text order is time order)."""
    if isinstance(value, str) and _STORED.fullmatch(value) and MIN_YEAR <= int(value[:4]) <= MAX_YEAR:
        datetime.fromisoformat(value[:-1])  # already stored form: only check that the date exists
        return value
    return iso(parse_ts(value))


def env_now() -> datetime | None:
    """The instant `CDP_NOW` pins, or None when time runs free."""
    raw = os.environ.get("CDP_NOW", "").strip()
    return parse_ts(raw) if raw else None


def wall_now() -> datetime:
    return datetime.now(UTC).replace(microsecond=0)


def now(db=None) -> datetime:
    """The CDP's current time: the database clock when one is pinned there, else `CDP_NOW`, else now."""
    if db is not None:
        row = db.execute("SELECT now FROM cdp_clock WHERE id = 1").fetchone()
        if row and row[0]:
            return parse_ts(row[0])
    return env_now() or wall_now()


def now_iso(db=None) -> str:
    return iso(now(db))


def sync_clock(db) -> None:
    """Write `CDP_NOW`, when it is set, into `cdp_clock` so SQL sees the same time as Python.

    Without `CDP_NOW` the stored clock is left as it is: a process opening the CDP must not undo a
    clock another process pinned with `set_clock` (a simulation advancing time, for one).
    """
    pinned = env_now()
    if pinned is None:
        return
    value = iso(pinned)
    row = db.execute("SELECT now, pinned_by FROM cdp_clock WHERE id = 1").fetchone()
    if row is not None and row[1] == SIMULATION and row[0] and row[0] >= value:
        return  # a simulation moved time on from CDP_NOW: every process reads the simulated instant
    if row is None or row[0] != value or row[1] is not None:
        with db.conn:
            db.execute("INSERT OR REPLACE INTO cdp_clock (id, now, pinned_by) VALUES (1, ?, NULL)", [value])


def set_clock(db, when: str | datetime | None, *, by: str | None = None) -> None:
    """Move the CDP clock explicitly (the engagement simulator advances time this way).

    The new time holds for every connection until the next `set_clock` or an open with `CDP_NOW`;
    `None` unpins it, back to wall-clock time. With `by=SIMULATION` an open with an earlier `CDP_NOW`
    leaves it alone too, until the simulation hands the clock back (`set_clock(db, t)`).
    """
    with db.conn:
        db.execute(
            "INSERT OR REPLACE INTO cdp_clock (id, now, pinned_by) VALUES (1, ?, ?)",
            [normalize_ts(when) if when is not None else None, by],
        )
