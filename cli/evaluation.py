"""`eval`: score a model on suites of the understanding table before trusting it with customers.

The harness lives in `evals` (seeding, runs, judging, failure classes, audit); this module turns
flags into a call of `evals.runner.run_suite`, prints progress on stderr and the report on stdout,
and maps the harness's errors to exit codes: 2 for a bad request (suite, slug, repeats), 1 for an
endpoint that cannot be used at all. Misses are results, not errors: a run with misses exits 0.
"""

from __future__ import annotations

import json
import os
from pathlib import Path

import typer
from rich.markup import escape

from cli.console import EXIT_FAILED, EXIT_USAGE, err, fail


def _out_paths(out: Path) -> tuple[Path, Path]:
    base = out.with_suffix("") if out.suffix in (".json", ".md") else out
    return base.with_name(base.name + ".json"), base.with_name(base.name + ".md")


def register(app: typer.Typer) -> None:
    @app.command("eval")
    def evaluate(
        model: str = typer.Option(
            None,
            "--model",
            help="'scripted' or an OpenAI-compatible model name (default: MODEL, else scripted).",
        ),
        suite: str = typer.Option(None, "--suite", help="smoke, core (default) or table (every row)."),
        repeat: int = typer.Option(
            1, "--repeat", metavar="K", help="Runs per objective; pass^K needs all K."
        ),
        as_json: bool = typer.Option(False, "--json", help="Print the report as one JSON object."),
        customers: int = typer.Option(2000, "--customers", help="Customers in the seeded CDP (seed 7)."),
        stage: str = typer.Option(
            "launch", "--stage", help="plan (stop after planning, fast) or launch (through the gate)."
        ),
        out: Path = typer.Option(
            None, "--out", metavar="PATH", help="Also write PATH.json and PATH.md (a Markdown table)."
        ),
        objective: list[str] = typer.Option(
            None, "--objective", metavar="SLUG", help="Only this table row (repeatable); replaces --suite."
        ),
    ) -> None:
        """Score a model on understanding-table objectives: exact audiences, questions, policy, cost.

        Each objective runs on a fresh copy of one seeded CDP (clock 2026-11-24 12:00 UTC), through
        planning (`--stage plan`) or to the gate's scheduled sends with auto approval (`--stage
        launch`). Misses are classed (refused, invalid_plan, tool_call_format, step_budget,
        wrong_filter, timeout, wrong_question, no_question, error); the exit code is 0 whenever the
        eval ran.
        """
        from evals.report import markdown_table, text_table
        from evals.runner import EndpointUnusableError, EvalUsageError, probe_endpoint, run_suite
        from evals.suites import Suite, UnknownRowError, UnknownSuiteError, load_suite, rows_of

        try:
            chosen = (
                Suite("objectives", "rows named on the command line", rows_of(objective))
                if objective
                else load_suite(suite)
            )
            if repeat < 1:
                raise EvalUsageError(f"--repeat must be at least 1, not {repeat}")
            if stage not in ("plan", "launch"):
                raise EvalUsageError(f"--stage must be plan or launch, not {stage!r}")
            if customers < 1:
                raise EvalUsageError(f"--customers must be at least 1, not {customers}")
        except (UnknownSuiteError, UnknownRowError, EvalUsageError) as exc:
            raise fail(str(exc), EXIT_USAGE) from None
        if not os.environ.get("CDP_AGENTS_MODEL_FACTORY", "").strip():
            try:
                probe_endpoint(model)
            except EndpointUnusableError as exc:
                raise fail(str(exc), EXIT_FAILED) from None

        def progress(record) -> None:
            mark = "[green]pass[/green]" if record.passed else f"[red]{record.failure}[/red]"
            err.print(
                f"  {mark} {escape(record.slug)} #{record.repeat} ({record.wall_s:.2f} s, "
                f"{record.model_calls} calls)",
                highlight=False,
            )

        report = run_suite(
            chosen,
            model=model,
            repeat=repeat,
            stage=stage,  # type: ignore[arg-type]
            customers=customers,
            on_run=None if as_json else progress,
        )
        if as_json:
            print(json.dumps(report.to_dict(), default=str))
        else:
            print(text_table(report))
        if out is not None:
            json_path, md_path = _out_paths(out)
            json_path.parent.mkdir(parents=True, exist_ok=True)
            json_path.write_text(json.dumps(report.to_dict(), indent=2, default=str) + "\n", encoding="utf-8")
            md_path.write_text(markdown_table(report), encoding="utf-8")
            if not as_json:
                err.print(f"wrote {escape(str(json_path))} and {escape(str(md_path))}", highlight=False)
