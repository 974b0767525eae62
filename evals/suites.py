"""Suites as data (`suites.toml`): named lists of understanding-table rows, so what `eval` runs is
reviewed like the table itself and a new suite needs no code."""

from __future__ import annotations

import tomllib
from dataclasses import dataclass
from pathlib import Path

from evals.table import ROWS, Row

SUITES_FILE = Path(__file__).with_name("suites.toml")


class UnknownSuiteError(ValueError):
    """A suite name `suites.toml` does not define."""


class UnknownRowError(ValueError):
    """A row slug the understanding table does not hold."""


@dataclass(frozen=True)
class Suite:
    name: str
    description: str
    rows: tuple[Row, ...]


def _by_slug() -> dict[str, Row]:
    return {r.slug: r for r in ROWS}


def rows_of(slugs: list[str] | tuple[str, ...]) -> tuple[Row, ...]:
    """The table rows of these slugs, in the order given; an unknown slug names the nearest ones."""
    by_slug = _by_slug()
    unknown = [s for s in slugs if s not in by_slug]
    if unknown:
        import difflib

        near = difflib.get_close_matches(unknown[0], list(by_slug), n=3)
        hint = f" (did you mean {', '.join(near)}?)" if near else ""
        raise UnknownRowError(f"no row {unknown[0]!r} in the understanding table{hint}")
    return tuple(by_slug[s] for s in slugs)


def _read() -> dict[str, object]:
    return tomllib.loads(SUITES_FILE.read_text(encoding="utf-8"))


def suite_names() -> list[str]:
    return [name for name, value in _read().items() if isinstance(value, dict)]


def default_suite() -> str:
    return str(_read().get("default", "core"))


def load_suite(name: str | None = None) -> Suite:
    """The suite `name` (the default one when None), its rows resolved against the table."""
    data = _read()
    chosen = name or default_suite()
    spec = data.get(chosen)
    if not isinstance(spec, dict):
        raise UnknownSuiteError(f"no suite {chosen!r}; the suites are {', '.join(suite_names())}")
    rows = ROWS if spec.get("rows") == "*" else rows_of(list(spec.get("rows") or []))
    return Suite(chosen, str(spec.get("description", "")), tuple(rows))
