"""Settings of the contact-policy gate: the limits that protect customers, and their bounds.

The gate in `cdp.gate` is the only code that reads these; `graph.context.Context` exposes them as
run settings so Studio and the CLI can change them per run, never per agent. The defaults and the
bounds here are the only ones: `Context` takes both from this module.

A `ContactPolicy` that would switch a rule off cannot be built: a cap of 0, a window of 0 or fewer
days, quiet hours that start and end at the same hour, a holdout outside 0..50 % or a negative or
infinite cost, or a cap above 50 or above 3 a day of its window raise `InvalidSettingError`, naming the field, its value and the allowed range.
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from dataclasses import dataclass, field
from types import MappingProxyType, SimpleNamespace
from typing import Any

from cdp.settings import Bound, InvalidSettingError, number, whole

#: Cost per send of each channel, counted against a campaign's budget.
DEFAULT_CHANNEL_COSTS = MappingProxyType({"email": 0.01, "sms": 0.05, "push": 0.005})

#: What each limit may be. A cap or window below 1 turns the rule off, and so does a cap so high that
#: it never binds; a holdout above half the audience is no longer a control group; a cost is money,
#: so finite and never negative.
POLICY_BOUNDS: dict[str, Bound] = {
    "frequency_cap": whole(1, 50),
    "frequency_window_days": whole(1, 365),
    "complaint_window_days": whole(1, 365),
    "quiet_hours_start": whole(0, 23),
    "quiet_hours_end": whole(0, 23),
    "holdout_pct": number(0, 50),
}
COST_BOUND = number(0, 1000)
#: The cap may allow at most this many marketing messages per day of its window on average.
MAX_DAILY_RATE = 3
QUIET_HOURS_RULE = "quiet hours that start and end at the same hour would be off (use 21 and 8, for example)"


def check_combinations(values: Any, names: Mapping[str, str] | None = None) -> None:
    """The limits that only make sense together: a cap that binds, quiet hours that exist.

    `values` has the policy's attributes; `names` says what to call each in the message (the
    environment variable a value came from), so the CLI names what the user set.
    """

    def named(field_name: str) -> str:
        return (names or {}).get(field_name, field_name)

    cap, window = values.frequency_cap, values.frequency_window_days
    if cap > MAX_DAILY_RATE * window:
        raise InvalidSettingError(
            named("frequency_cap"),
            cap,
            f"must be a whole number between 1 and {MAX_DAILY_RATE * window} ({MAX_DAILY_RATE} a day over "
            f"{named('frequency_window_days')}={window}): a higher cap would not stop over-messaging",
        )
    start, end = values.quiet_hours_start, values.quiet_hours_end
    if start == end:
        raise InvalidSettingError(
            named("quiet_hours_end"),
            end,
            f"must be a whole number between 0 and 23 other than {named('quiet_hours_start')}={start}: "
            f"{QUIET_HOURS_RULE}",
        )


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
        check_combinations(self)
        costs = {
            channel: COST_BOUND.check(f"channel_costs[{channel}]", cost)
            for channel, cost in dict(self.channel_costs).items()
        }
        object.__setattr__(self, "channel_costs", costs)


#: Where the run settings and `ContactPolicy.from_env` read each limit: `CDP_AGENTS_<FIELD>`.
POLICY_ENV_PREFIX = "CDP_AGENTS_"
_COST_ENV = {"email": "CDP_AGENTS_COST_EMAIL", "sms": "CDP_AGENTS_COST_SMS", "push": "CDP_AGENTS_COST_PUSH"}


def policy_from_env(environ: Mapping[str, str] | None = None) -> ContactPolicy:
    """The contact policy the environment configures, for work that runs outside an orchestrated run
    (identity merges during an import, a dispatcher delivering due sends, the gate called directly).

    It reads the same `CDP_AGENTS_<FIELD>` variables as the run settings, with the same bounds, so a
    cap a team tightened holds for every path that decides a send, not only for runs.
    """
    env = os.environ if environ is None else environ
    values: dict[str, Any] = {}
    names: dict[str, str] = {}
    for name, bound in POLICY_BOUNDS.items():
        var = f"{POLICY_ENV_PREFIX}{name.upper()}"
        if env.get(var) not in (None, ""):
            values[name] = bound.check(var, env[var])
            names[name] = var
    costs = dict(DEFAULT_CHANNEL_COSTS)
    for channel, var in _COST_ENV.items():
        if env.get(var) not in (None, ""):
            costs[channel] = COST_BOUND.check(var, env[var])
    merged = {**{k: getattr(ContactPolicy, k) for k in POLICY_BOUNDS}, **values}
    check_combinations(SimpleNamespace(**merged), names)
    return ContactPolicy(**values, channel_costs=costs)
