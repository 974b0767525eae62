"""Bringing one's own files: documented formats, every problem in one pass, any delimiter or encoding.

Through the real `cdp-agents import` on a real SQLite CDP: the help lists every kind's columns, a
template imports as it is, a file with many bad rows reports all of them (50 on the terminal, all in
`--errors`) and writes nothing, and importing the same file twice writes nothing the second time.
"""

from __future__ import annotations

import csv
import json
import re
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from typer.testing import CliRunner

from cdp import fields, open_cdp
from cdp.importer import ImportProblems, import_file
from cli.main import app

runner = CliRunner()
TABLES = ("profiles", "identities", "identity_links", "consents", "consent_history", "events", "tickets")


def _counts(db_path: Path) -> dict[str, int]:
    db = open_cdp(db_path)
    try:
        return {t: db.execute(f"SELECT count(*) FROM {t}").fetchone()[0] for t in TABLES}
    finally:
        db.conn.close()


def _import(db: Path, *args: str):
    return runner.invoke(app, ["import", *args, "--db", str(db)])


def test_help_lists_every_kind_with_its_required_columns():
    result = runner.invoke(app, ["import", "--help"], env={"COLUMNS": "200"})
    assert result.exit_code == 0
    text = " ".join(result.stdout.split())
    for kind in fields.KINDS:
        assert f"{kind}:" in text, kind
        for name, need, _, _ in fields.describe(kind):
            assert (f"{name}*" if need == "required" else f"{name} (") in text, (kind, name)
    for preset in ("shopify-customers", "mailchimp-audience", "segment-jsonl", "--template"):
        assert preset in text


def test_every_template_imports_as_it_is(tmp_path):
    db = tmp_path / "cdp.db"
    order = ["profiles", "identities", "consents", "events", "tickets"]
    assert sorted(order) == sorted(fields.KINDS)
    for kind in order:
        path = tmp_path / f"{kind}.csv"
        made = _import(db, str(path), "--template", kind)
        assert made.exit_code == 0, made.output
        header = path.read_text().splitlines()[0].split(",")
        assert header == list(fields.names(kind))
        result = _import(db, str(path))
        assert result.exit_code == 0, (kind, result.output)
    counts = _counts(db)
    assert counts["profiles"] == 1 and counts["identities"] == 1 and counts["consents"] == 1
    assert counts["events"] == 2 and counts["tickets"] == 1  # the purchase and the ticket's event
    again = _import(db, str(tmp_path / "profiles.csv"), "--template", "profiles")
    assert again.exit_code == 1 and "exists" in again.stderr  # a template never overwrites a file
    unknown = _import(db, "--template", "orders")
    assert unknown.exit_code == 1 and "profiles, identities" in unknown.stderr


def _bad_profiles(n_bad: int, n_good: int) -> str:
    rows = ["profile_id,first_name,country,tier,signup_at"]
    for i in range(n_good):
        rows.append(f"g{i},Ann,DE,premium,2025-01-01")
    for i in range(n_bad):
        rows.append([f"b{i},Bo,DE,gold,2025-01-01", f"b{i},=cmd(),DE,vip,2025-01-01",
                     f"b{i},Bo,DE,vip,2025-02-30", ",Bo,DE,vip,2025-01-01"][i % 4])  # fmt: skip
    return "\n".join(rows) + "\n"


