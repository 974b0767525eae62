"""Hostile model output against the specialist subgraph: each test is a concrete attack that must fail.

Raw PII in parse errors and content blocks, reused and repeated tool-call ids, a finish that failed,
a crash that would refill the step budget, an interrupt beside other tasks, notes to outsiders, a
write tool refused half-way: each states what must happen, against the real graph.
"""

from __future__ import annotations

import threading
from typing import Any

import pytest
from langchain_core.messages import AIMessage, ToolMessage
from langgraph.checkpoint.memory import InMemorySaver

from agents.base import run_of
from agents.registry import REGISTRY
from cdp import tools_base
from cdp.redact import find_pii
from llm.scripted import ScriptedChatModel, ScriptedRequest, default_responder
from tests.graph.helpers import DEFAULT_OBJECTIVE, compile_graph, messages, one_tool_per_turn, rows, run
from tests.prompt_guard import paranoid_pii, sent_prompts

EMAIL = "jane.roe+refund@example.org"


def _scripted(respond):
    def factory(name: str | None = None, **_: Any) -> ScriptedChatModel:
        import llm.scripted.roles  # noqa: F401  (registers the scripted answers of every role)

        return ScriptedChatModel(respond, latency_ms=0)

    return factory


def _invalid_json_reply(name: str, raw_arguments: str) -> AIMessage:
    """The AIMessage ChatOpenAI builds from a tool call whose arguments are not valid JSON."""
    from langchain_openai.chat_models.base import _convert_dict_to_message

    message = _convert_dict_to_message(
        {
            "role": "assistant",
            "content": None,
            "tool_calls": [
                {
                    "id": "call_bad_1",
                    "type": "function",
                    "function": {"name": name, "arguments": raw_arguments},
                }
            ],
        }
    )
    assert isinstance(message, AIMessage) and message.invalid_tool_calls
    return message


@pytest.mark.allow_pii_in_prompts  # checked in the test body
def test_an_invalid_json_tool_call_does_not_echo_pii_back_to_the_model(seeded_cdp_path):
    # The audience agent's first reply is a tool call cut off mid-string, its argument naming a
    # customer by email (as a model does after reading a ticket it should not have quoted).
    sent_bad = threading.Event()

    def respond(request: ScriptedRequest) -> Any:
        if request.role == "audience" and not sent_bad.is_set():
            sent_bad.set()
            return _invalid_json_reply("save_segment", '{"name": "refunds for ' + EMAIL)
        return default_responder(request)

    state = run(
        compile_graph(), DEFAULT_OBJECTIVE, seeded_cdp_path, "atk-json", model_factory=_scripted(respond)
    )
    assert sent_bad.is_set() and state["status"] == "completed"
    texts = [text for _, text in sent_prompts()]
    echoed = [t for t in texts if "not valid JSON" in t]
    assert echoed, "the model was never told its call was invalid"
    leaks = [(t[:120], find_pii(t), paranoid_pii(t)) for t in texts if find_pii(t) or paranoid_pii(t)]
    assert leaks == []


def _dup_id_conversation(checked_tool: str, checked_args: dict, other_tool: str, other_result: str):
    """One reply with two tool calls sharing one call id: the checked tool fails, another succeeds."""
    reply = AIMessage(
        content="",
        tool_calls=[
            {"name": checked_tool, "args": checked_args, "id": "call_dup", "type": "tool_call"},
            {"name": other_tool, "args": {}, "id": "call_dup", "type": "tool_call"},
            {"name": "finish", "args": {"summary": "staged"}, "id": "call_fin", "type": "tool_call"},
        ],
    )
    answers = [
        ToolMessage(
            "Error: invalid arguments: segment_id: Field required. Fix these arguments and call the tool again.",
            tool_call_id="call_dup",
            name=checked_tool,
            status="error",
        ),
        ToolMessage(other_result, tool_call_id="call_dup", name=other_tool),
        ToolMessage("recorded", tool_call_id="call_fin", name="finish"),
    ]
    return [reply, *answers]


