"""Settings of the contact-policy gate: the limits that protect customers, and their bounds.

The gate in `cdp.gate` is the only code that reads these; `graph.context.Context` exposes them as
run settings so Studio and the CLI can change them per run, never per agent. The defaults and the
bounds here are the only ones: `Context` takes both from this module.

A `ContactPolicy` that would switch a rule off cannot be built: a cap of 0, a window of 0 or fewer
days, quiet hours that start and end at the same hour, a holdout outside 0..50 % or a negative or
infinite cost raise `InvalidSettingError`, naming the field, its value and the allowed range.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from types import MappingProxyType

from cdp.settings import Bound, InvalidSettingError, number, whole

#: Cost per send of each channel, counted against a campaign's budget.
DEFAULT_CHANNEL_COSTS = MappingProxyType({"email": 0.01, "sms": 0.05, "push": 0.005})

#: What each limit may be. A cap or window below 1 turns the rule off; a holdout above half the
#: audience is no longer a control group; a cost is money, so finite and never negative.
POLICY_BOUNDS: dict[str, Bound] = {
    "frequency_cap": whole(1, 1000),
    "frequency_window_days": whole(1, 365),
    "complaint_window_days": whole(1, 365),
    "quiet_hours_start": whole(0, 23),
    "quiet_hours_end": whole(0, 23),
    "holdout_pct": number(0, 50),
}
COST_BOUND = number(0, 1000)
QUIET_HOURS_RULE = "quiet hours that start and end at the same hour would be off (use 21 and 8, for example)"


def _default_costs() -> dict[str, float]:
    return dict(DEFAULT_CHANNEL_COSTS)


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

    def __post_init__(self) -> None:
        for name, bound in POLICY_BOUNDS.items():
            object.__setattr__(self, name, bound.check(name, getattr(self, name)))
        if self.suppress_open_tickets is not True:
            raise InvalidSettingError(
                "suppress_open_tickets",
                self.suppress_open_tickets,
                "customers with an open ticket are never sent promotions; this rule cannot be switched off",
            )
        if self.quiet_hours_start == self.quiet_hours_end:
            raise InvalidSettingError(
                "quiet_hours_end",
                self.quiet_hours_end,
                f"must be a whole number between 0 and 23 other than quiet_hours_start="
                f"{self.quiet_hours_start}: {QUIET_HOURS_RULE}",
            )
        costs = {
            channel: COST_BOUND.check(f"channel_costs[{channel}]", cost)
            for channel, cost in dict(self.channel_costs).items()
        }
        object.__setattr__(self, "channel_costs", costs)
