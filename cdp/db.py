"""Open the CDP: one SQLite file shared by every agent, process and SQLite client.

A CDP file carries this product's mark, `PRAGMA application_id = APPLICATION_ID`. `open_cdp` looks
at a file's header before it writes anything: another application's database, or a file that is
not SQLite at all, is refused and left byte for byte as it was (no schema, no WAL switch, no side
files). A CDP made before the mark existed (only our migrations, our core tables, no mark) gets the
mark on its next open by a command that writes; a command that only reads (`create=False`) reads it
as it is and writes nothing to it.

WAL or journal files left beside a missing or empty path (a deleted CDP's -wal, -shm or -journal)
are refused: SQLite would replay the deleted database's last changes into the new file.
"""

from __future__ import annotations

import os
import sqlite3
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Literal
from urllib.parse import quote

import sqlite_utils

from cdp import clock
from cdp.errors import CdpError, CdpUnavailableError
from cdp.migrations import MIGRATIONS

DEFAULT_DB = "data/cdp.db"
BUSY_TIMEOUT_MS = 30_000
#: `PRAGMA application_id` of every CDP file: "CDPA" as a big-endian 32-bit integer.
APPLICATION_ID = 0x43445041
_SQLITE_MAGIC = b"SQLite format 3\x00"
_HEADER_BYTES = 100
_APPLICATION_ID_OFFSET = 68

FileKind = Literal["missing", "empty", "cdp", "unmarked-cdp"]
#: Files (device, inode) this process has checked or created as CDPs; see `_connect_checked`.
_VERIFIED: set[tuple[int, int]] = set()
#: Those of `_VERIFIED` found to be CDPs from before the mark, still unmarked (read-only opens).
_UNMARKED: set[tuple[int, int]] = set()
#: Tables of `m001_core` that every CDP has: a file whose migrations table says "cdp" but which
#: lacks one of them is another application's database.
CORE_TABLES = frozenset({"cdp_clock", "profiles", "identities", "events", "consents", "tickets"})
#: What SQLite keeps beside a database between connections, and replays into a file of that name.
SIDE_SUFFIXES = ("-wal", "-shm", "-journal")
_OPENING = threading.Lock()


class NotACdpError(CdpError, ValueError):
    """The file is not a CDP: another application's SQLite database, or not SQLite at all."""


class NoCdpError(CdpError, LookupError):
    """There is no CDP at the path, and the command only reads one."""


class StraySideFilesError(CdpError, ValueError):
    """A deleted database's -wal/-shm/-journal sit beside a missing or empty path."""


class OutdatedCdpError(CdpError, ValueError):
    """A CDP from before the mark with pending migrations, opened by a command that only reads."""


def stray_side_files(target: Path) -> list[Path]:
    """The -wal, -shm and -journal files beside `target`."""
    return [p for p in (Path(f"{target}{s}") for s in SIDE_SUFFIXES) if p.exists()]


def _refuse_strays(target: Path) -> None:
    if strays := stray_side_files(target):
        names = ", ".join(str(p) for p in strays)
        raise StraySideFilesError(
            f"{target} is {'empty' if target.exists() else 'missing'} but {names} of a deleted database "
            "sit beside it (SQLite would replay them into the new file): delete them, or move them away "
            "with the database they belong to, then try again"
        )


def default_db_path() -> str:
    """`CDP_AGENTS_DB` names the CDP file everywhere; `data/cdp.db` otherwise."""
    return os.environ.get("CDP_AGENTS_DB") or DEFAULT_DB


def sqlite_connection(db) -> sqlite3.Connection:
    """The raw connection behind a `sqlite_utils.Database`, or `db` itself when it already is one
    (the gate and the staging code run inside callers' transactions on either)."""
    return db.conn if hasattr(db, "conn") else db


def connect(path: str | os.PathLike[str]) -> sqlite3.Connection:
    """A raw connection with the pragmas every CDP user needs (WAL, busy timeout, foreign keys off).

    `check_same_thread=False` because LangGraph runs sync nodes in a thread pool; each node still
    opens its own connection, so no connection is used by two threads at once.
    """
    conn = sqlite3.connect(str(path), timeout=BUSY_TIMEOUT_MS / 1000, check_same_thread=False)
    conn.execute(f"PRAGMA busy_timeout = {BUSY_TIMEOUT_MS}")
    conn.execute("PRAGMA synchronous = NORMAL")
    return conn


