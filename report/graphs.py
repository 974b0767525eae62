"""The plan as a layered graph and the run as a Gantt chart, both inline SVG.

The plan is laid out left to right by dependency depth (a task sits one column right of its deepest
prerequisite), ordered inside a column by where its prerequisites sit, so arrows mostly run straight.
"""

from __future__ import annotations

from itertools import pairwise
from statistics import median
from typing import Any

from report.svg import GRID, INK, MUTED, Svg, arrow_marker, nice_ticks, truncate
from report.timeline import PHASES, Span, Timeline

#: (fill, stroke) per task status.
STATUS_COLOURS = {
    "done": ("#e6f4ea", "#2e8b57"),
    "failed": ("#fdecec", "#d14343"),
    "running": ("#fff5dc", "#d99a00"),
    "waiting": ("#fff5dc", "#d99a00"),
    "pending": ("#eef1f6", "#8a94a6"),
    "skipped": ("#f4f4f5", "#a1a1aa"),
}
PHASE_COLOURS = ("#e8eefc", "#4f6bd8")


def status_colours(status: str | None) -> tuple[str, str]:
    return STATUS_COLOURS.get(status or "pending", STATUS_COLOURS["pending"])


def plan_layers(plan: list[dict[str, Any]]) -> list[list[dict[str, Any]]]:
    """Tasks grouped by dependency depth, each column ordered by the mean row of its prerequisites."""
    by_id = {t["id"]: t for t in plan}
    depth: dict[str, int] = {}

    def depth_of(tid: str, seen: frozenset[str] = frozenset()) -> int:
        if tid not in depth:
            deps = [d for d in by_id[tid].get("depends_on") or [] if d in by_id and d not in seen]
            depth[tid] = 1 + max((depth_of(d, seen | {tid}) for d in deps), default=-1)
        return depth[tid]

    layers: list[list[dict[str, Any]]] = []
    for t in plan:
        d = depth_of(t["id"])
        while len(layers) <= d:
            layers.append([])
        layers[d].append(t)
    row: dict[str, float] = {}
    order = {t["id"]: i for i, t in enumerate(plan)}
    for layer in layers:

        def barycentre(t: dict[str, Any]) -> tuple[float, int]:
            rows = [row[d] for d in t.get("depends_on") or [] if d in row]
            return (sum(rows) / len(rows) if rows else order[t["id"]], order[t["id"]])

        layer.sort(key=barycentre)
        for i, t in enumerate(layer):
            row[t["id"]] = i - (len(layer) - 1) / 2
    return layers


BOX_W, BOX_H, COL_GAP, ROW_GAP, PAD = 184.0, 66.0, 70.0, 20.0, 16.0


def _ports(
    edges: list[tuple[str, str]], where: dict[str, tuple[float, float]]
) -> dict[tuple[str, str, str], float]:
    """Where each edge leaves its source and enters its target: spread along the box side, in the
    order of the box at the other end, so several arrows into one task do not share one point."""
    ports: dict[tuple[str, str, str], float] = {}
    for side, own, other in (("out", 0, 1), ("in", 1, 0)):
        groups: dict[str, list[tuple[str, str]]] = {}
        for edge in edges:
            groups.setdefault(edge[own], []).append(edge)
        for node, group in groups.items():
            group.sort(key=lambda e: where[e[other]][1])
            span = BOX_H * 0.56
            for i, edge in enumerate(group):
                offset = 0.0 if len(group) == 1 else -span / 2 + span * i / (len(group) - 1)
                ports[(side, *edge)] = where[node][1] + BOX_H / 2 + offset
    return ports


def _lane(layer_tops: list[float], height: float, wanted: float) -> float:
    """A y inside a column that passes between its boxes, as near `wanted` as the boxes allow."""
    gaps = [(4.0, layer_tops[0] - 6)] if layer_tops else [(4.0, height - 4)]
    gaps += [(a + BOX_H + 6, b - 6) for a, b in pairwise(layer_tops)]
    if layer_tops:
        gaps.append((layer_tops[-1] + BOX_H + 6, height - 4))
    best = min(
        gaps, key=lambda g: 0.0 if g[0] <= wanted <= g[1] else min(abs(wanted - g[0]), abs(wanted - g[1]))
    )
    return min(max(wanted, best[0]), best[1])


def _edge_path(points: list[tuple[float, float]]) -> str:
    """Through the waypoints: curves between columns (horizontal tangents), straight across a column."""
    (x0, y0), rest = points[0], points[1:]
    d = [f"M{x0:.1f} {y0:.1f}"]
    for i, (x, y) in enumerate(rest):
        if i % 2 == 1:  # crossing a column it skips: stay in the lane
            d.append(f"L{x:.1f} {y:.1f}")
        else:
            bend = max((x - x0) / 2, 16)
            d.append(f"C{x0 + bend:.1f} {y0:.1f} {x - bend:.1f} {y:.1f} {x:.1f} {y:.1f}")
        x0, y0 = x, y
    return " ".join(d)


