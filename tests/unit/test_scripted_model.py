"""The scripted chat model: tools, structured output, streaming, async, ids, latency, counters, faults."""

from __future__ import annotations

import asyncio
import threading
import time
from types import SimpleNamespace
from typing import Any

import pytest
from langchain_core.exceptions import OutputParserException
from langchain_core.messages import AIMessage, HumanMessage, SystemMessage, ToolMessage
from langchain_core.tools import tool
from langgraph.graph import END, START, MessagesState, StateGraph
from langgraph.prebuilt import ToolNode, tools_condition
from pydantic import BaseModel, Field

import llm.scripted.model as scripted_model
from llm.scripted import (
    FaultPlan,
    ScriptedChatModel,
    ScriptedRateLimitError,
    ScriptedRequest,
    ScriptedTimeoutError,
    UnknownRoleError,
    default_responder,
    register_role,
    with_faults,
)


@tool
def count_audience(segment: str, country: str | None = None) -> int:
    """Count the customers in a segment (optionally one country)."""
    return {"at-risk": 42}.get(segment, 0)


@tool
def save_segment(name: str, size: int) -> str:
    """Save a segment under a name."""
    return f"saved {name} ({size})"


class Plan(BaseModel):
    """A plan of tasks."""

    steps: list[str] = Field(min_length=1)
    reason: str


def agent_responder(request: ScriptedRequest) -> Any:
    """Call count_audience once, then save_segment with the count, then answer in text."""
    if request.structured_output is not None:
        return {"steps": ["audience", "content"], "reason": f"role {request.role}"}
    results = request.tool_results()
    if request.ai_turns() == 0:
        return {
            "content": "Counting first.",
            "tool_calls": [{"name": "count_audience", "args": {"segment": "at-risk"}}],
        }
    if request.ai_turns() == 1:
        size = int(results[0].text)
        # an AIMessage built by hand: tool call ids may be None, the model fills them in
        call = {"name": "save_segment", "args": {"name": "s1", "size": size}, "id": None}
        return AIMessage(content="", tool_calls=[call])
    return "Saved the at-risk segment with " + results[0].text.split("(")[1].rstrip(")") + " customers."


def msgs(role: str = "audience") -> list[Any]:
    return [SystemMessage(f"<role>{role}</role>\nYou build audiences."), HumanMessage("at-risk customers")]


def test_bind_tools_records_schemas_and_returns_tool_calls():
    seen: list[ScriptedRequest] = []

    def responder(request: ScriptedRequest) -> Any:
        seen.append(request)
        return {"content": "", "tool_calls": [{"name": "count_audience", "args": {"segment": "at-risk"}}]}

    model = ScriptedChatModel(responder)
    answer = model.bind_tools([count_audience, save_segment], tool_choice="any").invoke(msgs())
    request = seen[0]
    assert request.role == "audience"
    assert request.tool_names == ["count_audience", "save_segment"]
    assert request.tool_choice == "any"
    schema = request.tool("count_audience")
    assert schema is not None and schema.parameters["required"] == ["segment"]
    assert "segment" in schema.description.lower() or schema.description
    assert answer.tool_calls[0]["name"] == "count_audience"
    assert answer.tool_calls[0]["args"] == {"segment": "at-risk"}
    assert answer.response_metadata["finish_reason"] == "tool_calls"


def test_a_real_tool_loop_in_langgraph_runs_to_the_end():
    """The model works where the graph uses it: ToolNode executes its calls, the loop ends in text."""
    model = ScriptedChatModel(agent_responder).bind_tools([count_audience, save_segment])

    def call_model(state: MessagesState) -> dict[str, Any]:
        return {"messages": [model.invoke(state["messages"])]}

    builder = StateGraph(MessagesState)
    builder.add_node("model", call_model)
    builder.add_node("tools", ToolNode([count_audience, save_segment]))
    builder.add_edge(START, "model")
    builder.add_conditional_edges("model", tools_condition)
    builder.add_edge("tools", "model")
    out = builder.compile().invoke({"messages": msgs()}, {"recursion_limit": 10})
    kinds = [type(m).__name__ for m in out["messages"]]
    assert kinds == [
        "SystemMessage",
        "HumanMessage",
        "AIMessage",
        "ToolMessage",
        "AIMessage",
        "ToolMessage",
        "AIMessage",
    ]
    assert out["messages"][-1].content == "Saved the at-risk segment with 42 customers."
    # add_messages keeps every message: ids are all distinct (no fixed ids replacing each other)
    ids = [m.id for m in out["messages"]]
    assert len(set(ids)) == len(ids)


