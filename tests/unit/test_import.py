"""CSV and JSONL import: good files land whole, a bad row names its line and nothing is written."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from cdp.errors import ImportRowError
from cdp.importer import ImportFileError, import_file, infer_kind

PROFILES_CSV = """profile_id,first_name,last_name,country,city,language,tier,signup_at
c1,Ann,Lee,de,Berlin,de,premium,2025-01-01T00:00:00Z
c2,Bob,,US,,en,,2025-03-01
w1,,,,,,,2025-06-01T10:00:00+02:00
"""


def _write(tmp_path: Path, name: str, text: str) -> Path:
    path = tmp_path / name
    path.write_text(text, encoding="utf-8")
    return path


def _jsonl(tmp_path: Path, name: str, rows: list) -> Path:
    return _write(tmp_path, name, "\n".join(r if isinstance(r, str) else json.dumps(r) for r in rows) + "\n")


def _count(db, table: str) -> int:
    return db.execute(f"SELECT count(*) FROM {table}").fetchone()[0]


@pytest.fixture
def with_profiles(cdp_db, tmp_path):
    res = import_file(cdp_db, _write(tmp_path, "profiles.csv", PROFILES_CSV))
    assert (res.kind, res.rows, res.written) == ("profiles", 3, 3)
    return cdp_db


def test_profiles_csv(with_profiles):
    rows = with_profiles.execute(
        "SELECT profile_id, country, city, tier, signup_at FROM profiles ORDER BY 1"
    ).fetchall()
    assert rows == [
        ("c1", "DE", "Berlin", "premium", "2025-01-01T00:00:00Z"),
        ("c2", "US", None, "standard", "2025-03-01T00:00:00Z"),
        ("w1", None, None, "standard", "2025-06-01T08:00:00Z"),
    ]


def test_identities_jsonl_merge_and_consents_csv(with_profiles, tmp_path):
    db = with_profiles
    ids = _jsonl(
        tmp_path,
        "ids.jsonl",
        [
            {"profile_id": "c1", "kind": "email", "value": "Ann.Lee@Example.com", "source": "crm"},
            {"profile_id": "w1", "kind": "email", "value": "ann.lee@example.com", "source": "web"},
            {"profile_id": "c2", "kind": "phone", "value": "+1 555 000 1234"},
        ],
    )
    res = import_file(db, ids)  # kind from the columns: kind + value
    assert (res.kind, res.written, res.merged) == ("identities", 3, 1)
    assert (
        db.execute("SELECT master_profile_id FROM profile_merges WHERE merged_profile_id = 'w1'").fetchone()[
            0
        ]
        == "c1"
    )
    consents = _write(
        tmp_path,
        "consents.csv",
        "profile_id,channel,status,updated_at\nw1,email,granted,2026-01-01T00:00:00Z\nc2,sms,denied,\n",
    )
    res = import_file(db, consents)
    assert (res.kind, res.written) == ("consents", 2)
    assert db.execute("SELECT consent_email FROM customer_360 WHERE profile_id = 'c1'").fetchone()[0] == 1


def test_events_jsonl_is_idempotent(with_profiles, tmp_path):
    db = with_profiles
    path = _jsonl(
        tmp_path,
        "batch-7.jsonl",  # no hint in the name: the `type` column says events
        [
            {"message_id": "e1", "profile_id": "c1", "type": "purchase", "ts": "2026-11-01T00:00:00Z",
             "properties": {"amount": 20, "category": "shoes"}},
            "",
            {"message_id": "e2", "profile_id": "c2", "type": "page_view", "ts": "2026-11-02T00:00:00Z"},
        ],
    )  # fmt: skip
    first = import_file(db, path)
    again = import_file(db, path)
    assert (first.kind, first.rows, first.written) == ("events", 2, 2)
    assert (again.written, again.skipped) == (0, 2)
    assert db.execute("SELECT orders_count FROM profiles WHERE profile_id = 'c1'").fetchone()[0] == 1


def test_events_csv_with_json_properties(with_profiles, tmp_path):
    path = _write(
        tmp_path,
        "events.csv",
        'message_id,profile_id,type,ts,properties\ne9,c2,purchase,2026-11-03T00:00:00Z,"{""amount"": 9.5, '
        '""category"": ""books""}"\n',
    )
    assert import_file(with_profiles, path).written == 1
    assert (
        with_profiles.execute("SELECT lifetime_value FROM profiles WHERE profile_id = 'c2'").fetchone()[0]
        == 9.5
    )


BAD_FILES = [
    # (file name, content, expected line, words in the message, table that must not change)
    ("profiles.csv", PROFILES_CSV.replace("c2,Bob,,US", "c2,Bob,,Germny"), 3, "country", "profiles"),
    ("profiles.csv", PROFILES_CSV + "c4,Al,,US,,en,gold,2025-01-01\n", 5, "tier", "profiles"),
    ("profiles.csv", PROFILES_CSV + "c5,Al,,US,,en,vip,not-a-date\n", 5, "signup_at", "profiles"),
    ("profiles.csv", PROFILES_CSV + "c6,Al,,US,,en,vip,2025-01-01,extra\n", 5, "more cells", "profiles"),
    (
        "consents.jsonl",
        '{"profile_id": "c1", "channel": "email", "status": "granted"}\n\n'
        '{"profile_id": "c1", "channel": "fax", "status": "granted"}\n',
        3,
        "channel",
        "consents",
    ),
    (
        "consents.jsonl",
        '{"profile_id": "c1", "channel": "email", "status": "granted"}\n'
        '{"profile_id": "nobody", "channel": "sms", "status": "granted"}\n',
        2,
        "unknown profile_id",
        "consents",
    ),
    (
        "identities.jsonl",
        '{"profile_id": "c1", "kind": "email", "value": "x@example.com"}\n'
        '{"profile_id": "w1", "kind": "email", "value": "x@example.com"}\n'
        '{"profile_id": "c2", "kind": "email", "value": "broken"}\n',
        3,
        "not an email",
        "identity_links",
    ),
    (
        "events.jsonl",
        '{"message_id": "ok", "profile_id": "c1", "type": "page_view"}\n{"message_id": "bad"\n',
        2,
        "not valid JSON",
        "events",
    ),
    (
        "events.jsonl",
        '{"message_id": "ok", "profile_id": "c1", "type": "page_view"}\n'
        '{"message_id": "p", "profile_id": "c1", "type": "purchase", "properties": {"amount": "lots"}}\n',
        2,
        "amount",
        "events",
    ),
    (
        "events.jsonl",
        '{"message_id": "ok", "profile_id": "c1", "type": "page_view", "channel": "web"}\n',
        1,
        "channel",
        "events",
    ),
    ("events.jsonl", "[1, 2]\n", 1, "JSON object", "events"),
]


@pytest.mark.parametrize(("name", "content", "line", "words", "table"), BAD_FILES)
def test_bad_row_names_its_line_and_writes_nothing(
    with_profiles, tmp_path, name, content, line, words, table
):
    db = with_profiles
    before = {
        t: _count(db, t) for t in ("profiles", "consents", "identity_links", "events", "profile_merges")
    }
    path = _write(tmp_path, f"new-{name}", content)
    with pytest.raises(ImportRowError) as err:
        import_file(db, path)
    assert err.value.line == line
    assert str(err.value).startswith(f"line {line}:") and words in str(err.value)
    after = {t: _count(db, t) for t in before}
    assert after == before, table


def test_file_level_errors(cdp_db, tmp_path):
    with pytest.raises(ImportFileError, match="unknown file type"):
        import_file(cdp_db, _write(tmp_path, "data.xlsx", "x"))
    with pytest.raises(ImportFileError, match="no rows"):
        import_file(cdp_db, _write(tmp_path, "events.jsonl", "\n\n"))
    with pytest.raises(ImportFileError, match="cannot tell"):
        import_file(cdp_db, _write(tmp_path, "stuff.csv", "a,b\n1,2\n"))
    with pytest.raises(ImportFileError, match="cannot read"):
        import_file(cdp_db, tmp_path / "missing.csv")


def test_kind_inference():
    assert infer_kind("crm_customers.csv", set()) == "profiles"
    assert infer_kind("x.csv", {"profile_id", "channel", "status"}) == "consents"
    assert infer_kind("x.csv", {"profile_id", "kind", "value"}) == "identities"
    assert infer_kind("x.csv", {"profile_id", "first_name"}) == "profiles"
    assert infer_kind("consent_export.jsonl", {"type"}) == "consents"  # the name wins
