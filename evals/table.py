"""The understanding table as data: objectives a marketer would type, and what their words mean.

Each row (in `understanding_table.txt` beside this module, its format at its top) gives either the
SQL over `customer_360` its audience must equal, customer for customer, with what its offer, budget,
channels and timing must be; or the question the product must ask instead of guessing. `judge`
compares what planning left in the graph state with the row. The SQL is written from the words and
the documented meaning of the segment words (`cdp/vocabulary.py`), never from the planner's code,
so the table can score any model; its dates count from the CDP clock, Tuesday 2026-11-24 12:00 UTC
(`CLOCK`).

`tests/graph/test_understanding_table.py`, `benchmarks/understanding_score.py` and `cdp-agents eval`
all read the rows from here.
"""

from __future__ import annotations

import re
import sqlite3
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from cdp.filters import compile_filter

#: The instant the table's dates ("this Friday", "December 31") count from (`CDP_NOW`).
CLOCK = "2026-11-24T12:00:00Z"
#: Customers in the top 10% by lifetime value (the documented meaning of "high-value"), in plain SQL.
HIGH_VALUE_SQL = (
    "(lifetime_value > 0 AND lifetime_value >= (SELECT lifetime_value FROM customer_360 "
    "ORDER BY lifetime_value DESC LIMIT 1 OFFSET (SELECT (count(*) + 9) / 10 - 1 FROM customer_360)))"
)

#: The seeded CDP the table test plans every row on.
CUSTOMERS = 3000
SEED = 7

#: Names the table's SQL may use, `{NAME}`: the documented meanings of the segment words.
SQL_NAMES = {
    "HV": HIGH_VALUE_SQL,
    "LAPSED": "days_since_purchase >= 90",
    "AT_RISK": "churn_risk >= 0.7",
    "NEW": "days_since_signup <= 30",
    "ACTIVE": "days_since_purchase <= 30",
    "LOYAL": "orders_count >= 5",
}

#: The table: a data file, one row per objective (its format is described at its top).
TABLE_FILE = Path(__file__).with_name("understanding_table.txt")

#: Names the table's questions may use, `{NAME}`.
PATTERNS = {"TWO_CAMPAIGNS": r"\b(two|2)\b.*\bcampaigns?\b|\bsplit"}


@dataclass(frozen=True)
class Row:
    """One objective and what its words mean: an audience (`sql`, with optional expectations on the
    offer, budget, channels and timing) or a question matching `question`."""

    kind: str
    slug: str
    objective: str
    sql: str | None = None
    question: str | None = None
    #: Keys of the interpretation's offer and the values they must have ({"value": None}: the offer,
    #: if any, carries no amount, so no number of the words became money off).
    offer: dict[str, Any] | None = None
    #: Likewise for the budget ({"amount": None}: no budget).
    budget: dict[str, Any] | None = None
    channels: frozenset[str] | None = None
    #: send_at (date part, None = now) and offer_valid_until, for the keys given.
    timing: dict[str, str | None] | None = None
    everyone: bool = False


def _named(text: str, names: dict[str, str], wrap: bool) -> str:
    def one(m: re.Match[str]) -> str:
        return f"({names[m.group(1)]})" if wrap else names[m.group(1)]

    return re.sub(r"\{([A-Z_]+)\}", one, text)


def _offer(words: list[str]) -> dict[str, Any]:
    if words == ["none"]:
        return {"value": None}
    found: dict[str, Any] = {"kind": words[0]}
    rest = words[1:]
    if "on" in rest:
        found["category"] = rest[rest.index("on") + 1]
        rest = rest[: rest.index("on")]
    if rest:
        found["value"], found["unit"] = float(rest[0]), rest[1]
    return found


def parse_table(text: str) -> list[Row]:
    """The rows of the table text (its format is described at the top of `TABLE_FILE`)."""
    rows: list[Row] = []
    kind = ""
    current: dict[str, Any] | None = None

    def close() -> None:
        if current is not None:
            if ("sql" in current) == ("question" in current):
                raise ValueError(f"row {current['slug']!r} needs exactly one of '=' (SQL) or '?' (question)")
            rows.append(Row(**current))

    for line in text.splitlines():
        if not line.strip() or line.startswith("#"):
            continue
        if line.startswith("["):
            kind = line.strip("[] ")
            continue
        if not line.startswith(" "):
            close()
            slug, objective = (p.strip() for p in line.split("|", 1))
            current = {"kind": kind, "slug": slug, "objective": objective}
            continue
        if current is None:
            raise ValueError(f"a table line before any row: {line!r}")
        key, _, value = line.strip().partition(" ")
        words = value.split()
        if key == "=":
            current["sql"] = _named(value, SQL_NAMES, wrap=True)
        elif key == "?":
            current["question"] = _named(value, PATTERNS, wrap=False)
        elif key == "offer":
            current["offer"] = _offer(words)
        elif key == "budget":
            amount = None if words == ["none"] else float(words[0])
            current["budget"] = {"amount": amount, **({"currency": words[1]} if len(words) > 1 else {})}
        elif key == "channels":
            current["channels"] = frozenset(words)
        elif key in ("send", "until"):
            timing = current.setdefault("timing", {})
            timing["send_at" if key == "send" else "offer_valid_until"] = (
                None if value in ("now", "none") else value
            )
        elif key == "everyone":
            current["everyone"] = True
        else:
            raise ValueError(f"unknown table line: {line!r}")
    close()
    return rows


