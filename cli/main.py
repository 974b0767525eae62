"""`cdp-agents`: seed and inspect the CDP, run and resume orchestrated campaigns, explain decisions.

Each area registers its subcommands from its own module; errors the user can act on become one line
on stderr and exit code 1 (2 for usage errors and bad settings, 3 for a run waiting for a person).
"""

from __future__ import annotations

import importlib
from typing import Annotated

import typer
from dotenv import load_dotenv

from cli.envfile import NO_DOTENV_ENV, dotenv_path
from cli.settings import check_settings_or_exit

app = typer.Typer(
    name="cdp-agents",
    help="Multi-agent marketing orchestrator on a SQLite customer data platform.",
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
)

# Modules that add subcommands; each defines register(app).
COMMAND_MODULES = ("cli.data", "cli.runs", "cli.policy", "cli.reporting", "cli.studio")


@app.callback()
def _main(
    no_dotenv: Annotated[
        bool,
        typer.Option(
            "--no-dotenv", help=f"Ignore any .env file (also {NO_DOTENV_ENV}=1).", show_default=False
        ),
    ] = False,
) -> None:
    """Load `.env` from the working folder (model endpoint, CDP path), then check every setting
    before any command runs.

    A bad setting is a usage error: one line on stderr and exit code 2, before any file is touched.
    """
    path = None if no_dotenv else dotenv_path()
    if path is not None:
        load_dotenv(path, override=False)
    check_settings_or_exit()


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
