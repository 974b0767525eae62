"""The offline scripted chat model: a real `BaseChatModel` whose answers come from a responder.

Graph and agent code cannot tell it from `ChatOpenAI`: it binds tools, returns tool calls, gives
structured output (json_schema, json_mode, function_calling), streams and runs async. A *responder*
(`Callable[[ScriptedRequest], AIMessage | BaseModel | dict | str]`) decides what it says: a dict is
`{"content", "tool_calls": [{"name", "args"}]}`, or the object itself for structured output. Answers
are deep-copied, carry no message id (`add_messages` would replace a message reusing one) and get
fresh tool call ids. `register_role` fills the registry `default_responder` dispatches on by the
`<role>NAME</role>` tag; `with_faults` injects failures; `CDP_AGENTS_SCRIPTED_LATENCY_MS` slows calls.
"""

from __future__ import annotations

import copy
import functools
import hashlib
import itertools
import json
import re
import threading
import time
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass, field
from functools import partial
from operator import itemgetter
from typing import Any, ClassVar, Literal

from langchain_core.exceptions import OutputParserException
from langchain_core.language_models import BaseChatModel, LanguageModelInput
from langchain_core.messages import (
    AIMessage,
    AIMessageChunk,
    BaseMessage,
    HumanMessage,
    SystemMessage,
    ToolMessage,
    UsageMetadata,
)
from langchain_core.messages.tool import tool_call_chunk
from langchain_core.messages.utils import count_tokens_approximately
from langchain_core.output_parsers import JsonOutputParser, PydanticOutputParser
from langchain_core.output_parsers.openai_tools import JsonOutputKeyToolsParser, PydanticToolsParser
from langchain_core.outputs import ChatGeneration, ChatGenerationChunk, ChatResult
from langchain_core.runnables import Runnable, RunnableLambda, RunnableMap, RunnablePassthrough
from langchain_core.tools import BaseTool
from langchain_core.utils.function_calling import convert_to_openai_tool
from pydantic import BaseModel, ConfigDict, PrivateAttr

from llm.settings import LATENCY_ENV as LATENCY_ENV
from llm.settings import scripted_latency_s as _latency_seconds

_ROLE_TAG = re.compile(r"<role>\s*([A-Za-z0-9_.:-]{1,64})\s*</role>")
_STREAM_PIECE = 24  # characters per streamed content chunk


@dataclass(frozen=True)
class ToolSpec:
    """A tool the model was bound to, as the model sees it (OpenAI function format)."""

    name: str
    description: str
    parameters: dict[str, Any]


@dataclass(frozen=True)
class StructuredOutputSpec:
    """What `with_structured_output` asked for; `method` function_calling answers in a tool call."""

    name: str
    json_schema: dict[str, Any]
    method: str = "json_schema"
    pydantic_model: type[BaseModel] | None = None


@dataclass(frozen=True)
class ScriptedRequest:
    """Everything a responder may look at for one model call."""

    messages: list[BaseMessage]
    tools: list[ToolSpec] = field(default_factory=list)
    tool_choice: str | None = None
    structured_output: StructuredOutputSpec | None = None
    role: str | None = None

    @property
    def tool_names(self) -> list[str]:
        return [t.name for t in self.tools]

    def tool(self, name: str) -> ToolSpec | None:
        return next((t for t in self.tools if t.name == name), None)

    @property
    def system_text(self) -> str:
        """Text of every system message, joined (prompts put the role and instructions there)."""
        return "\n".join(m.text for m in self.messages if isinstance(m, SystemMessage))

    @property
    def last_message(self) -> BaseMessage | None:
        return self.messages[-1] if self.messages else None

    def human_texts(self) -> list[str]:
        return [m.text for m in self.messages if isinstance(m, HumanMessage)]

    def tool_results(self) -> list[ToolMessage]:
        """Tool results that arrived after the model's last answer (what it has to react to)."""
        out: list[ToolMessage] = []
        for m in reversed(self.messages):
            if isinstance(m, AIMessage):
                break
            if isinstance(m, ToolMessage):
                out.insert(0, m)
        return out

    def ai_turns(self) -> int:
        """How many times the model already answered in this conversation."""
        return sum(isinstance(m, AIMessage) for m in self.messages)


ResponderResult = AIMessage | BaseModel | dict[str, Any] | str
Responder = Callable[[ScriptedRequest], ResponderResult]


def role_of(messages: Sequence[BaseMessage]) -> str | None:
    """The `<role>NAME</role>` of the first system message, or None."""
    first = next((m for m in messages if isinstance(m, SystemMessage)), None)
    found = _ROLE_TAG.search(first.text) if first is not None else None
    return found.group(1) if found else None


# ------------------------------------------------------------------------------------------- registry


class UnknownRoleError(LookupError):
    """The default responder was asked to answer a role nobody registered."""


_REGISTRY: dict[str, Responder] = {}


