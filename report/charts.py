"""Two chart kinds the report needs, as inline SVG: horizontal bars and lines over days with a band.

Both take already-aggregated numbers (a few dozen at most) and return one `<svg>` string.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field

from report.svg import GRID, INK, MUTED, PALETTE, Svg, nice_ticks, num, points_path, truncate

Format = Callable[[float], str]


def plain(value: float) -> str:
    return f"{value:,.0f}" if float(value).is_integer() else f"{value:,.2f}"


@dataclass
class Series:
    """One named row of values, one per category (bars) or per x (lines; None leaves a gap)."""

    name: str
    values: list[float | None]
    colour: str = PALETTE[0]
    dashed: bool = False
    #: Bars only: a colour per value, overriding `colour` (to set one bar apart).
    colours: list[str] | None = None


@dataclass
class Band:
    """A shaded range around a line, such as a 95% confidence interval."""

    name: str
    low: list[float | None]
    high: list[float | None]
    colour: str = PALETTE[4]


@dataclass
class Marker:
    """A vertical rule at one x (a day a campaign was changed), labelled with a short tag."""

    x: float
    tag: str
    note: str = ""


def _legend(svg: Svg, items: list[tuple[str, str, str]], x: float, y: float) -> None:
    """Swatches left to right: (name, colour, kind) with kind 'bar', 'line', 'dash' or 'band'."""
    for name, colour, kind in items:
        if kind == "bar":
            svg.add("rect", x=x, y=y - 9, width=12, height=12, rx=2, fill=colour)
        elif kind == "band":
            svg.add("rect", x=x, y=y - 9, width=18, height=12, rx=2, fill=colour, fill_opacity="0.18")
        else:
            svg.add(
                "line",
                x1=x,
                y1=y - 3,
                x2=x + 18,
                y2=y - 3,
                stroke=colour,
                stroke_width=2.5,
                stroke_dasharray="5 3" if kind == "dash" else None,
            )
        width = 18 if kind in ("band", "line", "dash") else 12
        svg.add("text", name, x=x + width + 5, y=y + 1, class_="legend", fill=INK)
        x += width + 14 + 7.2 * len(name)


def hbar_chart(
    label: str,
    categories: list[str],
    series: list[Series],
    fmt: Format = plain,
    *,
    label_width: float = 170.0,
    bar_area: float = 600.0,
) -> str:
    """Horizontal bars, one group per category and one bar per series, with the value at its end."""
    right = 80.0
    bar_h, gap = 16.0, 10.0
    group_h = bar_h * len(series) + gap
    top = 34.0 if len(series) > 1 else 8.0
    height = top + group_h * len(categories) + 8
    svg = Svg(label_width + bar_area + right, height, label, "chart bars")
    if len(series) > 1:
        _legend(svg, [(s.name, s.colour, "bar") for s in series], label_width, 16)
    top_value = max([v or 0.0 for s in series for v in s.values] + [1.0])
    for i, category in enumerate(categories):
        y0 = top + i * group_h
        svg.open("g", class_="bar-group")
        svg.add(
            "text",
            truncate(category, 24),
            x=label_width - 10,
            y=y0 + group_h / 2 - gap / 2 + 4,
            text_anchor="end",
            class_="axis-label",
            fill=INK,
        )
        for j, s in enumerate(series):
            value = s.values[i] or 0.0
            y = y0 + j * bar_h
            width = max(bar_area * value / top_value, 1.5 if value else 0.0)
            svg.open(
                "rect",
                class_="bar",
                x=label_width,
                y=y + 1,
                width=width,
                height=bar_h - 3,
                rx=2,
                fill=s.colours[i] if s.colours else s.colour,
            )
            svg.title(f"{category} — {s.name}: {fmt(value)}")
            svg.close("rect")
            svg.add(
                "text", fmt(value), x=label_width + width + 6, y=y + bar_h - 4, class_="value", fill=MUTED
            )
        svg.close("g")
    return svg.render()


def _extent(values: list[float | None], extra: list[float]) -> tuple[float, float]:
    present = [v for v in values if v is not None] + extra
    if not present:
        return 0.0, 1.0
    low, high = min(present), max(present)
    if low == high:
        pad = abs(low) * 0.1 or 0.01
        return low - pad, high + pad
    return low, high


def _runs(xs: list[float], ys: list[float | None]) -> list[list[tuple[float, float]]]:
    """Consecutive (x, y) points without gaps: a None value breaks the line."""
    runs: list[list[tuple[float, float]]] = [[]]
    for x, y in zip(xs, ys, strict=True):
        if y is None:
            if runs[-1]:
                runs.append([])
        else:
            runs[-1].append((x, y))
    return [r for r in runs if r]


@dataclass
class LineChart:
    """Lines over days, an optional shaded band, a zero rule and markers for days something changed."""

    label: str
    xs: list[float]
    series: list[Series]
    bands: list[Band] = field(default_factory=list)
    markers: list[Marker] = field(default_factory=list)
    y_format: Format = plain
    x_name: str = "day"
    zero_line: bool = False
    width: float = 960.0
    height: float = 300.0

    def render(self) -> str:
        left, right, top, bottom = 76.0, 24.0, 40.0, 44.0
        plot_w, plot_h = self.width - left - right, self.height - top - bottom
        values = [v for s in self.series for v in s.values]
        values += [v for b in self.bands for v in (*b.low, *b.high)]
        low, high = _extent(values, [0.0] if self.zero_line else [])
        ticks = nice_ticks(low, high, 5)
        y_low, y_high = ticks[0], ticks[-1]
        x_low, x_high = (min(self.xs), max(self.xs)) if self.xs else (0.0, 1.0)
        if x_low == x_high:
            x_low, x_high = x_low - 1, x_high + 1

        def sx(x: float) -> float:
            return left + plot_w * (x - x_low) / (x_high - x_low)

        def sy(y: float) -> float:
            return top + plot_h * (1 - (y - y_low) / ((y_high - y_low) or 1.0))

        svg = Svg(self.width, self.height, self.label, "chart lines")
        for tick in ticks:
            svg.add("line", x1=left, x2=left + plot_w, y1=sy(tick), y2=sy(tick), stroke=GRID)
            svg.add(
                "text",
                self.y_format(tick),
                x=left - 8,
                y=sy(tick) + 4,
                text_anchor="end",
                class_="tick",
                fill=MUTED,
            )
        x_ticks = [
            x for x in nice_ticks(x_low, x_high, min(10, max(len(self.xs), 1))) if x_low <= x <= x_high
        ]
        for tick in x_ticks:
            if float(tick).is_integer():
                svg.add(
                    "text", f"{tick:g}", x=sx(tick), y=top + plot_h + 18, text_anchor="middle", class_="tick"
                )
        svg.add(
            "text",
            self.x_name,
            x=left + plot_w / 2,
            y=self.height - 6,
            text_anchor="middle",
            class_="axis-label",
            fill=MUTED,
        )
        if self.zero_line and y_low < 0 < y_high:
            svg.add("line", x1=left, x2=left + plot_w, y1=sy(0), y2=sy(0), stroke=MUTED, stroke_width=1.2)
        for band in self.bands:
            pairs = [
                (x, lo, hi)
                for x, lo, hi in zip(self.xs, band.low, band.high, strict=True)
                if lo is not None and hi is not None
            ]
            if pairs:
                upper = [(sx(x), sy(hi)) for x, _, hi in pairs]
                lower = [(sx(x), sy(lo)) for x, lo, _ in reversed(pairs)]
                if len(pairs) == 1:  # one day: a short bar instead of an area
                    (cx, _), (_, ly) = upper[0], lower[0]
                    upper, lower = (
                        [(cx - 6, upper[0][1]), (cx + 6, upper[0][1])],
                        [(cx + 6, ly), (cx - 6, ly)],
                    )
                svg.add(
                    "path",
                    d=points_path(upper + lower) + " Z",
                    fill=band.colour,
                    fill_opacity="0.16",
                    class_="ci-band",
                )
        for marker in self.markers:
            x = sx(marker.x)
            svg.add(
                "line",
                x1=x,
                x2=x,
                y1=top - 6,
                y2=top + plot_h,
                stroke="#b45309",
                stroke_dasharray="4 4",
                class_="marker",
            )
            svg.open("g", class_="marker-tag")
            svg.add("circle", cx=x, cy=top - 14, r=9, fill="#b45309")
            svg.title(marker.note or marker.tag)
            svg.add("text", marker.tag, x=x, y=top - 10, text_anchor="middle", class_="tag", fill="#ffffff")
            svg.close("g")
        for s in self.series:
            for run in _runs(self.xs, s.values):
                svg.add(
                    "path",
                    d=points_path([(sx(x), sy(y)) for x, y in run]),
                    fill="none",
                    stroke=s.colour,
                    stroke_width=2.5,
                    stroke_dasharray="6 4" if s.dashed else None,
                    stroke_linejoin="round",
                    class_="series-line",
                )
                for x, y in run:
                    svg.open("circle", cx=sx(x), cy=sy(y), r=3.2, fill=s.colour, class_="point")
                    svg.title(f"{s.name}, {self.x_name} {x:g}: {self.y_format(y)}")
                    svg.close("circle")
        items = [(s.name, s.colour, "dash" if s.dashed else "line") for s in self.series]
        items += [(b.name, b.colour, "band") for b in self.bands]
        _legend(svg, items, left, 14)
        svg.add("rect", x=left, y=top, width=plot_w, height=plot_h, fill="none", stroke=GRID)
        return svg.render()


def percent(value: float) -> str:
    """A proportion as a percentage: 0.0512 -> '5.1%'."""
    return f"{value * 100:.1f}%"


def points(value: float) -> str:
    """A difference of proportions in percentage points: 0.021 -> '+2.1 pts'."""
    return f"{value * 100:+.1f} pts" if value else "0 pts"


__all__ = ["Band", "LineChart", "Marker", "Series", "hbar_chart", "num", "percent", "plain", "points"]
