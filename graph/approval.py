"""Reading a person's answer to an interrupt: a plain word ("approve", "deny") or a dict."""

from __future__ import annotations

from typing import Any

APPROVE_WORDS = {"approve", "approved", "yes", "y", "ok", "go", "retry"}
DENY_WORDS = {"deny", "denied", "no", "n", "reject", "stop", "skip"}


def read_decision(answer: Any, options: tuple[str, ...] = ("approve", "deny")) -> str:
    """Normalise a resume value to one of `options`; anything unclear counts as the last option.

    The last option is always the safe one (deny, skip), so a typo never launches a campaign.
    """
    raw = answer.get("decision") if isinstance(answer, dict) else answer
    word = str(raw or "").strip().lower()
    if word in options:
        return word
    if word in APPROVE_WORDS and "approve" in options:
        return "approve"
    if word in APPROVE_WORDS and "retry" in options:
        return "retry"
    if word in DENY_WORDS:
        for safe in ("deny", "skip"):
            if safe in options:
                return safe
    return options[-1]
