"""Why a customer got, or did not get, each message: the gate's decisions in plain words, with evidence.

For people (`cdp-agents explain`) and audits: every entry links the send or the stop to its campaign,
objective, thread, task, agent, the rule applied and the consent state the gate read at that moment.
"""

from __future__ import annotations

import json
from typing import Any

from cdp import clock
from cdp.gate import local_timezone
from cdp.profile import find_profile_id

__all__ = ["explain_customer", "explain_text"]

CHANNEL_NAMES = {"email": "email", "sms": "SMS", "push": "push"}


def _day(ts: str | None) -> str:
    return ts[:10] if ts else "an unknown date"


def _when(ts: str | None) -> str:
    return f"{ts[:10]} {ts[11:16]} UTC" if ts else "an unknown time"


def _channel(ch: str | None) -> str:
    return CHANNEL_NAMES.get(ch or "", ch or "an unknown channel")


def _consent_words(channel: str | None, consent: dict[str, Any]) -> str:
    status = consent.get("status") or "absent"
    if status == "absent":
        return f"there is no {_channel(channel)} consent on record"
    source = f" (source {consent['source']})" if consent.get("source") else ""
    return f"{_channel(channel)} consent was {status} on {_day(consent.get('updated_at'))}{source}"


def _offer_words(kind: Any, category: Any, discount: Any) -> str:
    parts = []
    if discount is not None:
        parts.append(f"{float(discount):g}% off")
    parts.append(str(category) if category else "everything")
    if kind:
        parts.append(f"({kind})")
    return " ".join(parts)


def explain_text(entry: dict[str, Any]) -> str:
    """One entry (as built by `explain_customer`) in plain words."""
    reason = entry.get("reason_code")
    ev = entry.get("evidence") or {}
    ch = _channel(entry.get("channel"))
    if entry["outcome"] in ("scheduled", "delivered"):
        verb = "Sent" if entry["outcome"] == "delivered" else "Scheduled"
        text = f"{verb} by {ch} for {_when(entry.get('scheduled_for'))} (variant {entry.get('variant')})"
        consent = entry.get("consent_status")
        if consent:
            text += f"; {ch} consent was {consent} on {_day(entry.get('consent_updated_at'))}"
        if entry.get("deferred"):
            tz = local_timezone(entry.get("country"))
            asked = clock.parse_ts(entry["requested_for"]).astimezone(tz)
            moved = clock.parse_ts(entry["scheduled_for"]).astimezone(tz)
            text += (
                f"; moved by quiet hours from {asked:%H:%M} to {moved:%H:%M} local time ({tz.key}) "
                f"on {moved:%Y-%m-%d}"
            )
        return text + "."
    if entry.get("send_id"):
        if entry["outcome"] == "cancelled" and reason:
            stage = "when profiles were merged" if ev.get("stage") == "merge" else "at delivery"
            return f"Cancelled {stage}: " + _stop_words(entry, reason, ev)
        return f"Scheduled by {ch} for {_when(entry.get('scheduled_for'))}, then {entry['outcome']}."
    if entry["outcome"] == "pending":
        return f"Requested by {ch}; the contact-policy gate has not decided it yet."
    if reason == "holdout":
        return (
            f"Held out: in the campaign's {float(ev.get('holdout_pct', 0)):g}% control group (bucket "
            f"{ev.get('bucket')} of {ev.get('buckets', 10000)}); kept for measurement, never messaged."
        )
    return "Not sent: " + _stop_words(entry, reason, ev)


