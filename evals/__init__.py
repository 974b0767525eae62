"""Evaluation of a model on the product: the understanding table, suites of its rows, the harness
that runs them through the real graph (`run_suite`), and the contact-policy audit.

    from evals import run_suite
    report = run_suite("smoke", model="scripted", stage="plan")
    report.totals.pass_k

Importing this package is cheap; `run_suite` loads the graph when it runs.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from evals.report import SuiteReport

__all__ = ["run_suite"]


def run_suite(*args: Any, **kwargs: Any) -> SuiteReport:
    """`evals.runner.run_suite` (see there), imported on first use."""
    from evals.runner import run_suite as run

    return run(*args, **kwargs)
