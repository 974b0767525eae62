"""`cdp-agents`: seed and inspect the CDP, run and resume orchestrated campaigns, explain decisions.

Each area registers its subcommands from its own module; errors the user can act on become one line
on stderr and exit code 1 (2 for usage errors and bad settings, 3 for a run waiting for a person).
"""

from __future__ import annotations

import importlib
import os

import typer
from dotenv import load_dotenv

app = typer.Typer(
    name="cdp-agents",
    help="Multi-agent marketing orchestrator on a SQLite customer data platform.",
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
)

# Modules that add subcommands; each defines register(app).
COMMAND_MODULES = ("cli.data", "cli.runs", "cli.policy", "cli.reporting", "cli.studio")


def check_settings() -> None:
    """Read and check every setting the product takes from the environment, once, before any command.

    A value out of its bounds raises `ValueError` (most often `InvalidSettingError`) naming the
    variable, the value and the allowed range; nothing has been opened or written yet.
    """
    from cdp import clock
    from cdp.identity import IdentitySettings
    from cdp.settings import InvalidSettingError
    from cdp.vocabulary import SegmentVocabulary
    from graph.context import Context
    from llm.loader import _timeout
    from llm.scripted import _latency_seconds

    Context()
    SegmentVocabulary.from_env()
    IdentitySettings.from_env()
    try:
        clock.env_now()
    except ValueError:
        raw = os.environ.get("CDP_NOW", "")
        raise InvalidSettingError(
            "CDP_NOW", raw, "must be an ISO 8601 time such as 2026-11-24T12:00:00Z"
        ) from None
    _timeout()
    _latency_seconds(None)


@app.callback()
def _main() -> None:
    """Load `.env` (model endpoint, CDP path), then check every setting before any command runs.

    A bad setting is a usage error: one line on stderr and exit code 2, before any file is touched.
    """
    load_dotenv(override=False)
    try:
        check_settings()
    except ValueError as exc:
        typer.echo(f"error: {exc}", err=True)
        raise typer.Exit(2) from None


for _name in COMMAND_MODULES:
    try:
        _module = importlib.import_module(_name)
    except ModuleNotFoundError as exc:
        if exc.name != _name:
            raise
        continue
    _module.register(app)


if __name__ == "__main__":
    app()
