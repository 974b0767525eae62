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
    running: dict[str, Any] = {}
    if campaign_id and state.get("lifecycle"):
        info = state["lifecycle"]
        running = {
            "lifecycle": {
                "days": info.get("day"),
                "stopped": info.get("stopped"),
                "result": info.get("result") or {},
                "changes": [
                    {"day": d, "action": a, "target": t, "reason": r, "decided_by": by, "affected": n}
                    for d, a, t, r, by, n in db.execute(
                        """SELECT day, action, target, reason, decided_by, affected FROM campaign_adjustments
                           WHERE campaign_id = ? AND action != 'keep' ORDER BY day, adjustment_id""",
                        [campaign_id],
                    )
                ],
                # A daily review that failed for good is reported, never dropped silently.
                **({"review_failures": info["review_failures"]} if info.get("review_failures") else {}),
            }
        }
    return {
        **running,
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
        "question": state.get("question"),
        "interpretation": state.get("interpretation"),
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
    if facts.get("lifecycle"):
        lines += _lifecycle_markdown(facts["lifecycle"])
    failed = {tid: r for tid, r in facts["task_results"].items() if r["status"] != "done"}
    if facts["status"] in ("needs_input", "refused") and not failed and facts.get("error"):
        title = "Question" if facts["status"] == "needs_input" else "Why it was refused"
        text = str(facts.get("question") or facts["error"])
        if narrative.strip() != text.strip():  # the narrative is the question when planning stopped
            lines += [f"## {title}", "", text, ""]
    elif failed or facts.get("error"):
        lines += ["## What failed", ""]
        lines += [f"- task {tid} ({r['agent']}): {r['error'] or r['status']}" for tid, r in failed.items()]
        if facts.get("error"):
            lines.append(f"- {facts['error']}")
        lines.append("")
    return "\n".join(lines).rstrip() + "\n"


def _lifecycle_markdown(lc: dict[str, Any]) -> list[str]:
    res = lc.get("result") or {}
    ci = f" (95% CI {res['ci_low']:+.2%} to {res['ci_high']:+.2%})" if res.get("ci_low") is not None else ""
    lines = [
        "## Running the campaign",
        "",
        f"- simulated days: {lc.get('days')}" + (" (then stopped)" if lc.get("stopped") else ""),
        f"- conversion: contacted {res.get('treated_rate', 0):.2%} (n={res.get('treated_n', 0)}), "
        f"held out {res.get('holdout_rate', 0):.2%} (n={res.get('holdout_n', 0)}); "
        f"lift {res.get('lift', 0):+.2%}{ci}",
        f"- unsubscribes: {res.get('unsubscribe_rate', 0):.2%} of contacted customers",
        "",
    ]
    if lc.get("changes"):
        lines += ["| day | change | by | sends affected | why |", "|---|---|---|---|---|"]
        lines += [
            f"| {c['day']} | {c['action']} {c['target'] or ''} | {c['decided_by']} | {c['affected']} | "
            f"{str(c['reason']).replace('|', '/')} |"
            for c in lc["changes"]
        ]
    else:
        lines.append("No change was needed: the daily reviews kept the campaign as launched.")
    if lc.get("review_failures"):
        lines += [
            "",
            "Reviews that failed (the campaign kept its allocation; the unsubscribe guard held):",
            "",
        ]
        lines += [f"- day {f['day']}, {f['agent']}: {f['error']}" for f in lc["review_failures"]]
    lines.append("")
    return lines


def narrative_of(report: str) -> str:
    """The narrative inside a report `facts_markdown` wrote: the text between its status line and
    its first section, so a later rendering can show the model's words without re-asking it."""
    lines = report.splitlines()
    start = next((i + 1 for i, line in enumerate(lines) if line.startswith("**Status:**")), None)
    if start is None:
        return ""
    end = next((i for i in range(start, len(lines)) if lines[i].startswith("## ")), len(lines))
    return "\n".join(lines[start:end]).strip()
