"""Tool calls for models that do not make them natively: parsed from text, or asked for as JSON actions.

Small local models often write a tool call as text (a fenced JSON block, or Hermes `<tool_call>` tags
the server did not parse) instead of the endpoint's `tool_calls`. Two remedies, both at the model
boundary so the specialist loop stays the same:

- `tool_calls_in_text` reads such text back into tool calls, but only for the tools offered, with
  arguments that are a JSON object; anything else stays text (and the loop nudges the model).
- `JsonActionModel` (`CDP_AGENTS_TOOL_CALLS=json`) never sends tool schemas: it lists the tools in a
  few short lines of the system prompt and asks for one JSON action `{"tool", "args"}` per step under
  a JSON schema (a grammar on llama.cpp-style servers, so the answer always parses), then hands the
  loop an ordinary AIMessage with one tool call. The conversation it sends is plain text: earlier
  actions as the assistant's JSON, tool results as user messages naming the tool.
"""

from __future__ import annotations

import json
import re
import uuid
from collections.abc import Iterable, Sequence
from typing import Any

from langchain_core.callbacks import CallbackManagerForLLMRun
from langchain_core.language_models import BaseChatModel
from langchain_core.messages import (
    AIMessage,
    BaseMessage,
    HumanMessage,
    SystemMessage,
    ToolCall,
    ToolMessage,
)
from langchain_core.outputs import ChatResult
from langchain_core.runnables import Runnable, RunnableLambda
from langchain_core.utils.function_calling import convert_to_openai_tool

from llm.loader import call_with_fallback

__all__ = ["JsonActionModel", "recover_tool_calls", "tool_calls_in_text"]

_TAGGED = re.compile(r"<tool_call>\s*(.*?)\s*(?:</tool_call>|$)", re.S)
_FENCED = re.compile(r"```(?:json|tool_call|JSON)?\s*(.*?)```", re.S)
#: Keys small models use for the tool's name and its arguments.
_NAME_KEYS = ("name", "tool", "function", "action")
_ARGS_KEYS = ("arguments", "args", "parameters", "input")


def _call_of(obj: Any, names: set[str]) -> ToolCall | None:
    if not isinstance(obj, dict):
        return None
    if isinstance(obj.get("function"), dict):  # {"type": "function", "function": {"name", "arguments"}}
        obj = obj["function"]
    name = next((obj[k] for k in _NAME_KEYS if isinstance(obj.get(k), str)), None)
    if name not in names:
        return None
    args: Any = next((obj[k] for k in _ARGS_KEYS if k in obj), {})
    if isinstance(args, str):
        try:
            args = json.loads(args) if args.strip() else {}
        except ValueError:
            return None
    if not isinstance(args, dict):
        return None
    return ToolCall(name=name, args=args, id=f"call_{uuid.uuid4().hex[:12]}", type="tool_call")


def _json_values(text: str) -> Iterable[Any]:
    """Every JSON value the text holds as a tagged call, a fenced block or the whole text."""
    pieces = [*_TAGGED.findall(text), *_FENCED.findall(text)] or [text.strip()]
    for piece in pieces:
        try:
            yield json.loads(piece)
        except ValueError:
            # A block with prose after the object: the first whole object in it.
            try:
                value, _ = json.JSONDecoder().raw_decode(piece[piece.find("{") :])
            except ValueError:
                continue
            yield value


def tool_calls_in_text(text: str, names: Iterable[str]) -> list[ToolCall]:
    """The tool calls a model wrote as text, for the tools `names` only (empty when there are none)."""
    allowed = set(names)
    if not text or not allowed or "{" not in text:
        return []
    calls: list[ToolCall] = []
    for value in _json_values(text):
        for obj in value if isinstance(value, list) else [value]:
            call = _call_of(obj, allowed)
            if call is not None:
                calls.append(call)
    return calls


def recover_tool_calls(reply: AIMessage, names: Iterable[str]) -> AIMessage:
    """`reply` with the tool calls its text holds, when the endpoint returned none."""
    if reply.tool_calls or reply.invalid_tool_calls:
        return reply
    calls = tool_calls_in_text(reply.text, names)
    if not calls:
        return reply
    return reply.model_copy(update={"content": "", "tool_calls": calls})


def _signature(function: dict[str, Any]) -> str:
    """One short line per tool: `name(arg: type, opt?: type) - first sentence of the description`."""
    params = function.get("parameters") or {}
    required = set(params.get("required") or ())
    args = []
    for arg, schema in (params.get("properties") or {}).items():
        kind = schema.get("type") or "/".join(s.get("type", "?") for s in schema.get("anyOf", ())) or "any"
        args.append(f"{arg}{'' if arg in required else '?'}: {kind}")
    first = (function.get("description") or "").split(". ")[0].strip().rstrip(".")
    return f"- {function['name']}({', '.join(args)}) - {first}"


