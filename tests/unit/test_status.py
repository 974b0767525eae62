"""Campaign and run status have one owner, `cdp.status`: its transition tables, checked on a real CDP
with plain SQL, and a scan of the product's code for any other writer of a status."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from cdp import status as cdp_status
from cdp.status import (
    CAMPAIGN_STATUSES,
    CAMPAIGN_TRANSITIONS,
    RUN_STATUSES,
    RUN_TRANSITIONS,
    StatusTransitionError,
    UnknownStatusError,
)

ROOT = Path(__file__).resolve().parents[2]
#: Product packages (tests and benchmarks write fixtures and reference rows as they like).
PACKAGES = ("cdp", "agents", "graph", "cli", "llm", "prompts", "report")
T0 = "2026-11-24T12:00:00Z"
T1 = "2026-11-25T08:00:00Z"


def _campaign(db, cid: str, status: str) -> None:
    db.execute(
        "INSERT INTO campaigns (campaign_id, name, objective, status, created_at, updated_at) VALUES (?, ?, ?, ?, ?, ?)",
        [cid, cid, "o", status, T0, T0],
    )
    db.conn.commit()


def _run(db, tid: str, status: str) -> None:
    db.execute(
        "INSERT INTO runs (thread_id, objective, status, created_at, updated_at) VALUES (?, 'o', ?, ?, ?)",
        [tid, status, T0, T0],
    )
    db.conn.commit()


def _row(db, sql: str, params) -> tuple:
    return tuple(db.execute(sql, params).fetchone())


def test_the_tables_cover_exactly_the_vocabularies():
    assert set(CAMPAIGN_TRANSITIONS) == set(CAMPAIGN_STATUSES)
    assert set(RUN_TRANSITIONS) == set(RUN_STATUSES)
    for table, vocabulary in ((CAMPAIGN_TRANSITIONS, CAMPAIGN_STATUSES), (RUN_TRANSITIONS, RUN_STATUSES)):
        for frm, tos in table.items():
            assert tos <= set(vocabulary), frm
            assert frm not in tos, "same to same is always allowed, never listed"


def test_every_allowed_campaign_move_is_written_and_stamped(cdp_db):
    pairs = [(f, t) for f, tos in CAMPAIGN_TRANSITIONS.items() for t in sorted(tos)]
    assert len(pairs) >= 15
    for i, (frm, to) in enumerate(pairs):
        cid = f"c{i}"
        _campaign(cdp_db, cid, frm)
        assert cdp_status.set_campaign_status(cdp_db, cid, to, at=T1) is True
        assert _row(cdp_db, "SELECT status, updated_at FROM campaigns WHERE campaign_id = ?", [cid]) == (
            to,
            T1,
        )
    moved = cdp_db.execute("SELECT count(*) FROM campaigns WHERE updated_at = ?", [T1]).fetchone()[0]
    assert moved == len(pairs)


def test_every_forbidden_campaign_move_raises_and_changes_nothing(cdp_db):
    forbidden = [
        (f, t)
        for f in CAMPAIGN_STATUSES
        for t in CAMPAIGN_STATUSES
        if t != f and t not in CAMPAIGN_TRANSITIONS[f]
    ]
    assert ("completed", "scheduled") in forbidden and ("running", "planned") in forbidden
    for i, (frm, to) in enumerate(forbidden):
        cid = f"f{i}"
        _campaign(cdp_db, cid, frm)
        with pytest.raises(StatusTransitionError, match=f"from '{frm}' to '{to}'"):
            cdp_status.set_campaign_status(cdp_db, cid, to, at=T1)
    assert cdp_db.execute("SELECT count(*) FROM campaigns WHERE updated_at = ?", [T1]).fetchone()[0] == 0
    assert cdp_db.execute("SELECT count(*) FROM campaigns").fetchone()[0] == len(forbidden)


def test_same_to_same_is_idempotent_and_only_from_skips_other_statuses(cdp_db):
    _campaign(cdp_db, "c", "scheduled")
    assert cdp_status.set_campaign_status(cdp_db, "c", "scheduled", at=T1) is True
    assert _row(cdp_db, "SELECT status, updated_at FROM campaigns WHERE campaign_id = 'c'", []) == (
        "scheduled",
        T1,
    )
    # a run that ends leaves a scheduled campaign as it is
    assert cdp_status.set_campaign_status(cdp_db, "c", "failed", only_from=("planned",)) is False
    assert _row(cdp_db, "SELECT status FROM campaigns WHERE campaign_id = 'c'", []) == ("scheduled",)


def test_unknown_status_and_unknown_campaign_are_clear_errors(cdp_db):
    _campaign(cdp_db, "c", "planned")
    with pytest.raises(UnknownStatusError, match="'launched' is not a campaign status"):
        cdp_status.set_campaign_status(cdp_db, "c", "launched")
    with pytest.raises(LookupError, match="unknown campaign 'nope'"):
        cdp_status.set_campaign_status(cdp_db, "nope", "scheduled")


def test_the_clock_stamps_updated_at_when_no_instant_is_given(cdp_db):
    _campaign(cdp_db, "c", "planned")
    cdp_status.set_campaign_status(cdp_db, "c", "scheduled")
    # conftest pins the CDP clock at 2026-11-24T12:00:00Z
    assert _row(cdp_db, "SELECT updated_at FROM campaigns WHERE campaign_id = 'c'", []) == (T0,)


def test_inside_a_callers_transaction_the_write_is_the_callers_to_commit(cdp_db):
    _campaign(cdp_db, "c", "planned")
    conn = cdp_db.conn
    conn.execute("UPDATE campaigns SET budget = 5 WHERE campaign_id = 'c'")  # opens a transaction
    cdp_status.set_campaign_status(conn, "c", "scheduled", at=T1)
    assert conn.in_transaction
    conn.rollback()
    assert _row(cdp_db, "SELECT status, budget FROM campaigns WHERE campaign_id = 'c'", []) == (
        "planned",
        None,
    )


def test_every_allowed_run_move_and_no_forbidden_one(cdp_db):
    allowed = [(f, t) for f, tos in RUN_TRANSITIONS.items() for t in sorted(tos)]
    for i, (frm, to) in enumerate(allowed):
        _run(cdp_db, f"r{i}", frm)
        cdp_status.set_run_status(cdp_db, f"r{i}", to, at=T1)
    assert cdp_db.execute("SELECT count(*) FROM runs WHERE updated_at = ?", [T1]).fetchone()[0] == len(
        allowed
    )
    assert sorted(r[0] for r in cdp_db.execute("SELECT status FROM runs")) == sorted(t for _, t in allowed)
    for frm in ("completed", "refused", "needs_input"):
        _run(cdp_db, f"done-{frm}", frm)
        with pytest.raises(StatusTransitionError, match="it is final"):
            cdp_status.set_run_status(cdp_db, f"done-{frm}", "running", at=T1)
    # A failed run may only run again (resume after its model endpoint failed), never end otherwise.
    _run(cdp_db, "done-failed", "failed")
    for to in ("completed", "interrupted", "needs_input"):
        with pytest.raises(StatusTransitionError):
            cdp_status.set_run_status(cdp_db, "done-failed", to, at=T1)
    assert cdp_db.execute("SELECT count(*) FROM runs WHERE updated_at = ?", [T1]).fetchone()[0] == len(
        allowed
    )
    with pytest.raises(LookupError, match="unknown run"):
        cdp_status.set_run_status(cdp_db, "ghost", "interrupted")


def test_record_run_inserts_once_then_moves_and_keeps_the_first_settings(cdp_db):
    common = {"objective": "o", "protocol": "hub", "model": "scripted"}
    cdp_status.record_run(cdp_db, "t", "running", campaign_id=None, settings='{"a": 1}', **common)
    cdp_status.record_run(cdp_db, "t", "completed", campaign_id="c1", settings='{"a": 2}', **common)
    assert _row(cdp_db, "SELECT status, campaign_id, settings FROM runs WHERE thread_id = 't'", []) == (
        "completed",
        "c1",
        '{"a": 1}',
    )
    with pytest.raises(StatusTransitionError, match="from 'completed' to 'running'"):
        cdp_status.record_run(cdp_db, "t", "running", campaign_id=None, settings=None, **common)
    assert cdp_db.execute("SELECT count(*) FROM runs").fetchone()[0] == 1


WRITES = [
    re.compile(r"UPDATE\s+(campaigns|runs)\s+SET\s+[^;]*?\bstatus\s*=", re.I | re.S),
    re.compile(r"INSERT\s+(OR\s+\w+\s+)?INTO\s+runs\b", re.I),
    re.compile(r"INSERT\s+(OR\s+\w+\s+)?INTO\s+campaigns\s*\([^)]*\bstatus\b", re.I | re.S),
]


def _product_modules():
    for package in PACKAGES:
        for path in sorted((ROOT / package).rglob("*.py")):
            if "migrations" in path.parts or path == ROOT / "cdp" / "status.py":
                continue
            yield path


def test_no_module_but_cdp_status_writes_a_campaign_or_run_status():
    modules = list(_product_modules())
    assert len(modules) > 50
    offenders = []
    for path in modules:
        # statements only: a write spans at most a few lines of one string
        text = path.read_text(encoding="utf-8")
        for pattern in WRITES:
            for match in pattern.finditer(text):
                if match.group(0).count("\n") <= 3:
                    offenders.append(f"{path.relative_to(ROOT)}: {match.group(0)[:60]!r}")
    assert offenders == []


def test_the_scan_finds_a_status_write_when_there_is_one():
    planted = (
        'db.execute(\n    "UPDATE campaigns SET updated_at = ?, status = ? WHERE campaign_id = ?", [...])'
    )
    assert any(p.search(planted) for p in WRITES)
    assert any(p.search('"INSERT INTO runs (thread_id, status) VALUES (?, ?)"') for p in WRITES)
    assert not any(p.search('"UPDATE sends SET status = ? WHERE send_id = ?"') for p in WRITES)
