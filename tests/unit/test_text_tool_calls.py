"""Tool calls from models that do not make them natively (`llm.actions`).

A small local model writes its tool call as text (a fenced JSON block, Hermes `<tool_call>` tags the
server left in the content); `tool_calls_in_text` must read exactly the calls to offered tools back and
nothing else. `JsonActionModel` asks for one JSON action per step instead of sending tool schemas, and
falls back to JSON mode when a server refuses a response schema.
"""

from __future__ import annotations

import json
from typing import Any

import httpx
import openai
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from langchain_core.language_models.fake_chat_models import GenericFakeChatModel
from langchain_core.messages import AIMessage, BaseMessage, HumanMessage, SystemMessage, ToolMessage
from langchain_core.tools import tool
from pydantic import Field

from llm import loader
from llm.actions import JsonActionModel, recover_tool_calls, tool_calls_in_text

NAMES = ["save_segment", "count_audience", "finish"]

json_scalars = st.one_of(
    st.none(), st.booleans(), st.integers(-(10**6), 10**6), st.text('ab c"{}\\é', max_size=8)
)
json_args = st.dictionaries(
    st.text("abcxyz_019", min_size=1, max_size=8),
    st.one_of(json_scalars, st.lists(json_scalars, max_size=3)),
    max_size=4,
)

STYLES = {
    "tagged": lambda n, a: f"<tool_call>\n{json.dumps({'name': n, 'arguments': a})}\n</tool_call>",
    "fenced": lambda n, a: f"Sure:\n```json\n{json.dumps({'name': n, 'arguments': a})}\n```\nDone.",
    "bare": lambda n, a: json.dumps({"tool": n, "args": a}),
    "openai": lambda n, a: json.dumps(
        {"type": "function", "function": {"name": n, "arguments": json.dumps(a)}}
    ),
    "parameters": lambda n, a: f"```\n{json.dumps({'name': n, 'parameters': a})}\n```",
}


QUICK = settings(max_examples=60, suppress_health_check=[HealthCheck.too_slow], deadline=None)


@QUICK
@given(name=st.sampled_from(NAMES), args=json_args, style=st.sampled_from(sorted(STYLES)))
def test_a_call_written_as_text_is_read_back_exactly(name, args, style):
    calls = tool_calls_in_text(STYLES[style](name, args), NAMES)
    assert [(c["name"], c["args"]) for c in calls] == [(name, args)]
    assert calls[0]["id"].startswith("call_")


@QUICK
@given(
    name=st.text("abvefinshd_", max_size=15).filter(lambda n: n not in NAMES),
    args=json_args,
    style=st.sampled_from(sorted(STYLES)),
)
def test_a_tool_that_was_not_offered_is_never_called(name, args, style):
    assert tool_calls_in_text(STYLES[style](name, args), NAMES) == []


@pytest.mark.parametrize(
    "text",
    [
        "",
        "I saved the segment with 42 customers.",
        '{"name": "save_segment", "arguments": "not json"}',
        '{"name": "save_segment", "arguments": [1, 2]}',
        "```json\n{broken\n```",
        '["save_segment"]',
    ],
)
def test_text_without_a_well_formed_call_stays_text(text):
    assert tool_calls_in_text(text, NAMES) == []
    reply = AIMessage(content=text)
    assert recover_tool_calls(reply, NAMES) is reply


def test_several_tagged_calls_are_all_read():
    text = "".join(STYLES["tagged"](n, {"i": i}) for i, n in enumerate(NAMES))
    assert [c["name"] for c in tool_calls_in_text(text, NAMES)] == NAMES


def test_native_tool_calls_are_left_alone():
    reply = AIMessage(
        content='{"name": "finish", "arguments": {}}',
        tool_calls=[{"name": "count_audience", "args": {"filter": {}}, "id": "c1"}],
    )
    assert recover_tool_calls(reply, NAMES) is reply


