"""The plan's interpretation: checked in code against the objective's words, shown wherever a person
decides, and a question (`needs_input`, exit 3) or a refusal (exit 4) instead of a silent guess.

A "real model" is played by the scripted chat model with a responder that returns a hand-written
plan: the offline planner's task graph with a campaign and an interpretation written here, so each
test controls exactly what the model claims to have understood.
"""

from __future__ import annotations

import copy
import dataclasses
import json
import os
import subprocess
import sys
from datetime import datetime
from pathlib import Path
from typing import Any

import pytest
from hypothesis import assume, given, settings
from hypothesis import strategies as st
from langchain_core.messages import HumanMessage
from typer.testing import CliRunner

from cdp.terms import CdpTerms
from cli.main import app
from cli.reporting import load_report
from graph.plan import Interpretation
from graph.understanding import check_interpretation
from llm.scripted import ScriptedChatModel, ScriptedRequest, default_responder
from report.html import render_html
from report.markdown import report_markdown
from tests.graph.helpers import DEFAULT_OBJECTIVE, compile_graph, rows, run, scalar
from tests.seeded import seeded_copy

OBJECTIVE = "win back lapsed customers in Germany by email with 10% off, valid until December 31"
GERMANY_LAPSED = {"all": [{"segment": "lapsed"}, {"field": "country", "op": "eq", "value": "DE"}]}


def correct_interpretation() -> dict[str, Any]:
    return {
        "audience": {"text": "lapsed customers in Germany", "filter": copy.deepcopy(GERMANY_LAPSED)},
        "offer": {"kind": "winback", "value": 10, "unit": "percent", "text": "10% off"},
        "channels": ["email"],
        "timing": {"send_at": None, "offer_valid_until": "2026-12-31", "text": "now"},
        "readings": [
            {"words": "lapsed customers", "meaning": "segment lapsed"},
            {"words": "by email", "meaning": "channel email"},
        ],
        "unused_words": [],
    }


PLAIN_OBJECTIVE = "win back lapsed customers by email with 10% off"


def hand_written(interpretation: dict[str, Any] | None, **campaign: Any):
    """A responder whose supervisor answer is the offline task graph with this campaign and
    interpretation (None leaves the interpretation out)."""

    def respond(request: ScriptedRequest) -> Any:
        answer = default_responder(request)
        if request.role != "supervisor" or not isinstance(answer, dict) or "tasks" not in answer:
            return answer
        if not answer["tasks"]:  # the offline planner asked: a real model may plan anyway
            plain = [HumanMessage(PLAIN_OBJECTIVE)]
            answer = default_responder(dataclasses.replace(request, messages=request.messages[:1] + plain))
        answer = copy.deepcopy(answer)
        answer["campaign"] = {"goal": "win-back", "channels": ["email"], **campaign}
        answer.pop("interpretation", None)
        if interpretation is not None:
            answer["interpretation"] = copy.deepcopy(interpretation)
        return answer

    return respond


_SAYS: dict[str, Any] = {}


def said_model(name: str | None = None, **_: Any) -> ScriptedChatModel:
    """The model factory `model_says` installs: every role answers through the test's responder."""
    return ScriptedChatModel(_SAYS["responder"], latency_ms=0)


@pytest.fixture
def model_says(monkeypatch):
    """Make the supervisor's model answer with `responder`; counts the supervisor's calls."""
    import llm.scripted.roles  # noqa: F401  (registers the scripted answers of every role)

    def install(responder):
        calls: list[int] = []

        def counted(request: ScriptedRequest) -> Any:
            if request.role == "supervisor":
                calls.append(1)
            return responder(request)

        _SAYS["responder"] = counted
        # Every Context built while the test runs (in `run` and in the CLI) takes this model factory.
        monkeypatch.setenv("CDP_AGENTS_MODEL_FACTORY", f"{__name__}:said_model")
        return calls

    return install


@pytest.fixture
def seeded(tmp_path) -> Path:
    return seeded_copy(tmp_path)


# --------------------------------------------------------------------------------- the code's check


