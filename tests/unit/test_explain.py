"""`explain_customer` and `cdp-agents explain`: every decision about a customer, in plain words."""

from __future__ import annotations

import json

import pytest
from typer.testing import CliRunner

from cdp import clock
from cdp.errors import UnknownProfileError
from cdp.explain import explain_customer
from cdp.policy import ContactPolicy
from tests.unit.test_gate import NOW, add_campaign, add_profile, at, gate


@pytest.fixture
def db(cdp_db):
    clock.set_clock(cdp_db, NOW)
    return cdp_db


def _by_campaign(entries):
    return {e["campaign_id"]: e for e in entries}


def test_explains_sent_revoked_deferred_and_held_out(db):
    add_profile(db, "p1", country="JP", consents={"email": "granted", "sms": "granted"})
    with db.conn:
        db.execute(
            "INSERT INTO identities (kind, value, profile_id) VALUES ('email', 'ana@example.com', 'p1')"
        )
        db.execute(
            "INSERT INTO events (message_id, profile_id, type, ts, properties) VALUES "
            "('u1', 'p1', 'unsubscribe', '2026-11-02T10:00:00Z', '{\"channel\": \"sms\"}')"
        )
    add_campaign(db, "welcome", name="Welcome series", objective="welcome new customers")
    add_campaign(db, "flash")
    add_campaign(db, "push_promo")
    add_campaign(db, "control", holdout_pct=100)
    policy = ContactPolicy(holdout_pct=0, frequency_cap=10)
    gate(
        db,
        "welcome",
        ["p1"],
        "email",
        send_at="2026-11-24T14:00:00Z",
        policy=policy,
        thread_id="th1",
        task_id="t3",
        agent="activation",
    )
    gate(db, "flash", ["p1"], "sms", policy=policy)
    with db.conn:
        db.execute("INSERT INTO consents VALUES ('p1', 'push', 'granted', ?, 'app')", [NOW])
    gate(db, "push_promo", ["p1"], "push", send_at="2026-11-24T14:00:00Z", policy=policy)
    gate(db, "control", ["p1"], "email", policy=policy)

    entries = _by_campaign(explain_customer(db, "ana@example.com"))  # any identifier finds the customer
    assert set(entries) == {"welcome", "flash", "push_promo", "control"}
    welcome = entries["welcome"]
    assert welcome["outcome"] == "scheduled" and welcome["objective"] == "welcome new customers"
    assert (welcome["thread_id"], welcome["task_id"], welcome["agent"]) == ("th1", "t3", "activation")
    assert welcome["explanation"].startswith("Scheduled by email for 2026-11-24 14:00 UTC")
    assert entries["flash"]["explanation"] == (
        "Not sent: SMS consent was revoked on 2026-11-02 (source unsubscribe_event)."
    )
    assert (
        "moved by quiet hours from 23:00 to 08:00 local time (Asia/Tokyo)"
        in entries["push_promo"]["explanation"]
    )
    assert entries["control"]["explanation"].startswith("Held out: in the campaign's 100% control group")
    assert "ana@example.com" not in json.dumps(list(entries.values()))
    only = explain_customer(db, "p1", campaign_id="flash")
    assert [e["campaign_id"] for e in only] == ["flash"]


def test_explains_suppressions_in_words(db):
    add_profile(db, "p1")
    with db.conn:
        db.execute(
            "INSERT INTO events (message_id, profile_id, type, ts) VALUES ('c1', 'p1', 'complaint', ?)",
            [at(days=-3)],
        )
    add_campaign(db, "promo")
    gate(db, "promo", ["p1"])
    (entry,) = explain_customer(db, "p1")
    assert entry["reason_code"] == "recent_complaint"
    assert entry["explanation"] == (
        f"Not sent: the customer complained on {at(days=-3)[:10]}, within the 30-day complaint window."
    )
    assert entry["evidence"]["consent"]["status"] == "granted"


def test_unknown_customer_is_a_clear_error(db):
    with pytest.raises(UnknownProfileError):
        explain_customer(db, "nobody@example.com")


def test_cli_explain_prints_json_and_table(cdp_path):
    from cdp import open_cdp
    from cli.main import app

    db = open_cdp(cdp_path)
    clock.set_clock(db, NOW)
    add_profile(db, "p1", consents={})
    add_campaign(db, "c1")
    gate(db, "c1", ["p1"])
    db.conn.close()
    runner = CliRunner()
    result = runner.invoke(app, ["explain", "p1", "--db", str(cdp_path), "--json"])
    assert result.exit_code == 0, result.output
    data = json.loads(result.output)
    assert data[0]["reason_code"] == "no_consent"
    assert data[0]["explanation"] == "Not sent: there is no email consent on record."
    table = runner.invoke(
        app, ["explain", "p1", "--db", str(cdp_path), "--campaign", "c1"], env={"COLUMNS": "200"}
    )
    assert table.exit_code == 0 and "no email consent" in table.output
    missing = runner.invoke(app, ["explain", "ghost", "--db", str(cdp_path)])
    assert missing.exit_code == 1
