"""Import a file of profiles, identities, consents, events or tickets, or another tool's export.

A file is imported entirely or not at all, in one pass and in bounded memory:
- rows are read one at a time (`cdp.import_files`), mapped when the file is another tool's export
  (`cdp.mapping` presets and `--map`), and each checked by the field table (`cdp.fields`);
- valid rows are written in batches inside one transaction as they come, so checks that need the
  CDP (an unknown profile, another customer's ticket) see the rows before them;
- every problem is collected with its line and column, and reading goes on; at the end a file
  with any problem is rolled back as a whole and every problem is reported at once.

Re-importing a file writes nothing new: profiles are updated only where a value changes,
identifiers and events are keyed, and an event without a `message_id` gets one from its content
(the file's own timestamp, not the time of the import).
"""

from __future__ import annotations

import dataclasses
import itertools
import os
from collections import Counter
from collections.abc import Callable, Iterable, Iterator, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, NoReturn

from cdp import clock, fields, normalize
from cdp.errors import ImportRowError
from cdp.event_owner import foreign_tickets, taken_message_ids
from cdp.fields import Context, RowProblems, check_row
from cdp.identity import masters_of, resolve_identities
from cdp.import_files import DELIMITER_NAMES, ImportFileError, Problem, SourceFile
from cdp.ingest import (
    derived_message_id,
    live_ids,
    write_consents,
    write_events,
    write_identities,
    write_profiles,
)
from cdp.redact import redact

KINDS = fields.KINDS
#: Problems shown on the terminal; `--errors FILE` writes every one.
SHOWN_PROBLEMS = 50
#: Rows written per batch inside the import's transaction.
BATCH_ROWS = 5_000
# Words in a file name that say what it holds (checked in this order).
_NAME_HINTS: tuple[tuple[str, str], ...] = (
    ("identit", "identities"),
    ("consent", "consents"),
    ("ticket", "tickets"),
    ("event", "events"),
    ("profile", "profiles"),
    ("customer", "profiles"),
)
__all__ = ["KINDS", "ImportFileError", "ImportProblems", "ImportResult", "import_file", "infer_kind"]


class ImportProblems(ImportRowError):
    """Rows of the file are invalid; nothing of the file was written. `problems` holds them all."""

    def __init__(self, problems: Sequence[Problem], total: int, described: str):
        first = problems[0]
        more = f" (and {total - 1:,} more problems; nothing was imported)" if total > 1 else ""
        super().__init__(
            first.line, f"{first.column}: {first.message}{more}" if first.column else first.message + more
        )
        self.problems = list(problems)
        self.total = total
        self.described = described


@dataclass
class ImportResult:
    """What an import wrote. `skipped` counts rows already present (re-sent events, stale consents)."""

    path: str
    kind: str
    rows: int
    written: int
    skipped: int
    merged: int = 0
    by_kind: dict[str, list[int]] = field(default_factory=dict)  # kind -> [records, written, skipped]
    ignored: dict[str, int] = field(default_factory=dict)  # reason -> source rows a preset skipped
    described: str = ""


@dataclass
class _Pending:
    """One checked record waiting for its batch: where it came from and what it writes."""

    line: int
    kind: str
    values: dict[str, Any]
    key: tuple[str, str] | None = None


class Problems:
    """Every problem found, in memory up to `keep`, each also handed to `sink` (an errors file)."""

    def __init__(self, sink: Callable[[Problem], None] | None = None, keep: int = SHOWN_PROBLEMS):
        self.kept: list[Problem] = []
        self.total = 0
        self.sink = sink
        self.keep = keep

    def add(self, problem: Problem) -> None:
        # A message may quote a cell; an email or phone number in it is masked like any free text.
        problem = Problem(problem.line, problem.column, redact(problem.message))
        self.total += 1
        if len(self.kept) < self.keep:
            self.kept.append(problem)
        if self.sink is not None:
            self.sink(problem)


def infer_kind(path: str | os.PathLike[str], columns: Iterable[str]) -> str:
    """What a file holds: from its name (`events.jsonl`), else from its columns."""
    cols = set(columns)
    name = Path(path).name.lower()
    for hint, kind in _NAME_HINTS:
        if hint in name:
            return kind
    if "ticket_id" in cols and "type" not in cols:
        return "tickets"
    if "type" in cols:
        return "events"
    if {"channel", "status"} <= cols:
        return "consents"
    if {"kind", "value"} <= cols:
        return "identities"
    if "profile_id" in cols:
        return "profiles"
    raise ImportFileError(
        f"{Path(path).name}: cannot tell what the file holds; pass --kind ({', '.join(KINDS)}) "
        "or --from PRESET for another tool's export"
    )