def _stop_words(entry: dict[str, Any], reason: str | None, ev: dict[str, Any]) -> str:
    """Why a customer-step was stopped (by the gate, at delivery or by a merge), as one sentence."""
    ch = _channel(entry.get("channel"))
    consent = ev.get("consent") or {}
    if reason == "no_consent":
        return f"{_consent_words(entry.get('channel'), consent)}."
    if reason == "open_ticket":
        n = ev.get("open_tickets") or 1
        return (
            f"the customer had {n} open support ticket{'s' if n != 1 else ''} (oldest opened "
            f"{_day(ev.get('oldest_open_ticket_at'))}); promotions wait until it is closed."
        )
    if reason == "recent_complaint":
        return (
            f"the customer complained on {_day(ev.get('last_complaint_at'))}, within the "
            f"{ev.get('complaint_window_days')}-day complaint window."
        )
    if reason == "service_suppression":
        return (
            f"promotions are paused for this customer (trait {ev.get('trait')} set by "
            f"{ev.get('source') or 'an agent'} on {_day(ev.get('updated_at'))})."
        )
    if reason == "quiet_hours":
        return (
            f"the {ch} message would have gone out at {ev.get('local_time')} local time ({ev.get('timezone')}), "
            f"inside the quiet hours {ev.get('quiet_hours_start')}:00-{ev.get('quiet_hours_end')}:00."
        )
    if reason == "duplicate_request":
        return f"send {ev.get('kept_send_id')} already covers this campaign step for the customer."
    if reason == "conflicting_offer":
        their_kinds = ", ".join(ev.get("their_offer_kinds") or []) or ev.get("their_offer_kind")
        theirs = _offer_words(their_kinds, ev.get("their_offer_category"), ev.get("their_discount_pct"))
        our_kinds = ", ".join(ev.get("our_offer_kinds") or []) or entry.get("offer_kind")
        ours = _offer_words(our_kinds, entry.get("offer_category"), entry.get("discount_pct"))
        return (
            f"this offer ({ours}) would contradict campaign {ev.get('conflicting_campaign_id')}'s "
            f"offer ({theirs}) the customer already holds from {_day(ev.get('their_scheduled_for'))}."
        )
    if reason == "frequency_cap":
        return (
            f"{ev.get('sends_in_window')} marketing messages already fall within "
            f"{ev.get('window_days')} days of {_when(ev.get('delivery_at') or ev.get('scheduled_for'))} "
            f"(cap {ev.get('cap')} per {ev.get('window_days')} days)."
        )
    if reason == "over_budget":
        return (
            f"the campaign budget ({ev.get('budget')}) was used up; this {ch} message would cost "
            f"{ev.get('cost')} after {ev.get('spent_before')} already committed in this run."
        )
    if reason == "unknown_profile":
        merged = ev.get("merged_into")
        return "the profile does not exist" + (f" (merged into {merged})." if merged else ".")
    if reason == "invalid_channel":
        return f"'{entry.get('channel')}' is not a channel the CDP can send on."
    return f"stopped by rule {entry.get('rule')} ({reason})."


