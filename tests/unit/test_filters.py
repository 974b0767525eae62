"""Audience filters: every operator and combinator against a hand-built CDP, and every rejection.

The small CDP below is built from real events (the triggers compute the aggregates), and each
expected audience is written out by hand from the story of each customer, not recomputed by SQL.
"""

from __future__ import annotations

import json
import math

import pytest

from cdp import open_cdp
from cdp.errors import FilterError
from cdp.filters import MAX_DEPTH, MAX_IN_VALUES, MAX_NODES, compile_filter, describe_filter, parse_filter
from cdp.vocabulary import SegmentVocabulary

# now = 2026-11-24T12:00:00Z (tests/conftest.py)
PROFILES = [
    # id, country, city, language, tier, signup_at
    ("a", "DE", "Berlin", "de", "vip", "2026-11-10T12:00:00Z"),  # new, loyal, active buyer
    ("b", "FR", "Paris", "fr", "premium", "2025-01-15T00:00:00Z"),  # one old purchase: lapsed, at-risk
    ("c", "DE", "Munich", "en", "standard", "2024-03-01T00:00:00Z"),  # never bought: at-risk
    ("d", "GB", "London", "en", "standard", "2026-06-01T00:00:00Z"),  # active, complained, open ticket
    ("e", "US", None, None, "premium", "2023-05-05T00:00:00Z"),  # big spender gone quiet: lapsed
    ("f", "ES", "Madrid", "es", "standard", "2026-11-20T12:00:00Z"),  # signed up 4 days ago
]
PURCHASES = [
    # id, days ago, amount, category
    *[("a", day, 100, "shoes") for day in range(1, 7)],
    ("b", 200, 50, "books"),
    ("d", 40, 30, "toys"),
    ("d", 10, 30, "books"),
    ("e", 120, 1000, "garden"),
    ("e", 100, 1000, "garden"),
    ("e", 95, 1000, "garden"),
]
CONSENTS = [
    ("a", "email", "granted"),
    ("a", "sms", "denied"),
    ("b", "email", "revoked"),
    ("d", "email", "granted"),
    ("d", "sms", "granted"),
    ("e", "push", "granted"),
]
TRAITS = [
    ("a", "churn_band", "low"),
    ("b", "churn_band", "high"),
    ("c", "churn_band", "high"),
    ("d", "note", "vip"),
]
ALL = set("abcdef")


def _ago(days: float) -> str:
    from datetime import timedelta

    from cdp.clock import iso, parse_ts

    return iso(parse_ts("2026-11-24T12:00:00Z") - timedelta(days=days))


def build_small_cdp(path) -> None:
    """The six customers above, with real events, consents, a complaint, a ticket and traits."""
    db = open_cdp(path)
    with db.conn:
        db.conn.executemany(
            "INSERT INTO profiles (profile_id, first_name, last_name, country, city, language, tier,"
            " signup_at) VALUES (?, 'Ann', 'Zyxwvut', ?, ?, ?, ?, ?)",
            PROFILES,
        )
        events = [
            (f"buy-{i}", pid, "purchase", _ago(days), json.dumps({"amount": amount, "category": cat}))
            for i, (pid, days, amount, cat) in enumerate(PURCHASES)
        ]
        events += [
            ("complaint-d", "d", "complaint", _ago(5), "{}"),
            (
                "ticket-d",
                "d",
                "support_ticket",
                _ago(3),
                json.dumps({"ticket_id": "t1", "body": "late parcel"}),
            ),
        ]
        db.conn.executemany(
            "INSERT INTO events (message_id, profile_id, type, ts, properties) VALUES (?, ?, ?, ?, ?)", events
        )
        db.conn.executemany(
            "INSERT INTO consents (profile_id, channel, status, updated_at)"
            " VALUES (?, ?, ?, '2026-01-01T00:00:00Z')",
            CONSENTS,
        )
        db.conn.executemany(
            "INSERT INTO traits (profile_id, name, value, source, updated_at)"
            " VALUES (?, ?, ?, 'test', '2026-11-01T00:00:00Z')",
            TRAITS,
        )
    db.conn.close()


@pytest.fixture(scope="module")
def small_db(tmp_path_factory):
    """Shared by the whole module: every test here only reads."""
    path = tmp_path_factory.mktemp("filters") / "small.db"
    build_small_cdp(path)
    db = open_cdp(path)
    yield db
    db.conn.close()


def matches(db, filter) -> set[str]:
    compiled = compile_filter(filter, db)
    assert compiled.where.count("?") == len(compiled.params)
    rows = db.execute(f"SELECT profile_id FROM customer_360 WHERE {compiled.where}", compiled.params)
    return {r[0] for r in rows}


