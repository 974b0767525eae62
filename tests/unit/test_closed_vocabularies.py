"""Offer kinds, message kinds and languages are closed vocabularies shared by plan, gate and content."""

from __future__ import annotations

import json
import re
import sqlite3
from pathlib import Path

import pytest
import sqlite_utils
from pydantic import ValidationError
from typer.testing import CliRunner

from cdp import open_cdp
from cdp.content import VariantSpec
from cdp.migrations import MIGRATIONS
from cdp.migrations.m060_message_kinds import LANGUAGES, MESSAGE_KINDS
from cdp.migrations.m061_offer_kinds import OFFER_KINDS as MIGRATED_OFFER_KINDS
from cdp.vocabulary import (
    OFFER_KINDS,
    SUPPORTED_LANGUAGES,
    MessageKind,
    OfferKind,
    UnknownOfferKindError,
    normalise_offer_kind,
)
from cli.main import app
from graph.plan import CampaignSpec, Plan
from llm.scripted.reader import LEXICON

ROOT = Path(__file__).resolve().parents[2]
NOW = "2026-11-24T12:00:00Z"


@pytest.mark.parametrize(
    ("word", "kind"),
    [
        ("last chance", "last_chance"),
        ("last-chance", "last_chance"),
        ("Last Chance", "last_chance"),
        ("final hours", "last_chance"),
        ("welcome offer", "welcome"),
        ("Welcome Offer", "welcome"),
        ("welcome gift", "welcome"),
        ("win-back", "winback"),
        ("early access", "early_access"),
        ("sneak peek", "early_access"),
        ("free shipping", "free_shipping"),
        ("2-for-1", "bundle"),
        ("BOGO", "bundle"),
        ("free gift", "gift"),
        ("double points", "points"),
        ("loyalty reward", "loyalty_reward"),
        ("percent off", "discount"),
        (" ", None),
        (None, None),
    ],
)
def test_words_normalise_into_one_offer_kind(word, kind):
    found = normalise_offer_kind(word)
    assert (found.value if found else None) == kind


def test_every_lexicon_offer_word_of_the_scripted_planner_is_an_offer_kind():
    for word, kind in LEXICON["offer"].items():
        assert OfferKind(kind) in set(OfferKind), word
        try:  # where the shared vocabulary knows the phrase, both agree on its kind
            known = normalise_offer_kind(word)
        except UnknownOfferKindError:
            continue
        assert known in (OfferKind(kind), OfferKind.DISCOUNT), word


def test_an_unknown_offer_word_is_refused_naming_the_kinds():
    with pytest.raises(UnknownOfferKindError, match="last_chance"):
        normalise_offer_kind("rocket launch")


def test_the_plan_schema_carries_the_enum_and_no_promotional_flag():
    schema = json.dumps(Plan.model_json_schema())
    assert "promotional" not in schema
    offer = CampaignSpec.model_json_schema()["$defs"]["OfferKind"]["enum"]
    assert offer == list(OFFER_KINDS)
    spec = CampaignSpec.model_validate({"offer_kind": "Welcome Offer", "promotional": False})
    assert spec.offer_kind is OfferKind.WELCOME
    assert "promotional" not in spec.model_dump()
    with pytest.raises(ValidationError, match="offer kind"):
        CampaignSpec.model_validate({"offer_kind": "mystery box"})


def test_tables_hold_the_enums_spelling(cdp_db):
    kinds = {r[0] for r in cdp_db.execute("SELECT kind FROM offer_kinds")}
    assert kinds == set(OFFER_KINDS) == set(MIGRATED_OFFER_KINDS)
    in_conflicts = {k for r in cdp_db.execute("SELECT kind_a, kind_b FROM offer_kind_conflicts") for k in r}
    assert in_conflicts and in_conflicts <= set(OFFER_KINDS)
    assert {"last_chance", "welcome", "winback", "early_access"} <= in_conflicts
    assert tuple(k.value for k in MessageKind) == MESSAGE_KINDS
    assert LANGUAGES == SUPPORTED_LANGUAGES
    assert cdp_db.execute("SELECT count(*) FROM transactional_message_kinds").fetchone()[0] == 0


def test_free_text_offer_kinds_are_refused_by_the_cdp(cdp_db):
    with pytest.raises(sqlite3.IntegrityError, match="offer kinds"), cdp_db.conn:
        cdp_db.execute(
            "INSERT INTO campaigns (campaign_id, name, objective, offer_kind, created_at, updated_at) "
            "VALUES ('c', 'c', 'o', 'last chance', ?, ?)",
            [NOW, NOW],
        )
    with cdp_db.conn:
        cdp_db.execute(
            "INSERT INTO campaigns (campaign_id, name, objective, offer_kind, created_at, updated_at) "
            "VALUES ('c', 'c', 'o', 'last_chance', ?, ?)",
            [NOW, NOW],
        )
    with pytest.raises(sqlite3.IntegrityError, match="offer kinds"), cdp_db.conn:
        cdp_db.execute("UPDATE campaigns SET offer_kind = 'Welcome Offer' WHERE campaign_id = 'c'")
    with pytest.raises(sqlite3.IntegrityError, match="offer kinds"), cdp_db.conn:
        cdp_db.execute("INSERT INTO offer_kind_conflicts VALUES ('last chance', 'welcome', 'x')")


