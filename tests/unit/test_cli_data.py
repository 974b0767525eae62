"""`cdp-agents seed`, `import` and `profile` through typer's CliRunner."""

from __future__ import annotations

import json

import pytest
from typer.testing import CliRunner

from cdp import open_cdp
from cli.main import app
from tests.seeded import seeded_copy

runner = CliRunner()


def _run(*args: str):
    return runner.invoke(app, list(args))


def test_seed_prints_a_summary_that_matches_the_db(tmp_path):
    path = tmp_path / "cdp.db"
    result = _run("seed", "--customers", "300", "--seed", "3", "--db", str(path))
    assert result.exit_code == 0, result.output
    db = open_cdp(path)
    profiles = db.execute("SELECT count(*) FROM profiles").fetchone()[0]
    events = db.execute("SELECT count(*) FROM events").fetchone()[0]
    assert profiles == 300
    assert "profiles (resolved)" in result.stdout and f"{events:,}" in result.stdout
    assert "at-risk" in result.stdout and "consent email" in result.stdout


def test_seed_uses_cdp_agents_db_and_refuses_a_full_cdp(tmp_path, monkeypatch):
    path = tmp_path / "env.db"
    monkeypatch.setenv("CDP_AGENTS_DB", str(path))
    assert _run("seed", "--customers", "40").exit_code == 0
    again = _run("seed", "--customers", "40")
    assert again.exit_code == 1
    assert again.stderr.strip().startswith("error: the CDP already holds 40 profiles")
    assert len(again.stderr.strip().splitlines()) == 1 and "Traceback" not in again.output


def test_seed_rejects_bad_arguments(tmp_path):
    result = _run("seed", "--customers", "0", "--db", str(tmp_path / "x.db"))
    assert result.exit_code == 2


def test_import_good_and_bad_files(tmp_path):
    path = tmp_path / "cdp.db"
    good = tmp_path / "profiles.csv"
    good.write_text("profile_id,country,signup_at\nc1,DE,2025-01-01\nc2,US,2025-02-01\n")
    result = _run("import", str(good), "--db", str(path))
    assert result.exit_code == 0, result.output
    assert "2 rows, 2 written" in result.stdout
    bad = tmp_path / "more.csv"
    bad.write_text("profile_id,country,signup_at\nc3,FR,2025-01-01\nc4,Frnace,2025-02-01\n")
    result = _run("import", str(bad), "--kind", "profiles", "--db", str(path))
    assert result.exit_code == 1
    assert "line 3:" in result.stderr and "country" in result.stderr
    assert open_cdp(path).execute("SELECT count(*) FROM profiles").fetchone()[0] == 2
    for args in (("--kind", "people"), ()):
        target = str(tmp_path / "nope.csv") if not args else str(good)
        result = _run("import", target, *args, "--db", str(path))
        assert result.exit_code == 1 and result.stderr.startswith("error:")


@pytest.fixture
def seeded(tmp_path):
    return seeded_copy(tmp_path, customers=400, seed=9)


def _some_merge(path):
    db = open_cdp(path)
    merged, master = db.execute(
        "SELECT merged_profile_id, master_profile_id FROM profile_merges WHERE via_kind = 'email' LIMIT 1"
    ).fetchone()
    email = db.execute(
        "SELECT value FROM identities WHERE kind = 'email' AND profile_id = ?", [master]
    ).fetchone()[0]
    phone = db.execute("SELECT value, profile_id FROM identities WHERE kind = 'phone' LIMIT 1").fetchone()
    return merged, master, email, phone


def test_profile_by_any_identifier(seeded):
    merged, master, email, (phone, phone_owner) = _some_merge(seeded)
    by_email = _run("profile", email.upper(), "--db", str(seeded), "--json")
    assert by_email.exit_code == 0, by_email.output
    data = json.loads(by_email.stdout)
    assert data["profile"]["profile_id"] == master and data["matched_by"] == "email"
    assert data["customer_360"]["profile_id"] == master
    assert {"consents", "traits", "recent_events", "merged_from"} <= set(data)
    assert merged in {m["merged_profile_id"] for m in data["merged_from"]}
    by_old_id = json.loads(_run("profile", merged, "--db", str(seeded), "--json").stdout)
    assert (by_old_id["profile"]["profile_id"], by_old_id["matched_by"]) == (master, "merged_id")
    formatted = f"{phone[:2]} ({phone[2:5]}) {phone[5:8]}-{phone[8:]}"
    by_phone = json.loads(_run("profile", formatted, "--db", str(seeded), "--json").stdout)
    assert by_phone["profile"]["profile_id"] == phone_owner and by_phone["matched_by"] == "phone"
    crm = json.loads(_run("profile", "CRM-0000001", "--db", str(seeded), "--json").stdout)
    assert crm["matched_by"] in ("crm_id", "merged_id", "profile_id")


def test_profile_tables_and_unknown_ids(seeded):
    result = _run("profile", "p0000002", "--db", str(seeded))
    assert result.exit_code == 0, result.output
    assert "customer_360" in result.stdout and "churn_risk" in result.stdout
    missing = _run("profile", "nobody@example.com", "--db", str(seeded))
    assert missing.exit_code == 1
    assert (
        missing.stderr.startswith("error: no profile matches")
        and len(missing.stderr.strip().splitlines()) == 1
    )


@pytest.mark.parametrize("command", ["seed", "import", "profile"])
def test_help_on_every_command(command):
    result = _run(command, "--help")
    assert result.exit_code == 0 and "--db" in result.stdout
