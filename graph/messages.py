"""Structured agent messages: request, response, status, escalation.

Each message is written to `agent_messages` in the CDP (the full log, idempotent by a dedupe key so
a resumed node never logs twice) and returned as a short summary for graph state.
"""

from __future__ import annotations

import json
from typing import Any, Literal

from cdp import clock

MessageKind = Literal["request", "response", "status", "escalation"]
SUPERVISOR = "supervisor"
HUMAN = "human"


def record_message(
    db,
    *,
    thread_id: str,
    kind: MessageKind,
    sender: str,
    recipient: str,
    task_id: str | None,
    payload: dict[str, Any],
    protocol: str,
    dedupe_key: str,
) -> dict[str, Any]:
    """Log one message (INSERT OR IGNORE on thread + dedupe key) and return its state summary."""
    now = clock.now_iso(db)
    body = json.dumps(payload, default=str, sort_keys=True)
    with db.conn:
        db.execute(
            "INSERT OR IGNORE INTO agent_messages (thread_id, kind, sender, recipient, task_id, payload, "
            "protocol, dedupe_key, created_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)",
            [thread_id, kind, sender, recipient, task_id, body, protocol, dedupe_key, now],
        )
    summary = payload.get("summary") or payload.get("note") or payload.get("goal") or ""
    return {
        "kind": kind,
        "sender": sender,
        "recipient": recipient,
        "task_id": task_id,
        "text": str(summary)[:160],
        "at": now,
    }
