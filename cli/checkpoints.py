"""Where a run's checkpoints live, the check that a checkpoint file is one, and the durable graph.

Shared by the run commands (`cli/runs.py`) and `report` (`cli/reporting.py`), which both open a
run's checkpoints beside its CDP.
"""

from __future__ import annotations

import sqlite3
from contextlib import contextmanager
from pathlib import Path
from typing import TYPE_CHECKING
from urllib.parse import quote

from cdp.db import open_cdp, stray_side_files
from cdp.errors import CdpError
from cli.console import fail

if TYPE_CHECKING:
    from report.data import ReportData


def checkpoint_path(db_path: str) -> str:
    """Checkpoints live beside the CDP, named from its full file name so two CDPs never share one:
    `cdp.db` -> `cdp.checkpoints.db` (as always), any other name `a.sqlite` -> `a.sqlite.checkpoints`
    and `a` -> `a.checkpoints`."""
    p = Path(db_path)
    if p.suffix == ".db":
        return str(p.with_name(p.stem + ".checkpoints.db"))
    return str(p.with_name(p.name + ".checkpoints"))


#: The tables `SqliteSaver.setup` makes; a checkpoint file holds nothing else.
CHECKPOINT_TABLES = frozenset({"checkpoints", "writes"})
#: Checkpoint files (device, inode) this process has checked (see `cdp.db._connect_checked`: a
#: descriptor of our own, closed while a connection of this process is open, drops its locks).
_CHECKED: set[tuple[int, int]] = set()


def _check_checkpoint_file(path: Path) -> None:
    """Refuse, before writing anything, a checkpoint file that is not one: another application's
    SQLite database or not SQLite at all. Missing, empty or LangGraph-only files are fine."""

    def refuse(why: str) -> CdpError:
        return CdpError(
            f"{path} is not a checkpoint file of cdp-agents ({why}); it was left unchanged: move it "
            "away, then run again"
        )

    try:
        st = path.stat()
    except FileNotFoundError:
        st = None
    if st is not None and (st.st_dev, st.st_ino) in _CHECKED:
        # Checked before, and maybe open in this process: look through SQLite, never a descriptor
        # of our own (an inode freed and reused by another file is caught here too).
        try:
            conn = sqlite3.connect(path, timeout=30)
            try:
                app_id = conn.execute("PRAGMA application_id").fetchone()[0]
                tables = {r[0] for r in conn.execute("SELECT name FROM sqlite_master WHERE type = 'table'")}
            finally:
                conn.close()
        except sqlite3.DatabaseError as exc:
            raise refuse(f"an unreadable SQLite database: {exc}") from None
        if app_id != 0 or not tables <= CHECKPOINT_TABLES:
            raise refuse("an SQLite database of another application")
        return
    if st is None or st.st_size == 0:
        if strays := stray_side_files(path):
            raise refuse(
                f"{'empty' if st else 'missing'}, but {', '.join(map(str, strays))} of a deleted one "
                "sit beside it and SQLite would replay them; delete them"
            )
        return
    if path.is_dir():
        raise refuse("it is a folder")
    try:
        with open(path, "rb") as fh:
            header = fh.read(100)
    except OSError as exc:
        raise refuse(f"unreadable: {exc.strerror or exc}") from None
    if header:
        if len(header) < 100 or not header.startswith(b"SQLite format 3\x00"):
            raise refuse("not an SQLite database")
        if int.from_bytes(header[68:72], "big") != 0:
            raise refuse("an SQLite database of another application")
        wal = Path(f"{path}-wal").exists()
        uri = f"file:{quote(str(path.resolve()))}?mode=ro" + ("" if wal else "&immutable=1")
        try:
            conn = sqlite3.connect(uri, uri=True)
            try:
                tables = {r[0] for r in conn.execute("SELECT name FROM sqlite_master WHERE type = 'table'")}
            finally:
                conn.close()
        except sqlite3.DatabaseError as exc:
            raise refuse(f"an unreadable SQLite database: {exc}") from None
        if not tables <= CHECKPOINT_TABLES:
            raise refuse("an SQLite database of another application")
    _CHECKED.add((st.st_dev, st.st_ino))


@contextmanager
def durable_graph(db_path: str):
    # Imported before the checkpoint file is opened: loading LangGraph takes a while, and a file
    # checked first could change in between.
    from langgraph.checkpoint.sqlite import SqliteSaver

    from graph.graph import builder

    path = Path(checkpoint_path(db_path))
    try:
        _check_checkpoint_file(path)
    except CdpError as exc:
        raise fail(str(exc)) from None
    conn = sqlite3.connect(path, check_same_thread=False, timeout=30)
    conn.execute("PRAGMA journal_mode=WAL")
    # As for the CDP: in WAL mode a killed process loses no committed checkpoint; only a power cut
    # may lose the last few, and resume then repeats idempotent steps. Saves an fsync per superstep.
    conn.execute("PRAGMA synchronous=NORMAL")
    try:
        yield builder.compile(checkpointer=SqliteSaver(conn))
    finally:
        conn.close()


def load_report(db_path: str, thread_id: str) -> ReportData:
    """Read the run's checkpoints (when it left any) and the CDP; never creates a file."""
    from report.data import collect_report

    cdp = open_cdp(db_path, create=False)
    try:
        if Path(checkpoint_path(db_path)).exists():
            with durable_graph(db_path) as graph:
                return collect_report(cdp, thread_id, graph)
        return collect_report(cdp, thread_id)
    finally:
        cdp.conn.close()
