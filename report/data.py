"""Everything `cdp-agents report` shows about one run, gathered from its checkpoints and the CDP.

Counts are aggregated in SQL (GROUP BY), never by looping over customers in Python, so a report of a
million-customer campaign costs a few indexed scans. No personal data leaves this module: customers
appear only as counts by tier, country and channel.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from typing import Any

from cdp.tools_insights import UNDELIVERED
from report.facts import narrative_of, run_facts
from report.timeline import Timeline, timeline_from_history, timeline_from_messages

#: Campaign settings the report shows (offer, budget, holdout, channels).
CAMPAIGN_FIELDS = (
    "name",
    "status",
    "segment_id",
    "holdout_pct",
    "offer_kind",
    "discount_pct",
    "budget",
    "currency",
    "channels",
    "max_audience",
    "launched_at",
)
#: How many countries the composition lists before folding the rest into "other".
TOP_COUNTRIES = 10
#: Composition dimensions: the SQL expression over send_requests `r` / sends `s` and profiles `p`.
DIMENSIONS = {
    "tier": "COALESCE(p.tier, 'unknown')",
    "country": "COALESCE(p.country, 'unknown')",
    "channel": "{t}.channel",
}


class UnknownRunError(LookupError):
    """No checkpoint and no `runs` row has this thread id."""


@dataclass
class Lifecycle:
    """Daily results against the holdout and every change made to the running campaign."""

    results: list[dict[str, Any]] = field(default_factory=list)
    #: Treated-arm conversion per variant (or channel): {name: [{day, customers, purchasers, rate}]}.
    variants: dict[str, list[dict[str, Any]]] = field(default_factory=dict)
    channels: dict[str, list[dict[str, Any]]] = field(default_factory=dict)
    adjustments: list[dict[str, Any]] = field(default_factory=list)

    @property
    def measured(self) -> bool:
        return bool(self.results)

    def changes(self) -> list[dict[str, Any]]:
        """Adjustments that changed the campaign (everything but `keep` reviews), in day order."""
        return [a for a in self.adjustments if a["action"] != "keep"]

    def kept(self) -> list[dict[str, Any]]:
        """Daily reviews that changed nothing, each with the figures it looked at."""
        return [a for a in self.adjustments if a["action"] == "keep"]


def day_ranges(days: list[int]) -> str:
    """[1, 2, 3, 5, 7, 8] -> '1-3, 5, 7-8'."""
    ranges: list[list[int]] = []
    for day in sorted(set(days)):
        if ranges and day == ranges[-1][1] + 1:
            ranges[-1][1] = day
        else:
            ranges.append([day, day])
    return ", ".join(str(a) if a == b else f"{a}-{b}" for a, b in ranges)


@dataclass
class ReportData:
    thread_id: str
    objective: str
    status: str
    narrative: str
    facts: dict[str, Any]
    run: dict[str, Any]
    campaign: dict[str, Any]
    llm_calls: int
    timeline: Timeline | None
    #: {"tier" | "country" | "channel": [{"key", "requested", "messaged"}]}
    audience: dict[str, list[dict[str, Any]]]
    #: Gate decisions per reason: [{"reason_code", "outcome", "rule", "customers"}]
    decisions: list[dict[str, Any]]
    conflicts: list[dict[str, Any]]
    lifecycle: Lifecycle
    #: What the objective was taken to mean (graph.plan.Interpretation as a dict), or None.
    interpretation: dict[str, Any] | None = None

    @property
    def plan(self) -> list[dict[str, Any]]:
        return self.facts["plan"]

    def headline(self) -> list[tuple[str, str]]:
        """The few numbers a reader looks at first, as (label, value)."""
        held = sum(d["customers"] for d in self.decisions if d["outcome"] == "holdout")
        stopped = sum(d["customers"] for d in self.decisions if d["outcome"] != "holdout")
        done = sum(1 for t in self.plan if t["status"] == "done")
        items = [
            ("audience", f"{self.facts['audience_size'] or 0:,}"),
            ("sends scheduled", f"{self.facts['sends']:,}"),
            ("not sent (policy)", f"{stopped:,}"),
            ("held out", f"{held:,}"),
            ("tasks done", f"{done}/{len(self.plan)}"),
            ("conflicts resolved", f"{len(self.conflicts)}"),
            ("model calls", f"{self.llm_calls}"),
        ]
        if self.lifecycle.results:
            last = self.lifecycle.results[-1]
            items.append((f"lift in points, day {last['day']}", f"{last['lift'] * 100:+.1f}"))
        return items

    def to_dict(self) -> dict[str, Any]:
        return {
            "thread_id": self.thread_id,
            "objective": self.objective,
            "status": self.status,
            "narrative": self.narrative,
            "run": self.run,
            "campaign": self.campaign,
            "llm_calls": self.llm_calls,
            "facts": self.facts,
            "timeline": self.timeline.to_dict() if self.timeline else None,
            "audience": self.audience,
            "decisions": self.decisions,
            "conflicts": self.conflicts,
            "interpretation": self.interpretation,
            "lifecycle": {
                "results": self.lifecycle.results,
                "variants": self.lifecycle.variants,
                "channels": self.lifecycle.channels,
                "adjustments": self.lifecycle.adjustments,
            },
        }


def _dicts(db, sql: str, params: list[Any]) -> list[dict[str, Any]]:
    return list(db.query(sql, params))


def thread_messages(db, thread_id: str) -> list[dict[str, Any]]:
    """The run's agent message log (requests, responses, escalations) in the order it was written."""
    return _dicts(
        db,
        "SELECT message_id, kind, sender, recipient, task_id, payload, protocol, created_at "
        "FROM agent_messages WHERE thread_id = ? ORDER BY message_id",
        [thread_id],
    )