def test_every_problem_is_reported_in_one_pass_and_nothing_is_written(tmp_path):
    db = tmp_path / "cdp.db"
    seed = tmp_path / "seed.csv"
    seed.write_text("profile_id\ns1\n")
    assert _import(db, str(seed)).exit_code == 0
    before = _counts(db)
    path = tmp_path / "profiles.csv"
    path.write_text(_bad_profiles(n_bad=73, n_good=20))
    errors = tmp_path / "problems.csv"
    result = _import(db, str(path), "--errors", str(errors))
    assert result.exit_code == 1
    lines = result.stderr.splitlines()
    assert lines[0].startswith("error: 73 problems in profiles.csv (read as UTF-8, comma-separated)")
    listed = [line for line in lines[1:] if re.match(r"  line \d+: \w+: ", line)]
    assert len(listed) == 50
    assert "23 more: all are in" in lines[-1]
    with errors.open(newline="", encoding="utf-8") as handle:
        rows = list(csv.DictReader(handle))
    assert len(rows) == 73
    assert {r["column"] for r in rows} == {"tier", "first_name", "signup_at", "profile_id"}
    assert sorted(int(r["line"]) for r in rows) == list(range(22, 95))  # header, 20 good rows, then bad
    assert not any(r["problem"].startswith("=") for r in rows)  # the errors file is formula-safe too
    assert _counts(db) == before


def test_one_row_with_two_problems_names_both_columns(cdp_db, tmp_path):
    path = tmp_path / "consents.csv"
    path.write_text("profile_id,channel,status\nx1,fax,maybe\n")
    with pytest.raises(ImportProblems) as err:
        import_file(cdp_db, path)
    assert [(p.line, p.column) for p in err.value.problems] == [(2, "channel"), (2, "status")]
    assert "fax" in str(err.value.problems[0]) and "granted, denied, revoked" in str(err.value.problems[1])


@pytest.mark.parametrize("delimiter", [";", "\t", "|", ","])
def test_the_delimiter_is_detected(tmp_path, delimiter):
    db = tmp_path / "cdp.db"
    path = tmp_path / "customers.csv"
    cols = ["profile_id", "first_name", "country", "signup_at"]
    path.write_text(
        delimiter.join(cols) + "\n" + delimiter.join(["c1", '"Lee, Ann"', "DE", "2025-01-01"]) + "\n"
    )
    result = _import(db, str(path))
    assert result.exit_code == 0, result.output
    row = open_cdp(db).execute("SELECT first_name, country FROM profiles WHERE profile_id = 'c1'").fetchone()
    assert tuple(row) == ("Lee, Ann", "DE")


def test_a_wrong_delimiter_is_named_in_the_refusal(tmp_path):
    path = tmp_path / "profiles.csv"
    path.write_text("profile_id;first_name\nc1;Ann\n")
    result = _import(tmp_path / "cdp.db", str(path), "--delimiter", "comma")
    assert result.exit_code == 1
    assert "semicolon-separated: pass --delimiter semicolon" in result.stderr
    assert "Field required" not in result.stderr


ENCODED = {
    "utf-8-bom": ("utf-8-sig", ()),
    "utf-16-bom": ("utf-16", ()),
    "utf-16-le-no-bom": ("utf-16-le", ()),
    "utf-16-be-no-bom": ("utf-16-be", ()),
    "latin-1-asked": ("latin-1", ("--encoding", "latin-1")),
    "windows-1252-asked": ("cp1252", ("--encoding", "cp1252")),
}


@pytest.mark.parametrize("case", sorted(ENCODED))
def test_encodings_are_detected_or_read_as_asked(tmp_path, case):
    codec, extra = ENCODED[case]
    db = tmp_path / "cdp.db"
    path = tmp_path / "profiles.csv"
    path.write_bytes("profile_id,first_name,last_name\nc1,José,Müller\nc2,Zoë,Ørsted\n".encode(codec))
    result = _import(db, str(path), *extra)
    assert result.exit_code == 0, result.output
    names = open_cdp(db).execute("SELECT first_name, last_name FROM profiles ORDER BY 1").fetchall()
    assert [tuple(n) for n in names] == [("José", "Müller"), ("Zoë", "Ørsted")]


