"""CDP data commands: `seed` a synthetic CDP, `import` a file, look up one unified `profile`."""

from __future__ import annotations

import json
from collections.abc import Callable
from functools import wraps
from pathlib import Path
from typing import Annotated, Any, TypeVar

import typer
from rich.console import Console
from rich.markup import escape
from rich.table import Table

from cdp.db import default_db_path, open_cdp
from cdp.errors import CdpError

F = TypeVar("F", bound=Callable[..., Any])

DbOption = Annotated[
    Path | None,
    typer.Option("--db", help="CDP file (default: $CDP_AGENTS_DB or data/cdp.db).", show_default=False),
]


def _fail(message: str) -> None:
    # The message may quote a file's content: escaped, so brackets in it are text, not markup.
    Console(stderr=True).print(f"[red]error:[/red] {escape(message)}", highlight=False, soft_wrap=True)
    raise typer.Exit(1)


def _user_errors(func: F) -> F:
    """Errors a user can act on become one line on stderr and exit code 1, never a traceback."""

    @wraps(func)
    def wrapper(*args: Any, **kwargs: Any) -> Any:
        try:
            return func(*args, **kwargs)
        except CdpError as exc:
            _fail(str(exc))
        except OSError as exc:
            _fail(f"{exc.strerror or exc}{f': {exc.filename}' if exc.filename else ''}")

    return wrapper  # type: ignore[return-value]


def _open(db: Path | None, *, create: bool = True):
    return open_cdp(db or default_db_path(), create=create)


@_user_errors
def seed(
    customers: Annotated[
        int, typer.Option("--customers", min=1, help="How many customers to create.")
    ] = 10_000,
    seed: Annotated[int, typer.Option("--seed", help="Random seed: the same seed gives the same CDP.")] = 42,
    db: DbOption = None,
) -> None:
    """Create a CDP with a deterministic synthetic customer base (time fixed by CDP_NOW).

    The CDP is built in a temporary file beside the target and renamed into place when complete,
    so a seed that is interrupted leaves no half-written CDP behind.
    """
    from cdp.atomic_seed import seed_file

    summary = seed_file(db or default_db_path(), customers=customers, seed=seed)
    console = Console()
    table = Table(title=f"Seeded CDP ({summary.seconds:.1f} s, seed {summary.seed}, now {summary.now})")
    table.add_column("what")
    table.add_column("count", justify="right")
    table.add_row("profiles (resolved)", f"{summary.profiles:,}")
    table.add_row("source records", f"{summary.source_profiles:,}")
    table.add_row("identity merges", f"{summary.merges:,}")
    table.add_row("identity flags (cap)", f"{summary.flags:,}")
    table.add_row("events", f"{summary.events:,}")
    table.add_row("identifiers", f"{summary.identities:,}")
    for channel, statuses in summary.consents.items():
        table.add_row(
            f"consent {channel}", ", ".join(f"{status} {count:,}" for status, count in statuses.items())
        )
    table.add_row("at-risk (churn_risk >= 0.7)", f"{summary.at_risk:,}")
    table.add_row("with an open ticket", f"{summary.open_tickets:,}")
    console.print(table)


