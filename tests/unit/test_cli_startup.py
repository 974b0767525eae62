"""The CLI starts without the orchestrator: command modules load lazily, and only what a command needs.

Each check runs in a fresh interpreter (the test process has long imported everything) and reads
`sys.modules` there: a behaviour test of what gets imported, not a timing test.
"""

from __future__ import annotations

import importlib
import json
import os
import subprocess
import sys
from typing import Any

import pytest
import typer
from typer.testing import CliRunner

from cli.main import COMMANDS, app

#: Packages that cost seconds to import; only commands that run the graph or build a report need them.
HEAVY = ("langgraph", "langchain_core", "langchain_openai")


def _modules_after(code: str) -> set[str]:
    """The modules a fresh interpreter holds after running `code` (which must not print)."""
    probe = f"{code}\nimport json, sys\nprint(json.dumps(sorted(sys.modules)))"
    done = subprocess.run(
        [sys.executable, "-c", probe],
        capture_output=True,
        text=True,
        check=True,
        env=_env(),
        timeout=120,
    )
    return set(json.loads(done.stdout.splitlines()[-1]))


def _env() -> dict[str, str]:
    return {**os.environ, "CDP_AGENTS_NO_DOTENV": "1"}


def _loaded(modules: set[str], package: str) -> list[str]:
    return sorted(m for m in modules if m == package or m.startswith(f"{package}."))


def test_importing_the_cli_loads_no_orchestrator_and_no_command_module():
    modules = _modules_after("import cli.main")
    for package in (*HEAVY, "graph"):
        assert _loaded(modules, package) == [], f"import cli.main imported {package}"
    command_modules = {module for module, _ in COMMANDS.values()}
    assert command_modules & modules == set()


def test_top_level_help_imports_no_command_module():
    modules = _modules_after(
        "from typer.testing import CliRunner\n"
        "from cli.main import app\n"
        "result = CliRunner().invoke(app, ['--help'])\n"
        "assert result.exit_code == 0, result.output\n"
        "assert all(name in result.output for name in ('seed', 'run', 'message-kinds', 'studio'))"
    )
    command_modules = {module for module, _ in COMMANDS.values()}
    assert command_modules & modules == set()
    for package in (*HEAVY, "graph"):
        assert _loaded(modules, package) == []


def test_every_command_help_shows_its_options_without_langgraph():
    """`CMD --help` for every command, in one interpreter: the options are declared in the command
    modules themselves, and none of them needs LangGraph or LangChain to say what it takes."""
    names = json.dumps(list(COMMANDS))
    modules = _modules_after(
        "from typer.testing import CliRunner\n"
        "from cli.main import app\n"
        f"for name in {names}:\n"
        "    result = CliRunner().invoke(app, [name, '--help'])\n"
        "    assert result.exit_code == 0, (name, result.output)\n"
        "    assert '--help' in result.output, name"
    )
    for package in HEAVY:
        assert _loaded(modules, package) == [], f"a command's --help imported {package}"


def _registered() -> dict[str, tuple[str, Any]]:
    """Every command the command modules register, by name, as the full app would have them."""
    commands = {}
    for module in dict.fromkeys(module for module, _ in COMMANDS.values()):
        sub_app = typer.Typer()
        importlib.import_module(module).register(sub_app)
        for group_command in typer.main.get_group(sub_app).commands.values():
            assert group_command.name not in commands, f"{group_command.name} registered twice"
            commands[group_command.name] = (module, group_command)
    return commands


def test_the_registry_names_every_command_once_with_its_module_and_help():
    registered = _registered()
    assert set(registered) == set(COMMANDS)
    for name, (module, command) in registered.items():
        assert COMMANDS[name][0] == module
        first_paragraph = (command.help or "").strip().split("\n\n")[0]
        # The list shows the registry's line: it must say what the docstring says (wrapping aside).
        assert " ".join(COMMANDS[name][1].split()) == " ".join(first_paragraph.split()), name


@pytest.mark.parametrize("name", list(COMMANDS))
def test_command_help_lists_every_option_of_the_command(name):
    _, command = _registered()[name]
    result = CliRunner().invoke(app, [name, "--help"], env={"COLUMNS": "200"})
    assert result.exit_code == 0, result.output
    for param in command.params:
        for opt in param.opts:
            if opt.startswith("-"):
                assert opt in result.output, (name, opt)


def test_a_mistyped_command_is_refused_with_a_suggestion():
    result = CliRunner().invoke(app, ["explian"])
    assert result.exit_code == 2
    assert "No such command" in result.output
    assert "explain" in result.output
