"""Import CSV or JSONL files of profiles, identities, consents or events into the CDP.

Every row is validated (pydantic models of `cdp.ingest`) before anything is written; the first bad
row stops the import with its line number, and the whole file is then written in one transaction,
so a file is imported entirely or not at all. A file that is not clean UTF-8 text (another encoding,
a binary file, control characters, an overlong line or cell, JSON nested too deep, a quote left
open) is refused the same way, with the line where the problem is.
"""

from __future__ import annotations

import csv
import os
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Literal, cast

from pydantic import BaseModel, ValidationError

from cdp import clock
from cdp.errors import CdpError, ImportRowError
from cdp.event_owner import foreign_tickets, taken_message_ids
from cdp.identity import resolve_identities
from cdp.ingest import (
    ConsentIn,
    EventIn,
    IdentityIn,
    ProfileIn,
    derived_message_id,
    live_ids,
    row_context,
    write_consents,
    write_events,
    write_identities,
    write_profiles,
)
from cdp.input_checks import MAX_FIELD_CHARS, control_char, describe_char, loads_json

ImportKind = Literal["profiles", "identities", "consents", "events"]
KINDS: tuple[ImportKind, ...] = ("profiles", "identities", "consents", "events")
MODELS: dict[ImportKind, type[BaseModel]] = {
    "profiles": ProfileIn,
    "identities": IdentityIn,
    "consents": ConsentIn,
    "events": EventIn,
}
# Words in a file name that say what it holds (checked in this order).
_NAME_HINTS: tuple[tuple[str, ImportKind], ...] = (
    ("identit", "identities"),
    ("consent", "consents"),
    ("event", "events"),
    ("profile", "profiles"),
    ("customer", "profiles"),
)


class ImportFileError(CdpError, ValueError):
    """The file cannot be imported as a whole (unknown format or kind, unreadable, empty)."""


@dataclass(frozen=True)
class ImportResult:
    """What an import wrote. `skipped` counts rows already present (re-sent events, stale consents)."""

    path: str
    kind: ImportKind
    rows: int
    written: int
    skipped: int
    merged: int = 0


def _format(path: Path) -> Literal["csv", "jsonl"]:
    suffix = path.suffix.lower()
    if suffix == ".csv":
        return "csv"
    if suffix in (".jsonl", ".ndjson", ".json"):
        return "jsonl"
    raise ImportFileError(f"{path.name}: unknown file type {suffix or '(none)'}; use .csv or .jsonl")


#: Longest physical line accepted; longer lines are refused before they are parsed.
MAX_LINE_BYTES = 1 << 20
#: Most columns a CSV header may have (every kind has fewer than ten).
MAX_COLUMNS = 64
_BOMS: tuple[tuple[bytes, str], ...] = (
    (b"\xff\xfe\x00\x00", "UTF-32"),
    (b"\x00\x00\xfe\xff", "UTF-32"),
    (b"\xff\xfe", "UTF-16"),
    (b"\xfe\xff", "UTF-16"),
)
_CSV_PROBLEMS = (
    ("field larger than field limit", f"a cell is longer than {MAX_FIELD_CHARS:,} characters"),
    ("unexpected end of data", "a quote is never closed: the quoted cell runs to the end of the file"),
    ("expected after", 'a quote closes in the middle of a cell (write a quote inside a cell as "")'),
    ("new-line character seen in unquoted field", "a line break inside a cell"),
)


def _text_lines(handle) -> Iterator[tuple[int, str]]:
    """(line number, text) for each physical line of a binary file that is clean UTF-8 text.

    A file in another encoding, a binary file, an overlong line and raw control characters are
    refused here, with the line they are on, before any parser sees them.
    """
    head = handle.read(4)
    for bom, encoding in _BOMS:
        if head.startswith(bom):
            raise ImportRowError(1, f"the file is {encoding} text; save it as UTF-8")
    handle.seek(3 if head.startswith(b"\xef\xbb\xbf") else 0)
    number = 0
    while raw := handle.readline(MAX_LINE_BYTES + 1):
        number += 1
        if len(raw) > MAX_LINE_BYTES:
            raise ImportRowError(number, f"the line is longer than {MAX_LINE_BYTES:,} bytes")
        try:
            text = raw.decode("utf-8")
        except UnicodeDecodeError as exc:
            column = len(raw[: exc.start].decode("utf-8", errors="replace")) + 1
            raise ImportRowError(
                number,
                f"not UTF-8 text (byte 0x{raw[exc.start]:02x} at column {column}); "
                "save the file as UTF-8 (a binary, Latin-1 or UTF-16 file cannot be imported)",
            ) from None
        body = text.removesuffix("\n").removesuffix("\r")
        bad = control_char(body.replace("\t", " "), multiline=False)
        if bad == "\x00":
            raise ImportRowError(
                number, "a NUL byte is not allowed (a binary or UTF-16 file? save it as UTF-8)"
            )
        if bad == "\r":
            raise ImportRowError(number, "a carriage return inside the line (mixed line endings?)")
        if bad is not None:
            raise ImportRowError(number, f"the control character {describe_char(bad)} is not allowed")
        yield number, text


