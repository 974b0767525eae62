"""The typed result of an eval: one record per run, summed per objective and over the suite, and the
same figures as JSON, a plain-text table for the terminal, and a Markdown table for BENCHMARKS.md.

pass^k: an objective passes^k when all of its K repeats pass; the suite's pass^k is the share of its
objectives that do. With K = 1 it is the plain pass rate.
"""

from __future__ import annotations

from collections import Counter
from dataclasses import asdict, dataclass, field
from typing import Any, Literal

Stage = Literal["plan", "launch"]
#: Why a run missed: a closed set, the JSON key `failure` (None when the run passed).
FAILURES = (
    "refused",
    "invalid_plan",
    "tool_call_format",
    "step_budget",
    "wrong_filter",
    "timeout",
    "wrong_question",
    "no_question",
    "error",
)


@dataclass
class RunRecord:
    """One run of one objective: whether it passed, why not, and what it cost."""

    slug: str
    kind: str
    objective: str
    repeat: int
    thread_id: str
    passed: bool
    failure: str | None
    detail: str
    #: The run's final status (`completed`, `needs_input`, `refused`, `failed`, `planned` at the plan stage).
    status: str
    model_calls: int
    prompt_tokens: int
    completion_tokens: int
    #: Whether the model reported token usage at all (else the token figures are 0 and mean "n/a").
    tokens_reported: bool
    wall_s: float
    #: Rows the contact-policy audit found on this run's CDP copy (must be 0), and the checks broken.
    violations: int
    broken_checks: list[str]
    #: Customers the planned audience selects, and the customers the row's SQL selects (None for a
    #: row that must ask a question, or a run that planned no audience).
    audience_size: int | None
    expected_size: int | None
    #: The audience is the SQL's, customer for customer (None where the row wants a question).
    audience_exact: bool | None
    #: The expected question was asked (None where the row wants a plan).
    question_correct: bool | None
    question: str | None = None
    sends: int = 0


@dataclass
class ObjectiveSummary:
    slug: str
    kind: str
    objective: str
    runs: int
    passes: int
    #: All repeats passed.
    pass_k: bool
    audience_exact: int
    questions_correct: int
    wants_question: bool
    violations: int
    model_calls: int
    prompt_tokens: int
    completion_tokens: int
    wall_s: float
    failures: dict[str, int]
    audience_size: int | None
    expected_size: int | None


@dataclass
class Totals:
    objectives: int
    runs: int
    passed_runs: int
    pass_rate: float
    #: Share of objectives all of whose repeats passed.
    pass_k: float
    audience_runs: int
    audience_exact: int
    exact_audience_rate: float | None
    question_runs: int
    questions_correct: int
    violations: int
    model_calls: int
    prompt_tokens: int
    completion_tokens: int
    tokens_reported: bool
    wall_s: float
    failures: dict[str, int]


@dataclass
class SuiteReport:
    model: str
    suite: str
    stage: Stage
    repeat: int
    customers: int
    seed: int
    runs: list[RunRecord]
    objectives: list[ObjectiveSummary] = field(default_factory=list)
    totals: Totals | None = None

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


def _rate(n: int, d: int) -> float:
    return round(n / d, 4) if d else 0.0


def summarise(report: SuiteReport) -> SuiteReport:
    """Fill `objectives` and `totals` from `runs` (in the order the objectives first ran)."""
    by_slug: dict[str, list[RunRecord]] = {}
    for run in report.runs:
        by_slug.setdefault(run.slug, []).append(run)
    objectives = []
    for slug, runs in by_slug.items():
        first = runs[0]
        objectives.append(
            ObjectiveSummary(
                slug=slug,
                kind=first.kind,
                objective=first.objective,
                runs=len(runs),
                passes=sum(r.passed for r in runs),
                pass_k=all(r.passed for r in runs),
                audience_exact=sum(bool(r.audience_exact) for r in runs),
                questions_correct=sum(bool(r.question_correct) for r in runs),
                wants_question=first.question_correct is not None,
                violations=sum(r.violations for r in runs),
                model_calls=sum(r.model_calls for r in runs),
                prompt_tokens=sum(r.prompt_tokens for r in runs),
                completion_tokens=sum(r.completion_tokens for r in runs),
                wall_s=round(sum(r.wall_s for r in runs), 3),
                failures=dict(Counter(r.failure for r in runs if r.failure)),
                audience_size=runs[-1].audience_size,
                expected_size=first.expected_size,
            )
        )
    runs = report.runs
    audience_runs = [r for r in runs if r.audience_exact is not None]
    question_runs = [r for r in runs if r.question_correct is not None]
    exact = sum(bool(r.audience_exact) for r in audience_runs)
    report.objectives = objectives
    report.totals = Totals(
        objectives=len(objectives),
        runs=len(runs),
        passed_runs=sum(r.passed for r in runs),
        pass_rate=_rate(sum(r.passed for r in runs), len(runs)),
        pass_k=_rate(sum(o.pass_k for o in objectives), len(objectives)),
        audience_runs=len(audience_runs),
        audience_exact=exact,
        exact_audience_rate=_rate(exact, len(audience_runs)) if audience_runs else None,
        question_runs=len(question_runs),
        questions_correct=sum(bool(r.question_correct) for r in question_runs),
        violations=sum(r.violations for r in runs),
        model_calls=sum(r.model_calls for r in runs),
        prompt_tokens=sum(r.prompt_tokens for r in runs),
        completion_tokens=sum(r.completion_tokens for r in runs),
        tokens_reported=any(r.tokens_reported for r in runs),
        wall_s=round(sum(r.wall_s for r in runs), 3),
        failures=dict(Counter(r.failure for r in runs if r.failure)),
    )
    return report


