"""Staging send requests: what agents ASK for, before the contact-policy gate decides.

Staging checks only the shape of a request (channel, existing profile, known variant, bounded count);
it never decides who may be contacted. That is `cdp.gate.run_gate`'s job, the only writer of `sends`.
"""

from __future__ import annotations

import sqlite3
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

from cdp import clock
from cdp.db import sqlite_connection
from cdp.errors import CdpError, UnknownProfileError, UnknownSegmentError
from cdp.gate import CHANNELS, GateResult, UnknownCampaignError, decide, immediate_transaction
from cdp.policy import ContactPolicy
from cdp.vocabulary import DEFAULT_LANGUAGE, effective_language_sql

__all__ = [
    "MAX_EXPLICIT_REQUESTS",
    "InvalidSendRequestError",
    "preview_segment",
    "stage_requests",
    "stage_segment_requests",
]

#: Explicit per-customer requests accepted in one call; larger audiences go through a segment.
MAX_EXPLICIT_REQUESTS = 10_000
VARIANT_RULES = ("subgroup", "default")


class InvalidSendRequestError(CdpError, ValueError):
    """A send request is malformed: unknown channel or variant, bad time, too many rows."""


@contextmanager
def _write(conn: sqlite3.Connection) -> Iterator[None]:
    """Own transaction (BEGIN IMMEDIATE) or, inside a caller's transaction, a savepoint."""
    if conn.in_transaction:
        conn.execute("SAVEPOINT stage_requests")
        try:
            yield
        except BaseException:
            conn.execute("ROLLBACK TO stage_requests")
            conn.execute("RELEASE stage_requests")
            raise
        conn.execute("RELEASE stage_requests")
        return
    with immediate_transaction(conn):
        yield


def _check_campaign(conn: sqlite3.Connection, campaign_id: str) -> None:
    if conn.execute("SELECT 1 FROM campaigns WHERE campaign_id = ?", [campaign_id]).fetchone() is None:
        raise UnknownCampaignError(
            f"unknown campaign {campaign_id!r}: create the campaign before staging sends"
        )


def _check_step(step: Any) -> int:
    if not isinstance(step, int) or isinstance(step, bool) or not 0 <= step <= 1000:
        raise InvalidSendRequestError(f"step must be an integer between 0 and 1000, got {step!r}")
    return step


def _send_time(conn: sqlite3.Connection, send_at: Any) -> str:
    if send_at is None or send_at == "":
        return clock.now_iso(conn)
    try:
        return clock.normalize_ts(send_at)
    except (TypeError, ValueError) as exc:
        raise InvalidSendRequestError(
            f"send_at {str(send_at)[:40]!r} is not an ISO timestamp such as 2026-11-24T09:00:00Z"
            f" in the years {clock.MIN_YEAR}..{clock.MAX_YEAR}"
        ) from exc


def _variant_filter(conn: sqlite3.Connection) -> str:
    """Only approved content goes out, when the content review columns exist."""
    cols = {r[1] for r in conn.execute("PRAGMA table_info(content_variants)")}
    return "AND (v.status IS NULL OR v.status = 'approved')" if "status" in cols else ""


def _default_language(conn: sqlite3.Connection, campaign_id: str) -> str:
    row = conn.execute(
        "SELECT default_language FROM campaigns WHERE campaign_id = ?", [campaign_id]
    ).fetchone()
    return row[0] if row and row[0] else DEFAULT_LANGUAGE