def _csv_problem(exc: csv.Error) -> str:
    text = str(exc)
    return next((say for key, say in _CSV_PROBLEMS if key in text), f"not valid CSV ({text})")


def _csv_rows(lines: Iterator[tuple[int, str]]) -> Iterator[tuple[int, dict[str, Any]]]:
    """Rows of a CSV file; a row must be one physical line (a quote left open would swallow lines)."""
    reader = csv.reader((text for _, text in lines), strict=True)
    try:
        header = next(reader, None)
    except csv.Error as exc:
        raise ImportRowError(1, _csv_problem(exc)) from None
    if header is None:
        return
    if reader.line_num != 1:
        raise ImportRowError(1, "the header row runs over several lines: a quote is not closed")
    if len(header) > MAX_COLUMNS:
        raise ImportRowError(1, f"{len(header):,} columns; a file has at most {MAX_COLUMNS}")
    names = [h.strip() for h in header]
    for name in names:
        if name and names.count(name) > 1:
            raise ImportRowError(1, f"column {name!r} appears more than once")
    while True:
        start = reader.line_num + 1
        try:
            cells = next(reader, None)
        except csv.Error as exc:
            raise ImportRowError(start, _csv_problem(exc)) from None
        if cells is None:
            return
        if reader.line_num != start:
            raise ImportRowError(
                start,
                f"a quoted cell runs on to line {reader.line_num}: is a closing quote missing?",
            )
        if not cells:
            continue
        if len(cells) > len(names):
            raise ImportRowError(start, "more cells than header columns")
        if any(not k and v.strip() for k, v in zip(names, cells, strict=False)):
            raise ImportRowError(start, "a value under a column that has no name in the header")
        yield start, {k: (v if v != "" else None) for k, v in zip(names, cells, strict=False) if k}


def read_rows(path: str | os.PathLike[str]) -> Iterator[tuple[int, dict[str, Any]]]:
    """(line number, row) for each data row; CSV empty cells become None.

    Anything that is not clean UTF-8 CSV or JSONL raises ImportRowError naming its line.
    """
    p = Path(path)
    if p.is_dir():
        raise ImportFileError(f"{p} is a folder, not a file")
    if p.exists() and not p.is_file():  # a device or a pipe would be read forever or block
        raise ImportFileError(f"{p} is not a regular file")
    fmt = _format(p)
    try:
        handle = p.open("rb")
    except OSError as exc:
        raise ImportFileError(f"cannot read {p}: {exc.strerror or exc}") from None
    with handle:
        lines = _text_lines(handle)
        if fmt == "csv":
            limit = csv.field_size_limit(MAX_FIELD_CHARS)
            try:
                yield from _csv_rows(lines)
            finally:
                csv.field_size_limit(limit)
            return
        for number, line in lines:
            if not line.strip():
                continue
            try:
                data = loads_json(line, strings=False)
            except ValueError as exc:
                raise ImportRowError(number, str(exc)) from None
            if not isinstance(data, dict):
                raise ImportRowError(number, "each line must be one JSON object")
            yield number, data


def infer_kind(path: str | os.PathLike[str], columns: set[str]) -> ImportKind:
    """What a file holds: from its name (`events.jsonl`), else from its columns."""
    name = Path(path).name.lower()
    for hint, kind in _NAME_HINTS:
        if hint in name:
            return kind
    if "type" in columns:
        return "events"
    if {"channel", "status"} <= columns:
        return "consents"
    if {"kind", "value"} <= columns:
        return "identities"
    if "profile_id" in columns:
        return "profiles"
    raise ImportFileError(
        f"{Path(path).name}: cannot tell what the file holds; pass --kind ({', '.join(KINDS)})"
    )


def _message(exc: ValidationError) -> str:
    err = exc.errors()[0]
    loc = ".".join(str(p) for p in err["loc"])
    msg = str(err["msg"]).removeprefix("Value error, ")
    return f"{loc}: {msg}" if loc else msg