# ----------------------------------------------------------------------------------------- tables

_HEAD = (
    "objective",
    "class",
    "pass^k",
    "passes",
    "audience",
    "calls",
    "prompt tok",
    "compl tok",
    "wall s",
    "failures",
)


def _audience(o: ObjectiveSummary) -> str:
    if o.wants_question:
        return f"question {o.questions_correct}/{o.runs}"
    got = "-" if o.audience_size is None else str(o.audience_size)
    return f"{got}/{o.expected_size} exact {o.audience_exact}/{o.runs}"


def _tokens(n: int, reported: bool) -> str:
    return f"{n:,}" if reported else "n/a"


def _cells(report: SuiteReport) -> list[tuple[str, ...]]:
    t = report.totals
    reported = bool(t and t.tokens_reported)
    rows: list[tuple[str, ...]] = [
        (
            o.slug,
            o.kind,
            "yes" if o.pass_k else "no",
            f"{o.passes}/{o.runs}",
            _audience(o),
            str(o.model_calls),
            _tokens(o.prompt_tokens, reported),
            _tokens(o.completion_tokens, reported),
            f"{o.wall_s:.2f}",
            ", ".join(f"{k} {v}" for k, v in sorted(o.failures.items())) or "-",
        )
        for o in report.objectives
    ]
    if t is not None:
        rate = "-" if t.exact_audience_rate is None else f"{t.exact_audience_rate:.0%}"
        rows.append(
            (
                f"total ({t.objectives} objectives)",
                "",
                f"{t.pass_k:.0%}",
                f"{t.passed_runs}/{t.runs}",
                f"exact {t.audience_exact}/{t.audience_runs} ({rate}), questions {t.questions_correct}/{t.question_runs}",
                str(t.model_calls),
                _tokens(t.prompt_tokens, reported),
                _tokens(t.completion_tokens, reported),
                f"{t.wall_s:.2f}",
                ", ".join(f"{k} {v}" for k, v in sorted(t.failures.items())) or "-",
            )
        )
    return rows


def headline(report: SuiteReport) -> str:
    t = report.totals
    assert t is not None
    return (
        f"model {report.model}, suite {report.suite} ({t.objectives} objectives x {report.repeat}), "
        f"stage {report.stage}, {report.customers:,} customers (seed {report.seed}): pass^{report.repeat} "
        f"{t.pass_k:.0%}, runs passed {t.passed_runs}/{t.runs}, policy violations {t.violations}"
    )


def text_table(report: SuiteReport) -> str:
    """The report as aligned plain text: one line per objective, a total, the misses' details."""
    rows = [_HEAD, *_cells(report)]
    widths = [max(len(r[i]) for r in rows) for i in range(len(_HEAD))]
    lines = [headline(report), ""]
    for n, row in enumerate(rows):
        lines.append("  ".join(cell.ljust(w) for cell, w in zip(row, widths, strict=True)).rstrip())
        if n == 0 or n == len(rows) - 2:
            lines.append("  ".join("-" * w for w in widths))
    misses = [r for r in report.runs if not r.passed]
    if misses:
        lines += ["", "misses:"]
        lines += [f"  {r.slug} #{r.repeat}: {r.failure}: {r.detail}" for r in misses]
    return "\n".join(lines)


def markdown_table(report: SuiteReport) -> str:
    """The report as a Markdown table (fit for BENCHMARKS.md), its headline above it."""
    esc = [tuple(c.replace("|", "\\|") for c in row) for row in _cells(report)]
    lines = [f"**{headline(report)}**", "", "| " + " | ".join(_HEAD) + " |", "|" + "---|" * len(_HEAD)]
    lines += ["| " + " | ".join(row) + " |" for row in esc]
    return "\n".join(lines) + "\n"