def test_a_reused_tool_call_id_cannot_pass_off_a_failed_tool_as_done():
    conversation = _dup_id_conversation(
        "stage_sends",
        {"channel_priority": ["email"]},
        "plan_channels",
        '{"channels": ["email"], "staged": 999}',
    )
    run_ = run_of(conversation)
    # stage_sends failed (its own answer says so), so it has no successful result ...
    assert run_.results_of("stage_sends") == []
    # ... and the activation check must still refuse the finish.
    skill = REGISTRY["activation"].skill()
    assert skill.check is not None
    assert skill.check(run_, None) is not None  # type: ignore[arg-type]


class Crash(BaseException):
    """Stands in for the process dying: nothing in the graph catches it."""


def _never_finishes(role: str, crash_on: int | None):
    """Model factory: agent `role` calls a read tool forever; its call number `crash_on` dies once."""
    calls = {role: 0}
    crashed = threading.Event()

    def respond(request: ScriptedRequest) -> Any:
        if request.role != role:
            return default_responder(request)
        calls[role] += 1
        if calls[role] - 1 == crash_on and not crashed.is_set():
            crashed.set()
            raise Crash()
        return {"content": "", "tool_calls": [{"name": "segment_summary", "args": {"segment_id": "x"}}]}

    return calls, _scripted(respond)


def test_a_resumed_specialist_does_not_get_a_fresh_step_budget(seeded_cdp_path):
    # Uninterrupted, a never-finishing agent gets exactly max_agent_steps=3 model calls (see
    # test_specialist_subgraph). Here the audience agent (it runs alone, so the crash propagates) dies
    # on its second call; after the resume it should get only the calls left in its budget: 3
    # completed in all, plus the one that died.
    calls, models = _never_finishes("audience", crash_on=1)
    g = compile_graph(InMemorySaver())
    with pytest.raises(Crash):
        run(g, DEFAULT_OBJECTIVE, seeded_cdp_path, "atk-budget", model_factory=models, max_agent_steps=3)
    assert calls["audience"] == 2
    assert not tools_base._OPEN  # the crashed task closed its connection
    state = run(g, None, seeded_cdp_path, "atk-budget", model_factory=models, max_agent_steps=3)
    assert state["assignments"]["audience"][0] == "audience"
    assert not tools_base._OPEN
    assert calls["audience"] <= 3 + 1, calls


def test_an_interrupt_in_a_parallel_specialist_stops_the_run(seeded_cdp_path):
    # The content task runs in the same superstep as other tasks; its model call is interrupted.
    _calls, models = _never_finishes("content", crash_on=1)
    with pytest.raises(Crash):
        state = run(
            compile_graph(InMemorySaver()),
            DEFAULT_OBJECTIVE,
            seeded_cdp_path,
            "atk-int",
            model_factory=models,
        )
        # What happens instead: the run goes on, the content task 'failed' with "Crash: " and its
        # fallback did it.
        print(state["assignments"]["content"], state["status"])
    assert not tools_base._OPEN


OUTSIDER = "crm-export"  # not an agent, not the supervisor


def _service_notifies_an_outsider(request: ScriptedRequest) -> Any:
    """The service agent's notes go to a recipient that is no agent of the run."""
    answer = default_responder(request)
    if request.role != "service" or not isinstance(answer, dict):
        return answer
    calls = [
        {**c, "args": {**c["args"], "recipient": OUTSIDER}} if c["name"] == "notify" else c
        for c in answer.get("tool_calls") or []
    ]
    return {**answer, "tool_calls": calls}


def _delivered_to_outsider(path, thread: str) -> list[Any]:
    sent = [m for m in messages(path, thread) if m["recipient"] == OUTSIDER]
    notes = [
        dict(r)
        for r in rows(
            path, "SELECT * FROM task_notes WHERE thread_id = ? AND value LIKE ?", [thread, f"%{OUTSIDER}%"]
        )
    ]
    return sent + notes