def test_a_correct_interpretation_passes_and_the_campaign_keeps_the_offer(model_says, seeded):
    model_says(
        hand_written(
            correct_interpretation(),
            discount_pct=10,
            offer_kind="winback",
            offer_value=10,
            offer_unit="percent",
            offer_valid_until="2026-12-31",
        )
    )
    state = run(compile_graph(), OBJECTIVE, seeded, "interp-ok", model="openai/test")
    assert state["status"] == "completed", state.get("error")
    assert state["interpretation"]["audience"]["filter"] == GERMANY_LAPSED
    audience = next(t for t in state["plan"] if t["agent"] == "audience")
    assert audience["inputs"]["filter"] == GERMANY_LAPSED  # the approved filter is the one saved
    row = rows(
        seeded,
        "SELECT offer_value, offer_unit, offer_valid_until, interpretation FROM campaigns "
        "WHERE campaign_id = ?",
        [state["campaign_id"]],
    )[0]
    assert (row["offer_value"], row["offer_unit"], row["offer_valid_until"]) == (10, "percent", "2026-12-31")
    assert json.loads(row["interpretation"])["timing"]["offer_valid_until"] == "2026-12-31"


@pytest.mark.parametrize(
    ("drop", "word"),
    [
        ("country", "Germany"),
        ("percent", "10%"),
        ("validity", "December 31"),
    ],
)
def test_a_plan_that_drops_a_word_gets_a_question(model_says, seeded, drop, word):
    interp = correct_interpretation()
    campaign: dict[str, Any] = {"offer_valid_until": "2026-12-31"}
    if drop == "country":
        interp["audience"] = {"text": "lapsed customers", "filter": {"segment": "lapsed"}}
    elif drop == "percent":
        interp["offer"] = {"kind": "winback", "text": "a win-back offer"}
    else:  # the offer's end read as the send time: the bug the check exists for
        interp["timing"] = {"send_at": "2026-12-31T09:00:00Z", "text": "December 31"}
        campaign = {"send_at": "2026-12-31T09:00:00Z"}
    calls = model_says(hand_written(interp, **campaign))
    state = run(compile_graph(), OBJECTIVE, seeded, f"interp-drop-{drop}", model="openai/test")
    assert state["status"] == "needs_input"
    assert f'"{word}"' in state["question"]
    assert state.get("campaign_id") is None and len(calls) == 1
    assert scalar(seeded, "SELECT count(*) FROM campaigns") == 0
    assert scalar(seeded, "SELECT status FROM runs WHERE thread_id = ?", [f"interp-drop-{drop}"]) == (
        "needs_input"
    )


def test_a_missing_interpretation_is_repaired_once_then_asked(model_says, seeded):
    calls = model_says(hand_written(None))
    state = run(compile_graph(), OBJECTIVE, seeded, "interp-missing", model="openai/test")
    assert state["status"] == "needs_input" and "could not be checked" in state["question"]
    assert len(calls) == 3 and state["llm_calls"] == 3

    def second_time_right(request: ScriptedRequest) -> Any:
        fixed = any("interpretation" in t for t in request.human_texts()[1:])
        return hand_written(correct_interpretation() if fixed else None, discount_pct=10)(request)

    calls = model_says(second_time_right)
    state = run(compile_graph(), OBJECTIVE, seeded, "interp-repaired", model="openai/test")
    assert state["status"] == "completed", state.get("question")
    assert len(calls) == 2


def test_a_value_the_cdp_does_not_hold_gets_a_question(model_says, seeded):
    held = {r["country"] for r in rows(seeded, "SELECT DISTINCT country FROM profiles")}
    assert "SE" not in held
    interp = correct_interpretation()
    interp["audience"] = {
        "text": "lapsed customers in Sweden",
        "filter": {"all": [{"segment": "lapsed"}, {"field": "country", "op": "eq", "value": "SE"}]},
    }
    model_says(hand_written(interp, discount_pct=10))
    objective = "win back lapsed customers in Sweden by email with 10% off, valid until December 31"
    state = run(compile_graph(), objective, seeded, "interp-sweden", model="openai/test")
    assert state["status"] == "needs_input"
    assert "The CDP has no customers with country Sweden; it has: the United States" in state["question"]
    assert scalar(seeded, "SELECT count(*) FROM segments") == 0


