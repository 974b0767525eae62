"""Import CSV or JSONL files of profiles, identities, consents or events into the CDP.

Every row is validated (pydantic models of `cdp.ingest`) before anything is written; the first bad
row stops the import with its line number, and the whole file is then written in one transaction,
so a file is imported entirely or not at all.
"""

from __future__ import annotations

import csv
import json
import os
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Literal, cast

from pydantic import BaseModel, ValidationError

from cdp import clock
from cdp.errors import CdpError, ImportRowError
from cdp.identity import resolve_identities
from cdp.ingest import (
    ConsentIn,
    EventIn,
    IdentityIn,
    ProfileIn,
    derived_message_id,
    live_ids,
    write_consents,
    write_events,
    write_identities,
    write_profiles,
)

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


def read_rows(path: str | os.PathLike[str]) -> Iterator[tuple[int, dict[str, Any]]]:
    """(line number, row) for each data row; CSV empty cells become None. Bad JSON raises ImportRowError."""
    p = Path(path)
    fmt = _format(p)
    try:
        handle = p.open(encoding="utf-8-sig", newline="")
    except OSError as exc:
        raise ImportFileError(f"cannot read {p}: {exc.strerror or exc}") from None
    with handle:
        if fmt == "csv":
            reader = csv.DictReader(handle)
            if not reader.fieldnames:
                return
            for row in reader:
                if None in row:
                    raise ImportRowError(reader.line_num, "more cells than header columns")
                yield reader.line_num, {k.strip(): (v if v != "" else None) for k, v in row.items() if k}
        else:
            for number, line in enumerate(handle, start=1):
                if not line.strip():
                    continue
                try:
                    data = json.loads(line)
                except json.JSONDecodeError as exc:
                    raise ImportRowError(number, f"not valid JSON ({exc.msg})") from None
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


def validate_file(path: str | os.PathLike[str], kind: ImportKind | None = None) -> tuple[ImportKind, list]:
    """Every row of the file as a validated model, or ImportRowError at the first bad line."""
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
                row["properties"] = json.loads(row["properties"])
            except json.JSONDecodeError as exc:
                raise ImportRowError(line, f"properties: not valid JSON ({exc.msg})") from None
        try:
            models.append((line, model.model_validate(row)))
        except ValidationError as exc:
            raise ImportRowError(line, _message(exc)) from None
    return kind, models


def import_file(db, path: str | os.PathLike[str], kind: ImportKind | None = None) -> ImportResult:
    """Validate the whole file, then write it in one transaction (all rows or none).

    Consents and identities must name profiles that exist (or were merged); the first that does not
    is reported by line. Events for unknown profiles create them, as live ingestion does.
    """
    kind, numbered = validate_file(path, kind)
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
            tuples = [_event_tuple(cast(EventIn, m), now) for m in models]
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


def _require_profiles(conn, models: list, lines: list[int]) -> None:
    """Raise ImportRowError for the first row whose profile is neither live nor merged into one."""
    merged, live = live_ids(conn, (m.profile_id for m in models))
    for line, m in zip(lines, models, strict=True):
        if merged.get(m.profile_id, m.profile_id) not in live:
            raise ImportRowError(line, f"unknown profile_id {m.profile_id!r}; import its profile first")
