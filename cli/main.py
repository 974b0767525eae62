"""`cdp-agents`: seed and inspect the CDP, run and resume orchestrated campaigns, explain decisions.

Each area registers its subcommands from its own module; errors the user can act on become one line
on stderr and exit code 1 (2 for usage errors and bad settings, 3 for a run waiting for a person).

A command's module is imported only when that command runs or shows its own help, so a start costs
what the command needs: `cdp-agents --help` imports no command module at all, and only `run`,
`resume`, `demo`, `report` and `eval` load LangGraph and the orchestrator graph.
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Annotated, Any

import typer
from dotenv import load_dotenv
from typer.core import TyperCommand, TyperGroup

from cli.envfile import NO_DOTENV_ENV, dotenv_path
from cli.settings import check_settings_or_exit

if TYPE_CHECKING:
    from typer import _click  # the click typer is built on (its own copy)

#: Every subcommand, in the order `--help` lists them: its module (which defines `register(app)`)
#: and its one-line help, the first paragraph of the command's docstring (a test keeps the two equal),
#: so the list is printed without importing any module.
COMMANDS: dict[str, tuple[str, str]] = {
    "seed": (
        "cli.data",
        "Create a CDP with a deterministic synthetic customer base (time fixed by CDP_NOW).",
    ),
    "import": (
        "cli.data",
        "Import profiles, identities, consents or events: every row is checked first, then all or nothing.",
    ),
    "profile": (
        "cli.data",
        "Show one customer's unified profile: attributes, 360 figures, consents, traits, recent events.",
    ),
    "run": (
        "cli.runs",
        "Plan the objective, run the specialists on the CDP, and launch through the contact-policy gate.",
    ),
    "resume": ("cli.runs", "Continue a run after a crash or an interrupt, from any process."),
    "demo": (
        "cli.runs",
        "Seed the demo CDP if missing, run the default objective offline (auto-approved), simulate a "
        "week of customer responses, and write the HTML report.",
    ),
    "runs": ("cli.runs", "List runs with their status and campaign."),
    "trace": ("cli.runs", "The timeline of a run: every structured message between agents, in order."),
    "explain": (
        "cli.policy",
        "Explain every contact-policy decision about one customer: sent or not, and why, in plain words.",
    ),
    "message-kinds": (
        "cli.policy",
        "Show or change which message kinds are transactional. Every kind is marketing until a person "
        "lists it here; a campaign planned from an objective is always marketing.",
    ),
    "report": (
        "cli.reporting",
        "A run's report: plan, timeline, audience, suppressions, conflicts and results against the holdout.",
    ),
    "eval": (
        "cli.evaluation",
        "Score a model on understanding-table objectives: exact audiences, questions, policy, cost.",
    ),
    "studio": (
        "cli.studio",
        "Serve the orchestrator to LangGraph Studio (offline `langgraph dev`), seeding the CDP if missing.",
    ),
}

#: Click commands of the modules imported so far, by command name (a module is registered once).
_LOADED: dict[str, _click.Command] = {}


def load_command(name: str) -> _click.Command:
    """The real command `name`: its module is imported and registered on first use."""
    if name not in _LOADED:
        sub_app = typer.Typer(add_completion=False)
        importlib.import_module(COMMANDS[name][0]).register(sub_app)
        _LOADED.update(typer.main.get_group(sub_app).commands)
    return _LOADED[name]


class LazyGroup(TyperGroup):
    """The `cdp-agents` group: commands come from `COMMANDS` and load only when one is used.

    The command list in `--help` is drawn from placeholders carrying the one-line help; resolving a
    command name (to run it or show its own `--help`) imports its module and returns the real one.
    """

    def __init__(self, **attrs: Any) -> None:
        super().__init__(**attrs)
        # Placeholders only: they let typer suggest a near name for a mistyped command.
        self.commands = {name: _placeholder(name) for name in COMMANDS}
        self._listing = False

    def list_commands(self, ctx: _click.Context) -> list[str]:
        return list(COMMANDS)

    def get_command(self, ctx: _click.Context, cmd_name: str) -> _click.Command | None:
        if cmd_name not in COMMANDS:
            return None
        return self.commands[cmd_name] if self._listing else load_command(cmd_name)

    def format_help(self, ctx: _click.Context, formatter: _click.HelpFormatter) -> None:
        self._listing = True
        try:
            super().format_help(ctx, formatter)
        finally:
            self._listing = False


def _placeholder(name: str) -> _click.Command:
    return TyperCommand(name=name, help=COMMANDS[name][1])


app = typer.Typer(
    name="cdp-agents",
    cls=LazyGroup,
    help="Multi-agent marketing orchestrator on a SQLite customer data platform.",
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
)


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


if __name__ == "__main__":
    app()