def register_role(name: str) -> Callable[[Responder], Responder]:
    """Decorator: `@register_role("audience")` makes `fn` answer requests whose role is `audience`."""

    def add(fn: Responder) -> Responder:
        _REGISTRY[name] = fn
        return fn

    return add


def registered_roles() -> list[str]:
    return sorted(_REGISTRY)


def default_responder(request: ScriptedRequest) -> ResponderResult:
    """Answer with the responder registered for the request's role."""
    known = ", ".join(registered_roles()) or "none"
    if request.role is None:
        raise UnknownRoleError(
            "the scripted model needs a <role>NAME</role> tag in the first system message to know "
            f"how to answer; registered roles: {known}"
        )
    if request.role not in _REGISTRY:
        raise UnknownRoleError(
            f"no scripted responder for role '{request.role}'; registered roles: {known} "
            "(add one with @register_role)"
        )
    return _REGISTRY[request.role](request)


# ----------------------------------------------------------------------------------------------- model

_call_ids = itertools.count(1)
_total_lock = threading.Lock()


@functools.lru_cache(maxsize=64)
def _openai_function(schema: type) -> dict[str, Any]:
    """A schema class as an OpenAI function, converted once: the plan schema is large and a run
    asks for it on every planning call."""
    return convert_to_openai_tool(schema)["function"]


class ScriptedChatModel(BaseChatModel):
    """A deterministic offline chat model. Only the sync `_generate` / `_stream` are written: the base
    class runs them in its executor for `ainvoke` / `astream`, so async calls wait side by side."""

    model_config = ConfigDict(arbitrary_types_allowed=True)

    responder: Callable[[ScriptedRequest], Any] = default_responder
    latency_ms: float | None = None  # None: read CDP_AGENTS_SCRIPTED_LATENCY_MS at call time
    model_name: str = "scripted"

    total_calls: ClassVar[int] = 0  # calls made by every scripted model in this process

    _calls: int = PrivateAttr(default=0)
    _lock: threading.Lock = PrivateAttr(default_factory=threading.Lock)

    def __init__(self, responder: Responder | None = None, /, **data: Any):
        if responder is not None:
            data["responder"] = responder
        super().__init__(**data)

    @property
    def _llm_type(self) -> str:
        return "scripted"

    @property
    def _identifying_params(self) -> dict[str, Any]:
        return {"model_name": self.model_name}

    @property
    def calls(self) -> int:
        """Calls made through this instance (bound and structured variants share it)."""
        return self._calls

    def reset_calls(self) -> None:
        with self._lock:
            self._calls = 0

    def bind_tools(
        self,
        tools: Sequence[dict[str, Any] | type | Callable[..., Any] | BaseTool],
        *,
        tool_choice: str | None = None,
        **kwargs: Any,
    ) -> Runnable[LanguageModelInput, AIMessage]:
        """Bind tools like ChatOpenAI does: OpenAI tool dicts in the `tools` kwarg."""
        if tool_choice is not None:
            kwargs["tool_choice"] = tool_choice
        return self.bind(tools=[convert_to_openai_tool(t) for t in tools], **kwargs)

    def with_structured_output(
        self,
        schema: dict[str, Any] | type,
        *,
        include_raw: bool = False,
        method: Literal["function_calling", "json_mode", "json_schema"] = "json_schema",
        strict: bool | None = None,
        **kwargs: Any,
    ) -> Runnable[LanguageModelInput, dict[str, Any] | BaseModel]:
        """A runnable answering with an object of `schema` (a pydantic instance for a model class),
        parsed by langchain_core's own parsers so failures are the `OutputParserException`s (or
        pydantic errors) a real model's would be."""
        if kwargs:
            raise ValueError(f"unsupported arguments for with_structured_output: {sorted(kwargs)}")
        function = (
            _openai_function(schema)
            if isinstance(schema, type)
            else convert_to_openai_tool(schema)["function"]
        )
        model = schema if isinstance(schema, type) and issubclass(schema, BaseModel) else None
        spec = StructuredOutputSpec(function["name"], function.get("parameters", {}), method, model)
        parser: Runnable[Any, Any]
        if method == "function_calling":
            parser = (
                PydanticToolsParser(tools=[model], first_tool_only=True)
                if model
                else JsonOutputKeyToolsParser(key_name=spec.name, first_tool_only=True)
            )
        else:  # strict JSON first: langchain's parser would quietly repair a truncated answer
            strict_json = RunnableLambda(partial(_strict_json, spec.name), name="ScriptedStrictJson")
            parser = strict_json | (
                PydanticOutputParser(pydantic_object=model) if model else JsonOutputParser()
            )
        bound = self.bind(
            scripted_structured_output=spec,
            ls_structured_output_format={"kwargs": {"method": method}, "schema": schema},
        )
        if not include_raw:
            return bound | parser
        parsed = RunnablePassthrough.assign(parsed=itemgetter("raw") | parser, parsing_error=lambda _: None)
        failed = RunnablePassthrough.assign(parsed=lambda _: None)
        return RunnableMap(raw=bound) | parsed.with_fallbacks([failed], exception_key="parsing_error")

    def _request(self, messages: list[BaseMessage], kwargs: dict[str, Any]) -> ScriptedRequest:
        """Count the call and gather what the responder may see (tests hook here to read prompts)."""
        with self._lock:
            self._calls += 1
        with _total_lock:
            ScriptedChatModel.total_calls += 1
        functions = [t["function"] for t in kwargs.get("tools") or [] if t.get("type") == "function"]
        choice = kwargs.get("tool_choice")
        if isinstance(choice, dict):
            choice = choice.get("function", {}).get("name") or choice.get("type")
        return ScriptedRequest(
            messages=list(messages),
            tools=[ToolSpec(f["name"], f.get("description", ""), f.get("parameters", {})) for f in functions],
            tool_choice=choice,
            structured_output=kwargs.get("scripted_structured_output"),
            role=role_of(messages),
        )

    def _answer(self, messages: list[BaseMessage], kwargs: dict[str, Any]) -> AIMessage:
        """One counted call of the responder, its result made into a fresh AIMessage with usage."""
        request = self._request(messages, kwargs)
        message = _to_message(self.responder(request), request)
        prompt = count_tokens_approximately(messages, tools=kwargs.get("tools") or None)
        completion = count_tokens_approximately([message])
        message.usage_metadata = UsageMetadata(
            input_tokens=prompt, output_tokens=completion, total_tokens=prompt + completion
        )
        finish = "tool_calls" if message.tool_calls else "stop"
        message.response_metadata = {"model_name": self.model_name, "finish_reason": finish}
        return message

    # `stop` and `run_manager` arrive in **kwargs and are not needed: langchain_core reports tokens.
    def _generate(self, messages: list[BaseMessage], *_: Any, **kwargs: Any) -> ChatResult:
        time.sleep(_latency_seconds(self.latency_ms))
        return ChatResult(generations=[ChatGeneration(message=self._answer(messages, kwargs))])

    def _stream(self, messages: list[BaseMessage], *_: Any, **kwargs: Any) -> Iterator[ChatGenerationChunk]:
        """The same answer in pieces: text in short slices, one tool_call_chunk per call, then usage."""
        time.sleep(_latency_seconds(self.latency_ms))
        message = self._answer(messages, kwargs)
        text = message.text
        for i in range(0, max(len(text), 1), _STREAM_PIECE):
            yield ChatGenerationChunk(message=AIMessageChunk(content=text[i : i + _STREAM_PIECE]))
        for index, call in enumerate(message.tool_calls):
            piece = tool_call_chunk(
                name=call["name"], args=json.dumps(call["args"]), id=call["id"], index=index
            )
            yield ChatGenerationChunk(message=AIMessageChunk(content="", tool_call_chunks=[piece]))
        last = AIMessageChunk(
            content="",
            usage_metadata=message.usage_metadata,
            response_metadata=message.response_metadata,
            chunk_position="last",
        )
        yield ChatGenerationChunk(message=last)