def _json(text: Any, default: Any) -> Any:
    try:
        return json.loads(text) if isinstance(text, str) else (text if text is not None else default)
    except ValueError:
        return default


def audience_composition(db, campaign_id: str) -> dict[str, list[dict[str, Any]]]:
    """Customers requested and customers messaged, by tier, country and channel (GROUP BY in SQL)."""
    undelivered = ", ".join("?" for _ in UNDELIVERED)
    composition: dict[str, list[dict[str, Any]]] = {}
    for name, expr in DIMENSIONS.items():
        requested = db.execute(
            f"SELECT {expr.format(t='r')} AS k, count(DISTINCT r.profile_id) FROM send_requests r "
            "LEFT JOIN profiles p ON p.profile_id = r.profile_id WHERE r.campaign_id = ? GROUP BY k",
            [campaign_id],
        ).fetchall()
        messaged = dict(
            db.execute(
                f"SELECT {expr.format(t='s')} AS k, count(DISTINCT s.profile_id) FROM sends s "
                "LEFT JOIN profiles p ON p.profile_id = s.profile_id "
                f"WHERE s.campaign_id = ? AND s.status NOT IN ({undelivered}) GROUP BY k",
                [campaign_id, *UNDELIVERED],
            ).fetchall()
        )
        rows: list[dict[str, Any]] = [
            {"key": str(k), "requested": int(n), "messaged": int(messaged.get(k, 0))} for k, n in requested
        ]
        rows.sort(key=lambda r: (-r["requested"], r["key"]))
        if name == "country" and len(rows) > TOP_COUNTRIES:
            rest = rows[TOP_COUNTRIES - 1 :]
            other = {
                "key": f"other ({len(rest)})",
                "requested": sum(r["requested"] for r in rest),
                "messaged": sum(r["messaged"] for r in rest),
            }
            rows = [*rows[: TOP_COUNTRIES - 1], other]
        composition[name] = rows
    return composition


def gate_decisions(db, campaign_id: str) -> list[dict[str, Any]]:
    """Customers the contact-policy gate stopped or held out, per reason, outcome and rule."""
    return _dicts(
        db,
        "SELECT reason_code, outcome, rule, count(*) AS customers FROM decisions WHERE campaign_id = ? "
        "GROUP BY reason_code, outcome, rule ORDER BY customers DESC, reason_code",
        [campaign_id],
    )