@pytest.mark.parametrize(
    "protocol",
    [
        pytest.param("hub"),
        "p2p",
        pytest.param("blackboard"),
    ],
)
def test_a_note_to_a_non_agent_is_vetoed_under_every_protocol(seeded_cdp_path, protocol):
    thread = f"atk-note-{protocol}"
    state = run(
        compile_graph(),
        DEFAULT_OBJECTIVE,
        seeded_cdp_path,
        thread,
        protocol=protocol,
        model_factory=_scripted(_service_notifies_an_outsider),
    )
    assert state["status"] == "completed", state.get("report")
    assert "notify" in state["results"]["service"]["tools"]
    assert _delivered_to_outsider(seeded_cdp_path, thread) == []
    vetoes = [m for m in messages(seeded_cdp_path, thread) if m["payload"].get("vetoed")]
    assert [v["payload"]["vetoed"]["recipient"] for v in vetoes] == [OUTSIDER]


def _run_custom_skill(path, tool, calls: list[dict[str, Any]]) -> list[str]:
    """Run a one-tool specialist whose model calls `calls` then finishes; the texts the model was sent."""
    from agents.base import Skill, build_specialist, run_specialist
    from graph.context import Context

    turns = iter([{"content": "", "tool_calls": calls}])

    def respond(request: ScriptedRequest) -> Any:
        return next(turns, {"content": "", "tool_calls": [{"name": "finish", "args": {"summary": "done"}}]})

    skill = Skill(
        "audience", "audience", lambda env: [tool], lambda run_, env: {"tools": len(run_.tool_calls)}
    )
    agent = build_specialist(skill, ScriptedChatModel(respond, latency_ms=0))
    task = {
        "task": {"id": "t1", "agent": "audience", "goal": "read the notes", "inputs": {}},
        "agent": "audience",
        "objective": "o",
        "campaign_id": "",
        "inputs": {},
        "attempt": 1,
        "consumers": [],
        "thread_id": "atk-custom",
    }
    outcome = run_specialist(agent, task, Context(db_path=str(path)))
    assert outcome["outputs"]["tools"] >= 2
    return [text for _, text in sent_prompts()]


@pytest.mark.allow_pii_in_prompts  # checked in the test body
def test_a_tool_returning_content_blocks_is_redacted_too(seeded_cdp_path):
    from langchain_core.tools import StructuredTool

    def agent_notes() -> list[dict[str, str]]:
        """Notes left by other agents."""
        return [{"type": "text", "text": f"customer wrote from {EMAIL}, card 4111 1111 1111 1111"}]

    tool = StructuredTool.from_function(agent_notes)
    texts = _run_custom_skill(seeded_cdp_path, tool, [{"name": "agent_notes", "args": {}}])
    assert any("customer wrote from" in t for t in texts)
    assert [t for t in texts if find_pii(t) or paranoid_pii(t)] == []


@pytest.mark.allow_pii_in_prompts  # checked in the test body
def test_a_non_tool_exception_inside_a_tool_is_redacted(seeded_cdp_path):
    """Held: a KeyError / sqlite3 error quoting a customer's details reaches the model redacted."""
    import sqlite3

    from langchain_core.tools import StructuredTool

    def lookup(key: str) -> str:
        """Look a key up."""
        if key == "k":
            raise KeyError(f"no profile for {EMAIL} / +49 30 1234567")
        raise sqlite3.OperationalError(f"near '{EMAIL}': syntax error, IBAN DE89 3704 0044 0532 0130 00")

    tool = StructuredTool.from_function(lookup)
    texts = _run_custom_skill(
        seeded_cdp_path,
        tool,
        [{"name": "lookup", "args": {"key": "k"}}, {"name": "lookup", "args": {"key": "x"}}],
    )
    errors = [t for t in texts if "KeyError" in t or "OperationalError" in t]
    assert len(errors) == 2, texts
    assert [t for t in texts if find_pii(t) or paranoid_pii(t)] == []


