"""Only the planner reads the objective: specialists act on the typed inputs the plan gave their task.

Every model call but the supervisor's sees a decoy objective (other customers, another country and
channel), and the objective reader raises when anyone but the supervisor calls it. The runs must still
target exactly the customers the real objective names, on its channel, with its offer, checked in SQL.
"""

from __future__ import annotations

import importlib
import json
import re
import sys
import threading
from typing import Any

import pytest
from langchain_core.messages import HumanMessage

from llm.scripted import ScriptedChatModel, ScriptedRequest, default_responder
from tests.graph.helpers import (
    DEFAULT_OBJECTIVE,
    campaign_of,
    compile_graph,
    ids,
    rows,
    run,
    segment_members,
    send_count,
)

DECOY = "win back lapsed customers in Japan by sms with 40% off"
READER_ENTRY_POINTS = ("parse_objective", "read")  # the offline reader's public entry, old and new
_current = threading.local()


def _hide_objective(request: ScriptedRequest) -> ScriptedRequest:
    """The same request with every `objective` in a JSON message replaced by the decoy."""
    messages = []
    for m in request.messages:
        if isinstance(m, HumanMessage):
            try:
                data = json.loads(m.text)
            except ValueError:
                data = None
            if isinstance(data, dict) and "objective" in data:
                m = HumanMessage(json.dumps({**data, "objective": DECOY}))
        messages.append(m)
    return ScriptedRequest(
        messages=messages,
        tools=request.tools,
        tool_choice=request.tool_choice,
        structured_output=request.structured_output,
        role=request.role,
    )


def _respond(request: ScriptedRequest) -> Any:
    _current.role = request.role
    try:
        return default_responder(request if request.role == "supervisor" else _hide_objective(request))
    finally:
        _current.role = None


def _models(name: str | None = None, **_: Any) -> ScriptedChatModel:
    import llm.scripted.roles  # noqa: F401  (registers the scripted answers of every role)

    return ScriptedChatModel(_respond)


@pytest.fixture
def planner_only_reads(monkeypatch):
    """Every model call goes through `_respond`; the reader works for the supervisor role only."""
    for name in ("llm.scripted.roles", "llm.scripted.grammar", "llm.scripted.reader", "llm.scripted.planner"):
        try:
            importlib.import_module(name)
        except ImportError:
            continue
    originals: dict[int, Any] = {}
    for module in [m for n, m in list(sys.modules.items()) if n.startswith("llm.scripted")]:
        for attr in READER_ENTRY_POINTS:
            fn = getattr(module, attr, None)
            if callable(fn) and getattr(fn, "__module__", "").startswith("llm.scripted"):
                originals.setdefault(id(fn), fn)
                monkeypatch.setattr(module, attr, _guarded(originals[id(fn)]))
    assert originals, "no objective reader found to guard"


def _guarded(fn):
    def reader(*args: Any, **kwargs: Any) -> Any:
        if getattr(_current, "role", None) != "supervisor":
            raise AssertionError(f"the objective was read outside planning (role {_current.role!r})")
        return fn(*args, **kwargs)

    return reader


def _accounted(path, campaign_id: str, want: set[str]) -> None:
    sent = ids(path, "SELECT profile_id FROM sends WHERE campaign_id = ?", [campaign_id])
    stopped = ids(path, "SELECT profile_id FROM decisions WHERE campaign_id = ?", [campaign_id])
    assert sent and sent <= want and not sent & stopped
    assert sent | stopped == want


def test_default_objective_runs_on_the_plan_alone(planner_only_reads, tmp_path):
    from tests.seeded import seeded_copy

    path = seeded_copy(tmp_path)
    state = run(compile_graph(), DEFAULT_OBJECTIVE, path, "plan-only-1", model_factory=_models)
    assert state["status"] == "completed", state.get("report")
    want = ids(path, "SELECT profile_id FROM customer_360 WHERE tier = 'premium' AND churn_risk >= 0.7")
    assert segment_members(path, campaign_of(path, "plan-only-1")["segment_id"]) == want
    assert state["launch"]["scheduled"] == send_count(path, state["campaign_id"])
    _accounted(path, state["campaign_id"], want)


def test_country_channel_and_offer_come_from_the_task_inputs(planner_only_reads, tmp_path):
    from tests.seeded import seeded_copy

    path = seeded_copy(tmp_path)
    objective = "retain at-risk premium customers in Germany by email with 20% off"
    state = run(compile_graph(), objective, path, "plan-only-2", model_factory=_models)
    assert state["status"] == "completed", state.get("report")
    want = ids(
        path,
        "SELECT profile_id FROM customer_360 WHERE tier = 'premium' AND churn_risk >= 0.7 AND country = 'DE'",
    )
    assert want, "the seeded CDP must have at-risk premium customers in Germany"
    assert segment_members(path, campaign_of(path, "plan-only-2")["segment_id"]) == want
    _accounted(path, state["campaign_id"], want)
    channels = rows(path, "SELECT DISTINCT channel FROM sends WHERE campaign_id = ?", [state["campaign_id"]])
    assert [r["channel"] for r in channels] == ["email"]
    bodies = [
        r["body"]
        for r in rows(path, "SELECT body FROM content_variants WHERE campaign_id = ?", [state["campaign_id"]])
    ]
    assert bodies and not any(re.search(r"40\s?%", b) for b in bodies)
    assert any(re.search(r"20\s?%", b) for b in bodies)
