"""Facts of a run, gathered from state and the CDP, and the Markdown report built from them."""

from __future__ import annotations

from typing import Any


def _counts(db, sql: str, params: list[Any]) -> dict[str, int]:
    return {str(k): int(v) for k, v in db.execute(sql, params).fetchall()}


def run_facts(db, state: dict[str, Any], status: str) -> dict[str, Any]:
    """Everything the report and the CLI's JSON show. Counts come from the CDP, not from the model."""
    campaign_id = state.get("campaign_id")
    results = state.get("results") or {}
    audience: dict[str, Any] = next(
        (
            r["outputs"]
            for r in results.values()
            if r.get("status") == "done" and "audience_size" in (r.get("outputs") or {})
        ),
        {},
    )
    sends = 0
    suppressed: dict[str, int] = {}
    by_channel: dict[str, int] = {}
    if campaign_id:
        sends = db.execute("SELECT count(*) FROM sends WHERE campaign_id = ?", [campaign_id]).fetchone()[0]
        suppressed = _counts(
            db,
            "SELECT reason_code, count(*) FROM decisions WHERE campaign_id = ? "
            "GROUP BY reason_code ORDER BY 2 DESC",
            [campaign_id],
        )
        by_channel = _counts(
            db, "SELECT channel, count(*) FROM sends WHERE campaign_id = ? GROUP BY channel", [campaign_id]
        )
    status_of = state.get("task_status") or {}
    return {
        "objective": state.get("objective", ""),
        "status": status,
        "campaign_id": campaign_id,
        "plan": [
            {
                "id": t["id"],
                "agent": (state.get("assignments") or {}).get(t["id"], [t["agent"]])[-1],
                "goal": t["goal"],
                "depends_on": t.get("depends_on", []),
                "status": status_of.get(t["id"]),
            }
            for t in state.get("plan") or []
        ],
        "plan_summary": state.get("plan_summary", ""),
        "audience_size": audience.get("audience_size"),
        "audience": audience.get("filter_description"),
        "sends": sends,
        "sends_by_channel": by_channel,
        "suppressed": suppressed,
        "launch": state.get("launch") or {},
        "conflicts": state.get("resolutions") or [],
        "escalations": state.get("escalations") or [],
        "task_results": {
            tid: {
                "agent": r.get("agent"),
                "status": r.get("status"),
                "summary": r.get("summary"),
                "error": r.get("error"),
            }
            for tid, r in results.items()
        },
        "error": state.get("error"),
    }


def facts_markdown(facts: dict[str, Any], narrative: str) -> str:
    lines = [f"# Campaign report: {facts['objective'][:120]}", "", f"**Status:** {facts['status']}", ""]
    if narrative:
        lines += [narrative, ""]
    if facts["plan"]:
        lines += ["## Plan", "", "| task | agent | depends on | status |", "|---|---|---|---|"]
        lines += [
            f"| {t['id']} | {t['agent']} | {', '.join(t['depends_on']) or '-'} | {t['status']} |"
            for t in facts["plan"]
        ]
        lines.append("")
    if facts["campaign_id"]:
        lines += [
            "## Campaign",
            "",
            f"- id: `{facts['campaign_id']}`",
            f"- audience: {facts['audience'] or '-'} ({facts['audience_size'] or 0} customers)",
            f"- sends scheduled: {facts['sends']} "
            + (
                f"({', '.join(f'{k}: {v}' for k, v in facts['sends_by_channel'].items())})"
                if facts["sends_by_channel"]
                else ""
            ),
            f"- launch decision: {facts['launch'].get('decision', 'not launched')}"
            + (f" by {facts['launch'].get('decided_by')}" if facts["launch"] else ""),
            "",
        ]
    if facts["suppressed"]:
        lines += ["## Not sent, by reason", "", "| reason | customers |", "|---|---|"]
        lines += [f"| {k} | {v} |" for k, v in facts["suppressed"].items()]
        lines.append("")
    if facts["conflicts"]:
        lines += ["## Conflicts between agents", ""]
        for c in facts["conflicts"]:
            props = "; ".join(f"{p['agent']} proposed {p['value']:g}" for p in c["proposals"])
            lines.append(
                f"- **{c['decision_key']}**: {props}. Decision: {c['winner']} ({c['value']:g}), "
                f"by {c['resolved_by']}: {c['reasons']}."
            )
        lines.append("")
    failed = {tid: r for tid, r in facts["task_results"].items() if r["status"] != "done"}
    if failed or facts.get("error"):
        lines += ["## What failed", ""]
        lines += [f"- task {tid} ({r['agent']}): {r['error'] or r['status']}" for tid, r in failed.items()]
        if facts.get("error"):
            lines.append(f"- {facts['error']}")
        lines.append("")
    return "\n".join(lines).rstrip() + "\n"


def narrative_of(report: str) -> str:
    """The narrative inside a report `facts_markdown` wrote: the text between its status line and
    its first section, so a later rendering can show the model's words without re-asking it."""
    lines = report.splitlines()
    start = next((i + 1 for i, line in enumerate(lines) if line.startswith("**Status:**")), None)
    if start is None:
        return ""
    end = next((i for i in range(start, len(lines)) if lines[i].startswith("## ")), len(lines))
    return "\n".join(lines[start:end]).strip()
