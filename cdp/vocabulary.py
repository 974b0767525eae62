"""What the words marketers use mean, as named settings.

Each word maps to a condition on `customer_360`. The thresholds are settings (environment variables
`CDP_SEGMENT_<NAME>`), so a team can say what "at-risk" means for its business without touching code.
"""

from __future__ import annotations

import os
from dataclasses import dataclass, fields
from typing import Any, Literal

SegmentWord = Literal["at-risk", "lapsed", "new", "high-value", "active", "loyal"]
SEGMENT_WORDS: tuple[str, ...] = ("at-risk", "lapsed", "new", "high-value", "active", "loyal")


@dataclass(frozen=True)
class SegmentVocabulary:
    """Default meanings: at-risk = churn_risk >= 0.7; lapsed = no purchase for 90+ days; new =
    signed up within 30 days; high-value = top 10% by lifetime value; active = purchased within 30
    days; loyal = 5 or more orders."""

    at_risk_churn: float = 0.7
    lapsed_days: int = 90
    new_days: int = 30
    high_value_top_pct: float = 10.0
    active_days: int = 30
    loyal_min_orders: int = 5

    @classmethod
    def from_env(cls) -> SegmentVocabulary:
        values: dict[str, Any] = {}
        for f in fields(cls):
            name = f"CDP_SEGMENT_{f.name.upper()}"
            raw = os.environ.get(name)
            if raw:
                # Each setting keeps the type of its default (whole days/orders stay integers).
                convert = int if isinstance(f.default, int) else float
                try:
                    values[f.name] = convert(raw)
                except ValueError:
                    kind = "a whole number" if convert is int else "a number"
                    raise ValueError(f"{name} must be {kind}, got {raw!r}") from None
        return cls(**values)

    def describe(self) -> dict[str, str]:
        """The meaning of every word, for the model and for reports."""
        return {
            "at-risk": f"churn_risk >= {self.at_risk_churn}",
            "lapsed": f"days_since_purchase >= {self.lapsed_days}",
            "new": f"days_since_signup <= {self.new_days}",
            "high-value": f"lifetime_value in the top {self.high_value_top_pct:g}% of customers",
            "active": f"days_since_purchase <= {self.active_days}",
            "loyal": f"orders_count >= {self.loyal_min_orders}",
        }
