"""The offline scripted chat model: a real `BaseChatModel` whose answers come from a responder.

Graph and agent code cannot tell it from `ChatOpenAI`: it binds tools, returns tool calls, gives
structured output, streams and runs async. What it answers is decided by a *responder*, a plain
function of a `ScriptedRequest`, so the per-role behaviour lives outside this infrastructure.

Responder contract (`Responder = Callable[[ScriptedRequest], ResponderResult]`):

* the request carries the messages, the tools bound with `bind_tools` (name, description, JSON
  schema), the structured-output schema if the call came from `with_structured_output`, and the
  `role` taken from the first system message's `<role>NAME</role>` tag;
* it returns an `AIMessage`, a `str` (plain text answer), a pydantic model instance or a `dict`.
  For a structured-output request a dict or model instance is the object to return; otherwise a
  dict is read as `{"content": str, "tool_calls": [{"name": ..., "args": {...}}, ...]}`;
* ids are the model's job: message ids are never set (LangGraph's `add_messages` would replace a
  message that reuses an id) and every tool call gets a fresh id, whatever the responder wrote
  (an `AIMessage` built by hand needs `"id": None` in each tool call; the dict form needs nothing);
* the result is deep-copied, so a responder may return the same scripted object every time.

`register_role("audience")(fn)` adds a responder to the default registry; `default_responder`
dispatches on the request's role. `with_faults(responder, FaultPlan(...))` injects failures.
Each call waits `latency_ms` (default: `CDP_AGENTS_SCRIPTED_LATENCY_MS`), is counted (`model.calls`,
`ScriptedChatModel.total_calls`) and reports approximate token counts in `usage_metadata`.
"""

from __future__ import annotations

import asyncio
import copy
import hashlib
import itertools
import json
import os
import random
import re
import threading
import time
from collections.abc import AsyncIterator, Callable, Iterator, Sequence
from dataclasses import dataclass, field
from typing import Any, ClassVar, Literal

from langchain_core.callbacks import AsyncCallbackManagerForLLMRun, CallbackManagerForLLMRun
from langchain_core.exceptions import OutputParserException
from langchain_core.language_models import BaseChatModel, LanguageModelInput
from langchain_core.messages import (
    AIMessage,
    AIMessageChunk,
    BaseMessage,
    HumanMessage,
    SystemMessage,
    ToolMessage,
)
from langchain_core.messages.utils import count_tokens_approximately
from langchain_core.outputs import ChatGeneration, ChatGenerationChunk, ChatResult
from langchain_core.runnables import Runnable, RunnableLambda
from langchain_core.tools import BaseTool
from langchain_core.utils.function_calling import convert_to_openai_tool
from pydantic import BaseModel, ConfigDict, PrivateAttr, ValidationError

__all__ = [
    "FaultKind",
    "FaultPlan",
    "Responder",
    "ScriptedChatModel",
    "ScriptedRateLimitError",
    "ScriptedRequest",
    "ScriptedTimeoutError",
    "StructuredOutputSpec",
    "ToolSpec",
    "UnknownRoleError",
    "default_responder",
    "register_role",
    "registered_roles",
    "with_faults",
]

LATENCY_ENV = "CDP_AGENTS_SCRIPTED_LATENCY_MS"
_ROLE_TAG = re.compile(r"<role>\s*([A-Za-z0-9_.:-]{1,64})\s*</role>")
_STREAM_PIECE = 24  # characters per streamed content chunk


# --------------------------------------------------------------------------------------------- request


@dataclass(frozen=True)
class ToolSpec:
    """A tool the model was bound to, as the model sees it (OpenAI function format)."""

    name: str
    description: str
    parameters: dict[str, Any]


@dataclass(frozen=True)
class StructuredOutputSpec:
    """What `with_structured_output` asked for: a JSON object of `json_schema` named `name`.

    `pydantic_model` is the class when the schema was one (responders may return an instance).
    `method` is "json_schema" / "json_mode" (answer in the content) or "function_calling" (answer
    as a tool call named `name`); the model takes care of that packaging.
    """

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
    call_index: int = 0

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
            if isinstance(m, ToolMessage):
                out.append(m)
            elif isinstance(m, AIMessage):
                break
        return list(reversed(out))

    def ai_turns(self) -> int:
        """How many times the model already answered in this conversation."""
        return sum(isinstance(m, AIMessage) for m in self.messages)


