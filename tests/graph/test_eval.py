"""`evals.run_suite` and `cdp-agents eval` on the real graph: the scripted model scores every row,
each failure class comes from a model that fails that way, and the CLI's JSON, files and exit codes.

Faults are injected only at the LLM boundary: a scripted model whose responder refuses, answers with
prose, flips a filter, asks, writes its tool calls as text, never finishes, times out or raises.
What a run did is checked with plain SQL on the run's kept CDP copy, not with the harness's figures.
"""

from __future__ import annotations

import json
import sqlite3
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from langchain_core.messages import AIMessage, HumanMessage
from typer.testing import CliRunner

from cli.main import app
from evals import run_suite
from evals.report import FAILURES, RunRecord, SuiteReport, summarise
from evals.suites import load_suite, rows_of
from evals.table import members
from graph.graph import MODEL_RETRY
from llm.scripted import ScriptedChatModel, ScriptedRequest, ScriptedTimeoutError, default_responder
from tests.invariants import assert_promise_holds

pytestmark = pytest.mark.xdist_group("eval")

FAST = MODEL_RETRY._replace(initial_interval=0.001, max_interval=0.001, jitter=False)
SPARED = ("supervisor", "synthesizer")


def _ids(path: Path, sql: str, params: list[Any] | None = None) -> set[str]:
    conn = sqlite3.connect(str(path))
    try:
        return {r[0] for r in conn.execute(sql, params or []).fetchall()}
    finally:
        conn.close()


@pytest.fixture
def seeded(tmp_path) -> Path:
    """A copy of the 2,000-customer CDP (seed 7) the harness seeds by default, seeded once per process."""
    from tests.seeded import seeded_copy

    return seeded_copy(tmp_path, customers=2000, seed=7)


def test_the_scripted_model_scores_every_core_and_smoke_row_at_the_plan_stage(seeded):
    report = run_suite("core", stage="plan", seeded=seeded)
    assert report.totals is not None
    smoke = {r.slug for r in load_suite("smoke").rows}
    assert smoke <= {r.slug for r in report.runs}
    misses = [(r.slug, r.failure, r.detail) for r in report.runs if not r.passed]
    assert misses == []
    assert report.totals.pass_k == 1.0 and report.totals.runs == 12
    assert report.totals.questions_correct == report.totals.question_runs == 3
    assert report.totals.exact_audience_rate == 1.0 and report.totals.violations == 0
    assert all(r.model_calls == 1 and r.prompt_tokens > 0 and r.sends == 0 for r in report.runs)


def test_the_scripted_model_launches_the_smoke_suite_exactly_and_within_the_promise(tmp_path, seeded):
    report = run_suite("smoke", stage="launch", keep=tmp_path, seeded=seeded)
    assert report.customers == 2000
    assert report.totals is not None and report.totals.pass_k == 1.0, report.runs
    for run in report.runs:
        path = tmp_path / f"run-{run.slug}-0.db"
        assert_promise_holds(path)
        row = rows_of([run.slug])[0]
        campaign = _ids(path, "SELECT campaign_id FROM campaigns WHERE thread_id = ?", [run.thread_id])
        if row.sql is None:
            assert campaign == set() and run.status == "needs_input" and run.question
            continue
        conn = sqlite3.connect(str(path))
        want = members(conn, row.sql)
        conn.close()
        sent = _ids(
            path, "SELECT profile_id FROM sends WHERE campaign_id IN (SELECT campaign_id FROM campaigns)"
        )
        assert run.status == "completed" and run.expected_size == run.audience_size == len(want)
        assert sent and sent <= want, run.slug
        assert run.sends == len(_ids(path, "SELECT send_id FROM sends")) and run.model_calls > 2


# ------------------------------------------------------------------------------------ failure classes


def _plan(request: ScriptedRequest) -> dict[str, Any]:
    answer = default_responder(request)
    return json.loads(json.dumps(answer.model_dump(mode="json") if hasattr(answer, "model_dump") else answer))


def _supervisor(change: Callable[[ScriptedRequest], Any]) -> Callable[[ScriptedRequest], Any]:
    return lambda r: change(r) if r.role == "supervisor" else default_responder(r)


def _specialists(change: Callable[[ScriptedRequest], Any]) -> Callable[[ScriptedRequest], Any]:
    return lambda r: default_responder(r) if r.role in SPARED else change(r)