def test_the_migration_normalises_existing_offer_words(tmp_path):
    db = sqlite_utils.Database(tmp_path / "old.db")
    MIGRATIONS.apply(db, stop_before="m060_message_kinds")
    legacy = {
        "a": "last chance",
        "b": "Welcome Offer",
        "c": "early-access",
        "d": "seasonal",
        "e": "mystery box",
    }
    with db.conn:
        for cid, word in legacy.items():
            db.execute(
                "INSERT INTO campaigns (campaign_id, name, objective, offer_kind, created_at, updated_at) "
                "VALUES (?, ?, 'o', ?, ?, ?)",
                [cid, cid, word, NOW, NOW],
            )
    db.conn.close()
    db = open_cdp(tmp_path / "old.db")
    got = dict(db.execute("SELECT campaign_id, offer_kind FROM campaigns ORDER BY 1").fetchall())
    # An unknown legacy word stays an offer (marketing, conflict-checked): the stricter reading.
    assert got == {"a": "last_chance", "b": "welcome", "c": "early_access", "d": "discount", "e": "discount"}
    assert db.execute("SELECT DISTINCT message_kind FROM campaigns").fetchall() == [("marketing",)]
    db.conn.close()


@pytest.mark.parametrize("bad", ["tlh", "xx", "(unknown)", "english"])
def test_variants_only_in_supported_languages(bad):
    assert VariantSpec(variant_id="v", language="EN", body="hi").language == "en"
    assert VariantSpec(variant_id="v", language="", body="hi").language is None
    with pytest.raises(ValidationError, match="not supported"):
        VariantSpec(variant_id="v", language=bad, body="hi")


def test_only_the_cli_writes_the_transactional_kinds():
    writes = re.compile(r"(INSERT|UPDATE|DELETE|REPLACE)[^;\"]*transactional_message_kinds", re.I | re.S)
    writers = sorted(
        str(p.relative_to(ROOT))
        for folder in ("cdp", "graph", "agents", "llm", "cli", "prompts")
        for p in (ROOT / folder).rglob("*.py")
        if "migrations" not in p.parts and writes.search(p.read_text())
    )
    assert writers == ["cli/policy.py"]


def test_message_kinds_command(cdp_path):
    runner = CliRunner()
    refused = runner.invoke(app, ["message-kinds", "--db", str(cdp_path), "--transactional", "marketing"])
    assert refused.exit_code == 2
    done = runner.invoke(
        app,
        ["message-kinds", "--db", str(cdp_path), "--transactional", "receipt", "--by", "ops", "--note", "n"],
    )
    assert done.exit_code == 0, done.output
    conn = sqlite3.connect(cdp_path)
    assert conn.execute("SELECT kind, configured_by, note FROM transactional_message_kinds").fetchall() == [
        ("receipt", "ops", "n")
    ]
    conn.close()
    assert (
        runner.invoke(app, ["message-kinds", "--db", str(cdp_path), "--marketing", "receipt"]).exit_code == 0
    )
    conn = sqlite3.connect(cdp_path)
    assert conn.execute("SELECT count(*) FROM transactional_message_kinds").fetchone()[0] == 0
    conn.close()


def test_copy_promising_a_contradicting_offer_kind_is_rejected(cdp_db):
    from cdp.content import save_variants
    from cdp.tools_campaign import review_campaign_content

    with cdp_db.conn:
        cdp_db.execute(
            "INSERT INTO campaigns (campaign_id, name, objective, offer_kind, created_at, updated_at) "
            "VALUES ('w', 'w', 'welcome offer', 'welcome', ?, ?)",
            [NOW, NOW],
        )
    save_variants(
        cdp_db,
        "w",
        [
            VariantSpec(
                variant_id="default", subject="Welcome, {first_name}", body="Glad you joined. {offer}"
            ),
            VariantSpec(variant_id="urgent", subject="Last chance!", body="Ending soon: {offer}"),
        ],
    )
    review = review_campaign_content(cdp_db, "w")
    assert review["approved"] == ["default"]
    assert [r["variant_id"] for r in review["rejected"]] == ["urgent"]
    assert "last_chance" in review["rejected"][0]["problems"][0]