ResponderResult = AIMessage | BaseModel | dict[str, Any] | str
Responder = Callable[[ScriptedRequest], ResponderResult]


def role_of(messages: Sequence[BaseMessage]) -> str | None:
    """The `<role>NAME</role>` of the first system message, or None."""
    for m in messages:
        if isinstance(m, SystemMessage):
            found = _ROLE_TAG.search(m.text)
            return found.group(1) if found else None
    return None


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
    if request.role is None:
        raise UnknownRoleError(
            "the scripted model needs a <role>NAME</role> tag in the first system message to know "
            f"how to answer; registered roles: {', '.join(registered_roles()) or 'none'}"
        )
    fn = _REGISTRY.get(request.role)
    if fn is None:
        raise UnknownRoleError(
            f"no scripted responder for role '{request.role}'; registered roles: "
            f"{', '.join(registered_roles()) or 'none'} (add one with @register_role)"
        )
    return fn(request)


# ---------------------------------------------------------------------------------------------- faults


class ScriptedTimeoutError(TimeoutError):
    """An injected model timeout (the kind a real endpoint raises after its deadline)."""


class ScriptedRateLimitError(Exception):
    """An injected HTTP 429 from the model endpoint."""

    status_code = 429

    def __init__(self, message: str = "rate limit exceeded (429), retry later"):
        super().__init__(message)


FaultKind = Literal["timeout", "rate_limit", "truncated_json", "empty", "unknown_tool", "bad_arguments"]
FAULT_KINDS: tuple[FaultKind, ...] = (
    "timeout",
    "rate_limit",
    "truncated_json",
    "empty",
    "unknown_tool",
    "bad_arguments",
)


@dataclass
class FaultPlan:
    """Which calls fail and how.

    `schedule` pins faults to call numbers (0-based, counted by the wrapper) for exact tests;
    otherwise each call fails with probability `rate`, the kind drawn from `kinds`, decided by a
    generator seeded with (`seed`, call number), so a run with the same call order repeats exactly.
    `roles` limits faults to those roles (None: every role). `injected` records what happened.
    """

    seed: int = 0
    rate: float = 0.0
    kinds: tuple[FaultKind, ...] = FAULT_KINDS
    schedule: dict[int, FaultKind] = field(default_factory=dict)
    roles: frozenset[str] | None = None
    injected: list[tuple[int, FaultKind]] = field(default_factory=list)

    def pick(self, call: int, role: str | None) -> FaultKind | None:
        if self.roles is not None and role not in self.roles:
            return None
        if call in self.schedule:
            return self.schedule[call]
        if self.rate <= 0 or not self.kinds:
            return None
        rng = random.Random(f"{self.seed}:{call}")
        if rng.random() >= self.rate:
            return None
        return self.kinds[rng.randrange(len(self.kinds))]