def _activation_restages_a_missing_segment():
    """Activation stages properly, then stages again for a segment that does not exist, then finishes."""
    turns = {"activation": 0}

    def respond(request: ScriptedRequest) -> Any:
        answer = default_responder(request)
        if request.role != "activation" or not isinstance(answer, dict):
            return answer
        turn = turns["activation"]
        turns["activation"] += 1
        if turn == 0:
            return {
                "content": "",
                "tool_calls": [c for c in answer["tool_calls"] if c["name"] == "stage_sends"],
            }
        if turn == 1:
            missing = {"segment_id": "seg_does_not_exist", "channel_priority": ["email"]}
            return {"content": "", "tool_calls": [{"name": "stage_sends", "args": missing}]}
        return {"content": "", "tool_calls": [{"name": "finish", "args": {"summary": "staged"}}]}

    return _scripted(respond)


def test_a_failed_write_tool_leaves_nothing_committed(seeded_cdp_path):
    from tests.graph.helpers import scalar

    state = run(
        compile_graph(),
        DEFAULT_OBJECTIVE,
        seeded_cdp_path,
        "atk-restage",
        model_factory=_activation_restages_a_missing_segment(),
    )
    activation = state["results"]["activation"]
    assert activation["tools"].count("stage_sends") == 2
    campaign = state["campaign_id"]
    segment = scalar(seeded_cdp_path, "SELECT segment_id FROM campaigns WHERE campaign_id = ?", [campaign])
    staged = scalar(
        seeded_cdp_path, "SELECT count(*) FROM send_requests WHERE campaign_id = ? AND step = 0", [campaign]
    )
    assert activation["outputs"]["staged"] > 0
    # What the task reports is what the CDP holds: the failed call changed nothing.
    assert segment != "seg_does_not_exist"
    assert staged == activation["outputs"]["staged"]


def _chain(start: str) -> list[str]:
    from agents.registry import fallback_of

    chain = [start]
    while (nxt := fallback_of(chain[-1])) and nxt not in chain:
        chain.append(nxt)
    return chain


@pytest.mark.parametrize("attempts", [1, 10])
def test_max_task_attempts_bounds_the_agents_on_a_failing_task(seeded_cdp_path, attempts):
    """Held: 1 means no fallback; 10 walks the fallback chain once, each agent once, each checked."""
    _calls, models = _never_finishes("content", crash_on=None)

    thread = f"atk-attempts-{attempts}"
    state = run(
        compile_graph(InMemorySaver()),
        DEFAULT_OBJECTIVE,
        seeded_cdp_path,
        thread,
        model_factory=models,
        max_agent_steps=2,
        max_task_attempts=attempts,
    )
    tried = state["assignments"].get("content", ["content"])
    expected = _chain("content")[:attempts]
    assert tried[: len(expected)] == expected, tried
    assert len(tried) <= attempts
    failed = [m for m in messages(seeded_cdp_path, thread) if m["payload"].get("status") == "failed"]
    # every agent that tried and did not pass content's check failed the task
    done = state["results"].get("content", {})
    if done.get("status") == "done":
        assert done["agent"] in tried and "save_variants" in done["tools"]
    assert {m["sender"] for m in failed if m["task_id"] == "content"} <= set(tried)


def _finish_only(request: ScriptedRequest) -> Any:
    return {"content": "", "tool_calls": [{"name": "finish", "args": {"summary": "all done"}}]}


def _invalid_only(request: ScriptedRequest) -> Any:
    return _invalid_json_reply("save_variants", '{"variants": [')


def _thirty_calls(request: ScriptedRequest) -> Any:
    return {
        "content": "",
        "tool_calls": [
            {"name": "segment_summary", "args": {"segment_id": f"seg_{i:02d}"}} for i in range(30)
        ],
    }


