"""`report`: a run's report in the terminal (Markdown), as JSON, or as one self-contained HTML page."""

from __future__ import annotations

import json
import sqlite3
import sys
from pathlib import Path

import typer

from cdp.db import default_db_path
from cdp.errors import CdpError
from cli.checkpoints import load_report
from cli.console import fail, out


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

        from report.data import UnknownRunError
        from report.html import render_html
        from report.markdown import report_markdown

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