def _not_a_cdp(target: Path, why: str) -> NotACdpError:
    return NotACdpError(
        f"{target} is not a CDP ({why}); it was left unchanged: pass the --db of a CDP, or a new path "
        "to `cdp-agents seed`"
    )


def inspect_file(target: Path) -> FileKind:
    """What is at `target`, read without writing anything; raises `NotACdpError` for a foreign file.

    Call it only when this process has no connection to `target` open (see `_connect_checked`).

    The header says whether the file is SQLite and whose it is. An unmarked SQLite file is read
    read-only, `immutable` when it has no WAL beside it, so SQLite creates no -wal or -shm file.
    """
    if not target.exists():
        _refuse_strays(target)
        return "missing"
    if target.is_dir():
        raise _not_a_cdp(target, "it is a folder")
    try:
        with open(target, "rb") as fh:
            header = fh.read(_HEADER_BYTES)
    except OSError as exc:
        raise CdpUnavailableError(f"cannot read {target}: {exc.strerror or exc}") from exc
    if not header:
        _refuse_strays(target)
        return "empty"
    if len(header) < _HEADER_BYTES or not header.startswith(_SQLITE_MAGIC):
        raise _not_a_cdp(target, "not an SQLite database")
    app_id = int.from_bytes(header[_APPLICATION_ID_OFFSET : _APPLICATION_ID_OFFSET + 4], "big")
    if app_id == APPLICATION_ID:
        return "cdp"
    if app_id != 0:
        raise _not_a_cdp(target, f"an SQLite database of another application, application_id {app_id}")
    wal = target.with_name(target.name + "-wal")
    uri = f"file:{quote(str(target.resolve()))}?mode=ro" + ("" if wal.exists() else "&immutable=1")
    try:
        conn = sqlite3.connect(uri, uri=True)
        try:
            names = {row[0] for row in conn.execute("SELECT name FROM sqlite_master")}
            applied = (
                {
                    row[0]
                    for row in conn.execute(
                        "SELECT name FROM _sqlite_migrations WHERE migration_set = ?", [MIGRATIONS.name]
                    )
                }
                if "_sqlite_migrations" in names
                else set()
            )
        finally:
            conn.close()
    except sqlite3.DatabaseError as exc:
        raise _not_a_cdp(target, f"an unreadable SQLite database: {exc}") from exc
    if not names:
        return "empty"
    # Only our migrations, and our core tables: a migrations row alone is easy to have by chance.
    if applied and applied <= _our_migrations() and names >= CORE_TABLES:
        return "unmarked-cdp"
    raise _not_a_cdp(target, "an SQLite database of another application")


def _our_migrations() -> set[str]:
    return {m.name for m in MIGRATIONS._migrations}


def _pending_migrations(conn: sqlite3.Connection) -> set[str]:
    """Our migrations not yet applied, read without creating the migrations table."""
    applied = {
        row[0]
        for row in conn.execute(
            "SELECT name FROM _sqlite_migrations WHERE migration_set = ?", [MIGRATIONS.name]
        )
    }
    return _our_migrations() - applied


def _file_identity(target: Path) -> tuple[int, int] | None:
    try:
        st = os.stat(target)
    except FileNotFoundError:
        return None
    return (st.st_dev, st.st_ino)


def _connect_checked(target: Path, create: bool, writes: bool) -> tuple[sqlite3.Connection, FileKind]:
    """A connection to `target` once it is known to be a CDP (or a new one), and what it was; the
    caller holds `_OPENING`.

    On POSIX, closing any descriptor of a file drops every lock this process holds on it, SQLite's
    included. Reading the header with a descriptor of our own while a connection of this process
    has the file open could let another process checkpoint or delete the WAL under that
    connection, and corrupt the CDP. So the header is read once per file per process, before the
    first connection and under a lock; later opens check the mark through SQLite itself (an
    unmarked CDP opened read-only is remembered in `_UNMARKED`, so it is not inspected again).

    Only `writes` (a command that writes) marks an unmarked CDP; a read-only open writes nothing.
    """
    ident = _file_identity(target)
    kind: FileKind | None = None
    if ident is not None and ident in _VERIFIED:
        conn = connect(target)
        app_id = conn.execute("PRAGMA application_id").fetchone()[0]
        if app_id == APPLICATION_ID:
            return conn, "cdp"
        if app_id == 0 and ident in _UNMARKED:
            kind = "unmarked-cdp"
        else:
            conn.close()  # another file now has that inode: look at it afresh
            _VERIFIED.discard(ident)
            _UNMARKED.discard(ident)
    if kind is None:
        kind = inspect_file(target)
        if kind in ("missing", "empty") and not create:
            raise NoCdpError(f"no CDP at {target}: run cdp-agents seed or import first")
        target.parent.mkdir(parents=True, exist_ok=True)
        conn = connect(target)
    if kind != "cdp" and writes:
        conn.execute(f"PRAGMA application_id = {APPLICATION_ID}")
        kind = "cdp" if kind == "unmarked-cdp" else kind
    if (ident := _file_identity(target)) is not None:
        _VERIFIED.add(ident)
        if kind == "unmarked-cdp":
            _UNMARKED.add(ident)
        else:
            _UNMARKED.discard(ident)
    return conn, kind


