"""`report`: a run's report in the terminal (Markdown), as JSON, or as one self-contained HTML page."""

from __future__ import annotations

import json
import sqlite3
import sys
from pathlib import Path
from typing import TYPE_CHECKING

import typer

from cdp.db import default_db_path, open_cdp
from cdp.errors import CdpError
from cli.runs import checkpoint_path, durable_graph, fail, out

# The report modules load LangChain: imported when a report is made, not for `--help`.
if TYPE_CHECKING:
    from graph.report_data import ReportData


def load_report(db_path: str, thread_id: str) -> ReportData:
    """Read the run's checkpoints (when it left any) and the CDP; never creates a file."""
    from graph.report_data import collect_report

    cdp = open_cdp(db_path, create=False)
    try:
        if Path(checkpoint_path(db_path)).exists():
            with durable_graph(db_path) as graph:
                return collect_report(cdp, thread_id, graph)
        return collect_report(cdp, thread_id)
    finally:
        cdp.conn.close()


def register(app: typer.Typer) -> None:
    @app.command()
    def report(
        thread: str = typer.Argument(..., help="Thread id of the run (see `cdp-agents runs`)."),
        db: str = typer.Option(
            None, "--db", help="CDP file the run used (default: CDP_AGENTS_DB or data/cdp.db)."
        ),
        html: Path = typer.Option(
            None, "--html", help="Write one self-contained HTML page (plan graph, timeline, charts) to FILE."
        ),
        as_json: bool = typer.Option(False, "--json", help="Print the report's data as one JSON object."),
    ) -> None:
        """A run's report: plan, timeline, audience, suppressions, conflicts and results against the holdout."""
        from rich.markdown import Markdown

        from graph.report_data import UnknownRunError
        from graph.report_html import render_html
        from graph.report_markdown import report_markdown

        path = db or default_db_path()
        if not Path(path).exists():
            raise fail(f"no CDP at {path}: pass the --db the run used")
        try:
            data = load_report(path, thread)
        except UnknownRunError:
            raise fail(f"no run {thread} in {path}: list runs with `cdp-agents runs --db {path}`") from None
        except (CdpError, sqlite3.Error) as exc:
            raise fail(f"cannot read run {thread} from {path}: {exc}") from None
        if html is not None:
            try:
                html.write_text(render_html(data), encoding="utf-8")
            except OSError as exc:
                raise fail(f"cannot write {html}: {exc.strerror or exc}") from None
        if as_json:
            payload = data.to_dict()
            if html is not None:
                payload["html"] = str(html)
            print(json.dumps(payload, default=str))
        elif html is not None:
            out.print(
                f"Wrote the report of {thread} to {html}", highlight=False, soft_wrap=True, markup=False
            )
        elif sys.stdout.isatty():
            out.print(Markdown(report_markdown(data)))
        else:
            sys.stdout.write(report_markdown(data))