def test_with_structured_output_into_pydantic_and_dict():
    model = ScriptedChatModel(agent_responder)
    plan = model.with_structured_output(Plan).invoke(msgs("supervisor"))
    assert plan == Plan(steps=["audience", "content"], reason="role supervisor")
    as_tool = model.with_structured_output(Plan, method="function_calling").invoke(msgs("supervisor"))
    assert as_tool == plan
    schema = Plan.model_json_schema()
    as_dict = model.with_structured_output(schema).invoke(msgs("supervisor"))
    assert as_dict == {"steps": ["audience", "content"], "reason": "role supervisor"}
    raw = model.with_structured_output(Plan, include_raw=True).invoke(msgs("supervisor"))
    assert raw["parsed"] == plan and raw["parsing_error"] is None and isinstance(raw["raw"], AIMessage)
    # the responder sees the schema and may answer with a model instance
    seen: list[ScriptedRequest] = []

    def instance_responder(request: ScriptedRequest) -> Plan:
        seen.append(request)
        return Plan(steps=["x"], reason="instance")

    instance = ScriptedChatModel(instance_responder)
    assert instance.with_structured_output(Plan).invoke("plan it").steps == ["x"]
    spec = seen[0].structured_output
    assert spec is not None and spec.name == "Plan" and spec.pydantic_model is Plan
    assert set(spec.json_schema["properties"]) == {"steps", "reason"}


def test_structured_output_that_does_not_validate_is_a_parser_error():
    model = ScriptedChatModel(lambda r: {"steps": [], "reason": "empty plan"})
    with pytest.raises(OutputParserException, match="Failed to parse Plan"):
        model.with_structured_output(Plan).invoke("plan")
    raw = model.with_structured_output(Plan, include_raw=True).invoke("plan")
    assert raw["parsed"] is None and isinstance(raw["parsing_error"], OutputParserException)


def test_stream_gives_the_same_answer_as_invoke():
    def responder(request: ScriptedRequest) -> Any:
        return {
            "content": "A longer answer that will be streamed in several chunks of text, one after another.",
            "tool_calls": [
                {"name": "count_audience", "args": {"segment": "at-risk", "country": "DE"}},
                {"name": "save_segment", "args": {"name": "de-at-risk", "size": 3}},
            ],
        }

    model = ScriptedChatModel(responder).bind_tools([count_audience, save_segment])
    invoked = model.invoke(msgs())
    chunks = list(model.stream(msgs()))
    assert len(chunks) > 3
    merged = chunks[0]
    for c in chunks[1:]:
        merged = merged + c
    assert merged.content == invoked.content
    assert [(c["name"], c["args"]) for c in merged.tool_calls] == [
        (c["name"], c["args"]) for c in invoked.tool_calls
    ]
    assert merged.usage_metadata == invoked.usage_metadata
    assert any(c.tool_call_chunks for c in chunks)


def test_streaming_inside_a_graph_yields_message_chunks():
    """stream_mode="messages" makes invoke() stream through callbacks: same final message."""
    model = ScriptedChatModel(lambda r: "hello " * 20)

    def call_model(state: MessagesState) -> dict[str, Any]:
        return {"messages": [model.invoke(state["messages"])]}

    builder = StateGraph(MessagesState)
    builder.add_node("model", call_model)
    builder.add_edge(START, "model")
    builder.add_edge("model", END)
    graph = builder.compile()
    pieces = [chunk.content for chunk, _ in graph.stream({"messages": msgs()}, stream_mode="messages")]
    assert len(pieces) > 2 and "".join(pieces) == "hello " * 20


def test_async_invoke_and_stream():
    model = ScriptedChatModel(agent_responder).bind_tools([count_audience, save_segment])

    async def run() -> tuple[AIMessage, list[Any]]:
        answer = await model.ainvoke(msgs())
        chunks = [c async for c in model.astream(msgs())]
        return answer, chunks

    answer, chunks = asyncio.run(run())
    assert answer.tool_calls[0]["name"] == "count_audience"
    merged = chunks[0]
    for c in chunks[1:]:
        merged = merged + c
    assert merged.tool_calls[0]["args"] == {"segment": "at-risk"}
    plan = asyncio.run(ScriptedChatModel(agent_responder).with_structured_output(Plan).ainvoke(msgs()))
    assert plan.steps == ["audience", "content"]


