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


def _formats_epilog() -> str:
    """The formats `import --help` lists: every kind's columns, and the presets (from the field table)."""
    from cdp import fields

    parts = ["Formats (CSV with a header row, or JSONL with one object per line):"]
    for kind in fields.KINDS:
        cols = ", ".join(
            f"{name}{'*' if req == 'required' else ''} ({typ})" for name, req, typ, _ in fields.describe(kind)
        )
        parts.append(f"{kind}: {cols}")
    parts.append(
        "* = required. Timestamps are ISO 8601 (2026-01-31 or 2026-01-31T09:30:00Z, UTC unless an offset "
        "is given). `cdp-agents import --template KIND` writes an example file."
    )
    try:
        from cdp.mapping import PRESETS

        parts.append("Presets (--from): " + ", ".join(PRESETS) + ".")
    except ImportError:  # pragma: no cover - the presets ship with the package
        pass
    return "\n\n".join(parts)


@_user_errors
def import_(
    file: Annotated[Path | None, typer.Argument(help="A .csv or .jsonl file.", show_default=False)] = None,
    kind: Annotated[
        str | None,
        typer.Option(
            "--kind",
            help="profiles, identities, consents, events or tickets (default: from the file name or its columns).",
            show_default=False,
        ),
    ] = None,
    preset: Annotated[
        str | None,
        typer.Option(
            "--from",
            help="Read another tool's export: shopify-customers, shopify-orders, mailchimp-audience, "
            "stripe-customers or segment-jsonl.",
            show_default=False,
        ),
    ] = None,
    maps: Annotated[
        list[str] | None,
        typer.Option(
            "--map",
            help="COLUMN=FIELD: read a column as a field (repeatable; FIELD - drops the column).",
            show_default=False,
        ),
    ] = None,
    errors: Annotated[
        Path | None,
        typer.Option("--errors", help="Write every problem found to this CSV file.", show_default=False),
    ] = None,
    encoding: Annotated[
        str | None,
        typer.Option(
            "--encoding",
            help="utf-8, utf-16 or latin-1 (default: UTF-8, or UTF-16 when the file shows it).",
            show_default=False,
        ),
    ] = None,
    delimiter: Annotated[
        str | None,
        typer.Option(
            "--delimiter", help="comma, semicolon, tab or pipe (default: detected).", show_default=False
        ),
    ] = None,
    region: Annotated[
        str | None,
        typer.Option(
            "--region",
            help="Country of phone numbers written without a country code, e.g. GB (default: none).",
            show_default=False,
        ),
    ] = None,
    template: Annotated[
        str | None,
        typer.Option(
            "--template",
            help="Write an example CSV of KIND to FILE (or stdout) and stop.",
            metavar="KIND",
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

    Every problem of the file is reported in one pass, each with its line and column; a file with any
    problem writes nothing. An import that fails into a path where no CDP was leaves no file behind.
    """
    from cdp.importer import KINDS, ImportFileError, ImportProblems, import_file

    if template is not None:
        _write_template(template, file)
        return
    if file is None:
        raise ImportFileError("name the file to import (or pass --template KIND)")
    if kind is not None and kind not in KINDS:
        raise ImportFileError(f"unknown --kind {kind!r}; expected one of {', '.join(KINDS)}")
    if kind is not None and (preset or maps):
        raise ImportFileError(
            "--kind names a file of this product's own format; --from and --map read other files"
        )
    if file.is_dir():
        raise ImportFileError(f"{file} is a folder, not a file")
    if not file.exists():
        raise ImportFileError(f"no such file: {file}")
    if not file.is_file():  # a device or a pipe would be read forever or block
        raise ImportFileError(f"{file} is not a regular file")
    if region is not None:
        from cdp.normalize import country_code

        try:
            region = country_code(region)
        except ValueError as exc:
            raise ImportFileError(f"--region: {exc}") from None
    target = Path(db or default_db_path())
    if errors is not None:
        _check_errors_path(errors, file, target)
    created = _absent(target)
    sink = _ErrorsFile(errors) if errors is not None else None
    cdp = _open(target)
    done = False
    try:
        with _progress(file) as advance:
            result = import_file(
                cdp, file, kind, create_profiles=create_profiles, preset=preset, maps=maps or (),
                encoding=encoding, delimiter=delimiter, region=region,
                on_problem=sink.add if sink else None, progress=advance,
            )  # fmt: skip
        done = True
    except ImportProblems as exc:
        _report_problems(exc, file, errors)
    finally:
        cdp.conn.close()
        if sink is not None:
            sink.close()
        if created and not done:
            _remove_cdp(target)
    _report(result, file)


def _check_errors_path(errors: Path, file: Path, target: Path) -> None:
    """`--errors` must name a new file of its own: never the file being imported or the CDP."""
    from cdp.importer import ImportFileError

    taken = [file, *(Path(f"{target}{side}") for side in _SIDE_FILES)]
    if errors.exists() and not errors.is_file():
        raise ImportFileError(f"--errors {errors} is not a regular file")
    for other in taken:
        if errors.resolve() == other.resolve() or (
            errors.exists() and other.exists() and errors.samefile(other)
        ):
            raise ImportFileError(
                f"--errors {errors} is the file being imported or the CDP; name another file"
            )


def _write_template(kind: str, file: Path | None) -> None:
    from cdp import fields
    from cdp.importer import ImportFileError

    if kind not in fields.KINDS:
        raise ImportFileError(f"unknown --template {kind!r}; expected one of {', '.join(fields.KINDS)}")
    text = fields.template(kind)
    if file is None:
        typer.echo(text, nl=False)
        return
    if file.exists():
        raise ImportFileError(f"{file} exists; --template writes a new file only")
    file.write_text(text, encoding="utf-8")
    Console(stderr=True).print(f"Wrote an example {kind} file to {_shown(file)}.", highlight=False)


class _ErrorsFile:
    """`--errors FILE`: every problem as a CSV row (line, column, problem), written as it is found."""

    def __init__(self, path: Path):
        from cdp.csvsafe import write_csv

        self.path = path
        self.handle = path.open("w", encoding="utf-8", newline="")
        self.rows: list[tuple[int, str, str]] = []
        write_csv(self.handle, ("line", "column", "problem"), [])

    def add(self, problem) -> None:
        self.rows.append((problem.line, problem.column, problem.message))
        if len(self.rows) >= 1000:
            self.flush()

    def flush(self) -> None:
        from cdp.csvsafe import append_csv

        append_csv(self.handle, self.rows)
        self.rows.clear()

    def close(self) -> None:
        self.flush()
        self.handle.close()


def _report_problems(exc, file: Path, errors: Path | None) -> None:
    """Every problem (the first 50 on the terminal), then exit 1: nothing of the file was written."""
    from cdp.importer import SHOWN_PROBLEMS

    console = Console(stderr=True, soft_wrap=True, highlight=False)
    if exc.total == 1:
        _fail(str(exc))
    console.print(
        f"[red]error:[/red] {exc.total:,} problems in {_shown(file.name)} ({escape(exc.described)}); "
        "nothing was imported",
    )
    for problem in exc.problems[:SHOWN_PROBLEMS]:
        console.print(f"  {_shown(str(problem))}")
    if exc.total > SHOWN_PROBLEMS:
        rest = f"{exc.total - SHOWN_PROBLEMS:,} more"
        console.print(
            f"  ... and {rest}"
            + (f": all are in {_shown(errors)}" if errors else "; --errors FILE writes them all")
        )
    elif errors is not None:
        console.print(f"  (also written to {_shown(errors)})")
    raise typer.Exit(1)


def _progress(file: Path):
    """A progress bar on a terminal for a file of more than a few MB; nothing otherwise."""
    import contextlib

    console = Console(stderr=True)
    if not console.is_terminal or file.stat().st_size < 4 << 20:
        return contextlib.nullcontext(None)
    from rich.progress import BarColumn, DownloadColumn, Progress, TimeRemainingColumn, TransferSpeedColumn

    @contextlib.contextmanager
    def bar():
        with Progress(
            "[progress.description]{task.description}", BarColumn(), DownloadColumn(), TransferSpeedColumn(),
            TimeRemainingColumn(), console=console, transient=True,
        ) as progress:  # fmt: skip
            task = progress.add_task(f"importing {file.name}", total=file.stat().st_size)
            yield lambda done, total: progress.update(task, completed=done, total=total)

    return bar()


def _report(result, file: Path) -> None:
    merged = f", {result.merged} profiles merged" if result.merged else ""
    if len(result.by_kind) <= 1:
        Console().print(
            f"Imported {result.kind} from {_shown(file.name)}: {result.rows} rows, {result.written} written, "
            f"{result.skipped} already present or older{merged}.",
            highlight=False,
        )
    else:
        parts = ", ".join(f"{k} {v[1]:,} written of {v[0]:,}" for k, v in result.by_kind.items())
        Console().print(
            f"Imported {_shown(file.name)} with {escape(result.kind)}: {result.rows:,} rows; {parts}{merged}.",
            highlight=False,
        )
    for reason, count in result.ignored.items():
        Console().print(f"  {count:,} rows skipped: {_shown(reason)}", highlight=False)


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
    app.command("import", epilog=_formats_epilog())(import_)
    app.command("profile")(profile)