def with_faults(responder: Responder, plan: FaultPlan) -> Responder:
    """Wrap `responder` so the calls `plan` picks fail in one of the `FaultKind` ways.

    timeout / rate_limit raise `ScriptedTimeoutError` / `ScriptedRateLimitError`; truncated_json
    returns the real answer's JSON cut in half as text; empty returns an empty message;
    unknown_tool calls a tool that was not bound; bad_arguments calls a bound tool with arguments
    its schema does not accept.
    """
    counter = itertools.count()
    lock = threading.Lock()

    def faulty(request: ScriptedRequest) -> ResponderResult:
        with lock:
            call = next(counter)
        kind = plan.pick(call, request.role)
        if kind is None:
            return responder(request)
        plan.injected.append((call, kind))
        if kind == "timeout":
            raise ScriptedTimeoutError(f"scripted model timed out (injected fault, call {call})")
        if kind == "rate_limit":
            raise ScriptedRateLimitError(f"rate limit exceeded (429, injected fault, call {call})")
        if kind == "empty":
            return AIMessage(content="")
        if kind == "unknown_tool":
            return AIMessage(content="", tool_calls=[_tool_call("no_such_tool", {"x": 1})])
        if kind == "bad_arguments":
            name = request.tools[0].name if request.tools else "no_such_tool"
            return AIMessage(content="", tool_calls=[_tool_call(name, {"unexpected_argument": [None]})])
        # truncated_json: the answer it would have given, serialised and cut mid-object
        full = _as_json_text(responder(request), request)
        return AIMessage(content=full[: max(1, len(full) // 2)])

    return faulty


def _tool_call(name: str, args: dict[str, Any]) -> dict[str, Any]:
    return {"name": name, "args": args, "id": None, "type": "tool_call"}


def _as_json_text(result: ResponderResult, request: ScriptedRequest) -> str:
    if isinstance(result, BaseModel):
        return result.model_dump_json()
    if isinstance(result, AIMessage):
        if result.tool_calls:
            return json.dumps(result.tool_calls[0]["args"])
        return result.text or "{}"
    if isinstance(result, dict):
        return json.dumps(result, default=str)
    return json.dumps({"text": result})


# ----------------------------------------------------------------------------------------------- model

_call_ids = itertools.count(1)
_total_lock = threading.Lock()


def _fresh_tool_call_id(name: str, args: Any) -> str:
    """Unique in the process (a counter) and readable; the hash makes ids differ across contents."""
    digest = hashlib.sha1(f"{name}:{json.dumps(args, sort_keys=True, default=str)}".encode()).hexdigest()
    return f"call_{next(_call_ids):06d}_{digest[:8]}"


def _latency_seconds(explicit: float | None) -> float:
    if explicit is not None:
        return max(0.0, explicit) / 1000.0
    raw = os.environ.get(LATENCY_ENV, "").strip()
    if not raw:
        return 0.0
    try:
        return max(0.0, float(raw)) / 1000.0
    except ValueError:
        raise ValueError(f"{LATENCY_ENV} must be a number of milliseconds, got {raw!r}") from None


class ScriptedChatModel(BaseChatModel):
    """A deterministic offline chat model; see the module docstring for the responder contract."""

    model_config = ConfigDict(arbitrary_types_allowed=True)

    responder: Callable[[ScriptedRequest], Any] = default_responder
    latency_ms: float | None = None
    """Sleep this long per call; None reads `CDP_AGENTS_SCRIPTED_LATENCY_MS` at call time."""
    model_name: str = "scripted"

    total_calls: ClassVar[int] = 0
    """Calls made by every scripted model in this process."""

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

    # --- binding -----------------------------------------------------------------------------

    def bind_tools(
        self,
        tools: Sequence[dict[str, Any] | type | Callable[..., Any] | BaseTool],
        *,
        tool_choice: str | None = None,
        **kwargs: Any,
    ) -> Runnable[LanguageModelInput, AIMessage]:
        """Bind tools like ChatOpenAI does: OpenAI tool dicts in the `tools` kwarg."""
        formatted = [convert_to_openai_tool(t) for t in tools]
        if tool_choice is not None:
            kwargs["tool_choice"] = tool_choice
        return self.bind(tools=formatted, **kwargs)

    def with_structured_output(
        self,
        schema: dict[str, Any] | type,
        *,
        include_raw: bool = False,
        method: Literal["function_calling", "json_mode", "json_schema"] = "json_schema",
        strict: bool | None = None,
        **kwargs: Any,
    ) -> Runnable[LanguageModelInput, dict[str, Any] | BaseModel]:
        """A runnable answering with an object of `schema` (a pydantic instance for a model class)."""
        if kwargs:
            raise ValueError(f"unsupported arguments for with_structured_output: {sorted(kwargs)}")
        function = convert_to_openai_tool(schema)["function"]
        pydantic_model = schema if isinstance(schema, type) and issubclass(schema, BaseModel) else None
        spec = StructuredOutputSpec(
            name=function["name"],
            json_schema=function.get("parameters", {}),
            method=method,
            pydantic_model=pydantic_model,
        )
        bound = self.bind(
            scripted_structured_output=spec,
            ls_structured_output_format={"kwargs": {"method": method}, "schema": schema},
        )

        def parse(message: AIMessage) -> Any:
            return _parse_structured(message, spec)

        parser = RunnableLambda(parse, name="ScriptedStructuredOutputParser")
        if not include_raw:
            return bound | parser

        def parse_with_raw(raw: AIMessage) -> dict[str, Any]:
            try:
                return {"raw": raw, "parsed": parse(raw), "parsing_error": None}
            except OutputParserException as exc:
                return {"raw": raw, "parsed": None, "parsing_error": exc}

        return bound | RunnableLambda(parse_with_raw, name="ScriptedStructuredOutputParser")

    # --- answering -------------------------------------------------------------------------------

    def _request(self, messages: list[BaseMessage], kwargs: dict[str, Any]) -> ScriptedRequest:
        with self._lock:
            index = self._calls
            self._calls += 1
        with _total_lock:
            ScriptedChatModel.total_calls += 1
        tools = [
            ToolSpec(
                name=t["function"]["name"],
                description=t["function"].get("description", ""),
                parameters=t["function"].get("parameters", {}),
            )
            for t in kwargs.get("tools") or []
            if t.get("type") == "function"
        ]
        choice = kwargs.get("tool_choice")
        if isinstance(choice, dict):
            choice = choice.get("function", {}).get("name") or choice.get("type")
        return ScriptedRequest(
            messages=list(messages),
            tools=tools,
            tool_choice=choice,
            structured_output=kwargs.get("scripted_structured_output"),
            role=role_of(messages),
            call_index=index,
        )

    def _answer(self, messages: list[BaseMessage], kwargs: dict[str, Any]) -> AIMessage:
        request = self._request(messages, kwargs)
        result = self.responder(request)
        message = _to_message(result, request)
        message.usage_metadata = _usage(messages, message, request)
        message.response_metadata = {"model_name": self.model_name, "finish_reason": _finish(message)}
        return message

    def _generate(
        self,
        messages: list[BaseMessage],
        stop: list[str] | None = None,
        run_manager: CallbackManagerForLLMRun | None = None,
        **kwargs: Any,
    ) -> ChatResult:
        delay = _latency_seconds(self.latency_ms)
        if delay:
            time.sleep(delay)
        return ChatResult(generations=[ChatGeneration(message=self._answer(messages, kwargs))])

    async def _agenerate(
        self,
        messages: list[BaseMessage],
        stop: list[str] | None = None,
        run_manager: AsyncCallbackManagerForLLMRun | None = None,
        **kwargs: Any,
    ) -> ChatResult:
        delay = _latency_seconds(self.latency_ms)
        if delay:
            await asyncio.sleep(delay)
        return ChatResult(generations=[ChatGeneration(message=self._answer(messages, kwargs))])

    def _stream(
        self,
        messages: list[BaseMessage],
        stop: list[str] | None = None,
        run_manager: CallbackManagerForLLMRun | None = None,
        **kwargs: Any,
    ) -> Iterator[ChatGenerationChunk]:
        delay = _latency_seconds(self.latency_ms)
        if delay:
            time.sleep(delay)
        for chunk in _chunks(self._answer(messages, kwargs)):
            if run_manager and isinstance(chunk.message.content, str):
                run_manager.on_llm_new_token(chunk.message.content, chunk=chunk)
            yield chunk

    async def _astream(
        self,
        messages: list[BaseMessage],
        stop: list[str] | None = None,
        run_manager: AsyncCallbackManagerForLLMRun | None = None,
        **kwargs: Any,
    ) -> AsyncIterator[ChatGenerationChunk]:
        delay = _latency_seconds(self.latency_ms)
        if delay:
            await asyncio.sleep(delay)
        for chunk in _chunks(self._answer(messages, kwargs)):
            if run_manager and isinstance(chunk.message.content, str):
                await run_manager.on_llm_new_token(chunk.message.content, chunk=chunk)
            yield chunk


# ------------------------------------------------------------------------------------------- helpers


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
            message = AIMessage(content="", tool_calls=[_tool_call(spec.name, payload)])
        else:
            message = AIMessage(content=json.dumps(payload, ensure_ascii=False))
    elif isinstance(result, dict):
        unknown = set(result) - {"content", "tool_calls"}
        if unknown:
            raise TypeError(
                f"a scripted responder dict takes the keys content and tool_calls, got {sorted(unknown)}"
            )
        message = AIMessage(
            content=copy.deepcopy(result.get("content", "")),
            tool_calls=[
                _tool_call(c["name"], copy.deepcopy(c.get("args", {}))) for c in result.get("tool_calls", [])
            ],
        )
    else:
        raise TypeError(
            "a scripted responder must return an AIMessage, str, dict or pydantic model, got "
            f"{type(result).__name__}"
        )
    message.id = None
    message.tool_calls = [
        {**call, "id": _fresh_tool_call_id(call["name"], call["args"]), "type": "tool_call"}
        for call in message.tool_calls
    ]
    return message


def _usage(messages: list[BaseMessage], answer: AIMessage, request: ScriptedRequest) -> Any:
    tools: list[Any] = [
        {
            "type": "function",
            "function": {"name": t.name, "description": t.description, "parameters": t.parameters},
        }
        for t in request.tools
    ]
    prompt = count_tokens_approximately(messages, tools=tools or None)
    completion = count_tokens_approximately([answer])
    return {"input_tokens": prompt, "output_tokens": completion, "total_tokens": prompt + completion}


def _finish(message: AIMessage) -> str:
    return "tool_calls" if message.tool_calls else "stop"


def _chunks(message: AIMessage) -> Iterator[ChatGenerationChunk]:
    """The same answer in pieces: text in short slices, then one tool_call_chunk per call."""
    text = message.content if isinstance(message.content, str) else ""
    pieces = [text[i : i + _STREAM_PIECE] for i in range(0, len(text), _STREAM_PIECE)] or [""]
    for piece in pieces:
        yield ChatGenerationChunk(message=AIMessageChunk(content=piece))
    for index, call in enumerate(message.tool_calls):
        yield ChatGenerationChunk(
            message=AIMessageChunk(
                content="",
                tool_call_chunks=[
                    {
                        "name": call["name"],
                        "args": json.dumps(call["args"]),
                        "id": call["id"],
                        "index": index,
                        "type": "tool_call_chunk",
                    }
                ],
            )
        )
    yield ChatGenerationChunk(
        message=AIMessageChunk(
            content="",
            usage_metadata=message.usage_metadata,
            response_metadata=message.response_metadata,
            chunk_position="last",
        )
    )


def _parse_structured(message: AIMessage, spec: StructuredOutputSpec) -> Any:
    """Validate the answer into the schema, or raise OutputParserException naming what was wrong."""
    if spec.method == "function_calling":
        calls = [c for c in message.tool_calls if c["name"] == spec.name]
        if not calls:
            raise OutputParserException(
                f"expected a call to '{spec.name}', got {message.content!r}", llm_output=str(message.content)
            )
        data: Any = calls[0]["args"]
    else:
        text = message.text.strip()
        if not text:
            raise OutputParserException(f"empty answer where a '{spec.name}' JSON object was expected")
        try:
            data = json.loads(text)
        except json.JSONDecodeError as exc:
            raise OutputParserException(
                f"answer is not valid JSON for '{spec.name}': {exc}", llm_output=text
            ) from None
    if spec.pydantic_model is None:
        if not isinstance(data, dict):
            raise OutputParserException(
                f"expected a JSON object for '{spec.name}', got {type(data).__name__}"
            )
        return data
    try:
        return spec.pydantic_model.model_validate(data)
    except ValidationError as exc:
        raise OutputParserException(
            f"answer does not match '{spec.name}': {exc.errors()[:3]}", llm_output=json.dumps(data)
        ) from None