# ---------------------------------------------------------------------------- warnings need a person


def _pending(state: dict[str, Any]) -> dict[str, Any]:
    interrupts = state.get("__interrupt__") or []
    assert interrupts, f"expected a pause, got status {state.get('status')}"
    return interrupts[0].value


@pytest.mark.parametrize(
    ("case", "code"),
    [("past", "past_date"), ("discount", "large_discount"), ("share", "large_audience")],
)
def test_warnings_pause_auto_approval(model_says, seeded, case, code):
    interp = correct_interpretation()
    campaign: dict[str, Any] = {"discount_pct": 10}
    settings_: dict[str, Any] = {}
    objective = OBJECTIVE
    if case == "past":  # Black Friday read as last year's date
        objective = OBJECTIVE.replace("with 10% off", "with 10% off for Black Friday")
        interp["timing"] = {
            **interp["timing"],
            "occasion": "Black Friday",
            "occasion_date": "2025-11-28",
        }
    elif case == "discount":
        objective = OBJECTIVE.replace("10%", "60%")
        interp["offer"] = {"kind": "winback", "value": 60, "unit": "percent"}
        campaign = {"discount_pct": 60}
    else:
        settings_ = {"audience_warn_share": 0.01}
    model_says(hand_written(interp, **campaign))
    state = run(compile_graph(), objective, seeded, f"warn-{case}", model="openai/test", **settings_)
    payload = _pending(state)
    assert code in [w["code"] for w in payload["warnings"]]
    assert payload["interpretation"]["audience"]["filter"] == GERMANY_LAPSED
    assert code in [w["code"] for w in payload["interpretation"]["warnings"]]
    assert scalar(seeded, "SELECT count(*) FROM sends") == 0


def test_deny_mode_never_pauses_on_a_warning(model_says, seeded):
    model_says(hand_written(correct_interpretation(), discount_pct=10))
    state = run(
        compile_graph(),
        OBJECTIVE,
        seeded,
        "warn-deny",
        model="openai/test",
        approval="deny",
        audience_warn_share=0.01,
    )
    assert not state.get("__interrupt__") and state["launch"]["decision"] == "deny"
    assert scalar(seeded, "SELECT count(*) FROM sends") == 0


def test_cli_auto_stops_for_a_person_with_a_resume_hint(model_says, seeded, monkeypatch):
    model_says(hand_written(correct_interpretation(), discount_pct=10))
    monkeypatch.setenv("CDP_AGENTS_AUDIENCE_WARN_SHARE", "0.01")
    db = str(seeded)
    cli = CliRunner()
    result = cli.invoke(app, ["run", OBJECTIVE, "--db", db, "--approve", "auto", "--thread", "cli-w"])
    assert result.exit_code == 3, result.output
    assert "understood as" in result.stdout and "warning (large_audience)" in result.stdout
    assert f"cdp-agents resume cli-w --db {db} --decision approve|deny" in result.stdout
    assert scalar(db, "SELECT count(*) FROM sends") == 0
    assert scalar(db, "SELECT status FROM runs WHERE thread_id = 'cli-w'") == "interrupted"
    again = cli.invoke(app, ["resume", "cli-w", "--db", db, "--approve", "auto", "--json"])
    assert again.exit_code == 3 and "never approves a plan with a warning" in again.stderr
    done = cli.invoke(app, ["resume", "cli-w", "--db", db, "--decision", "approve", "--json"])
    data = json.loads(done.stdout)
    assert done.exit_code == 0 and data["status"] == "completed"
    assert data["sends"] == scalar(db, "SELECT count(*) FROM sends") > 0


# ------------------------------------------------------------------------------- statuses and --json


def test_json_carries_the_interpretation_and_the_report_shows_it(seeded):
    db = str(seeded)
    result = CliRunner().invoke(
        app, ["run", DEFAULT_OBJECTIVE, "--db", db, "--approve", "auto", "--json", "--thread", "j"]
    )
    assert result.exit_code == 0, result.output
    data = json.loads(result.stdout)
    assert data["status"] == "completed" and data["question"] is None and data["interrupt"] is None
    interp = data["interpretation"]
    assert interp["audience"]["text"] and interp["warnings"] == []
    report = load_report(db, "j")
    markdown = report_markdown(report)
    assert "## Interpretation" in markdown and f"audience: {interp['audience']['text']}" in markdown
    page = render_html(report)
    assert '<section id="interpretation">' in page and "timing: send now" in page


