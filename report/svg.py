"""A tiny SVG writer for the HTML report: elements built in Python, every text and attribute escaped.

The report must open offline and show CDP text as data, so charts are plain inline SVG strings (no
chart library at run time), and nothing a customer, an agent or an objective wrote can become markup.
"""

from __future__ import annotations

import html
import math
from dataclasses import dataclass, field
from typing import Any

#: Categorical colours that stay apart for colour-blind readers (Okabe-Ito, darkened for text).
PALETTE = ("#2f6fdb", "#e07b24", "#1a9e6f", "#c2417e", "#7a52c7", "#1697a6", "#a08a14", "#5c6675")
INK, MUTED, GRID = "#1f2937", "#6b7280", "#e5e7eb"


def esc(value: Any) -> str:
    """Text or attribute value, escaped for HTML and SVG alike (quotes too)."""
    return html.escape(str(value), quote=True)


def num(value: float) -> str:
    """A coordinate with at most one decimal and no trailing zeros: small files, exact enough."""
    text = f"{value:.1f}"
    return text[:-2] if text.endswith(".0") else text


def _attr_name(name: str) -> str:
    """`class_` -> `class`, `stroke_width` -> `stroke-width`, `data_task` -> `data-task`."""
    return name.rstrip("_").replace("_", "-")


def _attrs(attrs: dict[str, Any]) -> str:
    parts = []
    for key, value in attrs.items():
        if value is None or value is False:
            continue
        text = num(value) if isinstance(value, float) else str(value)
        parts.append(f' {_attr_name(key)}="{esc(text)}"')
    return "".join(parts)


def truncate(text: str, limit: int) -> str:
    """Shorten for a fixed-width label; the full text goes in a <title> tooltip."""
    return text if len(text) <= limit else text[: max(limit - 1, 1)] + "…"


@dataclass
class Svg:
    """One <svg> document: append elements, then `render()`. Scales to its container's width."""

    width: float
    height: float
    label: str
    css_class: str = "chart"
    parts: list[str] = field(default_factory=list)

    def add(self, tag: str, text: str | None = None, **attrs: Any) -> None:
        """An element; `text` (escaped) becomes its content, `None` makes it self-closing."""
        if text is None:
            self.parts.append(f"<{tag}{_attrs(attrs)}/>")
        else:
            self.parts.append(f"<{tag}{_attrs(attrs)}>{esc(text)}</{tag}>")

    def open(self, tag: str, **attrs: Any) -> None:
        self.parts.append(f"<{tag}{_attrs(attrs)}>")

    def close(self, tag: str) -> None:
        self.parts.append(f"</{tag}>")

    def title(self, text: str) -> None:
        """A tooltip for the element opened last."""
        self.add("title", text)

    def raw(self, markup: str) -> None:
        """Markup this module built itself (never text from data)."""
        self.parts.append(markup)

    def render(self) -> str:
        head = (
            f'<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 {num(self.width)} {num(self.height)}"'
            f' width="{num(self.width)}" height="{num(self.height)}" role="img"'
            f' aria-label="{esc(self.label)}" class="{esc(self.css_class)}">'
        )
        return head + "".join(self.parts) + "</svg>"


def arrow_marker(marker_id: str, colour: str) -> str:
    """A <defs> arrow head for `marker-end="url(#id)"` (a reference inside the same SVG)."""
    return (
        f'<defs><marker id="{esc(marker_id)}" viewBox="0 0 10 10" refX="9" refY="5" markerWidth="7"'
        f' markerHeight="7" orient="auto-start-reverse"><path d="M0 0L10 5L0 10z" fill="{esc(colour)}"/>'
        "</marker></defs>"
    )


def nice_ticks(low: float, high: float, count: int = 5) -> list[float]:
    """Round tick values covering [low, high] (1, 2, 2.5 or 5 times a power of ten apart)."""
    if not math.isfinite(low) or not math.isfinite(high):
        return [0.0]
    if high <= low:
        high = low + (abs(low) or 1.0)
    raw = (high - low) / max(count, 1)
    power = 10 ** math.floor(math.log10(raw))
    step = next(m * power for m in (1, 2, 2.5, 5, 10) if m * power >= raw)
    start = math.floor(low / step) * step
    ticks = []
    value = start
    while value <= high + step * 1e-9:
        ticks.append(round(value, 10))
        value += step
    if ticks[-1] < high:
        ticks.append(round(value, 10))
    return ticks


def points_path(points: list[tuple[float, float]]) -> str:
    """`M x y L x y ...` through the points, in order."""
    return " ".join(f"{'M' if i == 0 else 'L'}{num(x)} {num(y)}" for i, (x, y) in enumerate(points))
