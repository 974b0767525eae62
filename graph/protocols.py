"""How agents talk under each protocol, and what each message log must therefore look like.

* hub: every message goes to or from the supervisor; upstream outputs reach a task inside the
  supervisor's request.
* p2p: a finished agent hands its outputs directly to the agents of dependent tasks; agents may
  notify each other; the supervisor sees every peer message and vetoes those outside the allowed
  topics or addressed to anyone but a registered agent.
* blackboard: agents never message each other; outputs and notes are written to `task_notes` in
  the CDP, and each agent reads what its task depends on from there.
"""

from __future__ import annotations

import json
from typing import Any

from agents.registry import REGISTRY
from cdp import clock
from graph.messages import SUPERVISOR, MessageKind, record_message
from graph.state import TaskResult

#: Peer topics the supervisor lets through under p2p (sender -> allowed topics).
ALLOWED_PEER_TOPICS = {"pause_customers", "variants_ready", "segment_ready", "budget_cap", "note"}


def write_note(db, thread_id: str, task_id: str, agent: str, key: str, value: Any) -> None:
    with db.conn:
        db.execute(
            "INSERT OR REPLACE INTO task_notes (thread_id, task_id, agent, key, value, created_at) "
            "VALUES (?, ?, ?, ?, ?, ?)",
            [thread_id, task_id, agent, key, json.dumps(value, default=str), clock.now_iso(db)],
        )


def read_notes(db, thread_id: str, task_ids: list[str]) -> dict[str, Any]:
    if not task_ids:
        return {}
    marks = ", ".join("?" for _ in task_ids)
    rows = db.execute(
        f"SELECT task_id, key, value FROM task_notes WHERE thread_id = ? AND task_id IN ({marks})",
        [thread_id, *task_ids],
    ).fetchall()
    notes: dict[str, Any] = {}
    for task_id, key, value in rows:
        notes.setdefault(task_id, {})[key] = json.loads(value) if value else None
    return notes


def ancestors(task: dict[str, Any], plan: list[dict[str, Any]]) -> list[str]:
    """Every task this one depends on, directly or through others, nearest first."""
    by_id = {t["id"]: t for t in plan}
    seen: list[str] = []
    frontier = list(task.get("depends_on") or [])
    while frontier:
        tid = frontier.pop(0)
        if tid in seen or tid not in by_id:
            continue
        seen.append(tid)
        frontier.extend(by_id[tid].get("depends_on") or [])
    return seen


def gather_inputs(
    db,
    protocol: str,
    thread_id: str,
    task: dict[str, Any],
    results: dict[str, Any],
    plan: list[dict[str, Any]],
) -> dict[str, Any]:
    """Upstream outputs a task works from (all its ancestors): from the blackboard under `blackboard`,
    else from the results the supervisor holds."""
    deps = ancestors(task, plan)
    if protocol == "blackboard":
        notes = read_notes(db, thread_id, deps)
        return {dep: notes.get(dep, {}).get("outputs", {}) for dep in deps}
    return {dep: (results.get(dep) or {}).get("outputs", {}) for dep in deps}


def request_message(
    db, protocol: str, thread_id: str, task: dict[str, Any], agent: str, inputs: dict[str, Any], attempt: int
) -> dict[str, Any]:
    payload: dict[str, Any] = {"goal": task["goal"], "acceptance": task.get("acceptance", [])}
    if protocol == "hub":
        payload["inputs"] = inputs
    else:
        payload["inputs_from"] = sorted(inputs)
    return record_message(
        db,
        thread_id=thread_id,
        kind="request",
        sender=SUPERVISOR,
        recipient=agent,
        task_id=task["id"],
        payload=payload,
        protocol=protocol,
        dedupe_key=f"request:{task['id']}:{agent}:{attempt}",
    )


def completion_messages(
    db,
    protocol: str,
    thread_id: str,
    task: dict[str, Any],
    agent: str,
    result: TaskResult,
    outbox: list[dict[str, Any]],
    consumers: list[tuple[str, str]],
) -> list[dict[str, Any]]:
    """Messages (and notes) a finished task produces under the run's protocol."""
    tid = task["id"]
    logged: list[dict[str, Any]] = []

    def log(kind: MessageKind, sender: str, recipient: str, payload: dict[str, Any], dedupe_key: str) -> None:
        logged.append(
            record_message(
                db,
                thread_id=thread_id,
                kind=kind,
                sender=sender,
                recipient=recipient,
                task_id=tid,
                payload=payload,
                protocol=protocol,
                dedupe_key=dedupe_key,
            )
        )

    def veto(i: int, note: dict[str, Any], why: str) -> None:
        recipient = note.get("recipient")
        payload = {
            "note": f"vetoed a message to {recipient} on topic {note.get('topic')} ({why})",
            "vetoed": note,
        }
        log("status", SUPERVISOR, agent, payload, f"veto:{tid}:{i}")

    # A note goes to the supervisor or to an agent, under every protocol: anything else is vetoed.
    outbox_ok: list[tuple[int, dict[str, Any]]] = []
    for i, note in enumerate(outbox):
        recipient = str(note.get("recipient") or SUPERVISOR)
        if recipient == SUPERVISOR or recipient in REGISTRY:
            outbox_ok.append((i, note))
        else:
            veto(i, note, "not an agent")
    summary = {"summary": result.get("summary", ""), "status": result.get("status")}
    if protocol == "blackboard":
        write_note(db, thread_id, tid, agent, "outputs", result.get("outputs", {}))
        for i, note in outbox_ok:
            write_note(db, thread_id, tid, agent, f"note_{i}_{note['topic']}", note)
        log("response", agent, SUPERVISOR, summary, f"response:{tid}:{agent}")
        return logged
    hub_payload = {**summary, "outputs": result.get("outputs", {})} if protocol == "hub" else summary
    log("response", agent, SUPERVISOR, hub_payload, f"response:{tid}:{agent}")
    if protocol == "p2p":
        for consumer_task, consumer_agent in consumers:
            if consumer_agent == agent:
                continue
            handoff = {
                "summary": result.get("summary", ""),
                "outputs": result.get("outputs", {}),
                "for_task": consumer_task,
            }
            log("response", agent, consumer_agent, handoff, f"handoff:{tid}:{consumer_task}")
    for i, note in outbox_ok:
        recipient = str(note.get("recipient") or SUPERVISOR)
        if protocol == "hub" or recipient == SUPERVISOR:
            log("status", agent, SUPERVISOR, {**note, "forward_to": recipient}, f"note:{tid}:{i}")
            if recipient != SUPERVISOR:
                log("status", SUPERVISOR, recipient, {**note, "forwarded_from": agent}, f"forward:{tid}:{i}")
        elif note.get("topic") in ALLOWED_PEER_TOPICS:
            log("status", agent, recipient, {**note, "observed_by": SUPERVISOR}, f"note:{tid}:{i}")
        else:
            veto(i, note, "topic not allowed between agents")
    return logged