@tool
def count_audience(filter: dict) -> str:
    """Count the customers a filter matches. Returns the count."""
    return "0"


@tool
def finish(summary: str) -> str:
    """Call once, last, when the task is done."""
    return "recorded"


class Recording(GenericFakeChatModel):
    """The wrapped endpoint: answers from a script and keeps what each call was sent."""

    seen: list[tuple[list[BaseMessage], dict[str, Any]]] = Field(default_factory=list)
    refuse_schema: bool = False

    def _generate(self, messages, stop=None, run_manager=None, **kwargs):
        self.seen.append((list(messages), kwargs))
        if self.refuse_schema and (kwargs.get("response_format") or {}).get("type") == "json_schema":
            request = httpx.Request("POST", "http://127.0.0.1:1/v1/chat/completions")
            raise openai.InternalServerError(
                "json_schema unsupported", response=httpx.Response(500, request=request), body=None
            )
        return super()._generate(messages, stop=stop, run_manager=run_manager, **kwargs)


def _wrapped(answers: list[str], **kw: Any) -> tuple[JsonActionModel, Recording]:
    inner = Recording(messages=iter([AIMessage(content=a) for a in answers]), **kw)
    return JsonActionModel(inner=inner), inner


CONVERSATION = [
    SystemMessage("You build audiences."),
    HumanMessage('{"task_id": "audience"}'),
    AIMessage(content="", tool_calls=[{"name": "count_audience", "args": {"filter": {}}, "id": "c1"}]),
    ToolMessage('{"count": 12}', tool_call_id="c1", name="count_audience"),
]


def test_a_json_action_becomes_one_tool_call_and_no_tool_schema_is_sent():
    model, inner = _wrapped(['{"tool": "finish", "args": {"summary": "12 customers"}}'])
    reply = model.bind_tools([count_audience, finish]).invoke(CONVERSATION)
    assert [(c["name"], c["args"]) for c in reply.tool_calls] == [("finish", {"summary": "12 customers"})]
    sent, kwargs = inner.seen[0]
    assert "tools" not in kwargs
    schema = kwargs["response_format"]["json_schema"]["schema"]
    assert [b["properties"]["tool"]["const"] for b in schema["anyOf"]] == ["count_audience", "finish"]
    assert not any(isinstance(m, ToolMessage) for m in sent)
    assert not any(isinstance(m, AIMessage) and m.tool_calls for m in sent)
    assert "- count_audience(filter: object) - Count the customers a filter matches" in sent[0].text
    assert sent[2].text == '{"tool": "count_audience", "args": {"filter": {}}}'
    assert sent[3].text == 'Result of count_audience: {"count": 12}'


def test_an_unreadable_action_is_an_invalid_call_the_loop_can_answer():
    model, _ = _wrapped(["I think the audience is fine."])
    reply = model.bind_tools([count_audience, finish]).invoke(CONVERSATION)
    assert reply.tool_calls == []
    assert len(reply.invalid_tool_calls) == 1
    assert "JSON object" in reply.invalid_tool_calls[0]["error"]


def test_a_server_refusing_response_schemas_gets_json_mode_and_is_remembered(monkeypatch):
    monkeypatch.setattr(loader, "_REFUSED", set())
    model, inner = _wrapped(['{"tool": "finish", "args": {"summary": "a"}}'] * 2, refuse_schema=True)
    bound = model.bind_tools([count_audience, finish])
    assert bound.invoke(CONVERSATION).tool_calls[0]["name"] == "finish"
    assert bound.invoke(CONVERSATION).tool_calls[0]["name"] == "finish"
    kinds = [kw["response_format"]["type"] for _, kw in inner.seen]
    assert kinds == ["json_schema", "json_object", "json_object"]


def test_plain_and_structured_calls_go_to_the_wrapped_model_unchanged():
    model, inner = _wrapped(["hello"])
    assert model.invoke([HumanMessage("hi")]).text == "hello"
    assert "response_format" not in inner.seen[0][1]