def _header_problems(kind: str, columns: list[str]) -> list[Problem]:
    """A native file's header: every unknown column (with the nearest field) and missing required one."""
    problems = []
    known = fields.names(kind)
    for column in fields.unknown_columns(kind, columns):
        near = normalize.suggest(column, known, cutoff=0.6)
        hint = f"did you mean {near!r}? " if near else ""
        problems.append(
            Problem(
                1,
                column,
                f"not a column of {kind}; {hint}columns are {', '.join(known)} "
                "(or pass --map COLUMN=FIELD, or --from PRESET)",
            )
        )
    for name in fields.required(kind):
        if name not in columns:
            problems.append(
                Problem(1, name, f"required column missing (the header has: {', '.join(columns)})")
            )
    return problems


def _delimiter_hint(src: SourceFile, problems: list[Problem]) -> None:
    """A one-column header holding another delimiter: say which delimiter was assumed."""
    if src.format == "csv" and len(src.header) == 1 and problems:
        only = src.header[0]
        for d in (";", "\t", "|", ","):
            name = DELIMITER_NAMES[d]
            if d in only and d != src.delimiter:
                problems.insert(
                    0,
                    Problem(
                        1,
                        "",
                        f"the header was split on {src.described}; "
                        f"it looks {name}-separated: pass --delimiter {name}",
                    ),
                )
                return


def import_file(
    db,
    path: str | os.PathLike[str],
    kind: str | None = None,
    *,
    create_profiles: bool = False,
    preset: str | None = None,
    maps: Sequence[str] = (),
    encoding: str | None = None,
    delimiter: str | None = None,
    region: str | None = None,
    on_problem: Callable[[Problem], None] | None = None,
    progress: Callable[[int, int], None] | None = None,
) -> ImportResult:
    """Check and write the whole file in one transaction: every row or none (see the module doc).

    Consents, identities and events of a native file must name profiles that exist (or were merged,
    or come earlier in the file); a mistyped id would otherwise become a new, empty customer.
    `create_profiles=True` lets events create the profiles they name, as live ingestion does; an
    export read through a preset always may. ImportProblems lists every invalid row;
    ImportRowError alone means the rest of the file could not be read.
    """
    if kind is not None and kind not in KINDS:
        raise ImportFileError(f"unknown kind {kind!r}; expected one of {', '.join(KINDS)}")
    src = SourceFile(path, encoding=encoding, delimiter=delimiter)
    problems = Problems(on_problem)
    ctx = Context.now(db, region, lines_checked=src.format == "csv")
    stream = src.rows()
    try:
        first = _first(stream, problems)
    except ImportRowError as exc:
        _stop(problems, exc, src)
    if first is None:
        if problems.total:
            raise ImportProblems(problems.kept, problems.total, src.described)
        raise ImportFileError(f"{src.path.name}: the file has no rows")
    columns = src.header if src.format == "csv" else list(first[1])
    mapping = _mapping(preset, maps)
    if mapping is not None:
        header = [Problem(1, e.column, e.message) for e in mapping.check_columns(columns)]
        label = mapping.name
    else:
        kind = kind or infer_kind(src.path, columns)
        header = _header_problems(kind, columns) if src.format == "csv" else []
        label = kind
    if header:
        _delimiter_hint(src, header)
        for problem in header:
            problems.add(problem)
        raise ImportProblems(problems.kept, problems.total, src.described)
    writer = _Writer(db, problems, create_profiles or mapping is not None)
    csv_file = src.format == "csv"
    rows = ignored_total = 0
    ignored: Counter[str] = Counter()
    conn = db.conn
    if conn.in_transaction:
        conn.execute("COMMIT")
    conn.execute("BEGIN IMMEDIATE")
    try:
        batch: list[_Pending] = []
        for line, row, problem in itertools.chain((first,), stream):
            if problem is not None or row is None:
                problems.add(problem or Problem(line, "", "unreadable"))
                continue
            rows += 1
            if mapping is None:
                _check(batch, problems, line, str(kind), row, {}, None, ctx, checked_keys=csv_file)
            else:
                try:
                    records = mapping.records({k: (None if v == "" else v) for k, v in row.items()})
                except ValueError as exc:
                    problems.add(Problem(line, getattr(exc, "column", ""), getattr(exc, "message", str(exc))))
                    continue
                if not records:
                    ignored[mapping.skip_reason(row) or "nothing to import"] += 1
                    ignored_total += 1
                rctx = _row_context(ctx, records)
                for rec in records:
                    _check(batch, problems, line, rec.kind, rec.row, rec.columns, rec.key, rctx)
            if len(batch) >= BATCH_ROWS:
                writer.write(batch)
                batch = []
                if progress is not None:
                    progress(src.position, src.size)
        if batch:
            writer.write(batch)
        if progress is not None:
            progress(src.size, src.size)
        if problems.total:
            raise ImportProblems(sorted(problems.kept, key=lambda p: p.line), problems.total, src.described)
        if not rows:
            raise ImportFileError(f"{src.path.name}: the file has no rows")
        conn.execute("COMMIT")
    except ImportRowError as exc:
        conn.execute("ROLLBACK")
        if isinstance(exc, ImportProblems):
            raise
        _stop(problems, exc, src)
    except BaseException:
        conn.execute("ROLLBACK")
        raise
    totals = [sum(v[i] for v in writer.counts.values()) for i in range(3)]
    return ImportResult(
        str(path), label, rows, totals[1], totals[2], writer.merged,
        {k: v for k, v in writer.counts.items() if v[0]}, dict(ignored), src.described,
    )  # fmt: skip