@pytest.mark.parametrize(
    ("behaviour", "steps"),
    [
        (b, n)
        for b in (_finish_only, _invalid_only, _thirty_calls)
        for n in (1, 4, 50)
        if (b, n) != (_thirty_calls, 50)
    ],
)
def test_a_model_that_never_does_the_task_gets_exactly_its_budget(seeded_cdp_path, behaviour, steps):
    """Held: finish-only (check rejects), invalid calls, 30 calls a reply: max_agent_steps calls, then the
    task fails with StepBudgetExceeded and the fallback takes it."""
    calls = {"audience": 0}

    def respond(request: ScriptedRequest) -> Any:
        if request.role != "audience":
            return default_responder(request)
        calls["audience"] += 1
        return behaviour(request)

    thread = f"atk-budget-{behaviour.__name__}-{steps}"
    state = run(
        compile_graph(),
        DEFAULT_OBJECTIVE,
        seeded_cdp_path,
        thread,
        model_factory=_scripted(respond),
        max_agent_steps=steps,
    )
    assert calls["audience"] == steps
    failed = [m for m in messages(seeded_cdp_path, thread) if m["payload"].get("status") == "failed"]
    (mine,) = [m for m in failed if m["sender"] == "audience"]
    assert f"StepBudgetExceeded: no finished result after {steps} model calls" in mine["payload"]["error"]
    assert state["assignments"]["audience"][:2] == ["audience", REGISTRY["audience"].fallback]
    assert not tools_base._OPEN


def _stepwise_with_crash(crash_role: str | None):
    """Every agent calls one tool per model call; `crash_role`'s second model call dies once."""
    counts: dict[str, int] = {}
    crashed = threading.Event()

    def respond(request: ScriptedRequest) -> Any:
        role = request.role or ""
        counts[role] = counts.get(role, 0) + 1
        if role == crash_role and counts[role] == 2 and not crashed.is_set():
            crashed.set()
            raise Crash()
        return one_tool_per_turn(request)

    return _scripted(respond)


def _side_effects(path, thread: str) -> dict[str, int]:
    from tests.graph.helpers import scalar

    campaign = scalar(path, "SELECT campaign_id FROM campaigns WHERE thread_id = ?", [thread])
    return {
        "segments": scalar(path, "SELECT count(*) FROM segments"),
        "members": scalar(path, "SELECT count(*) FROM segment_members"),
        "traits": scalar(path, "SELECT count(*) FROM traits"),
        "requests": scalar(path, "SELECT count(*) FROM send_requests WHERE campaign_id = ?", [campaign]),
        "sends": scalar(path, "SELECT count(*) FROM sends WHERE campaign_id = ?", [campaign]),
        "variants": scalar(path, "SELECT count(*) FROM content_variants WHERE campaign_id = ?", [campaign]),
    }


@pytest.mark.parametrize("role", ["audience", "activation"])
def test_a_crash_after_tool_steps_applies_no_side_effect_twice(tmp_path, role):
    """Held: killed after some tool steps and resumed, a run leaves the CDP as an uninterrupted run does."""
    from tests.seeded import seeded_copy

    calm = seeded_copy(tmp_path)
    state = run(
        compile_graph(InMemorySaver()),
        DEFAULT_OBJECTIVE,
        calm,
        "atk-calm",
        model_factory=_stepwise_with_crash(None),
    )
    assert state["status"] == "completed"
    expected = _side_effects(calm, "atk-calm")

    path = seeded_copy(tmp_path)
    models = _stepwise_with_crash(role)
    g = compile_graph(InMemorySaver())
    with pytest.raises(Crash):
        run(g, DEFAULT_OBJECTIVE, path, "atk-calm", model_factory=models)
    state = run(g, None, path, "atk-calm", model_factory=models)
    assert state["status"] == "completed", state.get("report")
    assert _side_effects(path, "atk-calm") == expected
    assert not tools_base._OPEN


def test_a_finish_call_that_failed_is_not_a_finish():
    reply = AIMessage(
        content="",
        tool_calls=[{"name": "finish", "args": {"summary": 7, "x": []}, "id": "call_f", "type": "tool_call"}],
    )
    answer = ToolMessage(
        "Error: 1 validation error for _FinishArgs\nsummary\n  Input should be a valid string",
        tool_call_id="call_f",
        name="finish",
        status="error",
    )
    assert run_of([reply, answer]).finished is False