def stage_segment_requests(
    db,
    campaign_id: str,
    segment_id: str,
    *,
    channel_priority: list[str],
    send_at: str | None = None,
    step: int = 0,
    variant_rule: str = "subgroup",
    thread_id: str | None = None,
    task_id: str | None = None,
    agent: str = "activation",
) -> int:
    """Stage one request per segment member, set-based; returns how many new requests were staged.

    Channel: the first channel in `channel_priority` the member consented to, else the first in the
    list (the gate then stops it with `no_consent`, so the refusal is recorded, not silently dropped).
    Variant (`variant_rule='subgroup'`): the campaign's approved variant matching the member best by
    channel, language, favourite category and tier (a NULL attribute matches anyone; channel weighs
    most, then language, category, tier; ties by variant_id), else 'default'. A member whose language
    is missing or unsupported counts as speaking the campaign's `default_language`. Requests already staged
    for the same (campaign, customer, channel, step) are kept as they are (INSERT OR IGNORE).
    """
    conn = sqlite_connection(db)
    step = _check_step(step)
    if not channel_priority:
        raise InvalidSendRequestError("channel_priority needs at least one channel: email, sms or push")
    bad = [c for c in channel_priority if c not in CHANNELS]
    if bad or len(set(channel_priority)) != len(channel_priority):
        raise InvalidSendRequestError(
            f"channel_priority {channel_priority!r} must list distinct channels among email, sms, push"
        )
    if variant_rule not in VARIANT_RULES:
        raise InvalidSendRequestError(
            f"variant_rule {variant_rule!r} is not one of {', '.join(VARIANT_RULES)}"
        )
    _check_campaign(conn, campaign_id)
    if conn.execute("SELECT 1 FROM segments WHERE segment_id = ?", [segment_id]).fetchone() is None:
        raise UnknownSegmentError(f"unknown segment_id {segment_id!r}: save the audience as a segment first")
    when = _send_time(conn, send_at)
    channel_case = (
        "CASE "
        + " ".join(f"WHEN p.consent_{ch} = 1 THEN '{ch}'" for ch in channel_priority)
        + f" ELSE '{channel_priority[0]}' END"
    )
    if variant_rule == "default":
        variant_expr = "'default'"
    else:
        variant_expr = f"""COALESCE((
            SELECT v.variant_id FROM content_variants v
            WHERE v.campaign_id = :cid {_variant_filter(conn)}
              AND (v.channel IS NULL OR v.channel = k.channel)
              AND (v.language IS NULL OR v.language = k.language)
              AND (v.category IS NULL OR v.category = k.category)
              AND (v.tier IS NULL OR v.tier = k.tier)
            ORDER BY (v.channel IS NOT NULL) * 8 + (v.language IS NOT NULL) * 4
                     + (v.category IS NOT NULL) * 2 + (v.tier IS NOT NULL) DESC, v.variant_id
            LIMIT 1), 'default')"""
    # Sub-groups (channel, language, category, tier) are few: the best variant is chosen once per
    # sub-group in a keyed temp table, then every member joins it by key.
    members = "FROM segment_members m JOIN profiles p ON p.profile_id = m.profile_id"
    # A customer without a supported language is matched as a speaker of the campaign's default one.
    language = effective_language_sql("p.language", ":default_language")
    combo = f"json_array({channel_case}, {language}, p.favorite_category, p.tier)"
    params = {
        "default_language": _default_language(conn, campaign_id),
        "cid": campaign_id,
        "sid": segment_id,
        "step": step,
        "send_at": when,
        "thread": thread_id,
        "task": task_id,
        "agent": agent,
        "now": clock.now_iso(conn),
    }
    with _write(conn):
        conn.execute("DROP TABLE IF EXISTS temp.stage_combos")
        conn.execute("CREATE TEMP TABLE stage_combos (combo TEXT PRIMARY KEY, variant TEXT) WITHOUT ROWID")
        conn.execute(
            f"""INSERT INTO temp.stage_combos (combo, variant)
                SELECT k.combo, {variant_expr} FROM (
                    SELECT DISTINCT {combo} AS combo, {channel_case} AS channel, {language} AS language,
                           p.favorite_category AS category, p.tier {members} WHERE m.segment_id = :sid) k""",
            params,
        )
        cur = conn.execute(
            f"""INSERT OR IGNORE INTO send_requests (campaign_id, profile_id, channel, step, variant, send_at,
                                                    thread_id, task_id, agent, requested_at)
                SELECT :cid, p.profile_id, {channel_case}, :step, c.variant, :send_at, :thread, :task, :agent,
                       :now
                {members} JOIN temp.stage_combos c ON c.combo = {combo} WHERE m.segment_id = :sid""",
            params,
        )
        staged = cur.rowcount
        conn.execute("DROP TABLE temp.stage_combos")
    return staged