def plan_svg(plan: list[dict[str, Any]]) -> str:
    """Boxes (task id, agent, status) coloured by status, arrows from each prerequisite. An arrow that
    skips columns runs through the gaps between the boxes of the columns it crosses."""
    layers = plan_layers(plan)
    tallest = max((len(layer) for layer in layers), default=1)
    width = PAD * 2 + len(layers) * BOX_W + max(len(layers) - 1, 0) * COL_GAP
    height = PAD * 2 + tallest * BOX_H + (tallest - 1) * ROW_GAP
    svg = Svg(max(width, 200.0), height, "The plan: tasks by dependency depth", "chart plan-graph")
    svg.raw(arrow_marker("arrow", "#7b8494"))
    where: dict[str, tuple[float, float]] = {}
    column: dict[str, int] = {}
    tops: list[list[float]] = []
    for col, layer in enumerate(layers):
        x = PAD + col * (BOX_W + COL_GAP)
        top = PAD + (tallest - len(layer)) * (BOX_H + ROW_GAP) / 2
        tops.append([top + i * (BOX_H + ROW_GAP) for i in range(len(layer))])
        for i, t in enumerate(layer):
            where[t["id"]], column[t["id"]] = (x, tops[-1][i]), col
    edges = [(dep, t["id"]) for t in plan for dep in t.get("depends_on") or [] if dep in where]
    ports = _ports(edges, where)
    for dep, tid in edges:
        sx, sy = where[dep][0] + BOX_W, ports[("out", dep, tid)]
        ex, ey = where[tid][0] - 2, ports[("in", dep, tid)]
        points = [(sx, sy)]
        first, last = column[dep], column[tid]
        for col in range(first + 1, last):
            wanted = sy + (ey - sy) * (col - first) / (last - first)
            lane = _lane(tops[col], height, wanted)
            x = PAD + col * (BOX_W + COL_GAP)
            points += [(x - 8, lane), (x + BOX_W + 8, lane)]
        points.append((ex, ey))
        svg.add(
            "path",
            d=_edge_path(points),
            fill="none",
            stroke="#9aa3b2",
            stroke_width=1.6,
            marker_end="url(#arrow)",
            class_="dep-edge",
            data_from=dep,
            data_to=tid,
        )
    for t in plan:
        x, y = where[t["id"]]
        fill, stroke = status_colours(t.get("status"))
        status = t.get("status") or "pending"
        svg.open("g", class_="task-node", data_task=t["id"], data_status=status)
        svg.title(f"{t['id']} ({t['agent']}): {t.get('goal', '')}")
        svg.add(
            "rect",
            x=x,
            y=y,
            width=BOX_W,
            height=BOX_H,
            rx=10,
            fill="#ffffff",
            stroke=stroke,
            stroke_width=1.5,
        )
        svg.add("rect", x=x, y=y, width=7, height=BOX_H, rx=3, fill=stroke)
        svg.add("text", truncate(t["id"], 20), x=x + 18, y=y + 24, class_="node-title", fill=INK)
        svg.add("text", truncate(t["agent"], 22), x=x + 18, y=y + 44, class_="node-agent", fill=MUTED)
        pill_w = 10 + 7 * len(status)
        svg.add("rect", x=x + BOX_W - pill_w - 10, y=y + 33, width=pill_w, height=18, rx=9, fill=fill)
        svg.add(
            "text",
            status,
            x=x + BOX_W - pill_w / 2 - 10,
            y=y + 46,
            text_anchor="middle",
            class_="node-status",
            fill=stroke,
        )
        svg.close("g")
    return svg.render()


def duration_text(seconds: float) -> str:
    """'85 ms', '2.4 s', '3 min 5 s', '2 h 10 min'."""
    if seconds < 1:
        return f"{seconds * 1000:.0f} ms"
    if seconds < 60:
        return f"{seconds:.1f} s"
    if seconds < 3600:
        return f"{int(seconds // 60)} min {int(seconds % 60)} s"
    return f"{int(seconds // 3600)} h {int(seconds % 3600 // 60)} min"


class TimeScale:
    """Maps run time to x, squeezing long waits (a person answering hours later) to a fixed width so
    the supersteps around them stay readable; each squeezed interval is remembered for its label."""

    def __init__(self, timeline: Timeline, x0: float, width: float):
        self.x0, self.width = x0, width
        bounds = sorted({0.0, timeline.duration} | {t for s in timeline.steps for t in (s.start, s.end)})
        gaps = [b - a for a, b in pairwise(bounds)]
        cap = max(8 * median(gaps), 60.0) if gaps and timeline.unit == "s" else float("inf")
        self.knots = [(bounds[0], 0.0)]
        self.squeezed: list[tuple[float, float]] = []
        shown = 0.0
        for a, b in pairwise(bounds):
            if b - a > cap:
                self.squeezed.append((a, b))
            shown += min(b - a, cap)
            self.knots.append((b, shown))
        self.total = shown or 1.0

    def x(self, t: float) -> float:
        for (ta, va), (tb, vb) in pairwise(self.knots):
            if t <= tb:
                frac = (t - ta) / (tb - ta) if tb > ta else 1.0
                return self.x0 + self.width * (va + frac * (vb - va)) / self.total
        return self.x0 + self.width

    def inside_squeeze(self, t: float) -> bool:
        return any(a < t < b for a, b in self.squeezed)