def file_kind(target: Path) -> FileKind:
    """`inspect_file`, safe to call while this process has `target` open (see `_connect_checked`)."""
    with _OPENING:
        ident = _file_identity(target)
        if ident is not None and ident in _VERIFIED:
            uri = f"file:{quote(str(target.resolve()))}?mode=ro"
            conn = sqlite3.connect(uri, uri=True, timeout=BUSY_TIMEOUT_MS / 1000)
            try:
                app_id = conn.execute("PRAGMA application_id").fetchone()[0]
                if app_id == APPLICATION_ID:
                    return "cdp"
                if app_id == 0 and ident in _UNMARKED:
                    return "unmarked-cdp"
            finally:
                conn.close()
            _VERIFIED.discard(ident)
            _UNMARKED.discard(ident)
        return inspect_file(target)


def open_cdp(
    path: str | os.PathLike[str] | None = None,
    *,
    migrate: bool = True,
    create: bool = True,
    writes: bool | None = None,
) -> sqlite_utils.Database:
    """Open the CDP at `path` (creating it when `create`), apply pending migrations and sync the clock.

    Commands that only read pass `create=False`: a missing or empty file then raises `NoCdpError`
    and nothing is created, and (unless `writes=True`: a command that writes to an existing CDP
    but must not create one) a CDP from before the mark is read as it is (no mark, no WAL switch,
    no migration; `OutdatedCdpError` when it lacks migrations). Any file that is not a CDP raises
    `NotACdpError` before anything is written to it (see `inspect_file`); WAL or journal files of a
    deleted database beside a missing or empty path raise `StraySideFilesError`.

    The clock is written only when `CDP_NOW` is set; otherwise a clock pinned earlier (by `CDP_NOW`
    or `clock.set_clock`, possibly from another process) stays pinned, see `cdp.clock`.

    WAL mode lets readers and one writer work at once across processes; the busy timeout makes a
    writer wait for another instead of failing with "database is locked".
    """
    target = Path(path or default_db_path())
    try:
        with _OPENING:
            conn, kind = _connect_checked(target, create, create or bool(writes))
        db = sqlite_utils.Database(conn)
        if kind == "unmarked-cdp":  # read-only: no mark, no WAL switch, no migration, no clock
            if pending := _pending_migrations(conn):
                conn.close()
                raise OutdatedCdpError(
                    f"{target} is a CDP of an earlier version ({len(pending)} schema updates pending); "
                    "this command only reads and left it unchanged: run a command that writes to it "
                    "first (cdp-agents run or import), which brings it up to date"
                )
            return db
        if db.journal_mode != "wal":
            db.enable_wal()
        if migrate:
            MIGRATIONS.apply(db)
            clock.sync_clock(db)
    except sqlite3.OperationalError as exc:
        raise CdpUnavailableError(f"cannot open CDP at {target}: {exc}") from exc
    return db


@contextmanager
def cdp_session(path: str | os.PathLike[str]) -> Iterator[sqlite_utils.Database]:
    """A connection for one node or task run, always closed (nodes run in a thread pool)."""
    db = open_cdp(path)
    try:
        yield db
    finally:
        db.conn.close()


def memory_cdp() -> sqlite_utils.Database:
    """An in-memory CDP with the full schema, for quick unit tests."""
    db = sqlite_utils.Database(memory=True)
    db.execute(f"PRAGMA application_id = {APPLICATION_ID}")
    MIGRATIONS.apply(db)
    clock.sync_clock(db)
    return db