def stage_requests(
    db,
    campaign_id: str,
    requests: list[dict[str, Any]],
    *,
    step: int = 0,
    thread_id: str | None = None,
    task_id: str | None = None,
    agent: str = "activation",
) -> int:
    """Stage explicit per-customer requests (`profile_id`, `channel`, optional `variant`, `send_at`).

    All or nothing: a malformed row, an unknown profile or a variant the campaign does not have
    rejects the whole list with an error naming the problem. A merged profile id is staged for its
    master. Duplicates collapse (INSERT OR IGNORE). Nothing here checks consent, caps or suppression:
    every staged request still has to pass the gate. Returns how many new requests were staged.
    """
    conn = sqlite_connection(db)
    step = _check_step(step)
    if not isinstance(requests, list):
        raise InvalidSendRequestError("requests must be a list of {profile_id, channel, variant, send_at}")
    if len(requests) > MAX_EXPLICIT_REQUESTS:
        raise InvalidSendRequestError(
            f"{len(requests)} explicit requests exceed the limit of {MAX_EXPLICIT_REQUESTS}: "
            "save the audience as a segment and stage it with stage_segment_requests"
        )
    _check_campaign(conn, campaign_id)
    rows = []
    for i, req in enumerate(requests):
        if not isinstance(req, dict):
            raise InvalidSendRequestError(f"request {i} is not an object with profile_id and channel")
        extra = set(req) - {"profile_id", "channel", "variant", "send_at"}
        if extra:
            raise InvalidSendRequestError(f"request {i} has unknown field(s) {sorted(extra)}")
        pid, channel, variant = req.get("profile_id"), req.get("channel"), req.get("variant")
        if not isinstance(pid, str) or not pid or len(pid) > 128:
            raise InvalidSendRequestError(f"request {i}: profile_id must be a non-empty id string")
        if channel not in CHANNELS:
            raise InvalidSendRequestError(
                f"request {i}: channel {str(channel)[:20]!r} is not email, sms or push"
            )
        if variant is not None and (not isinstance(variant, str) or len(variant) > 64):
            raise InvalidSendRequestError(f"request {i}: variant must be a variant id of the campaign")
        rows.append((pid, channel, variant or "default", _send_time(conn, req.get("send_at"))))
    if not rows:
        return 0
    now = clock.now_iso(conn)
    with _write(conn):
        conn.execute("DROP TABLE IF EXISTS temp.stage_rows")
        conn.execute(
            "CREATE TEMP TABLE stage_rows (profile_id TEXT, channel TEXT, variant TEXT, send_at TEXT)"
        )
        conn.executemany("INSERT INTO temp.stage_rows VALUES (?, ?, ?, ?)", rows)
        # Merged ids follow their master, as every other record of the customer does.
        conn.execute(
            """UPDATE temp.stage_rows SET profile_id = m.master_profile_id FROM profile_merges m
               WHERE m.merged_profile_id = stage_rows.profile_id
                 AND NOT EXISTS (SELECT 1 FROM profiles p WHERE p.profile_id = stage_rows.profile_id)"""
        )
        unknown = [
            r[0]
            for r in conn.execute(
                """SELECT DISTINCT s.profile_id FROM temp.stage_rows s
                   WHERE NOT EXISTS (SELECT 1 FROM profiles p WHERE p.profile_id = s.profile_id)
                   ORDER BY 1 LIMIT 6"""
            )
        ]
        if unknown:
            shown = ", ".join(repr(u[:40]) for u in unknown[:5])
            raise UnknownProfileError(f"unknown profile id(s) {shown}: use ids from the campaign's segment")
        bad_variants = [
            r[0]
            for r in conn.execute(
                """SELECT DISTINCT s.variant FROM temp.stage_rows s
                   WHERE s.variant != 'default' AND NOT EXISTS (
                       SELECT 1 FROM content_variants v WHERE v.campaign_id = ? AND v.variant_id = s.variant)
                   ORDER BY 1 LIMIT 5""",
                [campaign_id],
            )
        ]
        if bad_variants:
            raise InvalidSendRequestError(
                f"variant(s) {', '.join(repr(v[:40]) for v in bad_variants)} do not exist for campaign "
                f"{campaign_id!r}: use a variant_id the content agent saved, or 'default'"
            )
        cur = conn.execute(
            """INSERT OR IGNORE INTO send_requests (campaign_id, profile_id, channel, step, variant, send_at,
                                                    thread_id, task_id, agent, requested_at)
               SELECT ?, profile_id, channel, ?, variant, send_at, ?, ?, ?, ? FROM temp.stage_rows""",
            [campaign_id, step, thread_id, task_id, agent, now],
        )
        staged = cur.rowcount
        conn.execute("DROP TABLE temp.stage_rows")
    return staged


def preview_segment(
    db,
    campaign_id: str,
    segment_id: str,
    *,
    channel_priority: list[str],
    send_at: str | None = None,
    step: int = 0,
    policy: ContactPolicy | None = None,
    agent: str = "activation",
) -> GateResult:
    """What the gate would decide for this segment, staged and decided in one rolled-back transaction."""
    conn = sqlite_connection(db)
    with immediate_transaction(conn, rollback=True):
        stage_segment_requests(
            conn,
            campaign_id,
            segment_id,
            channel_priority=channel_priority,
            send_at=send_at,
            step=step,
            agent=agent,
        )
        return decide(conn, campaign_id, step=step, policy=policy, dry_run=True)