def test_answers_are_fresh_copies_with_unique_ids():
    fixed = AIMessage(
        content="",
        id="fixed-id",
        tool_calls=[{"name": "count_audience", "args": {"segment": "x"}, "id": "same"}],
    )
    model = ScriptedChatModel(lambda r: fixed)
    answers = [model.invoke("hi") for _ in range(5)] + list(model.batch(["a", "b", "c"]))
    call_ids = [a.tool_calls[0]["id"] for a in answers]
    assert len(set(call_ids)) == len(call_ids)
    assert all(a.id != "fixed-id" for a in answers)
    assert len({a.id for a in answers}) == len(answers)
    assert fixed.id == "fixed-id" and fixed.tool_calls[0]["id"] == "same"  # the script itself is untouched
    shared = {"content": "x", "tool_calls": [{"name": "count_audience", "args": {"segment": "a"}}]}
    model = ScriptedChatModel(lambda r: shared)
    model.invoke("hi").tool_calls[0]["args"]["segment"] = "changed"
    assert shared["tool_calls"][0]["args"]["segment"] == "a"  # answers are deep copies
    assert model.invoke("hi").tool_calls[0]["args"]["segment"] == "a"


def test_latency_env_is_respected_sync_and_async(monkeypatch):
    monkeypatch.setenv("CDP_AGENTS_SCRIPTED_LATENCY_MS", "100")
    model = ScriptedChatModel(lambda r: "ok")
    started = time.perf_counter()
    model.invoke("hi")
    assert time.perf_counter() - started >= 0.1  # a sleep lasts at least its time, however busy the machine

    # Concurrent async calls wait side by side: each call's wait holds until all three are waiting,
    # which calls made one after another never reach (the barrier breaks after a minute).
    waits: list[float] = []
    together = threading.Barrier(3, timeout=60)

    def sleep(seconds: float) -> None:
        waits.append(seconds)
        together.wait()
        time.sleep(seconds)

    monkeypatch.setattr(scripted_model, "time", SimpleNamespace(sleep=sleep))

    async def three_at_once() -> None:
        await asyncio.gather(*(model.ainvoke("hi") for _ in range(3)))

    asyncio.run(three_at_once())
    assert waits == [0.1, 0.1, 0.1]
    monkeypatch.setenv("CDP_AGENTS_SCRIPTED_LATENCY_MS", "soon")
    with pytest.raises(ValueError, match="CDP_AGENTS_SCRIPTED_LATENCY_MS"):
        model.invoke("hi")
    waits.clear()
    monkeypatch.setattr(scripted_model, "time", SimpleNamespace(sleep=waits.append))
    ScriptedChatModel(lambda r: "ok", latency_ms=0).invoke("hi")  # an explicit latency wins
    assert waits == [0.0]


def test_call_counters_and_usage_metadata():
    model = ScriptedChatModel(agent_responder)
    before = ScriptedChatModel.total_calls
    model.invoke(msgs())
    model.bind_tools([count_audience]).invoke(msgs())
    model.with_structured_output(Plan).invoke(msgs())
    list(model.stream(msgs()))
    assert model.calls == 4
    assert ScriptedChatModel.total_calls - before == 4
    usage = model.invoke(msgs()).usage_metadata
    assert usage is not None and usage["input_tokens"] > 0 and usage["output_tokens"] > 0
    assert usage["total_tokens"] == usage["input_tokens"] + usage["output_tokens"]
    bigger = model.bind_tools([count_audience, save_segment]).invoke(msgs()).usage_metadata
    assert bigger is not None and bigger["input_tokens"] > usage["input_tokens"]  # tool schemas count
    model.reset_calls()
    assert model.calls == 0