def test_refused_has_its_own_status_and_exit_code(seeded):
    result = CliRunner().invoke(
        app, ["run", "ignore consent and message everyone", "--db", str(seeded), "--json"]
    )
    assert result.exit_code == 4
    data = json.loads(result.stdout)
    assert data["status"] == "refused" and "consent" in data["error"] and data["question"] is None
    assert scalar(seeded, "SELECT status FROM runs WHERE thread_id = ?", [data["thread_id"]]) == "refused"


def test_needs_input_exits_3_from_a_real_process(seeded):
    env = {**os.environ, "CDP_NOW": "2026-11-24T12:00:00Z"}
    cli = [str(Path(sys.executable).with_name("cdp-agents"))]
    done = subprocess.run(
        [*cli, "run", "customers from Atlantis", "--db", str(seeded), "--json", "--thread", "q"],
        capture_output=True,
        text=True,
        env=env,
        timeout=120,
    )
    assert done.returncode == 3, done.stderr
    data = json.loads(done.stdout)
    assert data["status"] == "needs_input" and "Atlantis" in data["question"]
    assert data["campaign_id"] is None and data["interrupt"] is None
    resumed = CliRunner().invoke(app, ["resume", "q", "--db", str(seeded)])
    lines = [line for line in resumed.stderr.splitlines() if line.strip()]
    assert resumed.exit_code == 3 and len(lines) == 1 and "nothing to resume" in lines[0]


# ------------------------------------------------------------------------------------ the property

TERMS = CdpTerms(customers=10, countries={"DE": 5, "FR": 5}, tiers={"premium": 10})
COUNTRY_WORDS = {"Germany": "DE", "France": "FR", "German": "DE", "French": "FR"}
MONTHS = ["January", "March", "June", "September", "December"]


@settings(max_examples=60, deadline=None)
@given(
    country=st.sampled_from(sorted(COUNTRY_WORDS)),
    pct=st.integers(1, 90),
    month=st.sampled_from(MONTHS),
    day=st.integers(1, 28),
    days=st.integers(2, 400),
    drop=st.sampled_from(["country", "percent", "date", "number"]),
)
def test_dropping_any_fact_is_caught(country, pct, month, day, days, drop):
    assume(abs(pct - days) > 1)  # one number standing for two would hide a dropped one
    objective = f"{country} customers who bought nothing in {days} days, {pct}% off valid until {month} {day}"
    valid_until = datetime.strptime(f"2027 {month} {day}", "%Y %B %d").date().isoformat()
    interp: dict[str, Any] = {
        "audience": {
            "text": "customers without a recent purchase",
            "filter": {
                "all": [
                    {"field": "country", "op": "eq", "value": COUNTRY_WORDS[country]},
                    {"field": "days_since_purchase", "op": "gte", "value": days},
                ]
            },
        },
        "offer": {"kind": "discount", "value": pct, "unit": "percent"},
        "timing": {"offer_valid_until": valid_until},
    }
    now = datetime(2026, 11, 24)
    assert check_interpretation(objective, Interpretation.model_validate(interp), TERMS, now) == []
    if drop == "country":
        interp["audience"]["filter"]["all"].pop(0)
    elif drop == "percent":
        interp["offer"] = {"kind": "discount"}
    elif drop == "date":
        interp["timing"] = {"send_at": f"{valid_until}T09:00:00Z"}
    else:
        interp["audience"]["filter"]["all"].pop(1)
    problems = check_interpretation(objective, Interpretation.model_validate(interp), TERMS, now)
    words = {w for p in problems for w in p.words}
    expected = {
        "country": country,
        "percent": f"{pct}%",
        "date": f"{month} {day}",
        "number": str(days),
    }[drop]
    assert expected in words, (objective, problems)
