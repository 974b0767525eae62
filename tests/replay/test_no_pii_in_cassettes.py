"""No CDP email, phone number or last name appears in any request body of any recorded cassette, and
the product's own detector finds no email, phone, card or IBAN of any kind in them either."""

from __future__ import annotations

import re
import sqlite3

import yaml

from cdp.redact import find_pii
from tests.replay.record import CASSETTES, SEED, SEED_CUSTOMERS
from tests.seeded import seeded_copy


def _pii(db_path) -> tuple[set[str], set[str]]:
    conn = sqlite3.connect(db_path)
    try:
        exact = {r[0] for r in conn.execute("SELECT value FROM identities WHERE kind IN ('email', 'phone')")}
        names = {r[0] for r in conn.execute("SELECT DISTINCT last_name FROM profiles WHERE last_name <> ''")}
    finally:
        conn.close()
    return {v for v in exact if v}, {n for n in names if n}


def test_no_pii_in_any_request_body(tmp_path):
    exact, last_names = _pii(seeded_copy(tmp_path, SEED_CUSTOMERS, SEED))
    assert exact and last_names
    name_re = re.compile(r"\b(" + "|".join(re.escape(n) for n in sorted(last_names)) + r")\b")
    cassettes = sorted(CASSETTES.glob("*.yaml"))
    assert len(cassettes) >= 6
    bodies = 0
    for path in cassettes:
        for interaction in yaml.safe_load(path.read_text())["interactions"]:
            body = interaction["request"]["body"] or ""
            bodies += 1
            leaked = [v for v in exact if v in body]
            assert not leaked, f"{path.name}: PII in a request body: {leaked[:3]}"
            found = name_re.search(body)
            assert found is None, f"{path.name}: last name {found.group(0)!r} in a request body"
            detected = find_pii(body)
            assert not detected, f"{path.name}: personal data in a request body: {detected[:3]}"
    assert bodies > 50