def _refuse(r: ScriptedRequest) -> dict[str, Any]:
    return {**_plan(r), "refusal": "I cannot run marketing campaigns.", "tasks": []}


def _ask(r: ScriptedRequest) -> dict[str, Any]:
    return {**_plan(r), "question": "Which customers do you mean?", "tasks": []}


def _flip_tier(r: ScriptedRequest) -> dict[str, Any]:
    return json.loads(json.dumps(_plan(r)).replace('"premium"', '"vip"'))


def _plan_the_first_half(r: ScriptedRequest) -> Any:
    """The plan of "welcome new customers by email" whatever was asked (a compound objective's half)."""
    words = [
        HumanMessage("welcome new customers by email") if isinstance(m, HumanMessage) else m
        for m in r.messages
    ]
    return default_responder(ScriptedRequest(words, r.tools, r.tool_choice, r.structured_output, r.role))


def _tool_call_as_text(r: ScriptedRequest) -> Any:
    answer = default_responder(r)
    call = (answer.get("tool_calls") or [{"name": "finish", "args": {}}])[0]
    return AIMessage(content=json.dumps({"name": call["name"], "arguments": call["args"]}))


def _never_finish(r: ScriptedRequest) -> Any:
    answer = default_responder(r)
    calls = [c for c in answer.get("tool_calls") or [] if c["name"] != "finish"]
    return {"tool_calls": calls[:1] or [{"name": r.tools[0].name, "args": {}}]}


def _time_out(r: ScriptedRequest) -> Any:
    raise ScriptedTimeoutError("the scripted endpoint did not answer in time")


def _crash(r: ScriptedRequest) -> Any:
    raise ValueError("the model server returned nonsense")


CASES = {
    "refused": (_supervisor(_refuse), "plan", "default-objective"),
    "invalid_plan": (
        _supervisor(lambda r: AIMessage(content="Sure! Target everyone.")),
        "plan",
        "default-objective",
    ),
    "wrong_filter": (_supervisor(_flip_tier), "plan", "default-objective"),
    "wrong_question": (_supervisor(_ask), "plan", "default-objective"),
    "no_question": (_supervisor(_plan_the_first_half), "plan", "issue-welcome-and-win-back"),
    "tool_call_format": (_specialists(_tool_call_as_text), "launch", "default-objective"),
    "step_budget": (_specialists(_never_finish), "launch", "default-objective"),
    "timeout": (_time_out, "plan", "default-objective"),
    "error": (_specialists(_crash), "launch", "default-objective"),
}


def test_the_cases_cover_the_closed_set():
    assert set(CASES) == set(FAILURES)


@pytest.mark.parametrize("failure", list(CASES))
def test_each_failure_class_comes_from_a_model_that_fails_that_way(failure: str, seeded):
    respond, stage, slug = CASES[failure]
    report = run_suite(
        rows_of([slug]),
        model_factory=lambda name=None, **_: ScriptedChatModel(respond, latency_ms=0),
        stage=stage,
        seeded=seeded,
        retry=FAST,
    )
    (run,) = report.runs
    assert (run.passed, run.failure) == (False, failure), run.detail
    assert run.detail and run.violations == 0 and run.sends == 0
    assert report.totals is not None and report.totals.failures == {failure: 1}


def test_a_specialist_timeout_is_a_timeout_not_an_error(seeded):
    report = run_suite(
        rows_of(["default-objective"]),
        model_factory=lambda name=None, **_: ScriptedChatModel(_specialists(_time_out), latency_ms=0),
        stage="launch",
        seeded=seeded,
        retry=FAST,
    )
    assert [r.failure for r in report.runs] == ["timeout"]
    assert "ScriptedTimeoutError" in report.runs[0].detail


# ---------------------------------------------------------------------------------------------- pass^k


def _record(slug: str, repeat: int, passed: bool, failure: str | None = None) -> RunRecord:
    return RunRecord(
        slug=slug, kind="k", objective=slug, repeat=repeat, thread_id=f"{slug}-{repeat}", passed=passed,
        failure=failure, detail="", status="completed", model_calls=2, prompt_tokens=10, completion_tokens=5,
        tokens_reported=True, wall_s=0.5, violations=0, broken_checks=[], audience_size=4, expected_size=4,
        audience_exact=passed, question_correct=None,
    )  # fmt: skip