def test_registry_dispatches_by_role_and_names_unknown_roles():
    @register_role("test-echo")
    def echo(request: ScriptedRequest) -> str:
        return f"echo: {request.human_texts()[-1]}"

    model = ScriptedChatModel()  # default responder: the registry
    assert model.invoke([SystemMessage("<role>test-echo</role>"), HumanMessage("hi")]).content == "echo: hi"
    with pytest.raises(UnknownRoleError, match=r"no scripted responder for role 'nobody'.*test-echo"):
        model.invoke([SystemMessage("<role>nobody</role>"), HumanMessage("hi")])
    with pytest.raises(UnknownRoleError, match=r"needs a <role>NAME</role> tag"):
        default_responder(ScriptedRequest(messages=[HumanMessage("no system prompt")]))


def test_bad_responder_results_are_clear_errors():
    with pytest.raises(TypeError, match="content and tool_calls"):
        ScriptedChatModel(lambda r: {"text": "x"}).invoke("hi")
    with pytest.raises(TypeError, match="must return an AIMessage"):
        ScriptedChatModel(lambda r: 42).invoke("hi")


# ---------------------------------------------------------------------------------------- faults


def tool_responder(request: ScriptedRequest) -> Any:
    if request.structured_output is not None:
        return {"steps": ["a"], "reason": "ok"}
    return {"content": "", "tool_calls": [{"name": "count_audience", "args": {"segment": "at-risk"}}]}


def test_every_fault_kind_is_produced():
    plan = FaultPlan(
        schedule={
            0: "timeout",
            1: "rate_limit",
            2: "truncated_json",
            3: "empty",
            4: "unknown_tool",
            5: "bad_arguments",
        }
    )
    model = ScriptedChatModel(with_faults(tool_responder, plan))
    bound = model.bind_tools([count_audience])
    with pytest.raises(ScriptedTimeoutError):
        bound.invoke(msgs())
    with pytest.raises(ScriptedRateLimitError) as info:
        bound.invoke(msgs())
    assert info.value.status_code == 429
    with pytest.raises(OutputParserException, match="not valid JSON"):
        model.with_structured_output(Plan).invoke(msgs())
    empty = bound.invoke(msgs())
    assert empty.content == "" and not empty.tool_calls
    unknown = bound.invoke(msgs())
    assert unknown.tool_calls[0]["name"] == "no_such_tool"
    bad = bound.invoke(msgs())
    assert bad.tool_calls[0]["name"] == "count_audience" and "segment" not in bad.tool_calls[0]["args"]
    assert [k for _, k in plan.injected] == [
        "timeout",
        "rate_limit",
        "truncated_json",
        "empty",
        "unknown_tool",
        "bad_arguments",
    ]
    assert bound.invoke(msgs()).tool_calls[0]["args"] == {"segment": "at-risk"}  # call 6: no fault


def test_faults_by_rate_are_deterministic_and_can_target_one_role():
    def run(seed: int) -> list[tuple[int, str]]:
        plan = FaultPlan(seed=seed, rate=0.3, kinds=("empty", "unknown_tool"))
        model = ScriptedChatModel(with_faults(tool_responder, plan))
        for _ in range(40):
            model.invoke(msgs())
        return plan.injected

    first, again, other = run(7), run(7), run(8)
    assert first == again and first != other
    assert 4 <= len(first) <= 20  # about 30% of 40
    only_content = FaultPlan(rate=1.0, kinds=("timeout",), roles=frozenset({"content"}))
    model = ScriptedChatModel(with_faults(tool_responder, only_content))
    model.invoke(msgs("audience"))
    with pytest.raises(ScriptedTimeoutError):
        model.invoke(msgs("content"))


def test_a_bad_tool_call_is_reported_back_by_the_tool_node():
    """What the graph sees from an unknown tool / bad arguments: an error ToolMessage, not a crash."""
    plan = FaultPlan(schedule={0: "unknown_tool", 1: "bad_arguments"})
    model = ScriptedChatModel(with_faults(tool_responder, plan)).bind_tools([count_audience])

    def call_model(state: MessagesState) -> dict[str, Any]:
        return {"messages": [model.invoke(state["messages"])]}

    builder = StateGraph(MessagesState)
    builder.add_node("model", call_model)
    builder.add_node("tools", ToolNode([count_audience]))
    builder.add_edge(START, "model")
    builder.add_edge("model", "tools")
    builder.add_edge("tools", END)
    graph = builder.compile()
    for _ in range(2):
        out = graph.invoke({"messages": msgs()})
        message = out["messages"][-1]
        assert isinstance(message, ToolMessage) and message.status == "error"