def _span_label(span: Span, unit: str) -> str:
    took = span.end - span.start
    if unit != "s":
        return f"{span.status}"
    return f"{duration_text(took)} · {span.status}" if span.segments else span.status


def timeline_svg(timeline: Timeline) -> str:
    """One row per task (and per orchestrator phase), bars where it worked, a thin line while queued."""
    label_w, plot_w, right, row_h, top, bottom = 210.0, 640.0, 150.0, 30.0, 30.0, 40.0
    spans = timeline.spans
    height = top + row_h * len(spans) + bottom
    svg = Svg(label_w + plot_w + right, height, "Task timeline", "chart timeline")
    scale = TimeScale(timeline, label_w, plot_w)
    base = top + row_h * len(spans)
    for step in timeline.steps:  # shade the supersteps in which agents worked
        if any(name not in PHASES and name not in ("dispatch", "__start__") for name in step.nodes):
            x1, x2 = scale.x(step.start), scale.x(step.end)
            svg.open("rect", x=x1, y=top, width=max(x2 - x1, 0.5), height=base - top, fill="#f0f4fa")
            svg.title(
                f"superstep {step.number}: {', '.join(step.nodes)} ({duration_text(step.end - step.start)})"
            )
            svg.close("rect")
    if timeline.unit == "s":
        for tick in nice_ticks(0.0, max(timeline.duration, 1e-3), 6):
            if tick > timeline.duration * 1.0001 or scale.inside_squeeze(tick):
                continue
            x = scale.x(tick)
            svg.add("line", x1=x, x2=x, y1=top, y2=base, stroke=GRID)
            svg.add(
                "text", duration_text(tick), x=x, y=base + 16, text_anchor="middle", class_="tick", fill=MUTED
            )
        for a, b in scale.squeezed:
            x1, x2 = scale.x(a), scale.x(b)
            svg.add("rect", x=x1, y=top, width=x2 - x1, height=base - top, fill="url(#squeeze)")
            svg.add(
                "text",
                f"waited {duration_text(b - a)}",
                x=(x1 + x2) / 2,
                y=top - 8,
                text_anchor="middle",
                class_="tick",
                fill="#b45309",
            )
        svg.raw(
            '<defs><pattern id="squeeze" width="8" height="8" patternUnits="userSpaceOnUse"'
            ' patternTransform="rotate(45)"><rect width="8" height="8" fill="#fff7ed"/>'
            '<line x1="0" y1="0" x2="0" y2="8" stroke="#fdba74" stroke-width="3"/></pattern></defs>'
        )
        axis = "time since the run started (wall clock, from the checkpoints)"
    else:
        axis = "order of requests and responses in the message log (no checkpoints for this run)"
    svg.add(
        "text",
        axis,
        x=label_w + plot_w / 2,
        y=height - 8,
        text_anchor="middle",
        class_="axis-label",
        fill=MUTED,
    )
    for i, span in enumerate(spans):
        y = top + i * row_h
        mid = y + row_h / 2
        kind = "task-bar" if span.kind == "task" else "phase-bar"
        fill, stroke = status_colours(span.status) if span.kind == "task" else PHASE_COLOURS
        svg.add("line", x1=8, x2=label_w + plot_w, y1=y + row_h, y2=y + row_h, stroke="#f0f1f4")
        svg.add(
            "text",
            truncate(span.name, 22),
            x=14,
            y=mid + 1,
            class_="row-title" if span.kind == "task" else "row-phase",
            fill=INK if span.kind == "task" else "#4f6bd8",
        )
        if span.kind == "task":
            svg.add(
                "text",
                truncate(span.agent, 14),
                x=label_w - 10,
                y=mid + 1,
                text_anchor="end",
                class_="row-agent",
                fill=MUTED,
            )
        if span.dispatched is not None and span.segments:
            first = min(s for s, _ in span.segments)
            if first > span.dispatched:
                svg.add(
                    "line",
                    x1=scale.x(span.dispatched),
                    x2=scale.x(first),
                    y1=mid,
                    y2=mid,
                    stroke=stroke,
                    stroke_width=2,
                    stroke_dasharray="3 3",
                    class_="queued",
                )
        for start, end in span.segments:
            x1, x2 = scale.x(start), scale.x(end)
            svg.open(
                "rect",
                x=x1,
                y=mid - 8,
                width=max(x2 - x1, 3.0),
                height=16,
                rx=4,
                fill=stroke if span.kind == "task" else fill,
                stroke=stroke,
                class_=kind,
                data_name=span.name,
            )
            svg.title(f"{span.name} ({span.agent}): {_span_label(span, timeline.unit)}")
            svg.close("rect")
        end_x = scale.x(span.end) if span.segments else label_w
        svg.add("text", _span_label(span, timeline.unit), x=end_x + 8, y=mid + 4, class_="value", fill=MUTED)
    return svg.render()
