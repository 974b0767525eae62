"""The HTML report of a run: one self-contained page (inline CSS and SVG, no script, no fetch).

Objective, agent summaries and CDP text are untrusted: every value goes through `esc`, so a
`<script>` in an objective shows as text. Charts come from `report.charts` / `report.graphs`.
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from report.charts import Band, LineChart, Marker, Series, hbar_chart, percent, points
from report.data import Lifecycle, ReportData, day_ranges
from report.graphs import STATUS_COLOURS, plan_svg, timeline_svg
from report.interpretation import interpretation_lines
from report.svg import PALETTE, esc

STYLE = """
:root { --ink:#1f2937; --muted:#6b7280; --line:#e5e7eb; --bg:#f4f6fa; --card:#ffffff; --accent:#2f6fdb; }
* { box-sizing: border-box; }
body { margin:0; background:var(--bg); color:var(--ink);
  font:15px/1.55 -apple-system, "Segoe UI", Roboto, "Helvetica Neue", Arial, "DejaVu Sans", sans-serif; }
main { max-width:1180px; margin:0 auto; padding:28px 28px 48px; }
header.hero { background:linear-gradient(135deg,#1e3a8a,#2f6fdb); color:#fff; border-radius:16px;
  padding:26px 30px 22px; box-shadow:0 6px 24px rgba(30,58,138,.18); }
.eyebrow { margin:0 0 6px; font-size:12px; letter-spacing:.08em; text-transform:uppercase; opacity:.8; }
header.hero h1 { margin:0 0 12px; font-size:26px; line-height:1.25; font-weight:650; word-break:break-word; }
.meta { display:flex; flex-wrap:wrap; gap:8px 18px; font-size:13px; opacity:.92; }
.meta code { background:rgba(255,255,255,.14); padding:1px 6px; border-radius:5px; color:#fff; }
.pill { display:inline-block; padding:2px 10px; border-radius:999px; font-size:12px; font-weight:600;
  border:1px solid currentColor; background:#fff; }
.cards { display:grid; grid-template-columns:repeat(auto-fit,minmax(118px,1fr)); gap:12px; margin:18px 0 6px; }
.card { background:var(--card); border:1px solid var(--line); border-radius:12px; padding:12px 14px; }
.card .value { font-size:23px; font-weight:650; letter-spacing:-.01em; white-space:nowrap; }
.card .label { font-size:12px; color:var(--muted); text-transform:uppercase; letter-spacing:.05em; }
section { background:var(--card); border:1px solid var(--line); border-radius:14px; padding:20px 24px;
  margin-top:18px; box-shadow:0 1px 2px rgba(16,24,40,.04); }
section h2 { margin:0 0 4px; font-size:19px; }
section h3 { margin:18px 0 6px; font-size:15px; color:#374151; }
.lead { margin:0 0 14px; color:var(--muted); font-size:14px; }
.narrative p { margin:0 0 10px; font-size:16px; }
.grid2 { display:grid; grid-template-columns:1fr 1fr; gap:8px 28px; }
.grid2 > .tall { grid-row:span 2; }
@media (max-width: 900px) { .grid2 { grid-template-columns:1fr; } .grid2 > .tall { grid-row:auto; } }
.scroll { overflow-x:auto; }
svg.chart { display:block; max-width:100%; height:auto; margin:6px 0 4px; }
svg text { font-family:inherit; font-size:12px; }
svg .node-title { font-size:14px; font-weight:650; }
svg .node-status { font-size:11px; font-weight:600; }
svg .row-title { font-size:13px; font-weight:600; dominant-baseline:middle; }
svg .row-phase { font-size:12.5px; font-style:italic; dominant-baseline:middle; }
svg .row-agent { font-size:12px; dominant-baseline:middle; }
svg .tag { font-size:11px; font-weight:700; }
svg .legend { font-size:12px; }
table { border-collapse:collapse; width:100%; font-size:13.5px; margin:8px 0 4px; }
th { text-align:left; font-weight:600; color:#374151; background:#f8fafc; }
th, td { padding:7px 10px; border-bottom:1px solid var(--line); vertical-align:top; }
td.num, th.num { text-align:right; font-variant-numeric:tabular-nums; white-space:nowrap; }
.status { font-weight:600; }
.empty { padding:14px 16px; border:1px dashed #cbd5e1; border-radius:10px; color:#475569; background:#f8fafc; }
.conflict { border:1px solid var(--line); border-radius:12px; padding:12px 16px; margin:10px 0; }
.conflict .verdict { margin:6px 0 0; }
.legend-row { display:flex; flex-wrap:wrap; gap:6px 16px; font-size:12.5px; color:var(--muted); }
.legend-row span::before { content:""; display:inline-block; width:10px; height:10px; border-radius:3px;
  margin-right:6px; vertical-align:-1px; background:var(--swatch); }
details { margin-top:10px; }
summary { cursor:pointer; color:#374151; font-size:14px; padding:6px 0; }
footer { margin-top:22px; color:var(--muted); font-size:12.5px; text-align:center; }
"""


def _status_pill(status: str) -> str:
    _, stroke = STATUS_COLOURS.get(
        {"completed": "done", "interrupted": "waiting"}.get(status, status), STATUS_COLOURS["failed"]
    )
    return f'<span class="pill" style="color:{stroke}">{esc(status)}</span>'


def _table(header: list[str], rows: list[list[Any]], numeric: set[int] | None = None) -> str:
    numeric = numeric or set()
    head = "".join(f"<th{' class=num' if i in numeric else ''}>{esc(h)}</th>" for i, h in enumerate(header))
    body = "".join(
        "<tr>"
        + "".join(
            f"<td{' class=num' if i in numeric else ''}>{esc('-' if v is None else v)}</td>"
            for i, v in enumerate(row)
        )
        + "</tr>"
        for row in rows
    )
    return f'<div class="scroll"><table><thead><tr>{head}</tr></thead><tbody>{body}</tbody></table></div>'


def _section(anchor: str, title: str, lead: str, body: str) -> str:
    lead_html = f'<p class="lead">{esc(lead)}</p>' if lead else ""
    return f'<section id="{esc(anchor)}"><h2>{esc(title)}</h2>{lead_html}{body}</section>'


def _empty(text: str) -> str:
    return f'<p class="empty">{esc(text)}</p>'


def _header(data: ReportData) -> str:
    meta = [
        f"status {_status_pill(data.status)}",
        f"thread <code>{esc(data.thread_id)}</code>",
    ]
    if data.facts["campaign_id"]:
        meta.append(f"campaign <code>{esc(data.facts['campaign_id'])}</code>")
    for key in ("protocol", "model"):
        if data.run.get(key):
            meta.append(f"{key} <code>{esc(data.run[key])}</code>")
    if data.run.get("created_at"):
        meta.append(f"started {esc(data.run['created_at'])}")
    items = "".join(f"<span>{m}</span>" for m in meta)
    return (
        '<header class="hero"><p class="eyebrow">cdp-agents · campaign report</p>'
        f'<h1 id="objective">{esc(data.objective or "(no objective)")}</h1><div class="meta">{items}</div></header>'
    )


def _cards(data: ReportData) -> str:
    cards = "".join(
        f'<div class="card"><div class="value">{esc(value)}</div><div class="label">{esc(label)}</div></div>'
        for label, value in data.headline()
    )
    return f'<div class="cards" id="headline">{cards}</div>'


def _summary(data: ReportData) -> str:
    paragraphs = [p for p in data.narrative.split("\n\n") if p.strip()] or [
        data.facts.get("error") or "No narrative was written for this run."
    ]
    body = "".join(f"<p>{esc(' '.join(p.split()))}</p>" for p in paragraphs)
    extra = ""
    if data.facts.get("plan_summary"):
        extra += f'<p class="lead">Plan: {esc(data.facts["plan_summary"])}</p>'
    if data.facts.get("audience"):
        extra += f'<p class="lead">Audience: {esc(data.facts["audience"])}</p>'
    failures = [
        f"{tid} ({r['agent']}): {r['error'] or r['status']}"
        for tid, r in data.facts["task_results"].items()
        if r["status"] != "done"
    ]
    asked = data.status in ("needs_input", "refused") and not failures
    if data.facts.get("error"):
        failures.append(str(data.facts["error"]))
    if failures:
        title = {"needs_input": "Question", "refused": "Why it was refused"}.get(data.status, "")
        extra += (
            f"<h3>{title if asked else 'What failed'}</h3><ul>"
            + "".join(f"<li>{esc(f)}</li>" for f in failures)
            + "</ul>"
        )
    return _section("summary", "Summary", "", f'<div class="narrative">{body}</div>{extra}')


def _interpretation(data: ReportData) -> str:
    interp = data.interpretation
    if not interp:
        return _section("interpretation", "Interpretation", "", _empty("The plan carried no interpretation."))
    items = "".join(f"<li>{esc(line)}</li>" for line in interpretation_lines(interp))
    readings = [[r.get("words"), r.get("meaning")] for r in interp.get("readings") or []]
    body = f"<ul>{items}</ul>" + (_table(["words", "taken to mean"], readings) if readings else "")
    lead = "What the objective was taken to mean, as the person who approved the campaign saw it."
    return _section("interpretation", "Interpretation", lead, body)


def _plan(data: ReportData) -> str:
    if not data.plan:
        return _section("plan", "Plan", "", _empty("No plan was made for this run."))
    legend = "".join(
        f'<span style="--swatch:{stroke}">{esc(name)}</span>' for name, (_, stroke) in STATUS_COLOURS.items()
    )
    rows = [
        [t["id"], t["agent"], t["goal"], ", ".join(t["depends_on"]) or "-", t["status"]] for t in data.plan
    ]
    body = f'<div class="scroll">{plan_svg(data.plan)}</div><div class="legend-row">{legend}</div>' + _table(
        ["task", "agent", "goal", "depends on", "status"], rows
    )
    lead = f"{len(data.plan)} tasks, laid out by dependency depth; arrows point from a prerequisite to the task that needs it."
    return _section("plan", "Plan", lead, body)


def _timeline(data: ReportData) -> str:
    tl = data.timeline
    if tl is None or not tl.spans:
        return _section("timeline", "Timeline", "", _empty("No timing was recorded for this run."))
    if tl.unit == "s":
        lead = (
            f"From the checkpoint of each superstep: {len(tl.steps)} supersteps, {_clock(tl.started_at)} to "
            f"{_clock(tl.finished_at)}. Dashed: dispatched, waiting for its superstep; bar: the agent at "
            "work. Bars side by side in time ran in parallel."
        )
    else:
        lead = "This run left no checkpoints: tasks are placed by the order of their requests and responses."
    return _section("timeline", "Timeline", lead, f'<div class="scroll">{timeline_svg(tl)}</div>')


def _clock(stamp: str | None) -> str:
    """An ISO timestamp as 'YYYY-MM-DD HH:MM:SS UTC' (checkpoints keep microseconds and an offset)."""
    if not stamp:
        return "-"
    try:
        return datetime.fromisoformat(stamp).astimezone(UTC).strftime("%Y-%m-%d %H:%M:%S UTC")
    except ValueError:
        return stamp


def _audience(data: ReportData) -> str:
    if not data.audience or not any(data.audience.values()):
        return _section(
            "audience", "Audience composition", "", _empty("No customer was requested for this campaign.")
        )
    charts = []
    for name, rows in data.audience.items():
        series = [
            Series("requested", [r["requested"] for r in rows], "#9db7f0"),
            Series("messaged", [r["messaged"] for r in rows], PALETTE[0]),
        ]
        chart = hbar_chart(
            f"Customers by {name}", [r["key"] for r in rows], series, label_width=96.0, bar_area=340.0
        )
        tall = ' class="tall"' if len(rows) > 4 else ""
        charts.append(f"<div{tall}><h3>By {esc(name)}</h3>{chart}</div>")
    lead = (
        f"Audience of {data.facts['audience_size'] or 0:,} customers. Requested: customers the agents asked "
        "to message; messaged: customers with a send that the contact-policy gate allowed. Counts only, no "
        "personal data."
    )
    return _section("audience", "Audience composition", lead, f'<div class="grid2">{"".join(charts)}</div>')


def _suppressions(data: ReportData) -> str:
    if not data.decisions:
        return _section(
            "suppressions", "Suppressions", "", _empty("The gate stopped nobody for this campaign.")
        )
    by_reason: dict[str, int] = {}
    for d in data.decisions:
        by_reason[d["reason_code"]] = by_reason.get(d["reason_code"], 0) + d["customers"]
    # The holdout is kept back by design, not stopped: its bar has its own colour.
    colours = [PALETTE[5] if reason == "holdout" else PALETTE[1] for reason in by_reason]
    chart = hbar_chart(
        "Customers not messaged, by reason",
        list(by_reason),
        [Series("customers", [float(v) for v in by_reason.values()], colours=colours)],
    )
    rows = [[d["reason_code"], d["outcome"], d["rule"], d["customers"]] for d in data.decisions]
    lead = (
        f"{sum(by_reason.values()):,} customers were not messaged: every one has a decision with the rule "
        "that stopped it (the holdout is kept back on purpose, to measure the lift)."
    )
    body = chart + _table(["reason", "outcome", "rule", "customers"], rows, {3})
    return _section("suppressions", "Suppressions", lead, body)


def _conflicts(data: ReportData) -> str:
    if not data.conflicts:
        return _section(
            "conflicts", "Conflict decisions", "", _empty("The agents' proposals did not conflict.")
        )
    blocks = []
    for c in data.conflicts:
        rows = [
            [p.get("agent"), p.get("value"), p.get("rationale") or "", p.get("expected_value")]
            for p in c.get("proposals") or []
        ]
        blocks.append(
            f'<div class="conflict"><h3>{esc(c["decision_key"])}</h3>'
            + _table(["agent", "proposed", "rationale", "expected value"], rows, {1, 3})
            + f'<p class="verdict"><strong>Decision:</strong> {esc(c.get("winner"))} ({esc(c.get("value"))}), '
            f"by {esc(c.get('resolved_by'))}: {esc(c.get('reasons'))}</p></div>"
        )
    lead = "Where agents proposed different values for one decision, and how it was settled (rule, expected value or a person)."
    return _section("conflicts", "Conflict decisions", lead, "".join(blocks))


def _results(data: ReportData) -> str:
    life = data.lifecycle
    if not life.measured:
        body = (
            '<p class="empty">No measured results yet: the campaign has no simulated days. '
            "<code>cdp-agents run OBJECTIVE --simulate DAYS</code> measures a campaign day by day "
            "against its holdout.</p>"
        )
        return _section("results", "Results against the holdout", "", body)
    days = [float(r["day"]) for r in life.results]
    markers = [
        Marker(
            float(a["day"]), str(i + 1), f"day {a['day']}: {a['action']} {a['target'] or ''} — {a['reason']}"
        )
        for i, a in enumerate(life.changes())
    ]
    conversion = LineChart(
        "Conversion per day: treated against holdout",
        days,
        [
            Series("treated", [r["treated_rate"] for r in life.results], PALETTE[0]),
            Series("holdout", [r["holdout_rate"] for r in life.results], "#8a94a6", dashed=True),
        ],
        markers=markers,
        y_format=percent,
    ).render()
    lift = LineChart(
        "Lift with its 95% confidence interval",
        days,
        [Series("lift (treated − holdout)", [r["lift"] for r in life.results], PALETTE[4])],
        bands=[Band("95% CI", [r["ci_low"] for r in life.results], [r["ci_high"] for r in life.results])],
        markers=markers,
        y_format=points,
        zero_line=True,
    ).render()
    body = f"<h3>Conversion, treated vs holdout</h3>{conversion}<h3>Lift (percentage points)</h3>{lift}"
    if life.variants:
        names = sorted(life.variants)
        by_day = {name: {p["day"]: p["rate"] for p in life.variants[name]} for name in names}
        variant_chart = LineChart(
            "Conversion per variant (treated arm)",
            days,
            [
                Series(name, [by_day[name].get(int(d)) for d in days], PALETTE[i % len(PALETTE)])
                for i, name in enumerate(names)
            ],
            markers=markers,
            y_format=percent,
        ).render()
        body += f"<h3>Conversion per variant</h3>{variant_chart}"
    last = life.results[-1]
    lead = (
        f"{len(life.results)} measured days. Day {last['day']}: treated {percent(last['treated_rate'])} of "
        f"{last['treated_n']:,}, holdout {percent(last['holdout_rate'])} of {last['holdout_n']:,}, lift "
        f"{points(last['lift'])}"
        + (
            f" (95% CI {points(last['ci_low'])} to {points(last['ci_high'])})"
            if last["ci_low"] is not None and last["ci_high"] is not None
            else ""
        )
        + f", unsubscribed {percent(last['unsubscribe_rate'])}."
    )
    body += "<h3>What was changed, when and why</h3>" + _changes(life)
    return _section("results", "Results against the holdout", lead, body)


def _changes(life: Lifecycle) -> str:
    """The changes, numbered like the chart markers; the reviews that kept everything folded away."""
    if not life.adjustments:
        return _empty("No adjustment: the campaign ran as launched.")
    header = ["#", "day", "action", "target", "why", "evidence", "decided by", "sends affected"]

    def row(tag: str, a: dict[str, Any]) -> list[Any]:
        what = [a["action"], a["target"] or "-", a["reason"], _evidence(a["evidence"])]
        return [tag, a["day"], *what, a["decided_by"], a["affected"]]

    changes = life.changes()
    html = (
        _table(header, [row(str(i + 1), a) for i, a in enumerate(changes)], {1, 7})
        if changes
        else _empty("No change: every review kept the campaign as it was.")
    )
    kept = life.kept()
    if kept:
        html += (
            f"<details><summary>Reviews that changed nothing: {len(kept)} "
            f"(days {esc(day_ranges([a['day'] for a in kept]))})</summary>"
            + _table(header[1:], [row("", a)[1:] for a in kept], {0, 6})
            + "</details>"
        )
    return html


def _evidence(evidence: Any) -> str:
    if isinstance(evidence, dict):
        return "; ".join(f"{k}: {_short(v)}" for k, v in list(evidence.items())[:6])
    return _short(evidence)


def _short(value: Any) -> str:
    if isinstance(value, float):
        return f"{value:.4g}"
    text = str(value)
    return text if len(text) <= 60 else text[:59] + "…"


def _agents(data: ReportData) -> str:
    results = data.facts["task_results"]
    if not results:
        return ""
    rows = [[tid, r["agent"], r["status"], r["summary"] or r["error"] or ""] for tid, r in results.items()]
    return _section(
        "agents",
        "What each agent did",
        "In the agents' own words (shown as text).",
        _table(["task", "agent", "status", "summary"], rows),
    )


def render_html(data: ReportData, generated_at: datetime | None = None) -> str:
    """The whole page as one string."""
    when = (generated_at or datetime.now(UTC)).strftime("%Y-%m-%d %H:%M UTC")
    sections = [
        _header(data),
        _cards(data),
        _summary(data),
        _interpretation(data),
        _plan(data),
        _timeline(data),
        _audience(data),
        _suppressions(data),
        _conflicts(data),
        _results(data),
        _agents(data),
    ]
    title = f"Campaign report: {data.objective[:90]}"
    return (
        "<!doctype html>\n"
        '<html lang="en"><head><meta charset="utf-8">'
        '<meta name="viewport" content="width=device-width, initial-scale=1">'
        f"<title>{esc(title)}</title><style>{STYLE}</style></head><body><main>"
        + "".join(sections)
        + f"<footer>Generated by <code>cdp-agents report {esc(data.thread_id)}</code> on {esc(when)}. "
        "Self-contained: no script, font or image is loaded from anywhere.</footer></main></body></html>\n"
    )