def _strict_json(name: str, message: AIMessage) -> AIMessage:
    try:
        json.loads(message.text)
    except ValueError as exc:
        raise OutputParserException(
            f"answer is not valid JSON for '{name}': {exc}", llm_output=message.text
        ) from None
    return message


def _to_message(result: Any, request: ScriptedRequest) -> AIMessage:
    """Turn a responder's result into a fresh AIMessage: copied, no id, fresh tool call ids."""
    spec = request.structured_output
    if isinstance(result, AIMessage):
        message = copy.deepcopy(result)
    elif isinstance(result, str):
        message = AIMessage(content=result)
    elif spec is not None and isinstance(result, BaseModel | dict):
        payload = result.model_dump(mode="json") if isinstance(result, BaseModel) else copy.deepcopy(result)
        if spec.method == "function_calling":
            message = AIMessage(content="", tool_calls=[{"name": spec.name, "args": payload, "id": None}])
        else:
            message = AIMessage(content=json.dumps(payload, ensure_ascii=False))
    elif isinstance(result, dict):
        if unknown := set(result) - {"content", "tool_calls"}:
            raise TypeError(
                f"a scripted responder dict takes the keys content and tool_calls, got {sorted(unknown)}"
            )
        calls = [
            {"name": c["name"], "args": c.get("args", {}), "id": None} for c in result.get("tool_calls", [])
        ]
        message = AIMessage(content=result.get("content", ""), tool_calls=copy.deepcopy(calls))
    else:
        raise TypeError(
            "a scripted responder must return an AIMessage, str, dict or pydantic model, got "
            f"{type(result).__name__}"
        )
    message.id = None
    for call in message.tool_calls:
        args = json.dumps(call["args"], sort_keys=True, default=str)
        digest = hashlib.sha1(f"{call['name']}:{args}".encode()).hexdigest()[:8]
        call["id"] = f"call_{next(_call_ids):06d}_{digest}"
    return message