def test_latin_1_is_never_guessed_and_the_refusal_says_what_was_assumed(tmp_path):
    path = tmp_path / "profiles.csv"
    path.write_bytes("profile_id,first_name\nc1,José\n".encode("latin-1"))
    result = _import(tmp_path / "cdp.db", str(path))
    assert result.exit_code == 1
    assert "read as UTF-8" in result.stderr and "--encoding latin-1" in result.stderr
    bad = _import(tmp_path / "cdp.db", str(path), "--encoding", "ebcdic")
    assert bad.exit_code == 1 and "unknown --encoding" in bad.stderr


REIMPORT = {
    "profiles.csv": "profile_id,first_name,country,tier,signup_at\nc1,Ann,UK,premium,2025-01-01\nc2,Bo,DE,,\n",
    "identities.csv": "profile_id,kind,value\nc1,email, Ann@Example.COM \nc2,cookie,ck-2\n",
    "consents.csv": "profile_id,channel,status\nc1,email,granted\nc2,sms,denied\n",
    "events.csv": "profile_id,type,properties.amount,properties.category\nc1,purchase,12.5,toys\nc2,page_view,,\n",
    "tickets.csv": "ticket_id,profile_id,status,subject\nT1,c1,open,Late parcel\n",
}


def test_importing_the_same_files_again_writes_nothing_new(tmp_path):
    db = tmp_path / "cdp.db"
    for name, text in REIMPORT.items():
        (tmp_path / name).write_text(text)
        result = _import(db, str(tmp_path / name))
        assert result.exit_code == 0, (name, result.output)
    first = _counts(db)
    assert first["events"] == 3 and first["tickets"] == 1 and first["identities"] == 2
    cdp = open_cdp(db)
    assert cdp.execute("SELECT value FROM identities WHERE kind = 'email'").fetchone()[0] == "ann@example.com"
    assert cdp.execute("SELECT country FROM profiles WHERE profile_id = 'c1'").fetchone()[0] == "GB"
    cdp.conn.close()
    for name in REIMPORT:
        result = _import(db, str(tmp_path / name))
        assert result.exit_code == 0, (name, result.output)
        assert ", 0 written," in " ".join(result.stdout.split()), (name, result.stdout)
    assert _counts(db) == first


def test_a_tickets_file_opens_and_closes_tickets(tmp_path):
    db = tmp_path / "cdp.db"
    (tmp_path / "profiles.csv").write_text("profile_id\nc1\nc2\n")
    assert _import(db, str(tmp_path / "profiles.csv")).exit_code == 0
    (tmp_path / "tickets.csv").write_text(
        "ticket_id,profile_id,status,opened_at\nT1,c1,open,2026-11-01\nT2,c2,open,2026-11-02\n"
    )
    assert _import(db, str(tmp_path / "tickets.csv")).exit_code == 0
    (tmp_path / "closed.csv").write_text("ticket_id,profile_id,status,opened_at\nT1,c1,closed,2026-11-03\n")
    assert _import(db, str(tmp_path / "closed.csv"), "--kind", "tickets").exit_code == 0
    cdp = open_cdp(db)
    assert dict(cdp.execute("SELECT ticket_id, status FROM tickets").fetchall()) == {
        "T1": "closed",
        "T2": "open",
    }
    cdp.conn.close()
    (tmp_path / "steal.csv").write_text("ticket_id,profile_id,status\nT2,c1,closed\n")
    stolen = _import(db, str(tmp_path / "steal.csv"), "--kind", "tickets")
    assert stolen.exit_code == 1 and "belongs to another profile" in stolen.stderr


