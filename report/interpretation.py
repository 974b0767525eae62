"""The interpretation of an objective in a few plain lines, as the report, the approval prompt and
`cdp-agents show` print it."""

from __future__ import annotations

from typing import Any


def interpretation_lines(interp: dict[str, Any]) -> list[str]:
    """The interpretation in a few plain lines: audience, offer, channels, timing, budget, warnings."""
    audience = interp.get("audience") or {}
    offer = interp.get("offer") or {}
    timing = interp.get("timing") or {}
    budget = interp.get("budget") or {}
    lines = [f"audience: {audience.get('text') or 'everyone'}"]
    if offer:
        size = (
            f" {offer['value']:g} {offer.get('unit') or ''}".rstrip()
            if offer.get("value") is not None
            else ""
        )
        what = " ".join(str(x) for x in (offer.get("kind") or "offer", size.strip()) if x)
        on = f" on {offer['category']}" if offer.get("category") else ""
        lines.append(f"offer: {what}{on}")
    else:
        lines.append("offer: none")
    lines.append(f"channels: {', '.join(interp.get('channels') or []) or 'any allowed'}")
    when = f"send {timing.get('send_at') or 'now'}"
    if timing.get("offer_valid_until"):
        when += f"; offer valid until {timing['offer_valid_until']}"
    if timing.get("occasion"):
        when += f"; occasion {timing['occasion']}" + (
            f" ({timing['occasion_date']})" if timing.get("occasion_date") else ""
        )
    lines.append(f"timing: {when}")
    if budget:
        lines.append(f"budget: {budget.get('amount'):g} {budget.get('currency') or ''}".rstrip())
    if interp.get("unused_words"):
        lines.append(f"not used: {', '.join(interp['unused_words'])}")
    lines += [f"warning ({w.get('code')}): {w.get('message')}" for w in interp.get("warnings") or []]
    return lines
