"""The one owner of campaign and run status: the vocabularies, the allowed transitions, the writes.

A campaign moves planned → scheduled → running → completed (or stopped); a run moves running →
completed, failed or interrupted. Every status in `campaigns.status` and `runs.status` is written
here, so a forbidden move (a completed campaign scheduled again, a finished run marked running) is
refused with one clear error instead of silently rewriting history. Writing the status a row already
has is allowed and changes nothing but `updated_at`, so a node re-run after a crash stays harmless.

The functions take a `sqlite_utils.Database` or a raw connection. Inside a caller's transaction they
write without committing (the caller's commit covers them); outside one they commit their own write.
"""

from __future__ import annotations

import sqlite3
from typing import Literal, get_args

from cdp import clock
from cdp.db import sqlite_connection
from cdp.input_checks import MAX_OBJECTIVE_CHARS

CampaignStatus = Literal[
    "draft", "planned", "scheduled", "denied", "running", "completed", "stopped", "failed"
]
RunStatus = Literal["planning", "running", "completed", "failed", "interrupted", "refused", "needs_input"]

CAMPAIGN_STATUSES: tuple[str, ...] = get_args(CampaignStatus)
RUN_STATUSES: tuple[str, ...] = get_args(RunStatus)

#: Where a campaign may go from each status. `draft` is the table's default for a campaign made
#: outside planning (an import, a test); `denied` and `failed` end a campaign that never launched,
#: `completed` and `stopped` one that ran (a completed campaign can still be stopped). A run that
#: fails after its launch was denied says so.
CAMPAIGN_TRANSITIONS: dict[str, frozenset[str]] = {
    "draft": frozenset({"planned", "scheduled", "denied", "running", "stopped", "failed"}),
    "planned": frozenset({"scheduled", "denied", "running", "stopped", "failed"}),
    "scheduled": frozenset({"running", "stopped", "failed"}),
    "denied": frozenset({"failed"}),
    "running": frozenset({"completed", "stopped"}),
    # The simulated days are over but follow-up waves may still be scheduled: stopping cancels them.
    "completed": frozenset({"stopped"}),
    "stopped": frozenset(),
    # Failed mid-way on the model endpoint, with steps left in its checkpoint: `resume` runs it again.
    "failed": frozenset({"running"}),
}

#: Where a run may go from each status. An interrupted run waits for a person and then finishes;
#: the statuses planning can end with (`refused`, `needs_input`) are final like `completed`.
RUN_TRANSITIONS: dict[str, frozenset[str]] = {
    "planning": frozenset({"running", "completed", "failed", "interrupted", "refused", "needs_input"}),
    "running": frozenset({"completed", "failed", "interrupted", "refused", "needs_input"}),
    "interrupted": frozenset({"running", "completed", "failed"}),
    "completed": frozenset(),
    # Failed mid-way on the model endpoint, with steps left in its checkpoint: `resume` runs it again.
    "failed": frozenset({"running"}),
    "refused": frozenset(),
    "needs_input": frozenset(),
}


class StatusTransitionError(ValueError):
    """A status change the lifecycle does not allow, e.g. a completed campaign scheduled again."""


class UnknownStatusError(ValueError):
    """A status outside the vocabulary."""


def _check(kind: str, table: dict[str, frozenset[str]], current: str | None, to: str) -> None:
    if to not in table:
        raise UnknownStatusError(f"{to!r} is not a {kind} status; known: {', '.join(table)}")
    if current is None or current == to:
        return
    if current not in table:
        raise UnknownStatusError(f"the {kind} has status {current!r}, which is not a {kind} status")
    if to not in table[current]:
        allowed = ", ".join(sorted(table[current])) or "none (it is final)"
        raise StatusTransitionError(
            f"a {kind} cannot go from {current!r} to {to!r}; allowed from {current!r}: {allowed}"
        )


def check_campaign_transition(current: str | None, to: str) -> None:
    """Raise unless a campaign may move from `current` (None: not yet written) to `to`."""
    _check("campaign", CAMPAIGN_TRANSITIONS, current, to)


def check_run_transition(current: str | None, to: str) -> None:
    """Raise unless a run may move from `current` (None: no row yet) to `to`."""
    _check("run", RUN_TRANSITIONS, current, to)