@st.composite
def _rows(draw):
    good = [draw(st.booleans()) for _ in range(draw(st.integers(1, 30)))]
    lines = ["profile_id,tier,signup_at"]
    for i, ok in enumerate(good):
        bad_field = draw(st.sampled_from(["tier", "signup_at", "profile_id"]))
        tier = "vip" if ok or bad_field != "tier" else draw(st.sampled_from(["gold", "VIP!", "1"]))
        ts = (
            "2025-05-05"
            if ok or bad_field != "signup_at"
            else draw(st.sampled_from(["2025-02-30", "soon", "2999-01-01"]))
        )
        pid = f"h{i}" if ok or bad_field != "profile_id" else draw(st.sampled_from(["", "-x", "a b"]))
        lines.append(f"{pid},{tier},{ts}")
    return lines, good


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(case=_rows())
def test_a_file_lands_whole_or_not_at_all_with_one_problem_per_bad_row(cdp_db, tmp_path_factory, case):
    lines, good = case
    path = tmp_path_factory.mktemp("p") / "profiles.csv"
    path.write_text("\n".join(lines) + "\n")
    before = cdp_db.execute("SELECT count(*) FROM profiles").fetchone()[0]
    if all(good):
        result = import_file(cdp_db, path)
        assert result.rows == len(good)
        assert cdp_db.execute("SELECT count(*) FROM profiles WHERE profile_id LIKE 'h%'").fetchone()[
            0
        ] == len(good)
        cdp_db.execute("DELETE FROM profiles WHERE profile_id LIKE 'h%'")
        cdp_db.conn.commit()
        return
    with pytest.raises(ImportProblems) as err:
        import_file(cdp_db, path)
    bad_lines = [i + 2 for i, ok in enumerate(good) if not ok]
    assert sorted({p.line for p in err.value.problems}) == bad_lines
    assert err.value.total == len(bad_lines)
    assert cdp_db.execute("SELECT count(*) FROM profiles").fetchone()[0] == before


def test_jsonl_rows_report_unknown_keys_by_name(cdp_db, tmp_path):
    path = tmp_path / "profiles.jsonl"
    path.write_text(json.dumps({"profile_id": "j1", "frist_name": "Ann"}) + "\n")
    with pytest.raises(ImportProblems) as err:
        import_file(cdp_db, path)
    assert err.value.problems[0].column == "frist_name"


def test_a_misspelt_column_is_refused_with_the_nearest_name(cdp_db, tmp_path):
    path = tmp_path / "profiles.csv"
    path.write_text("profile_id,frist_name,contry\nc1,Ann,DE\n")
    with pytest.raises(ImportProblems) as err:
        import_file(cdp_db, path)
    messages = {p.column: p.message for p in err.value.problems}
    assert "did you mean 'first_name'" in messages["frist_name"]
    assert "did you mean 'country'" in messages["contry"]


def test_the_readme_documents_the_formats_the_importer_enforces():
    readme = (Path(__file__).resolve().parents[2] / "README.md").read_text(encoding="utf-8")
    start, end = readme.index("<!-- formats:start -->\n"), readme.index("<!-- formats:end -->")
    assert readme[start + len("<!-- formats:start -->\n") : end] == fields.markdown()


def test_a_big_file_is_read_as_a_stream_with_progress(cdp_db, tmp_path):
    path = tmp_path / "profiles.csv"
    rows = 12_345
    path.write_text("profile_id,tier\n" + "".join(f"s{i},vip\n" for i in range(rows)))
    seen: list[tuple[int, int]] = []
    result = import_file(cdp_db, path, progress=lambda done, total: seen.append((done, total)))
    assert result.rows == result.written == rows
    assert cdp_db.execute("SELECT count(*) FROM profiles WHERE tier = 'vip'").fetchone()[0] == rows
    size = path.stat().st_size
    assert len(seen) >= 3 and seen[-1] == (size, size)  # a batch at a time, then the end
    assert [d for d, _ in seen] == sorted(d for d, _ in seen)


EXPORTS = Path(__file__).resolve().parents[1] / "data" / "exports"
SAMPLES = [
    ("shopify-customers", "shopify_customers_export.csv"),
    ("shopify-orders", "shopify_orders_export.csv"),
    ("mailchimp-audience", "mailchimp_subscribed_members.csv"),
    ("mailchimp-audience", "mailchimp_unsubscribed_members.csv"),
    ("mailchimp-audience", "mailchimp_cleaned_members.csv"),
    ("mailchimp-audience", "mailchimp_nonsubscribed_members.csv"),
    ("stripe-customers", "stripe_customers.csv"),
    ("segment-jsonl", "segment.jsonl"),
]