def explain_customer(
    db, profile_id_or_identifier: str, campaign_id: str | None = None
) -> list[dict[str, Any]]:
    """For each campaign step touching the customer: sent or not, channel, variant, time, rule, evidence.

    Any identifier finds the customer (profile id, merged id, email ...); the entries carry only the
    profile id. Records still filed under ids merged into this profile are included.
    """
    pid, _matched = find_profile_id(db, profile_id_or_identifier)
    ids = [pid] + [
        r[0]
        for r in db.execute("SELECT merged_profile_id FROM profile_merges WHERE master_profile_id = ?", [pid])
    ]
    marks = ", ".join("?" for _ in ids)
    where_campaign = "AND campaign_id = ?" if campaign_id else ""
    extra = [campaign_id] if campaign_id else []
    keys = db.execute(
        f"""SELECT campaign_id, step FROM (
                SELECT campaign_id, step FROM send_requests WHERE profile_id IN ({marks}) {where_campaign}
                UNION SELECT campaign_id, step FROM sends WHERE profile_id IN ({marks}) {where_campaign}
                UNION SELECT campaign_id, step FROM decisions WHERE profile_id IN ({marks}) {where_campaign})
            ORDER BY campaign_id, step""",
        [*ids, *extra, *ids, *extra, *ids, *extra],
    ).fetchall()
    country = (db.execute("SELECT country FROM profiles WHERE profile_id = ?", [pid]).fetchone() or [None])[0]
    entries = []
    for cid, step in keys:  # one customer: a handful of campaign steps, not an audience
        campaign = _one(
            db,
            """SELECT name, objective, thread_id AS campaign_thread_id, promotional, offer_kind,
                      offer_category, discount_pct FROM campaigns WHERE campaign_id = ?""",
            [cid],
        )
        entry: dict[str, Any] = {"campaign_id": cid, "step": step, "profile_id": pid, "country": country}
        entry.update(campaign)
        # What code read from the saved copy: the gate checks these offers too (declared UNION copy).
        entry["copy_offers"] = [
            {"kind": r[0], "discount_pct": r[1], "variant_id": r[2]}
            for r in db.execute(
                """SELECT kind, discount_pct, variant_id FROM campaign_offer_kinds
                   WHERE campaign_id = ? AND source = 'copy' ORDER BY kind, discount_pct, variant_id""",
                [cid],
            )
        ]
        send = _one(
            db,
            f"""SELECT send_id, channel, variant, status, scheduled_for, requested_for, cost, rule,
                       consent_status, consent_updated_at, thread_id, task_id, agent, created_at
                FROM sends WHERE campaign_id = ? AND step = ? AND profile_id IN ({marks})
                ORDER BY status IN ('scheduled', 'delivered') DESC, created_at LIMIT 1""",
            [cid, step, *ids],
        )
        decision = _one(
            db,
            f"""SELECT channel, outcome, reason_code, rule, evidence, thread_id, task_id, agent, created_at
                FROM decisions WHERE campaign_id = ? AND step = ? AND profile_id IN ({marks})
                ORDER BY created_at LIMIT 1""",
            [cid, step, *ids],
        )
        requests = [
            {"channel": r[0], "outcome": r[1] or "pending", "reason_code": r[2], "requested_at": r[3]}
            for r in db.execute(
                f"""SELECT channel, outcome, reason_code, requested_at FROM send_requests
                    WHERE campaign_id = ? AND step = ? AND profile_id IN ({marks}) ORDER BY channel""",
                [cid, step, *ids],
            )
        ]
        if send:
            entry.update(send)
            entry["outcome"] = "delivered" if send["status"] == "delivered" else "scheduled"
            if send["status"] not in ("scheduled", "delivered"):
                entry["outcome"] = send["status"]
            entry["reason_code"] = None
            entry["deferred"] = bool(
                send.get("requested_for") and send["scheduled_for"] > send["requested_for"]
            )
            entry["evidence"] = {
                "consent": {"status": send["consent_status"], "updated_at": send["consent_updated_at"]}
            }
            if send["status"] == "cancelled" and decision.get("outcome") == "cancelled":
                # Cancelled at delivery or by a merge: the decision holds the reason and what it read.
                entry.update(reason_code=decision["reason_code"], rule=decision["rule"])
                entry["evidence"] = json.loads(decision["evidence"] or "{}")
        elif decision:
            entry.update(decision)
            entry["evidence"] = json.loads(decision["evidence"] or "{}")
            entry["scheduled_for"] = entry["evidence"].get("scheduled_for")
            entry["requested_for"] = entry["evidence"].get("requested_for")
        else:
            pending = next(
                (r for r in requests if r["outcome"] == "pending"), requests[0] if requests else {}
            )
            entry.update(channel=pending.get("channel"), outcome="pending", reason_code=None, evidence={})
        entry["other_requests"] = [r for r in requests if r["channel"] != entry.get("channel")]
        entry["explanation"] = explain_text(entry)
        if entry["other_requests"]:
            others = ", ".join(_channel(r["channel"]) for r in entry["other_requests"])
            entry["explanation"] += f" Also asked on {others}: one message per campaign step, so not used."
        entries.append(entry)
    return entries


def _one(db, sql: str, params: list[Any]) -> dict[str, Any]:
    return next(db.query(sql, params), {})
