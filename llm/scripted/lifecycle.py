"""Scripted answers of the analytics and optimization agents while a campaign runs.

The decision rule is the one the optimization prompt states, applied to the figures the
`campaign_results` tool returned: stop on unsubscribes above the limit; otherwise compare the best and
the weakest live cell (variant first, then channel) with a two-proportion z-test and act only when the
difference is significant at 95% and both cells are big enough; otherwise keep.
"""

from __future__ import annotations

import math
from typing import Any

Z_95 = 1.96


def _z(a: dict[str, Any], b: dict[str, Any]) -> float:
    n1, n2 = a["customers"], b["customers"]
    x1, x2 = a["purchasers"], b["purchasers"]
    pooled = (x1 + x2) / (n1 + n2)
    se = math.sqrt(pooled * (1 - pooled) * (1 / n1 + 1 / n2))
    return (x1 / n1 - x2 / n2) / se if se else 0.0


def decide(results: dict[str, Any] | None, inputs: dict[str, Any]) -> dict[str, Any]:
    """One `adjust_campaign` call's arguments from a `campaign_results` answer."""
    lc = (results or {}).get("lifecycle")
    if not lc:
        return {"action": "keep", "reason": "no measured results yet"}
    limit = float(inputs.get("stop_unsubscribe_rate") or 0.02)
    min_cell = int(inputs.get("min_cell") or 100)
    if lc["unsubscribe_rate"] > limit:
        return {
            "action": "stop",
            "reason": f"unsubscribe rate {lc['unsubscribe_rate']:.2%} of {lc['treated_n']} contacted customers "
            f"is above the limit of {limit:.2%}",
        }
    alloc = lc.get("allocation") or {}
    notes = []
    for cut, key in (("by_variant", "variant"), ("by_channel", "channel")):
        live = (lc.get("live") or {}).get(f"{key}s") or []
        cells = [c for c in lc.get(cut) or [] if c[key] in live and c["customers"] >= min_cell]
        if len(cells) < 2:
            notes.append(f"fewer than two {key}s with {min_cell}+ customers")
            continue
        best = max(cells, key=lambda c: (c["conversion_rate"], c[key]))
        worst = min(cells, key=lambda c: (c["conversion_rate"], c[key]))
        if len(live) >= 3:
            others = [c for c in cells if c is not worst]
            rest = {
                "customers": sum(c["customers"] for c in others),
                "purchasers": sum(c["purchasers"] for c in others),
            }
            z = _z(rest, worst)
            figures = (
                f"{key} {worst[key]} converts {worst['conversion_rate']:.2%} (n={worst['customers']}) against "
                f"{rest['purchasers'] / rest['customers']:.2%} for the other {key}s (n={rest['customers']}), z={z:.2f}"
            )
            if z >= Z_95:
                return {"action": f"pause_{key}", "target": worst[key], "reason": f"{figures}: pause it"}
            notes.append(f"no {key} significantly weaker than the rest ({figures})")
            continue
        z = _z(best, worst)
        figures = (
            f"{key} {best[key]} converts {best['conversion_rate']:.2%} (n={best['customers']}) against "
            f"{worst[key]} {worst['conversion_rate']:.2%} (n={worst['customers']}), z={z:.2f}"
        )
        if z < Z_95:
            notes.append(f"no significant difference between {key}s ({figures})")
        elif alloc.get(f"preferred_{key}") != best[key]:
            return {"action": f"shift_{key}", "target": best[key], "reason": f"{figures}: shift volume to it"}
        else:
            notes.append(f"volume already shifted to {key} {best[key]}")
    return {"action": "keep", "reason": "; ".join(notes) or "nothing to change"}


def summary(results: dict[str, Any] | None) -> str:
    lc = (results or {}).get("lifecycle")
    if not lc:
        return "No measured results yet."
    ci = (
        f"95% CI {lc['ci_low']:+.2%} to {lc['ci_high']:+.2%}"
        + (", which includes zero" if lc["ci_low"] <= 0 <= lc["ci_high"] else "")
        if lc.get("ci_low") is not None
        else "no interval yet (an arm is empty)"
    )
    return (
        f"Day {lc['day']}: contacted customers convert {lc['treated_rate']:.2%} (n={lc['treated_n']}), "
        f"held-out {lc['holdout_rate']:.2%} (n={lc['holdout_n']}); lift {lc['lift']:+.2%} ({ci}); "
        f"unsubscribes {lc['unsubscribe_rate']:.2%}."
    )
