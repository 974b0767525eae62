"""The Markdown report of a run: the synthesizer's report (`facts_markdown`), then the timeline,
audience composition, gate decisions, results against the holdout and what each agent did."""

from __future__ import annotations

from typing import Any

from report.data import ReportData, day_ranges
from report.facts import facts_markdown
from report.graphs import duration_text
from report.interpretation import interpretation_lines

NO_RESULTS = (
    "No measured results yet: the campaign has no simulated days "
    "(`cdp-agents run OBJECTIVE --simulate DAYS` measures it day by day against the holdout)."
)


def cell(value: Any) -> str:
    """A table cell: agent and CDP text may hold pipes or newlines that would break the table."""
    return " ".join(str("-" if value is None else value).split()).replace("|", "\\|")


def table(header: list[str], rows: list[list[Any]]) -> list[str]:
    lines = ["| " + " | ".join(header) + " |", "|" + "---|" * len(header)]
    lines += ["| " + " | ".join(cell(v) for v in row) + " |" for row in rows]
    return [*lines, ""]


def pct(value: float | None) -> str:
    return "-" if value is None else f"{value * 100:.1f}%"


def pts(value: float | None) -> str:
    return "-" if value is None else f"{value * 100:+.1f} pts"


def _timeline(data: ReportData) -> list[str]:
    tl = data.timeline
    if tl is None or not tl.spans:
        return []
    if tl.unit == "s":
        lines = [
            "## Timeline",
            "",
            f"Wall clock from the checkpoints; the run took {duration_text(tl.duration)}.",
            "",
        ]

        def at(t: float | None) -> str:
            return "-" if t is None else f"+{t:.3f} s"

    else:
        lines = [
            "## Timeline",
            "",
            "Order of requests and responses in the message log (no checkpoints).",
            "",
        ]

        def at(t: float | None) -> str:
            return "-" if t is None else f"#{int(t) + 1}"

    rows = [
        [
            s.name,
            s.agent,
            at(s.dispatched) if s.kind == "task" else "-",
            at(s.work_start),
            at(s.end) if s.segments else "-",
            ", ".join(str(n) for n in s.steps) or "-",
            s.status,
        ]
        for s in tl.spans
    ]
    return lines + table(["task", "agent", "dispatched", "started", "ended", "supersteps", "status"], rows)


def _interpretation(data: ReportData) -> list[str]:
    interp = data.interpretation
    if not interp:
        return []
    lines = ["## Interpretation", "", *[f"- {cell(line)}" for line in interpretation_lines(interp)], ""]
    readings = [[r.get("words"), r.get("meaning")] for r in interp.get("readings") or []]
    if readings:
        lines += table(["words", "taken to mean"], readings)
    return lines


def _audience(data: ReportData) -> list[str]:
    if not data.audience:
        return []
    lines = ["## Audience composition", ""]
    for name, rows in data.audience.items():
        if rows:
            lines += table(
                [name, "requested", "messaged"], [[r["key"], r["requested"], r["messaged"]] for r in rows]
            )
    return lines


def _decisions(data: ReportData) -> list[str]:
    if not data.decisions:
        return []
    rows = [[d["reason_code"], d["outcome"], d["rule"], d["customers"]] for d in data.decisions]
    total = sum(d["customers"] for d in data.decisions)
    return [
        "## Gate decisions",
        "",
        *table(["reason", "outcome", "rule", "customers"], rows),
        f"Total: {total}.",
        "",
    ]


def _conflicts(data: ReportData) -> list[str]:
    """Only when the state had none to show (a run without checkpoints): facts_markdown lists them."""
    if data.facts["conflicts"] or not data.conflicts:
        return []
    lines = ["## Conflicts between agents", ""]
    for c in data.conflicts:
        props = "; ".join(f"{p.get('agent')} proposed {p.get('value')}" for p in c.get("proposals") or [])
        lines.append(
            f"- **{cell(c['decision_key'])}**: {cell(props)}. Decision: {cell(c['winner'])} "
            f"({cell(c.get('value'))}), by {cell(c['resolved_by'])}: {cell(c['reasons'])}."
        )
    return [*lines, ""]


def _results(data: ReportData) -> list[str]:
    life = data.lifecycle
    lines = ["## Results against the holdout", ""]
    if not life.measured:
        return [*lines, NO_RESULTS, ""]
    rows = [
        [
            r["day"],
            f"{pct(r['treated_rate'])} of {r['treated_n']}",
            f"{pct(r['holdout_rate'])} of {r['holdout_n']}",
            pts(r["lift"]),
            f"{pts(r['ci_low'])} to {pts(r['ci_high'])}" if r["ci_low"] is not None else "-",
            pct(r["unsubscribe_rate"]),
        ]
        for r in life.results
    ]
    lines += table(["day", "treated", "holdout", "lift", "95% CI", "unsubscribed"], rows)
    if life.variants:
        last = {name: points[-1] for name, points in life.variants.items()}
        lines += ["### Conversion by variant (treated, latest day)", ""]
        lines += table(
            ["variant", "day", "customers", "converted"],
            [[name, p["day"], p["customers"], pct(p["rate"])] for name, p in sorted(last.items())],
        )
    lines += ["### Adjustments", ""]
    if not life.adjustments:
        return [*lines, "No adjustment: the campaign ran as launched.", ""]
    rows = [
        [a["day"], a["action"], a["target"], a["reason"], a["decided_by"], a["affected"]]
        for a in life.changes()
    ]
    if rows:
        lines += table(["day", "action", "target", "why", "decided by", "sends affected"], rows)
    else:
        lines += ["No change: every review kept the campaign as it was.", ""]
    kept = life.kept()
    if kept:
        days = day_ranges([a["day"] for a in kept])
        lines += [
            f"Reviews that changed nothing: {len(kept)} (days {days}); the latest said: {cell(kept[-1]['reason'])}",
            "",
        ]
    return lines


def _agents(data: ReportData) -> list[str]:
    results = data.facts["task_results"]
    if not results:
        return []
    rows = [[tid, r["agent"], r["status"], r["summary"] or r["error"] or ""] for tid, r in results.items()]
    return ["## What each agent did", "", *table(["task", "agent", "status", "summary"], rows)]


def report_markdown(data: ReportData) -> str:
    """The whole Markdown report; its first part is exactly what the synthesizer writes."""
    lines = [facts_markdown(data.facts, data.narrative).rstrip(), ""]
    for section in (_interpretation, _timeline, _audience, _decisions, _conflicts, _results, _agents):
        lines += section(data)
    return "\n".join(lines).rstrip() + "\n"