def _commit_if_own(conn: sqlite3.Connection, was_in_transaction: bool) -> None:
    if not was_in_transaction:
        conn.commit()


def campaign_status(db, campaign_id: str) -> str | None:
    """The campaign's status, or None when there is no such campaign."""
    row = (
        sqlite_connection(db)
        .execute("SELECT status FROM campaigns WHERE campaign_id = ?", [campaign_id])
        .fetchone()
    )
    return None if row is None else str(row[0])


def run_status(db, thread_id: str) -> str | None:
    """The run's status, or None when the run was never recorded."""
    row = sqlite_connection(db).execute("SELECT status FROM runs WHERE thread_id = ?", [thread_id]).fetchone()
    return None if row is None else str(row[0])


def set_campaign_status(
    db,
    campaign_id: str,
    to: CampaignStatus | str,
    *,
    at: str | None = None,
    only_from: tuple[str, ...] | None = None,
) -> bool:
    """Move the campaign to `to`, stamping `updated_at` (`at`, else the CDP clock's now).

    `only_from` names the statuses this caller moves a campaign from; from any other the call changes
    nothing and returns False (a run that ends leaves a scheduled campaign scheduled, for one). Returns
    True when the row was written. Raises `StatusTransitionError` for a forbidden move and
    `LookupError` for an unknown campaign.
    """
    conn = sqlite_connection(db)
    current = campaign_status(conn, campaign_id)
    if current is None:
        raise LookupError(f"unknown campaign {campaign_id!r}")
    if only_from is not None and current not in only_from:
        return False
    check_campaign_transition(current, to)
    was_in_transaction = conn.in_transaction
    moved = conn.execute(
        "UPDATE campaigns SET status = ?, updated_at = ? WHERE campaign_id = ? AND status = ?",
        [to, at or clock.now_iso(conn), campaign_id, current],
    ).rowcount
    if not moved:  # another writer changed it between the read and the write
        raise StatusTransitionError(f"campaign {campaign_id!r} changed status while moving to {to!r}; retry")
    _commit_if_own(conn, was_in_transaction)
    return True


def set_run_status(db, thread_id: str, to: RunStatus | str, *, at: str | None = None) -> None:
    """Move a recorded run to `to`, stamping `updated_at`. Raises `LookupError` for an unknown run
    and `StatusTransitionError` for a forbidden move."""
    conn = sqlite_connection(db)
    current = run_status(conn, thread_id)
    if current is None:
        raise LookupError(f"unknown run {thread_id!r}")
    check_run_transition(current, to)
    was_in_transaction = conn.in_transaction
    conn.execute(
        "UPDATE runs SET status = ?, updated_at = ? WHERE thread_id = ?",
        [to, at or clock.now_iso(conn), thread_id],
    )
    _commit_if_own(conn, was_in_transaction)


def record_run(
    db,
    thread_id: str,
    to: RunStatus | str,
    *,
    objective: str,
    protocol: str | None,
    model: str | None,
    campaign_id: str | None,
    settings: str | None,
) -> None:
    """Record a run with status `to`: the first call inserts it with the settings it started with
    (kept on later calls, read by `resume`), later calls move its status and fill in its campaign."""
    conn = sqlite_connection(db)
    current = run_status(conn, thread_id)
    check_run_transition(current, to)
    now = clock.now_iso(conn)
    was_in_transaction = conn.in_transaction
    if current is None:
        conn.execute(
            "INSERT INTO runs (thread_id, objective, status, protocol, model, campaign_id, created_at, updated_at, "
            "settings) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)",
            [
                thread_id,
                objective[:MAX_OBJECTIVE_CHARS],
                to,
                protocol,
                model,
                campaign_id,
                now,
                now,
                settings,
            ],
        )
    else:
        conn.execute(
            "UPDATE runs SET status = ?, campaign_id = COALESCE(?, campaign_id), updated_at = ?, "
            "settings = COALESCE(settings, ?) WHERE thread_id = ?",
            [to, campaign_id, now, settings, thread_id],
        )
    _commit_if_own(conn, was_in_transaction)