def test_fixture_story_holds(small_db):
    """The hand-derived facts the expectations below rely on."""
    rows = {
        r[0]: r[1:]
        for r in small_db.execute(
            "SELECT profile_id, orders_count, lifetime_value, days_since_purchase, favorite_category,"
            " open_ticket, churn_risk FROM customer_360"
        )
    }
    assert rows["a"][:5] == (6, 600.0, 1, "shoes", 0)
    assert rows["c"][:4] == (0, 0.0, None, None)
    assert rows["d"][:5] == (2, 60.0, 10, "books", 1)
    assert rows["e"][:4] == (3, 3000.0, 95, "garden")
    assert rows["b"][5] >= 0.7 and rows["c"][5] >= 0.7  # at-risk
    assert 0.45 < rows["e"][5] < 0.7 and rows["d"][5] < 0.45  # margins the override test uses


def _id(value) -> str | None:
    try:
        return (value if isinstance(value, str) else json.dumps(value))[:70]
    except (TypeError, ValueError, RecursionError):
        return None


def C(field, op, value=None):
    return {"field": field, "op": op, "value": value}


@pytest.mark.parametrize(
    ("filter", "expected"),
    [
        (C("tier", "eq", "vip"), {"a"}),
        (C("country", "eq", "DE"), {"a", "c"}),
        (C("city", "eq", "Paris"), {"b"}),
        (C("favorite_category", "eq", "books"), {"b", "d"}),
        (C("consent_email", "eq", True), {"a", "d"}),
        (C("consent_email", "eq", 0), {"b", "c", "e", "f"}),
        (C("consent_sms", "eq", True), {"d"}),
        (C("open_ticket", "eq", True), {"d"}),
        (C("orders_count", "eq", 6), {"a"}),
        (C("country", "in", ["DE", "GB"]), {"a", "c", "d"}),
        (C("tier", "in", ["premium", "vip"]), {"a", "b", "e"}),
        (C("orders_count", "gte", 2), {"a", "d", "e"}),
        (C("lifetime_value", "lte", 60), {"b", "c", "d", "f"}),
        (C("lifetime_value", "gte", 59.99), {"a", "d", "e"}),
        (C("lifetime_value", "between", [50, 600]), {"a", "b", "d"}),
        (C("days_since_purchase", "between", [10, 100]), {"d", "e"}),
        (C("signup_at", "between", ["2026-01-01", "2026-11-30T00:00:00+00:00"]), {"a", "d", "f"}),
        (C("last_purchase_at", "gte", "2026-11-01T00:00:00Z"), {"a", "d"}),
        (C("days_since_complaint", "lte", 7), {"d"}),
        (C("days_since_purchase", "is_null", True), {"c", "f"}),
        (C("days_since_purchase", "is_null"), {"c", "f"}),
        (C("days_since_purchase", "is_null", False), {"a", "b", "d", "e"}),
        (C("city", "is_null", True), {"e"}),
        # combinators
        ({"all": [C("country", "eq", "DE"), C("tier", "eq", "vip")]}, {"a"}),
        ({"any": [C("country", "eq", "US"), C("tier", "eq", "vip")]}, {"a", "e"}),
        ({"not": C("country", "eq", "DE")}, {"b", "d", "e", "f"}),
        # a customer whose language is unknown is not known to speak English: `not` includes them
        ({"not": C("language", "eq", "en")}, {"a", "b", "e", "f"}),
        ({"not": {"not": C("language", "eq", "en")}}, {"c", "d"}),
        ({"not": {"any": [C("language", "eq", "en"), C("tier", "eq", "vip")]}}, {"b", "e", "f"}),
        (
            {
                "all": [
                    {"any": [{"segment": "lapsed"}, {"segment": "new"}]},
                    {"not": C("tier", "eq", "standard")},
                ]
            },
            {"a", "b", "e"},
        ),
        # segment words at their defaults
        ({"segment": "at-risk"}, {"b", "c"}),
        ({"segment": "lapsed"}, {"b", "e"}),
        ({"segment": "new"}, {"a", "f"}),
        ({"segment": "active"}, {"a", "d"}),
        ({"segment": "loyal"}, {"a"}),
        ({"segment": "high-value"}, {"e"}),
        # traits
        ({"trait": "churn_band", "op": "eq", "value": "high"}, {"b", "c"}),
        ({"trait": "churn_band", "op": "in", "value": ["low", "high"]}, {"a", "b", "c"}),
        ({"trait": "churn_band", "op": "is_null", "value": True}, {"d", "e", "f"}),
        ({"trait": "churn_band", "op": "is_null", "value": False}, {"a", "b", "c"}),
        ({"trait": "note", "op": "eq", "value": "vip"}, {"d"}),
        ({"trait": "never_written", "op": "eq", "value": "x"}, set()),
    ],
    ids=lambda v: _id(v) if isinstance(v, dict) else None,
)
def test_operators_and_combinators(small_db, filter, expected):
    assert matches(small_db, filter) == expected
    # the same filter given as JSON text compiles to the same audience
    assert matches(small_db, json.dumps(filter)) == expected


