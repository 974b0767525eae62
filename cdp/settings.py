"""Bounds of every numeric setting, and the one way a setting's text or value is checked against them.

A setting that turns a customer rule off (a cap window of 0 days, quiet hours from 8 to 8, a
negative holdout) is refused where it enters: an environment variable, a `Context(...)` argument
from Studio or the CLI, or a `ContactPolicy(...)`. The message names the setting, the value and
the allowed range, so a person can fix it in one go:
`CDP_AGENTS_HOLDOUT_PCT=abc: must be a number between 0 and 50`.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

from cdp.errors import CdpError


class InvalidSettingError(CdpError, ValueError):
    """A setting is outside its allowed range or not a number; `name` is the variable or field."""

    def __init__(self, name: str, value: object, rule: str):
        shown = value if isinstance(value, str) else repr(value)
        super().__init__(f"{name}={shown}: {rule}")
        self.name = name
        self.value = value
        self.rule = rule


@dataclass(frozen=True)
class Bound:
    """An inclusive range `lo..hi` for a whole number (`integer`) or a finite number."""

    lo: float
    hi: float
    integer: bool = False

    def rule(self) -> str:
        kind = "a whole number" if self.integer else "a number"
        return f"must be {kind} between {_plain(self.lo)} and {_plain(self.hi)}"

    def check(self, name: str, value: object) -> int | float:
        """`value` (a number, or text from the environment or a form) as a checked number.

        Booleans are refused: `True` is 1 to Python but never a meant cap or window. NaN and
        infinities are refused because every comparison with NaN is false and would pass a rule.
        """
        number: int | float
        if isinstance(value, bool):
            raise InvalidSettingError(name, value, self.rule())
        if isinstance(value, str):
            text = value.strip()
            try:
                number = int(text) if self.integer else float(text)
            except ValueError:
                raise InvalidSettingError(name, value, self.rule()) from None
        elif isinstance(value, int | float):
            number = value
        else:
            raise InvalidSettingError(name, value, self.rule())
        if isinstance(number, float):
            if not math.isfinite(number):
                raise InvalidSettingError(name, value, self.rule())
            if self.integer:
                if not number.is_integer():
                    raise InvalidSettingError(name, value, self.rule())
                number = int(number)
        if not self.lo <= number <= self.hi:
            raise InvalidSettingError(name, value, self.rule())
        return number if self.integer else float(number)


def _plain(value: float) -> str:
    """10000000 and 0.001 as people write them, never 1e+07."""
    return str(int(value)) if float(value).is_integer() else str(value)


def whole(lo: int, hi: int) -> Bound:
    return Bound(lo, hi, integer=True)


def number(lo: float, hi: float) -> Bound:
    return Bound(lo, hi)


def env_name(prefix: str, field_name: str) -> str:
    """`CDP_AGENTS_` + `holdout_pct` -> `CDP_AGENTS_HOLDOUT_PCT`."""
    return f"{prefix}{field_name.upper()}"