ROWS: list[Row] = parse_table(TABLE_FILE.read_text(encoding="utf-8"))
CLASSES: list[str] = list(dict.fromkeys(r.kind for r in ROWS))


def members(conn: sqlite3.Connection, where: str, params: list[Any] | None = None) -> set[str]:
    sql = f"SELECT profile_id FROM customer_360 WHERE {where}"
    return {r[0] for r in conn.execute(sql, params or []).fetchall()}


def filter_members(conn: sqlite3.Connection, audience_filter: Any) -> set[str]:
    """The customers a typed filter selects (an empty filter means everyone)."""
    if not audience_filter:
        return members(conn, "1")
    compiled = compile_filter(audience_filter, conn)
    return members(conn, compiled.where, compiled.params)


def _plain(value: Any) -> Any:
    return value.model_dump(mode="json") if hasattr(value, "model_dump") else value


def _same(got: Any, want: Any) -> bool:
    if isinstance(want, int | float) and not isinstance(want, bool):
        return isinstance(got, int | float) and float(got) == float(want)
    if isinstance(want, str) and isinstance(got, str):
        return got.lower() == want.lower()
    return bool(got == want)


def _part_problems(name: str, got: Any, want: dict[str, Any] | None) -> list[str]:
    if want is None:
        return []
    got = _plain(got) or {}
    return [
        f"{name}.{key} is {got.get(key)!r}, the words mean {value!r}"
        for key, value in want.items()
        if not _same(got.get(key), value)
    ]


def _day(value: Any) -> str | None:
    return None if value in (None, "") else str(value)[:10]


def judge(row: Row, state: dict[str, Any], conn: sqlite3.Connection) -> tuple[str, str]:
    """("exact" | "question" | "wrong", why) for what planning left in the graph state.

    "question" is a question where the row wants a plan: not silent, but not understood either.
    """
    status = state.get("status")
    question = state.get("question") or ""
    if row.question is not None:
        if status == "needs_input" and re.search(row.question, question, re.IGNORECASE | re.DOTALL):
            return "exact", ""
        if status == "needs_input":
            return "question", f"asked {question!r}, not /{row.question}/"
        return (
            "wrong",
            f"status {status!r} ({state.get('error') or 'a plan'}), not a question /{row.question}/",
        )
    if status == "needs_input":
        return "question", f"asked {question!r}"
    if status in ("failed", "refused") or not state.get("plan"):
        return "wrong", f"status {status!r}: {state.get('error')}"
    interpretation = _plain(state.get("interpretation")) or {}
    if not interpretation:
        return "wrong", "the plan carries no interpretation"
    problems: list[str] = []
    want = members(conn, row.sql or "0")
    got = filter_members(conn, (interpretation.get("audience") or {}).get("filter"))
    if got != want:
        problems.append(
            f"audience has {len(got)} customers, the SQL {len(want)} "
            f"({len(got - want)} extra, {len(want - got)} missing): "
            f"{(interpretation.get('audience') or {}).get('filter')}"
        )
    for task in state.get("plan") or []:
        if task.get("agent") == "audience":
            built = filter_members(conn, (task.get("inputs") or {}).get("filter"))
            if built != got:
                problems.append("the audience task's filter selects other customers than the interpretation")
    problems += _part_problems("offer", interpretation.get("offer"), row.offer)
    problems += _part_problems("budget", interpretation.get("budget"), row.budget)
    if row.channels is not None and set(interpretation.get("channels") or []) != row.channels:
        problems.append(f"channels {interpretation.get('channels')}, the words mean {sorted(row.channels)}")
    if row.timing is not None:
        got_timing = _plain(interpretation.get("timing")) or {}
        for key, value in row.timing.items():
            if _day(got_timing.get(key)) != value:
                problems.append(f"timing.{key} is {got_timing.get(key)!r}, the words mean {value!r}")
    return ("wrong", "; ".join(problems)) if problems else ("exact", "")


def planner() -> Any:
    """The real graph, paused before dispatch: planning runs, nothing is built or sent."""
    from langgraph.checkpoint.memory import MemorySaver

    from graph.graph import builder

    return builder.compile(checkpointer=MemorySaver(), interrupt_before=["dispatch"])


def plan_objective(
    graph: Any, db_path: str | Path, objective: str, thread_id: str, model: str = "scripted", **context: Any
) -> dict[str, Any]:
    """Plan one objective on the CDP and return the graph state planning left (at the pause).

    `context` holds further `Context` fields (a `model_factory`, say)."""
    from graph.context import Context
    from graph.graph import RECURSION_LIMIT

    config = {"configurable": {"thread_id": thread_id}, "recursion_limit": RECURSION_LIMIT}
    graph.invoke(
        {"objective": objective},
        config,
        context=Context(db_path=str(db_path), approval="ask", model=model, **context),
        durability="sync",
    )
    return dict(graph.get_state(config).values)
