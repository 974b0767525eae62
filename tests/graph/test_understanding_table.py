"""The understanding table: objectives a marketer would type, each with what its words mean.

Every row is planned through the real graph on one seeded CDP, up to the plan (the run pauses before
dispatch, so nothing is built or sent). A row either gives the SQL its audience must equal, customer
for customer, with what its offer, budget, channels and timing must be; or the question the product
must ask instead of guessing (a typo, a country the CDP has no customers in, two campaigns in one
sentence). Rows are written by class (negation and exclusion scope, ranges, strict and inclusive
comparisons, money off against a budget, an offer's validity against the send time, definitions the
marketer gives, typos, typed offers, compound objectives, absent countries, tiers) plus a core of
ordinary objectives that must keep working, each class in several phrasings.

The SQL is written from the words and the documented meaning of the segment words
(`cdp/vocabulary.py`: at-risk = churn_risk >= 0.7, lapsed = no purchase for 90+ days, new = signed up
within 30 days, active = bought within 30 days, loyal = 5+ orders, high-value = top 10% by lifetime
value), never from the reader's code. A definition the marketer gives replaces the built-in one.
Dates count from the CDP clock, Tuesday 2026-11-24 12:00 UTC.

The rows are data, in `evals/understanding_table.txt` (its format is at its top), read with their
judge by `evals.table`; `benchmarks/understanding_score.py` and `cdp-agents eval` run the same rows.
"""

from __future__ import annotations

import difflib
import re
import sqlite3
from pathlib import Path
from typing import Any

import pytest

from evals.table import (
    CLASSES,
    CUSTOMERS,
    ROWS,
    SEED,
    Row,
    judge,
    members,
    plan_objective,
    planner,
)

pytestmark = pytest.mark.xdist_group("understanding")


# --------------------------------------------------------------------------------------- the tests


@pytest.fixture(scope="module")
def table_cdp(tmp_path_factory) -> Path:
    from tests.seeded import seeded_copy

    return seeded_copy(tmp_path_factory.mktemp("understanding"), customers=CUSTOMERS, seed=SEED)


@pytest.fixture(scope="module")
def table_graph() -> Any:
    return planner()


@pytest.fixture(scope="module")
def table_conn(table_cdp):
    conn = sqlite3.connect(str(table_cdp))
    yield conn
    conn.close()


def _normalised(text: str) -> list[str]:
    return re.findall(r"[a-z0-9]+", text.lower())


def test_table_is_large_varied_and_distinct():
    assert len(ROWS) >= 90
    assert len({r.slug for r in ROWS}) == len(ROWS)
    by_class = {c: sum(r.kind == c for r in ROWS) for c in CLASSES}
    assert all(n >= 4 for n in by_class.values()), by_class
    words = [_normalised(r.objective) for r in ROWS]
    for i, a in enumerate(words):
        for j in range(i + 1, len(words)):
            ratio = difflib.SequenceMatcher(None, a, words[j]).ratio()
            assert ratio < 0.8, (ROWS[i].objective, ROWS[j].objective, ratio)
    text = " ".join(r.objective.lower() for r in ROWS)
    for phrase in (
        "except",
        "but not",
        "outside",
        "other than",
        "who have never",
        "not the ones who",
        "everywhere but",
        "between",
        "from 200 to 800",
        "more than",
        "at least",
        "$10 off",
        "10 dollars off",
        "10 euros off",
        "budget of 500",
        "valid until",
        "ends",
        "expires",
    ):
        assert phrase in text, phrase
    for example in (
        "not the ones who complained",
        "all countries but the us",
        "outside the us",
        "churn risk between 40% and 60%",
        "big spenders (customers who spent over 500)",
        "winback lapsd custmers in germny, 10% of",
        "standard-tier",
        "standard tier",
        "coupon valid until december 31",
        "free shipping",
        "2 for 1",
        "austria",
        "swiss",
        "welcome new customers by email and win back lapsed ones by sms",
    ):
        assert example in text, example


def test_every_sql_selects_a_real_part_of_the_base(table_conn):
    """Each hand-written audience picks somebody, and fewer than everybody unless the words mean
    everybody, so an exact match is evidence and not a coincidence of empty sets."""
    base = len(members(table_conn, "1"))
    problems = []
    for row in ROWS:
        if row.sql is None:
            continue
        n = len(members(table_conn, row.sql))
        if n == 0 or (n >= base and not row.everyone) or (row.everyone and n != base):
            problems.append(f"{row.slug}: {n} of {base}")
    assert not problems, problems


@pytest.mark.parametrize("row", ROWS, ids=[f"{r.kind}-{r.slug}" for r in ROWS])
def test_objective_is_understood(row: Row, table_cdp, table_graph, table_conn):
    state = plan_objective(table_graph, table_cdp, row.objective, f"understand-{row.kind}-{row.slug}")
    verdict, why = judge(row, state, table_conn)
    assert verdict == "exact", f"{row.objective!r}: {why}"
    if row.question is not None:
        assert not state.get("campaign_id"), "a question must not leave a campaign behind"


def _row(slug: str) -> Row:
    return next(r for r in ROWS if r.slug == slug)


def test_judge_tells_the_words_from_the_bugs_the_issue_saw(table_conn):
    """The judge itself: the right reading of "outside the US" is exact; the reading that selected
    the US customers, a lost channel, and a question instead of a plan are not."""
    row = _row("outside-the-us")
    right = {"all": [{"segment": "lapsed"}, {"not": {"field": "country", "op": "eq", "value": "US"}}]}
    flipped = {"all": [{"segment": "lapsed"}, {"field": "country", "op": "eq", "value": "US"}]}

    def planned(audience_filter: dict[str, Any], channels: list[str]) -> dict[str, Any]:
        interpretation = {"audience": {"filter": audience_filter}, "channels": channels}
        task = {"agent": "audience", "inputs": {"filter": audience_filter}}
        return {"status": "running", "plan": [task], "interpretation": interpretation}

    assert judge(row, planned(right, ["email"]), table_conn) == ("exact", "")
    assert judge(row, planned(flipped, ["email"]), table_conn)[0] == "wrong"
    assert judge(row, planned(right, []), table_conn)[0] == "wrong"
    assert judge(row, {"status": "needs_input", "question": "Which customers?"}, table_conn)[0] == "question"

    money = _row("dollar-sign-off")
    as_budget = {
        **planned({"segment": "lapsed"}, []),
        "interpretation": {
            "audience": {"filter": {"segment": "lapsed"}},
            "budget": {"amount": 10, "currency": "USD"},
        },
    }
    assert judge(money, as_budget, table_conn)[0] == "wrong"
    as_offer = {
        **as_budget,
        "interpretation": {
            "audience": {"filter": {"segment": "lapsed"}},
            "offer": {"kind": "discount", "value": 10.0, "unit": "USD"},
        },
    }
    assert judge(money, as_offer, table_conn) == ("exact", "")

    typo = _row("issue-germny")
    asked = {"status": "needs_input", "question": "'germny' (did you mean 'Germany'?): which country?"}
    assert judge(typo, asked, table_conn) == ("exact", "")
    assert judge(typo, {"status": "needs_input", "question": "Which goal?"}, table_conn)[0] == "question"
    assert judge(typo, planned({"segment": "lapsed"}, []), table_conn)[0] == "wrong"