def test_not_is_the_complement_even_over_nulls(small_db):
    for f in (C("language", "eq", "en"), C("days_since_purchase", "lte", 30), {"segment": "lapsed"}):
        assert matches(small_db, f) | matches(small_db, {"not": f}) == ALL
        assert not matches(small_db, f) & matches(small_db, {"not": f})


def test_values_are_bound_never_inlined(small_db):
    evil = "x' OR 1=1 --"
    compiled = compile_filter(
        {"all": [C("city", "eq", evil), {"trait": "note", "op": "eq", "value": evil}]}, small_db
    )
    assert evil not in compiled.where and "'" not in compiled.where
    assert compiled.params.count(evil) == 2
    assert matches(small_db, C("city", "eq", evil)) == set()


@pytest.mark.parametrize(
    ("env", "filter", "expected"),
    [
        ({"CDP_SEGMENT_AT_RISK_CHURN": "0.45"}, {"segment": "at-risk"}, {"b", "c", "e"}),
        ({"CDP_SEGMENT_LAPSED_DAYS": "150"}, {"segment": "lapsed"}, {"b"}),
        ({"CDP_SEGMENT_NEW_DAYS": "3"}, {"segment": "new"}, set()),
        ({"CDP_SEGMENT_ACTIVE_DAYS": "5"}, {"segment": "active"}, {"a"}),
        ({"CDP_SEGMENT_LOYAL_MIN_ORDERS": "2"}, {"segment": "loyal"}, {"a", "d", "e"}),
        ({"CDP_SEGMENT_HIGH_VALUE_TOP_PCT": "40"}, {"segment": "high-value"}, {"a", "d", "e"}),
    ],
)
def test_segment_words_follow_env_overrides(small_db, monkeypatch, env, filter, expected):
    for key, value in env.items():
        monkeypatch.setenv(key, value)
    assert matches(small_db, filter) == expected


def test_vocabulary_defaults_and_description(monkeypatch):
    vocab = SegmentVocabulary.from_env()
    assert (vocab.at_risk_churn, vocab.lapsed_days, vocab.new_days) == (0.7, 90, 30)
    assert (vocab.high_value_top_pct, vocab.active_days) == (10.0, 30)
    assert vocab.describe()["at-risk"] == "churn_risk >= 0.7"
    monkeypatch.setenv("CDP_SEGMENT_AT_RISK_CHURN", "0.8")
    assert SegmentVocabulary.from_env().describe()["at-risk"] == "churn_risk >= 0.8"


def test_high_value_on_an_empty_cdp_matches_nobody(cdp_db):
    assert compile_filter({"segment": "high-value"}, cdp_db).where == "(0)"


def test_explicit_vocabulary_wins_over_env(small_db, monkeypatch):
    monkeypatch.setenv("CDP_SEGMENT_AT_RISK_CHURN", "0.1")
    compiled = compile_filter({"segment": "at-risk"}, small_db, SegmentVocabulary(at_risk_churn=0.9))
    assert compiled.params == [0.9]


def _nested(depth: int) -> dict:
    node: dict = C("tier", "eq", "vip")
    for _ in range(depth - 1):
        node = {"not": node}
    return node