def test_pass_k_needs_every_repeat_of_an_objective():
    runs = [
        *(_record("always", k, True) for k in range(3)),
        *(_record("flaky", k, k != 1, None if k != 1 else "wrong_filter") for k in range(3)),
        *(_record("never", k, False, "timeout") for k in range(3)),
    ]
    report = summarise(SuiteReport("m", "s", "plan", 3, 10, 7, runs))
    assert report.totals is not None
    assert [(o.slug, o.passes, o.pass_k) for o in report.objectives] == [
        ("always", 3, True),
        ("flaky", 2, False),
        ("never", 0, False),
    ]
    assert report.totals.pass_k == round(1 / 3, 4) and report.totals.pass_rate == round(5 / 9, 4)
    assert report.totals.failures == {"wrong_filter": 1, "timeout": 3}
    assert (report.totals.model_calls, report.totals.prompt_tokens, report.totals.wall_s) == (18, 90, 4.5)


def test_a_model_that_misses_one_repeat_fails_pass_k_but_not_every_run(seeded):
    seen: list[str] = []

    def second_plan_flipped(r: ScriptedRequest) -> Any:
        if r.role != "supervisor":
            return default_responder(r)
        seen.append(r.role)
        return _flip_tier(r) if len(seen) == 2 else default_responder(r)

    report = run_suite(
        rows_of(["default-objective"]),
        model_factory=lambda name=None, **_: ScriptedChatModel(second_plan_flipped, latency_ms=0),
        stage="plan",
        repeat=3,
        seeded=seeded,
    )
    assert report.totals is not None
    assert [r.passed for r in report.runs] == [True, False, True]
    assert report.totals.pass_k == 0.0 and report.totals.passed_runs == 2
    assert report.objectives[0].failures == {"wrong_filter": 1}


# ------------------------------------------------------------------------------------------------- CLI


def test_the_cli_prints_the_report_as_json_and_writes_json_and_markdown(tmp_path):
    out = tmp_path / "reports" / "scripted"
    args = ["eval", "--objective", "default-objective", "--objective", "issue-austria", "--stage", "plan"]
    result = CliRunner().invoke(
        app, [*args, "--customers", "300", "--repeat", "2", "--json", "--out", str(out)]
    )
    assert result.exit_code == 0, result.output
    shown = json.loads(result.stdout)
    assert {"model", "suite", "stage", "repeat", "customers", "runs", "objectives", "totals"} <= set(shown)
    assert (shown["model"], shown["stage"], shown["repeat"]) == ("scripted", "plan", 2)
    assert [(r["slug"], r["repeat"], r["passed"], r["failure"]) for r in shown["runs"]] == [
        ("default-objective", 0, True, None),
        ("default-objective", 1, True, None),
        ("issue-austria", 0, True, None),
        ("issue-austria", 1, True, None),
    ]
    for key in ("model_calls", "prompt_tokens", "completion_tokens", "wall_s", "violations", "audience_size"):
        assert key in shown["runs"][0]
    assert shown["totals"]["pass_k"] == 1.0 and shown["totals"]["failures"] == {}
    assert json.loads((tmp_path / "reports" / "scripted.json").read_text()) == shown
    markdown = (tmp_path / "reports" / "scripted.md").read_text()
    assert (
        "| objective | class | pass^k |" in markdown
        and "| default-objective | core | yes | 2/2 |" in markdown
    )


@pytest.mark.parametrize(
    ("args", "said"),
    [
        (["--suite", "nightly"], "no suite 'nightly'"),
        (["--objective", "outside-the-u"], "did you mean outside-the-us"),
        (["--repeat", "0"], "--repeat must be at least 1"),
        (["--stage", "deliver"], "--stage must be plan or launch"),
    ],
)
def test_bad_usage_is_one_line_and_exit_2(args: list[str], said: str):
    result = CliRunner().invoke(app, ["eval", *args])
    assert result.exit_code == 2, result.output
    assert said in result.stderr and len(result.stderr.strip().splitlines()) == 1


@pytest.mark.network_local
@pytest.mark.allow_hosts(["127.0.0.1"])
def test_an_endpoint_that_cannot_be_reached_stops_the_eval_at_once_with_exit_1(monkeypatch):
    import socket

    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    monkeypatch.setenv("OPENAI_API_KEY", "local")
    monkeypatch.setenv("OPENAI_BASE_URL", f"http://127.0.0.1:{port}/v1")
    result = CliRunner().invoke(app, ["eval", "--model", "some-model", "--suite", "smoke"])
    assert result.exit_code == 1, result.output
    assert "cannot be reached" in result.stderr and result.stdout == ""