@_user_errors
def import_(
    file: Annotated[Path, typer.Argument(help="A .csv or .jsonl file.", show_default=False)],
    kind: Annotated[
        str | None,
        typer.Option(
            "--kind",
            help="profiles, identities, consents or events (default: from the file name or its columns).",
            show_default=False,
        ),
    ] = None,
    create_profiles: Annotated[
        bool,
        typer.Option(
            "--create-profiles",
            help="Let events create the profiles they name (default: an unknown profile_id is an error).",
        ),
    ] = False,
    db: DbOption = None,
) -> None:
    """Import profiles, identities, consents or events: every row is checked first, then all or nothing.

    An import that fails into a path where no CDP was leaves no file behind.
    """
    from cdp.importer import KINDS, ImportFileError, import_file

    if kind is not None and kind not in KINDS:
        raise ImportFileError(f"unknown --kind {kind!r}; expected one of {', '.join(KINDS)}")
    if file.is_dir():
        raise ImportFileError(f"{file} is a folder, not a file")
    if not file.exists():
        raise ImportFileError(f"no such file: {file}")
    if not file.is_file():  # a device or a pipe would be read forever or block
        raise ImportFileError(f"{file} is not a regular file")
    target = Path(db or default_db_path())
    created = _absent(target)
    cdp = _open(target)
    done = False
    try:
        result = import_file(cdp, file, kind, create_profiles=create_profiles)  # type: ignore[arg-type]
        done = True
    finally:
        cdp.conn.close()
        if created and not done:
            _remove_cdp(target)
    merged = f", {result.merged} profiles merged" if result.merged else ""
    Console().print(
        f"Imported {result.kind} from {_shown(file.name)}: {result.rows} rows, {result.written} written, "
        f"{result.skipped} already present or older{merged}.",
        highlight=False,
    )


_SIDE_FILES = ("", "-wal", "-shm", "-journal")


def _absent(path: Path) -> bool:
    """True if neither the CDP file nor any of its SQLite side files exists yet."""
    return not any(Path(f"{path}{side}").exists() for side in _SIDE_FILES)


def _remove_cdp(path: Path) -> None:
    """Remove the CDP a failed import created, so the user is left where they started."""
    for side in _SIDE_FILES:
        Path(f"{path}{side}").unlink(missing_ok=True)


@_user_errors
def profile(
    id_or_identifier: Annotated[
        str,
        typer.Argument(help="A profile id, a merged id, or an email, phone, crm id, device id or cookie."),
    ],
    db: DbOption = None,
    as_json: Annotated[bool, typer.Option("--json", help="Print JSON instead of tables.")] = False,
    events: Annotated[int, typer.Option("--events", min=0, max=500, help="How many recent events.")] = 10,
) -> None:
    """Show one customer's unified profile: attributes, 360 figures, consents, traits, recent events."""
    from cdp.profile import unified_profile

    cdp = _open(db, create=False)
    try:
        data = unified_profile(cdp, id_or_identifier, recent_events=events)
    finally:
        cdp.conn.close()
    if as_json:
        typer.echo(json.dumps(data, indent=2, ensure_ascii=False))
        return
    _print_profile(data)


def _shown(value: Any) -> str:
    """CDP text as a terminal should show it: markup escaped, control characters made visible."""
    from cdp.input_checks import visible

    text = json.dumps(value, ensure_ascii=False) if isinstance(value, dict) else str(value)
    return escape(visible(text))


def _print_profile(data: dict[str, Any]) -> None:
    console = Console()
    p = {k: _shown(v if v is not None else "") for k, v in data["profile"].items()}
    name = " ".join(x for x in (p["first_name"], p["last_name"]) if x) or "(no name)"
    console.print(
        f"[bold]{p['profile_id']}[/bold]  {name}  {p['tier']}  {p['city']} {p['country']}"
        f"  language {p['language'] or '-'}  signed up {p['signup_at']}  (matched by {data['matched_by']})",
        highlight=False,
    )
    figures = Table(title="customer_360", show_header=False)
    for key, value in data["customer_360"].items():
        if key not in p:
            figures.add_row(key, "" if value is None else _shown(value))
    console.print(figures)
    for title, rows in (
        ("consents", data["consents"]),
        ("traits", data["traits"]),
        ("identifiers", data["identities"]),
        ("merged records", data["merged_from"]),
        ("open tickets", data["open_tickets"]),
        ("recent events", data["recent_events"]),
    ):
        if not rows:
            console.print(f"{title}: none", highlight=False)
            continue
        table = Table(title=title)
        for column in rows[0]:
            table.add_column(column)
        for row in rows:
            table.add_row(*(_shown(v) for v in row.values()))
        console.print(table)


def register(app: typer.Typer) -> None:
    """Add the data commands to the `cdp-agents` app."""
    app.command("seed")(seed)
    app.command("import")(import_)
    app.command("profile")(profile)