@pytest.mark.parametrize(("preset", "name"), SAMPLES, ids=[s[1] for s in SAMPLES])
def test_every_sample_export_imports_through_its_preset_once(tmp_path, preset, name):
    db = tmp_path / "cdp.db"
    result = _import(db, str(EXPORTS / name), "--from", preset, "--region", "US")
    assert result.exit_code == 0, result.output
    first = _counts(db)
    assert first["profiles"] >= 1
    again = _import(db, str(EXPORTS / name), "--from", preset, "--region", "US")
    assert again.exit_code == 0, again.output
    assert _counts(db) == first  # the same export again writes nothing new
    cdp = open_cdp(db)
    try:  # every value stored in its normal form
        countries = {r[0] for r in cdp.execute("SELECT country FROM profiles WHERE country IS NOT NULL")}
        assert all(re.fullmatch(r"[A-Z]{2}", c) for c in countries), countries
        phones = [r[0] for r in cdp.execute("SELECT value FROM identities WHERE kind = 'phone'")]
        assert all(re.fullmatch(r"\+[1-9]\d{6,14}", p) for p in phones), phones
        emails = [r[0] for r in cdp.execute("SELECT value FROM identities WHERE kind = 'email'")]
        assert all(e == e.strip().lower() and "@" in e for e in emails), emails
    finally:
        cdp.conn.close()


def test_a_shops_orders_land_on_the_customers_its_customer_export_made(tmp_path):
    db = tmp_path / "cdp.db"
    for preset, name in SAMPLES[:2]:
        result = _import(db, str(EXPORTS / name), "--from", preset)
        assert result.exit_code == 0, result.output
    cdp = open_cdp(db)
    try:
        buyers = cdp.execute(
            """SELECT i.profile_id, count(*), round(sum(json_extract(e.properties, '$.amount')), 2)
               FROM events e JOIN identities i ON i.profile_id = e.profile_id AND i.kind = 'email'
               WHERE e.type = 'purchase' GROUP BY 1"""
        ).fetchall()
        owner = cdp.execute(
            "SELECT profile_id FROM identities WHERE kind = 'email' AND value = 'teo.villasenor@example.com'"
        ).fetchone()[0]
        assert owner in {b[0] for b in buyers}
        assert (
            sum(b[1] for b in buyers)
            == cdp.execute("SELECT count(*) FROM events WHERE type = 'purchase'").fetchone()[0]
        )
        # the shop's customer id stays the profile id: no second profile was made for the buyer
        assert cdp.execute("SELECT count(*) FROM profile_merges").fetchone()[0] == 0
        ltv = cdp.execute("SELECT lifetime_value FROM profiles WHERE profile_id = ?", (owner,)).fetchone()[0]
        assert ltv > 0
    finally:
        cdp.conn.close()


def test_kind_and_from_together_are_refused(tmp_path):
    result = _import(tmp_path / "cdp.db", str(EXPORTS / "stripe_customers.csv"), "--from", "stripe-customers",
                     "--kind", "profiles")  # fmt: skip
    assert result.exit_code == 1 and "--kind" in result.stderr
    unknown = _import(tmp_path / "cdp.db", str(EXPORTS / "stripe_customers.csv"), "--from", "hubspot")
    assert unknown.exit_code == 1 and "shopify-customers" in unknown.stderr
    assert not (tmp_path / "cdp.db").exists()  # a refused import into a new path leaves no file


def test_the_errors_file_never_overwrites_the_cdp_or_the_input(tmp_path):
    db = tmp_path / "cdp.db"
    path = tmp_path / "profiles.csv"
    path.write_text("profile_id\nc1\n")
    assert _import(db, str(path)).exit_code == 0
    before, text = db.read_bytes(), path.read_text()
    for target in (db, path, tmp_path / "." / "profiles.csv"):
        result = _import(db, str(path), "--errors", str(target))
        assert result.exit_code == 1 and "name another file" in result.stderr, result.output
    assert db.read_bytes() == before and path.read_text() == text


