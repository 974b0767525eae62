"""Settings of the contact-policy gate: the limits that protect customers.

The gate in `cdp.gate` is the only code that reads these; `graph.context.Context` exposes them as
run settings so Studio and the CLI can change them per run, never per agent.
"""

from __future__ import annotations

from dataclasses import dataclass, field


def _default_costs() -> dict[str, float]:
    return {"email": 0.01, "sms": 0.05, "push": 0.005}


@dataclass(frozen=True)
class ContactPolicy:
    """Frequency cap: at most `frequency_cap` marketing messages per `frequency_window_days`.
    Suppression: no promotion with an open ticket or a complaint within `complaint_window_days`.
    Quiet hours: SMS and push only between `quiet_hours_end` and `quiet_hours_start` local time.
    Holdout: `holdout_pct` percent of each campaign's audience, chosen by hash, gets nothing.
    Budget: each channel's cost per send in `channel_costs` counts against the campaign budget."""

    frequency_cap: int = 3
    frequency_window_days: int = 7
    complaint_window_days: int = 30
    suppress_open_tickets: bool = True
    quiet_hours_start: int = 21
    quiet_hours_end: int = 8
    holdout_pct: float = 10.0
    channel_costs: dict[str, float] = field(default_factory=_default_costs)
