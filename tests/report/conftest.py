"""Real runs for the report tests: the CLI runs an objective with the scripted model on a seeded CDP
copy, auto-approved, with durable checkpoints; each run is made once per test module."""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
from typer.testing import CliRunner

from cli.main import app
from tests.graph.helpers import DEFAULT_OBJECTIVE
from tests.report.lifecycle_rows import insert_lifecycle
from tests.seeded import seeded_copy

#: Agents disagree on the audience size: the run records a conflict and its resolution.
BUDGET_OBJECTIVE = "grow holiday revenue from premium customers with a $2,000 budget"
HOSTILE_OBJECTIVE = "<script>alert(document.domain)</script> " + DEFAULT_OBJECTIVE


@dataclass
class FinishedRun:
    db: str
    thread: str
    result: dict[str, Any]  # what `run --json` printed

    @property
    def campaign_id(self) -> str:
        return self.result["campaign_id"]


def cli(*args: str) -> Any:
    return CliRunner().invoke(app, list(args))


def run_objective(
    folder: Path, objective: str, thread: str, *, exit_code: int = 0, approve: str = "auto"
) -> FinishedRun:
    db = str(seeded_copy(folder))
    result = cli(
        "run",
        objective,
        "--db",
        db,
        "--json",
        "--approve",
        approve,
        "--thread",
        thread,
        "--model",
        "scripted",
    )
    assert result.exit_code == exit_code, result.output
    return FinishedRun(db, thread, json.loads(result.stdout.strip().splitlines()[-1]))


@pytest.fixture(scope="module")
def demo_run(tmp_path_factory) -> FinishedRun:
    """The demo objective, just finished: no simulated days yet."""
    return run_objective(tmp_path_factory.mktemp("demo"), DEFAULT_OBJECTIVE, "report-demo")


@pytest.fixture(scope="module")
def measured_run(tmp_path_factory) -> FinishedRun:
    """A run with a resolved conflict; fourteen measured days and three adjustments are added after
    it, as the lifecycle simulator would write them."""
    finished = run_objective(tmp_path_factory.mktemp("measured"), BUDGET_OBJECTIVE, "report-measured")
    finished.result["lifecycle"] = insert_lifecycle(finished.db, finished.campaign_id, finished.thread)
    return finished


@pytest.fixture(scope="module")
def hostile_run(tmp_path_factory) -> FinishedRun:
    """An objective carrying markup: the page must show it as text. The planner does not know the
    markup's words, so the run asks about them (exit 3) and its page quotes the objective."""
    return run_objective(tmp_path_factory.mktemp("hostile"), HOSTILE_OBJECTIVE, "report-hostile", exit_code=3)