def test_every_problem_reaches_the_errors_file_header_and_read_stops_too(tmp_path):
    db = tmp_path / "cdp.db"
    cases = {
        "header.csv": ("profile_id,=HYPERLINK(1),frist_name\nc1,a,b\n", 2),
        "quote.csv": ('profile_id,first_name\nc1,"Ann\nc2,Bob\n', 1),
        "latin.csv": ("profile_id,first_name\nc1,José\n".encode("latin-1"), 1),
    }
    for name, (content, count) in cases.items():
        path = tmp_path / name
        path.write_bytes(content if isinstance(content, bytes) else content.encode())
        errors = tmp_path / f"{name}.errors.csv"
        result = _import(db, str(path), "--kind", "profiles", "--errors", str(errors))
        assert result.exit_code == 1
        with errors.open(newline="", encoding="utf-8") as handle:
            assert len(list(csv.DictReader(handle))) == count, name


def test_no_email_or_phone_is_echoed_in_a_problem(cdp_db, tmp_path):
    path = tmp_path / "profiles.csv"
    path.write_text("profile_id,country,signup_at\nc1,ann.lee@example.com,+442079460958\n")
    with pytest.raises(ImportProblems) as err:
        import_file(cdp_db, path)
    text = " ".join(str(p) for p in err.value.problems)
    assert "ann.lee@example.com" not in text and "2079460958" not in text
    assert {p.column for p in err.value.problems} == {"country", "signup_at"}


@pytest.mark.parametrize("pid", ["<script>x</script>", "c 1", 'a,b "q"', "x\u00a0y"])
def test_every_kind_takes_the_same_profile_ids(cdp_db, tmp_path, pid):
    path = tmp_path / "events.jsonl"
    path.write_text(json.dumps({"profile_id": pid, "type": "page_view", "ts": "2025-01-01"}) + "\n")
    with pytest.raises(ImportProblems) as err:
        import_file(cdp_db, path, create_profiles=True)
    assert err.value.problems[0].column == "profile_id"
    assert cdp_db.execute("SELECT count(*) FROM profiles").fetchone()[0] == 0


@pytest.mark.parametrize("codec", ["utf-16", "latin-1"])
def test_a_lone_carriage_return_is_refused_in_every_encoding(tmp_path, codec):
    path = tmp_path / "profiles.csv"
    path.write_bytes("profile_id,first_name\nc1,Ann\rc77,Zed\n".encode(codec))
    extra = ("--encoding", "latin-1") if codec == "latin-1" else ()
    result = _import(tmp_path / "cdp.db", str(path), *extra)
    assert result.exit_code == 1 and "carriage return" in result.stderr


def test_utf16_without_a_mark_is_detected_in_any_script(tmp_path):
    path = tmp_path / "profiles.csv"
    text = "profile_id\tfirst_name\tcity\n" + "".join(
        f"c{i}\tАннаАннаАнна\tМоскваМосква\n" for i in range(30)
    )
    path.write_bytes(text.encode("utf-16-le"))
    result = _import(tmp_path / "cdp.db", str(path))
    assert result.exit_code == 0, result.output
    assert _counts(tmp_path / "cdp.db")["profiles"] == 30


def test_an_oversized_cell_is_one_rows_problem_and_reading_goes_on(cdp_db, tmp_path):
    path = tmp_path / "profiles.csv"
    path.write_text("profile_id,first_name\nc1," + "a" * 70_000 + "\nc2,=x\nc3,ok\n")
    with pytest.raises(ImportProblems) as err:
        import_file(cdp_db, path)
    assert [p.line for p in err.value.problems] == [2, 3]