@pytest.mark.parametrize(
    ("bad", "message"),
    [
        (C("tierr", "eq", "vip"), "unknown field 'tierr'"),
        (C("orders_count", "eq", "5"), "field 'orders_count' takes a number"),
        (C("lifetime_value", "gte", True), "field 'lifetime_value' takes a number"),
        (C("churn_risk", "lte", None), "takes a number"),
        (C("consent_email", "eq", "yes"), "field 'consent_email' takes true or false"),
        (C("consent_email", "eq", 2), "takes true or false"),
        (C("tier", "eq", "gold"), "tier must be one of standard, premium, vip"),
        (C("country", "eq", "Germny"), "country takes an ISO 3166 alpha-2 code"),
        (C("country", "eq", "XQ"), "ISO 3166"),
        (C("signup_at", "gte", "yesterday"), "field 'signup_at' takes an ISO timestamp"),
        (C("city", "eq", 5), "field 'city' takes text"),
        (C("city", "eq", "x" * 201), "longer than 200 characters"),
        (C("tier", "like", "vip"), "op: Input should be 'eq', 'in'"),
        (C("tier", "gte", "premium"), "'gte' does not apply to field 'tier'"),
        (C("open_ticket", "lte", 1), "'lte' does not apply to field 'open_ticket'"),
        (C("country", "in", []), "'in' on 'country' takes a non-empty list"),
        (C("country", "in", "DE"), "takes a non-empty list"),
        (C("orders_count", "in", list(range(MAX_IN_VALUES + 1))), f"at most {MAX_IN_VALUES} values"),
        (C("orders_count", "in", [1, "2"]), "takes a number"),
        (C("orders_count", "between", [5, 1]), "low 5 is above high 1"),
        (C("signup_at", "between", ["2026-02-01", "2026-01-01"]), "is above high"),
        (C("orders_count", "between", [1]), "takes a list [low, high]"),
        (C("orders_count", "between", [1, 2, 3]), "takes a list [low, high]"),
        (C("orders_count", "is_null", "yes"), "is_null takes true"),
        ({"field": "tier", "op": "eq", "value": "vip", "sql": "1=1"}, "sql: Extra inputs are not permitted"),
        ({"segment": "at-risk", "op": "eq"}, "Extra inputs are not permitted"),
        (C("lifetime_value", "gte", math.nan), "takes a finite number"),
        (C("lifetime_value", "gte", math.inf), "takes a finite number"),
        (C("lifetime_value", "between", [-math.inf, 5]), "takes a finite number"),
        ('{"field": "orders_count", "op": "eq", "value": NaN}', "takes a finite number"),
        ('{"field": "orders_count", "op": "eq", "value": 1e999}', "takes a finite number"),
        ({"segment": "rich"}, "Input should be 'at-risk', 'lapsed'"),
        ({"trait": "Churn-Band", "op": "eq", "value": "x"}, "String should match pattern"),
        ({"trait": "churn_band", "op": "gte", "value": "x"}, "Input should be 'eq', 'in' or 'is_null'"),
        ({"trait": "churn_band", "op": "eq", "value": ["x"]}, "eq takes one text or number value"),
        ({"trait": "churn_band", "op": "in", "value": []}, "in takes a non-empty list"),
        ({"all": []}, "all: List should have at least 1 item"),
        ({"any": []}, "any: List should have at least 1 item"),
        ({"not": {"all": [C("tier", "eq", "vip"), {"any": []}]}}, "not.all.1.any: List should have"),
        (C("city", "between", ["a", "b"]), "'between' does not apply to field 'city'"),
        (C("tier", "between", ["premium", "vip"]), "'between' does not apply to field 'tier'"),
        (C("country", "between", ["DE", "FR"]), "'between' does not apply to field 'country'"),
        (C("consent_email", "between", [0, 1]), "'between' does not apply to field 'consent_email'"),
        (C("country", "lte", "DE"), "'lte' does not apply to field 'country'"),
        (C("country", "eq", "ÄÖ"), "ISO 3166"),
        (C("country", "in", ["DE", "ΑΒ"]), "ISO 3166"),
        ({"trait": "churn_band", "op": "eq", "value": True}, "eq takes one text or number value"),
        ({"trait": "churn_band", "op": "eq", "value": None}, "eq takes one text or number value"),
        ({"trait": "churn_band", "op": "in", "value": ["x", False]}, "in takes text or number values"),
        ({"any": [C("tier", "eq", "vip"), {"foo": 1}]}, "each filter node needs one of the keys"),
        ({}, "each filter node needs one of the keys"),
        ([C("tier", "eq", "vip")], "each filter node needs one of the keys"),
        ("DROP TABLE profiles", "Invalid JSON"),
        ('{"field": "tier", ', "Invalid JSON"),
        (b"\xff\xfe", "Invalid JSON"),
        (42, "each filter node needs one of the keys"),
        (None, "each filter node needs one of the keys"),
        ({"not": C("tier", "eq", "gold")}, "not: tier must be one of"),
        ({"all": [{"any": [C("tier", "eq", "gold")]}]}, "all.0.any.0: tier must be one of"),
        (_nested(MAX_DEPTH + 1), f"nested deeper than {MAX_DEPTH} levels"),
        (_nested(5000), f"nested deeper than {MAX_DEPTH} levels"),
        ({"any": [C("tier", "eq", "vip")] * MAX_NODES}, f"more than {MAX_NODES} conditions"),
    ],
    ids=lambda v: _id(v),
)
def test_rejected_inputs_name_the_problem(small_db, bad, message):
    with pytest.raises(FilterError) as err:
        compile_filter(bad, small_db)
    assert message in str(err.value)