@pytest.mark.allow_pii_in_prompts  # checked in the test body
def test_pii_a_model_writes_into_its_summary_and_notes_reaches_no_other_prompt(seeded_cdp_path):
    """Held: a summary, a note and a proposal rationale holding contact details reach later prompts
    (peers, supervisor, synthesizer) redacted."""
    secret = f"{EMAIL}, +49 30 1234567, DE89 3704 0044 0532 0130 00"

    def respond(request: ScriptedRequest) -> Any:
        answer = default_responder(request)
        if request.role not in ("audience", "service") or not isinstance(answer, dict):
            return answer
        calls = []
        for c in answer.get("tool_calls") or []:
            if c["name"] == "finish":
                c = {**c, "args": {"summary": f"done; ask {secret}"}}
            if c["name"] == "notify":
                c = {**c, "args": {**c["args"], "note": f"call {secret}"}}
            calls.append(c)
        return {**answer, "tool_calls": calls}

    for protocol in ("hub", "blackboard"):
        state = run(
            compile_graph(),
            DEFAULT_OBJECTIVE,
            seeded_cdp_path,
            f"atk-summary-{protocol}",
            protocol=protocol,
            model_factory=_scripted(respond),
        )
        assert state["status"] == "completed", state.get("report")
        assert EMAIL in state["results"]["audience"]["summary"]
    texts = [text for _, text in sent_prompts()]
    assert any("[email]" in t for t in texts)
    assert [t[:200] for t in texts if find_pii(t) or paranoid_pii(t)] == []


def _same_ids_factory(same: bool = True):
    """Models like some OpenAI-compatible servers: the scripted answers, but every tool call id is
    'call_0' (each reply has one call, so ids are unique within a reply, repeated across turns)."""
    from langchain_core.language_models import BaseChatModel
    from langchain_core.outputs import ChatGeneration, ChatResult

    def stepwise(request: ScriptedRequest) -> Any:
        return one_tool_per_turn(request, roles=("audience",))

    class SameIds(BaseChatModel):
        inner: Any = None

        @property
        def _llm_type(self) -> str:
            return "same-ids"

        def bind_tools(self, tools: Any, **kwargs: Any) -> Any:
            return SameIds(inner=self.inner.bind_tools(tools, **kwargs))

        def with_structured_output(self, schema: Any, **kwargs: Any) -> Any:
            return self.inner.with_structured_output(schema, **kwargs)

        def _generate(
            self, messages: Any, stop: Any = None, run_manager: Any = None, **kwargs: Any
        ) -> ChatResult:
            reply = self.inner.invoke(messages)
            for call in reply.tool_calls if same else ():
                call["id"] = "call_0"
            return ChatResult(generations=[ChatGeneration(message=reply)])

    def factory(name: str | None = None, **_: Any) -> Any:
        import llm.scripted.roles  # noqa: F401

        return SameIds(inner=ScriptedChatModel(stepwise, latency_ms=0))

    return factory


def test_tool_call_ids_repeated_across_turns_do_not_lose_results(seeded_cdp_path):
    state = run(
        compile_graph(), DEFAULT_OBJECTIVE, seeded_cdp_path, "atk-same-ids", model_factory=_same_ids_factory()
    )
    assert state["assignments"].get("audience", ["audience"]) == ["audience"], state["assignments"]
    assert state["results"]["audience"]["status"] == "done"
    assert state["results"]["audience"]["outputs"].get("segment_id")


def test_the_same_model_with_unique_ids_does_the_task(seeded_cdp_path):
    """The control for the test above: the same wrapped model, ids left unique, succeeds."""
    state = run(
        compile_graph(),
        DEFAULT_OBJECTIVE,
        seeded_cdp_path,
        "atk-uniq",
        model_factory=_same_ids_factory(False),
    )
    assert state["assignments"].get("audience", ["audience"]) == ["audience"], state["assignments"]
    assert state["results"]["audience"]["outputs"].get("segment_id")
