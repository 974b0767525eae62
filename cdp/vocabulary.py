"""What the words marketers use mean, as named settings.

Each word maps to a condition on `customer_360`. The thresholds are settings (environment variables
`CDP_SEGMENT_<NAME>`), so a team can say what "at-risk" means for its business without touching code.
"""

from __future__ import annotations

import os
from dataclasses import dataclass, fields
from typing import Any, Literal

from cdp.settings import Bound, env_name, number, whole

SegmentWord = Literal["at-risk", "lapsed", "new", "high-value", "active", "loyal"]
SEGMENT_WORDS: tuple[str, ...] = ("at-risk", "lapsed", "new", "high-value", "active", "loyal")


#: What each threshold may be; whole days and orders stay integers. A share of 0 % or a window of
#: 0 days would make a word match nobody (or, for churn 0, everybody) without saying so.
SEGMENT_BOUNDS: dict[str, Bound] = {
    "at_risk_churn": number(0.01, 1),
    "lapsed_days": whole(1, 3650),
    "new_days": whole(1, 3650),
    "high_value_top_pct": number(0.1, 100),
    "active_days": whole(1, 3650),
    "loyal_min_orders": whole(1, 10_000),
}


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
        """The meanings with `CDP_SEGMENT_<NAME>` overrides, each checked against `SEGMENT_BOUNDS`."""
        values: dict[str, Any] = {}
        for f in fields(cls):
            name = env_name("CDP_SEGMENT_", f.name)
            raw = os.environ.get(name)
            if raw:
                values[f.name] = SEGMENT_BOUNDS[f.name].check(name, raw)
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