def validate_file(
    path: str | os.PathLike[str], kind: ImportKind | None = None, *, context: dict[str, Any] | None = None
) -> tuple[ImportKind, list]:
    """Every row of the file as a validated model, or ImportRowError at the first bad line.

    `context` is the row models' validation context (`cdp.ingest.row_context(db)`: timestamps are
    checked against that CDP's clock); without it, against `CDP_NOW` or the wall clock.
    """
    rows = list(read_rows(path))
    if not rows:
        raise ImportFileError(f"{Path(path).name}: the file has no rows")
    if kind is None:
        kind = infer_kind(path, set(rows[0][1]))
    elif kind not in MODELS:
        raise ImportFileError(f"unknown kind {kind!r}; expected one of {', '.join(KINDS)}")
    model = MODELS[kind]
    models = []
    for line, row in rows:
        if kind == "events" and isinstance(row.get("properties"), str):
            try:
                row["properties"] = loads_json(row["properties"])
            except ValueError as exc:
                raise ImportRowError(line, f"properties: {exc}") from None
        try:
            models.append((line, model.model_validate(row, context=context)))
        except ValidationError as exc:
            raise ImportRowError(line, _message(exc)) from None
        except RecursionError:
            raise ImportRowError(line, "a value is nested too deeply") from None
    return kind, models


def import_file(
    db, path: str | os.PathLike[str], kind: ImportKind | None = None, *, create_profiles: bool = False
) -> ImportResult:
    """Validate the whole file, then write it in one transaction (all rows or none).

    Consents, identities and events must name profiles that exist (or were merged); the first that
    does not is reported by line, since a mistyped id would otherwise become a new, empty customer.
    `create_profiles=True` lets events create the profiles they name, as live ingestion does.
    Timestamps later than the CDP clock (plus `FUTURE_SKEW`) are refused.
    """
    kind, numbered = validate_file(path, kind, context=row_context(db))
    lines = [line for line, _ in numbered]
    models = [m for _, m in numbered]
    conn = db.conn
    now = clock.now_iso(db)
    errors: list[str] = []
    merged = 0
    if conn.in_transaction:
        conn.execute("COMMIT")
    conn.execute("BEGIN IMMEDIATE")
    try:
        if kind == "profiles":
            written = write_profiles(conn, cast(list[ProfileIn], models), now)
            skipped = len(models) - written
        elif kind == "consents":
            _require_profiles(conn, models, lines)
            written, skipped, _ = write_consents(conn, cast(list[ConsentIn], models), now, errors)
        elif kind == "identities":
            _require_profiles(conn, models, lines)
            written, skipped, _, keys = write_identities(conn, cast(list[IdentityIn], models), now, errors)
            if keys:
                merged = resolve_identities(db, keys=keys).merged
        else:
            if not create_profiles:
                _require_profiles(conn, models, lines, "import its profile first or pass --create-profiles")
            tuples = [_event_tuple(cast(EventIn, m), now) for m in models]
            _require_own_tickets(conn, tuples, lines)
            written, skipped, _ = write_events(conn, tuples, now, True, errors)
        conn.execute("COMMIT")
    except BaseException:
        conn.execute("ROLLBACK")
        raise
    return ImportResult(str(path), kind, len(models), written, skipped, merged)


def _event_tuple(m: EventIn, now: str) -> tuple[str, str, str, str, str]:
    ts = m.ts or now
    props = cast(str, m.properties)
    return (
        m.message_id or derived_message_id(m.profile_id, m.type, ts, props),
        m.profile_id,
        m.type,
        ts,
        props,
    )


def _require_own_tickets(conn, tuples: list[tuple[str, str, str, str, str]], lines: list[int]) -> None:
    """Raise ImportRowError for the first event that names another customer's ticket or reuses the
    message_id of another customer's event (it would be skipped as a duplicate)."""
    merged, _ = live_ids(conn, (t[1] for t in tuples))
    mapped = [(m, merged.get(pid, pid), kind, ts, props) for m, pid, kind, ts, props in tuples]
    problems = {**foreign_tickets(conn, mapped), **taken_message_ids(conn, mapped)}
    if problems:
        first = min(problems)
        raise ImportRowError(lines[first], problems[first])


def _require_profiles(conn, models: list, lines: list[int], hint: str = "import its profile first") -> None:
    """Raise ImportRowError for the first row whose profile is neither live nor merged into one."""
    merged, live = live_ids(conn, (m.profile_id for m in models))
    for line, m in zip(lines, models, strict=True):
        if merged.get(m.profile_id, m.profile_id) not in live:
            raise ImportRowError(line, f"unknown profile_id {m.profile_id!r}; {hint}")