def _stop(problems: Problems, exc: ImportRowError, src: SourceFile) -> NoReturn:
    """The read cannot go on: that problem joins the others (and the errors file), and all are raised."""
    problems.add(Problem(exc.line, "", str(exc).removeprefix(f"line {exc.line}: ")))
    raise ImportProblems(sorted(problems.kept, key=lambda p: p.line), problems.total, src.described) from None


def _first(stream: Iterator[tuple[int, dict[str, Any] | None, Problem | None]], problems: Problems):
    """The first readable row (problems before it are recorded), or None for an empty file."""
    for line, row, problem in stream:
        if row is not None:
            return line, row, None
        problems.add(problem or Problem(line, "", "unreadable"))
    return None


def _mapping(preset: str | None, maps: Sequence[str]):
    if preset is None and not maps:
        return None
    from cdp.mapping import load_preset, with_overrides

    try:
        base = load_preset(preset) if preset else None
        return with_overrides(base, maps) if maps else base
    except ValueError as exc:
        raise ImportFileError(str(exc)) from None


def _row_context(ctx: Context, records) -> Context:
    """A row's phone numbers without a country code are read in the row's own country when it has
    one (a German customer's `030 1234567`), else in `--region`."""
    for rec in records:
        country = rec.row.get("country") if rec.kind == "profiles" else None
        if isinstance(country, str) and country.strip():
            try:
                region = normalize.country_code(country)
            except ValueError:
                return ctx  # the profile's own check reports the country
            return ctx if region == ctx.region else dataclasses.replace(ctx, region=region)
    return ctx


def _check(batch, problems, line, kind, row, columns, key, ctx, *, checked_keys: bool = False) -> None:
    try:
        values = check_row(kind, row, ctx, checked_keys=checked_keys)
    except RowProblems as exc:
        for column, message in exc.problems:
            problems.add(Problem(line, columns.get(column, column), message))
        return
    batch.append(_Pending(line, kind, values, key))


