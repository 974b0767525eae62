"""Conflicts between agents' proposals, detected and resolved in code.

Proposals on the same decision that disagree are a conflict. Resolution, in order: the declared
priority rules (a setting), then the objective's score (expected value), then a person.
"""

from __future__ import annotations

import hashlib
import json
from typing import Any

TOLERANCE = 0.05  # values within 5% of each other agree


def _disagree(a: float, b: float) -> bool:
    scale = max(abs(a), abs(b), 1e-9)
    return abs(a - b) / scale > TOLERANCE


def conflict_id(decision_key: str, proposals: list[dict[str, Any]]) -> str:
    raw = json.dumps([decision_key, sorted((p["agent"], p["value"]) for p in proposals)], default=str)
    return "cf_" + hashlib.sha1(raw.encode()).hexdigest()[:10]


def open_conflicts(
    proposals: list[dict[str, Any]], resolutions: list[dict[str, Any]]
) -> list[dict[str, Any]]:
    """Unresolved conflicts: per decision key, the latest proposal of each agent, if any two disagree."""
    latest: dict[str, dict[str, dict[str, Any]]] = {}
    for p in proposals:
        latest.setdefault(p["decision_key"], {})[p["agent"]] = p
    resolved = {r["conflict_id"] for r in resolutions}
    found = []
    for key, by_agent in latest.items():
        props = list(by_agent.values())
        if len(props) < 2:
            continue
        if any(_disagree(float(a["value"]), float(b["value"])) for a in props for b in props):
            cid = conflict_id(key, props)
            if cid not in resolved:
                found.append({"conflict_id": cid, "decision_key": key, "proposals": props})
    return found


def resolve_by_rule(conflict: dict[str, Any], priorities: list[str]) -> dict[str, Any] | None:
    ranked = [p for p in conflict["proposals"] if p["agent"] in priorities]
    if len(ranked) < len(conflict["proposals"]):
        return None  # a rule must cover every party
    winner = min(ranked, key=lambda p: priorities.index(p["agent"]))
    order = " > ".join(a for a in priorities if a in {p["agent"] for p in ranked})
    return {
        "winner": winner,
        "resolved_by": "rule",
        "reasons": f"priority rule {order}: {winner['agent']} wins",
    }


def resolve_by_score(conflict: dict[str, Any]) -> dict[str, Any] | None:
    scored = [p for p in conflict["proposals"] if p.get("expected_value") is not None]
    if len(scored) < len(conflict["proposals"]):
        return None
    best = sorted(scored, key=lambda p: p["expected_value"], reverse=True)
    if len(best) > 1 and best[0]["expected_value"] == best[1]["expected_value"]:
        return None
    return {
        "winner": best[0],
        "resolved_by": "score",
        "reasons": f"highest expected value under the objective: {best[0]['expected_value']:.2f} "
        f"({best[0]['agent']})",
    }


def conservative(conflict: dict[str, Any]) -> dict[str, Any]:
    """The smaller value: what an automatic run falls back to when nobody can be asked."""
    return min(conflict["proposals"], key=lambda p: float(p["value"]))
