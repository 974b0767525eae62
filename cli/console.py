"""The terminal every command writes to, its exit codes, and the one-line error they exit with."""

from __future__ import annotations

import typer
from rich.console import Console
from rich.markup import escape

EXIT_OK, EXIT_FAILED, EXIT_USAGE, EXIT_INTERRUPTED, EXIT_REFUSED = 0, 1, 2, 3, 4

out = Console()
err = Console(stderr=True)


def fail(message: str, code: int = EXIT_FAILED) -> typer.Exit:
    """One line on stderr, whatever the message holds (a model's or a library's text may wrap)."""
    err.print(f"[red]error:[/red] {escape(' '.join(message.split()))}", highlight=False, soft_wrap=True)
    return typer.Exit(code)