def action_schema(functions: Sequence[dict[str, Any]]) -> dict[str, Any]:
    """The JSON schema of one action: one of the tools by name, with that tool's arguments."""
    return {
        "anyOf": [
            {
                "type": "object",
                "properties": {
                    "tool": {"const": f["name"]},
                    "args": f.get("parameters") or {"type": "object"},
                },
                "required": ["tool", "args"],
                "additionalProperties": False,
            }
            for f in functions
        ]
    }


def action_messages(
    messages: Sequence[BaseMessage], functions: Sequence[dict[str, Any]]
) -> list[BaseMessage]:
    """The conversation as plain text turns, with the tool list and the answer format in the system
    prompt (no tool schemas are sent, and no tool-call turns a server's template could mangle)."""
    listing = "\n".join(_signature(f) for f in functions)
    rules = (
        "\n\nTools:\n"
        f"{listing}\n"
        'Answer with ONE JSON object and nothing else: {"tool": "<name>", "args": {...}}. One tool per '
        "answer; its result comes back in the next message. Call `finish` last, with a short summary."
    )
    out: list[BaseMessage] = []
    system_done = False
    for m in messages:
        if isinstance(m, SystemMessage) and not system_done:
            out.append(SystemMessage(m.text + rules))
            system_done = True
        elif isinstance(m, AIMessage):
            actions = [{"tool": c["name"], "args": c["args"]} for c in m.tool_calls]
            unread = [str(c.get("args") or "") for c in m.invalid_tool_calls]
            text = "\n".join([*(json.dumps(a, ensure_ascii=False) for a in actions), *unread]) or m.text
            out.append(AIMessage(content=text))
        elif isinstance(m, ToolMessage):
            status = " (error)" if m.status == "error" else ""
            out.append(HumanMessage(f"Result of {m.name or 'the tool'}{status}: {m.text}"))
        else:
            out.append(m)
    if not system_done:
        out.insert(0, SystemMessage(rules.strip()))
    return out


class JsonActionModel(BaseChatModel):
    """A chat model whose tool calls are JSON actions under a schema (see the module docstring).

    Plain calls and structured output go to the wrapped model unchanged; only `bind_tools` differs.
    """

    inner: BaseChatModel

    @property
    def _llm_type(self) -> str:
        return f"json-actions({self.inner._llm_type})"

    def __getattr__(self, name: str) -> Any:
        # Endpoint facts (`openai_api_base`, `model_name`) are the wrapped model's.
        if name in ("openai_api_base", "model_name"):
            return getattr(self.inner, name)
        return super().__getattr__(name)  # type: ignore[misc]

    def _generate(
        self,
        messages: list[BaseMessage],
        stop: list[str] | None = None,
        run_manager: CallbackManagerForLLMRun | None = None,
        **kwargs: Any,
    ) -> ChatResult:
        return self.inner._generate(messages, stop=stop, run_manager=run_manager, **kwargs)

    def with_structured_output(self, schema: Any, **kwargs: Any) -> Runnable[Any, Any]:  # type: ignore[override]
        return self.inner.with_structured_output(schema, **kwargs)

    def bind_tools(self, tools: Sequence[Any], **_: Any) -> Runnable[Any, AIMessage]:  # type: ignore[override]
        functions = [convert_to_openai_tool(t)["function"] for t in tools]
        names = [f["name"] for f in functions]
        response_format = {
            "type": "json_schema",
            "json_schema": {"name": "action", "schema": action_schema(functions)},
        }
        inner = self.inner

        def act(messages: Any) -> AIMessage:
            prompt = action_messages(list(messages), functions)
            reply = call_with_fallback(
                inner,
                ("action_json_schema", lambda: inner.invoke(prompt, response_format=response_format)),
                ("action_json_object", lambda: inner.invoke(prompt, response_format={"type": "json_object"})),
            )
            return as_action(reply, names)

        return RunnableLambda(act, name="json_action")


def as_action(reply: BaseMessage, names: Sequence[str]) -> AIMessage:
    """The model's JSON action as an AIMessage with one tool call; unreadable text becomes an invalid
    tool call, which the loop answers with an error the model can repair."""
    usage = getattr(reply, "usage_metadata", None)
    meta = getattr(reply, "response_metadata", {}) or {}
    calls = tool_calls_in_text(reply.text, names)
    if calls:
        return AIMessage(content="", tool_calls=calls[:1], usage_metadata=usage, response_metadata=meta)
    text = reply.text.strip()
    return AIMessage(
        content="",
        invalid_tool_calls=[
            {
                "name": None,
                "args": text[:400],
                "id": f"call_{uuid.uuid4().hex[:12]}",
                "error": 'expected one JSON object {"tool": "<name>", "args": {...}} naming one of the tools',
                "type": "invalid_tool_call",
            }
        ],
        usage_metadata=usage,
        response_metadata=meta,
    )