@pytest.mark.parametrize("spelling", ["DE", "de", "DEU", "Germany", "Deutschland"])
def test_a_country_is_read_as_imports_read_it(small_db, spelling):
    """A filter written with any spelling a file may use finds the same customers as the ISO code."""
    assert (
        matches(small_db, C("country", "eq", spelling))
        == matches(small_db, C("country", "eq", "DE"))
        != set()
    )
    assert matches(small_db, C("country", "in", [spelling, "UK"])) == matches(
        small_db, C("country", "in", ["DE", "GB"])
    )


def test_limits_are_inclusive(small_db):
    assert matches(small_db, _nested(MAX_DEPTH)) in ({"a"}, ALL - {"a"})
    assert matches(small_db, {"any": [C("tier", "eq", "vip")] * (MAX_NODES - 1)}) == {"a"}
    assert matches(small_db, C("orders_count", "in", list(range(MAX_IN_VALUES)))) == ALL


def test_parse_is_idempotent_and_describes_in_words(small_db):
    f = {
        "all": [
            {"segment": "at-risk"},
            C("country", "in", ["DE", "FR"]),
            {"not": C("open_ticket", "eq", True)},
        ]
    }
    parsed = parse_filter(f)
    assert parse_filter(parsed) is parsed
    assert parse_filter(parsed.to_json()) == parsed
    assert describe_filter(f) == "at-risk and country in (DE, FR) and not (open_ticket = 1)"


@pytest.mark.parametrize(
    "bad",
    [
        C("orders_count", "eq", 10**30),
        C("orders_count", "gte", 2**63),
        C("orders_count", "lte", -(2**63) - 1),
        C("orders_count", "in", [1, 2**64]),
        C("lifetime_value", "between", [0, 10**19]),
    ],
    ids=lambda v: _id(v),
)
def test_integers_beyond_sqlite_range_are_rejected_at_compile_time(small_db, bad):
    with pytest.raises(FilterError, match=f"'{bad['field']}'.*too large"):
        compile_filter(bad, small_db)


def test_integers_at_the_edge_of_sqlite_range_still_compile(small_db):
    assert matches(small_db, C("orders_count", "between", [-(2**63), 2**63 - 1])) == ALL


@pytest.mark.parametrize("value", [0, 1, 0.0, 1.0, "true", [], [True]])
def test_is_null_takes_only_true_false_or_nothing(small_db, value):
    """0 == False and 1 == True in Python; a guard comparing by equality would read 0 as "is null"."""
    with pytest.raises(FilterError, match="is_null takes true"):
        compile_filter(C("days_since_purchase", "is_null", value), small_db)
    with pytest.raises(FilterError, match="is_null takes true"):
        compile_filter({"trait": "churn_band", "op": "is_null", "value": value}, small_db)


@pytest.mark.parametrize("depth", [MAX_DEPTH + 1, 50, 5000, 200_000])
@pytest.mark.parametrize("as_json", [False, True])
def test_deep_nesting_gives_one_short_error(small_db, depth, as_json):
    """Checked on the raw input before pydantic, so no validation depth error and no RecursionError."""
    bad: object = _nested(depth)
    if as_json:
        bad = '{"not": ' * (depth - 1) + json.dumps(C("tier", "eq", "vip")) + "}" * (depth - 1)
    with pytest.raises(FilterError) as err:
        compile_filter(bad, small_db)
    assert str(err.value) == f"filter is nested deeper than {MAX_DEPTH} levels"


def test_deep_lists_and_self_reference_are_refused_quickly(small_db):
    deep_list: list = []
    for _ in range(100_000):
        deep_list = [deep_list]
    loop: dict = {"all": []}
    loop["all"].extend([loop, loop])
    for bad in (C("orders_count", "in", deep_list), loop, "[" * 100_000):
        with pytest.raises(FilterError, match="nested deeper"):
            compile_filter(bad, small_db)


def test_brackets_inside_json_strings_do_not_count_as_depth(small_db):
    text = json.dumps(C("city", "eq", '{{{{{{{{{{[[[[[[[[[[\\"'))
    assert matches(small_db, text) == set()