def conflict_decisions(db, thread_id: str, resolutions: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """Conflicts between agents' proposals and their resolution: the `conflicts` table, else the state."""
    rows = _dicts(
        db,
        "SELECT conflict_id, decision_key, proposals, resolution, resolved_by, winner, reasons, created_at "
        "FROM conflicts WHERE thread_id = ? ORDER BY created_at, conflict_id",
        [thread_id],
    )
    if not rows:
        return [dict(r) for r in resolutions]
    return [
        {
            "conflict_id": r["conflict_id"],
            "decision_key": r["decision_key"],
            "proposals": _json(r["proposals"], []),
            "winner": r["winner"],
            "value": _json(r["resolution"], r["resolution"]),
            "resolved_by": r["resolved_by"],
            "reasons": r["reasons"],
        }
        for r in rows
    ]


def _series(rows: list[dict[str, Any]], key: str) -> dict[str, list[dict[str, Any]]]:
    series: dict[str, list[dict[str, Any]]] = {}
    for r in rows:
        rate = r["purchasers"] / r["customers"] if r["customers"] else None
        series.setdefault(r[key], []).append(
            {**{k: r[k] for k in ("day", "customers", "purchasers")}, "rate": rate}
        )
    return series


def lifecycle(db, campaign_id: str) -> Lifecycle:
    """The campaign's measured days (campaign_results / campaign_metrics) and its adjustments."""
    results = _dicts(
        db,
        "SELECT day, as_of, treated_n, treated_rate, holdout_n, holdout_rate, lift, ci_low, ci_high, "
        "unsubscribe_rate FROM campaign_results WHERE campaign_id = ? ORDER BY day",
        [campaign_id],
    )
    cuts = _dicts(
        db,
        "SELECT variant, channel, day, customers, purchasers FROM campaign_metrics "
        "WHERE campaign_id = ? AND arm = 'treated' AND (variant = '') != (channel = '') "
        "ORDER BY variant, channel, day",
        [campaign_id],
    )
    adjustments = _dicts(
        db,
        "SELECT day, at, action, target, reason, evidence, decided_by, affected FROM campaign_adjustments "
        "WHERE campaign_id = ? ORDER BY day, adjustment_id",
        [campaign_id],
    )
    for a in adjustments:
        a["evidence"] = _json(a["evidence"], {})
    return Lifecycle(
        results=results,
        variants=_series([c for c in cuts if c["variant"]], "variant"),
        channels=_series([c for c in cuts if c["channel"]], "channel"),
        adjustments=adjustments,
    )


def _checkpointed(graph: Any, thread_id: str) -> tuple[dict[str, Any], bool, list[Any]]:
    """(state values, waiting for a person?, checkpoint history) of a thread; empty without a graph."""
    if graph is None:
        return {}, False, []
    config = {"configurable": {"thread_id": thread_id}}
    snapshot = graph.get_state(config)
    if not snapshot.values and not snapshot.next:
        return {}, False, []
    waiting = any(task.interrupts for task in snapshot.tasks)
    return dict(snapshot.values or {}), waiting, list(graph.get_state_history(config))


def collect_report(db, thread_id: str, graph: Any = None) -> ReportData:
    """Gather one run's report. `graph` is the orchestrator compiled with the run's checkpointer
    (None when the run left no checkpoints: the `runs` row and the message log are used instead)."""
    values, waiting, history = _checkpointed(graph, thread_id)
    run_rows = _dicts(
        db,
        "SELECT objective, status, protocol, model, campaign_id, created_at, updated_at FROM runs "
        "WHERE thread_id = ?",
        [thread_id],
    )
    if not values and not run_rows:
        raise UnknownRunError(f"no run with thread id {thread_id!r} in this CDP")
    run = run_rows[0] if run_rows else {}
    status = "interrupted" if waiting else (values.get("status") or run.get("status") or "unknown")
    state = {"objective": run.get("objective", ""), "campaign_id": run.get("campaign_id"), **values}
    facts = run_facts(db, state, status)
    campaign_id = facts["campaign_id"]
    campaign: dict[str, Any] = {}
    interpretation = values.get("interpretation")
    if campaign_id:
        found = _dicts(db, "SELECT * FROM campaigns WHERE campaign_id = ?", [campaign_id])
        if interpretation is None and found:
            interpretation = _json(found[0].get("interpretation"), None)
        campaign = {k: v for k, v in (found[0] if found else {}).items() if k in CAMPAIGN_FIELDS}
        if facts["audience_size"] is None and campaign.get("segment_id"):
            segment = _dicts(
                db, "SELECT size, description FROM segments WHERE segment_id = ?", [campaign["segment_id"]]
            )
            if segment:
                facts["audience_size"] = segment[0]["size"]
                facts["audience"] = facts["audience"] or segment[0]["description"]
    timeline = timeline_from_history(history, facts["plan"]) if history else None
    if timeline is None:
        timeline = timeline_from_messages(thread_messages(db, thread_id), facts["plan"])
    return ReportData(
        thread_id=thread_id,
        objective=state.get("objective") or "",
        status=status,
        # The narrative as the synthesizer wrote it; a run checkpointed before state carried it keeps
        # it only inside its Markdown report.
        narrative=values.get("narrative") or narrative_of(values.get("report") or ""),
        facts=facts,
        run={k: run.get(k) for k in ("protocol", "model", "created_at", "updated_at")},
        campaign=campaign,
        llm_calls=int(values.get("llm_calls") or 0),
        timeline=timeline,
        audience=audience_composition(db, campaign_id) if campaign_id else {},
        decisions=gate_decisions(db, campaign_id) if campaign_id else [],
        conflicts=conflict_decisions(db, thread_id, facts["conflicts"]),
        lifecycle=lifecycle(db, campaign_id) if campaign_id else Lifecycle(),
        interpretation=interpretation,
    )