class _Writer:
    """Writes checked batches in the open transaction, kind by kind, and records what each wrote."""

    def __init__(self, db, problems: Problems, create_profiles: bool):
        self.db = db
        self.conn = db.conn
        self.problems = problems
        self.create_profiles = create_profiles
        self.now = clock.now_iso(db)
        self.counts: dict[str, list[int]] = {
            k: [0, 0, 0] for k in ("profiles", "identities", "consents", "events")
        }
        self.merged = 0

    def _count(self, kind: str, offered: int, written: int) -> None:
        c = self.counts[kind]
        c[0], c[1], c[2] = c[0] + offered, c[1] + written, c[2] + offered - written

    def write(self, batch: list[_Pending]) -> None:
        self._link_keys(batch)
        by_kind: dict[str, list[_Pending]] = {}
        for p in batch:
            by_kind.setdefault("events" if p.kind == "tickets" else p.kind, []).append(p)
        errors: list[str] = []
        if rows := by_kind.get("profiles"):
            self._count("profiles", len(rows), write_profiles(self.conn, [p.values for p in rows], self.now))
        if rows := self._known(by_kind.get("identities", []), "import its profile first"):
            written, _, _, keys = write_identities(self.conn, [p.values for p in rows], self.now, errors)
            self._count("identities", len(rows), written)
            if keys:
                self.merged += resolve_identities(self.db, keys=keys).merged
        if rows := self._known(by_kind.get("consents", []), "import its profile first"):
            written, _, _ = write_consents(self.conn, [p.values for p in rows], self.now, errors)
            self._count("consents", len(rows), written)
        if rows := by_kind.get("events", []):
            if not self.create_profiles:
                rows = self._known(rows, "import its profile first or pass --create-profiles")
            self._events(rows)

    def _link_keys(self, batch: list[_Pending]) -> None:
        """Rows whose profile id was derived from an identifier join the profile that already holds it;
        a new one gets a bare profile, so its identifiers, consents and events have a customer."""
        keyed = [p for p in batch if p.key is not None]
        if not keyed:
            return
        found: dict[str, str] = {}
        for p in keyed:
            kind, value = p.key  # type: ignore[misc]
            pid = p.values.get("profile_id")
            if pid is None or pid in found:
                continue
            row = self.conn.execute(
                "SELECT profile_id FROM identities WHERE kind = ? AND value = ?", (kind, _stored(kind, value))
            ).fetchone()
            if row is not None:
                found[pid] = row[0]
        masters = masters_of(self.conn, list(found.values()))
        found = {derived: masters.get(pid, pid) for derived, pid in found.items()}
        profiled = {p.values["profile_id"] for p in batch if p.kind == "profiles"}
        for p in batch:
            pid = p.values.get("profile_id")
            if pid in found:
                p.values["profile_id"] = found[pid]
        new = {p.values["profile_id"]: p.line for p in keyed if p.values.get("profile_id") not in found}
        bare = [
            _Pending(line, "profiles", dict.fromkeys(fields.names("profiles")) | {"profile_id": pid})
            for pid, line in new.items()
            if pid not in profiled
        ]
        batch[:0] = bare

    def _known(self, rows: list[_Pending], hint: str) -> list[_Pending]:
        """The rows whose profile is live or merged into one; the others are problems of their line."""
        if not rows:
            return rows
        merged, live = live_ids(self.conn, (p.values["profile_id"] for p in rows))
        known = []
        for p in rows:
            pid = merged.get(p.values["profile_id"], p.values["profile_id"])
            if pid in live:
                p.values["profile_id"] = pid
                known.append(p)
            else:
                self.problems.add(
                    Problem(p.line, "profile_id", f"unknown profile_id {p.values['profile_id']!r}; {hint}")
                )
        return known

    def _events(self, rows: list[_Pending]) -> None:
        tuples = []
        for p in rows:
            v = p.values
            event_type = "support_ticket" if p.kind == "tickets" else v["type"]
            raw_ts = v.get("opened_at") if p.kind == "tickets" else v.get("ts")
            props = v["properties"]
            # Without a message_id, the id comes from the file's own content (not the import's time),
            # so importing the same file again finds every event already present.
            message_id = v.get("message_id") or derived_message_id(
                v["profile_id"], event_type, raw_ts or "", props
            )
            tuples.append((message_id, v["profile_id"], event_type, raw_ts or self.now, props))
        merged, _ = live_ids(self.conn, (t[1] for t in tuples))
        mapped = [(m, merged.get(pid, pid), kind, ts, props) for m, pid, kind, ts, props in tuples]
        bad = {**foreign_tickets(self.conn, mapped), **taken_message_ids(self.conn, mapped)}
        for i, reason in sorted(bad.items()):
            column = "ticket_id" if "ticket_id" in reason else "message_id"
            self.problems.add(Problem(rows[i].line, column, reason))
        good = [t for i, t in enumerate(mapped) if i not in bad]
        if good:
            inserted, _, _ = write_events(self.conn, good, self.now, True, [])
            self._count("events", len(good), inserted)


def _stored(kind: str, value: str) -> str:
    """An identifier in its stored form, for looking it up (unparseable values match nothing)."""
    from cdp.identity import normalize_identifier

    try:
        return normalize_identifier(kind, value)
    except ValueError:
        return value
