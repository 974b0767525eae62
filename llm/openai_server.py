"""A tiny local OpenAI-compatible `/v1/chat/completions` endpoint serving the scripted model's decisions.

It lets the real `ChatOpenAI` path (HTTP, tool calls, structured output, SSE streaming) be exercised and
recorded offline: requests become LangChain messages, the scripted default responder answers, and the
answer goes back in OpenAI's JSON format. Ids are derived from the request, so equal requests always
get byte-identical answers (recorded cassettes then match on body at replay time).
"""

from __future__ import annotations

import hashlib
import json
import threading
from collections.abc import Iterator
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

from langchain_core.messages import AIMessage, BaseMessage, ToolMessage

from llm.scripted import Responder, ScriptedChatModel, StructuredOutputSpec, default_responder, role_of

__all__ = ["OpenAICompatServer", "ServerFaults", "chat_completion"]

_STREAM_PIECE = 24


@dataclass
class ServerFaults:
    """Malformed answers the server gives on purpose, to record how the agent loop repairs them.

    For each role in `truncated_args`, the model's first answer in a conversation (no assistant turn
    yet) is a call to its first bound tool whose JSON arguments are cut off mid-object.
    """

    truncated_args: frozenset[str] = field(default_factory=frozenset)
    injected: list[str] = field(default_factory=list)


def _digest(*parts: Any) -> str:
    return hashlib.sha1(json.dumps(parts, sort_keys=True, default=str).encode()).hexdigest()


def _to_messages(raw: list[dict[str, Any]]) -> list[BaseMessage]:
    """OpenAI chat messages as LangChain messages; tool results get the name of the call they answer."""
    from langchain_openai.chat_models.base import _convert_dict_to_message

    names: dict[str, str] = {}
    out: list[BaseMessage] = []
    for item in raw:
        message = _convert_dict_to_message(item)
        if isinstance(message, AIMessage):
            for call in message.tool_calls:
                names[call.get("id") or ""] = call["name"]
            for bad in message.invalid_tool_calls:
                names[bad.get("id") or ""] = bad.get("name") or ""
        if isinstance(message, ToolMessage) and not message.name:
            message.name = names.get(message.tool_call_id)
        out.append(message)
    return out


def _structured_spec(body: dict[str, Any]) -> StructuredOutputSpec | None:
    fmt = body.get("response_format")
    if not isinstance(fmt, dict):
        return None
    if fmt.get("type") == "json_schema":
        schema = fmt.get("json_schema") or {}
        return StructuredOutputSpec(name=schema.get("name", "output"), json_schema=schema.get("schema") or {})
    if fmt.get("type") == "json_object":
        return StructuredOutputSpec(name="output", json_schema={}, method="json_mode")
    return None


def _forced_function_spec(body: dict[str, Any]) -> StructuredOutputSpec | None:
    """Structured output asked for as a forced function call (`method="function_calling"`)."""
    choice = body.get("tool_choice")
    name = (choice.get("function") or {}).get("name") if isinstance(choice, dict) else None
    for tool in body.get("tools") or []:
        function = tool.get("function") or {}
        if name and function.get("name") == name:
            return StructuredOutputSpec(
                name=name, json_schema=function.get("parameters") or {}, method="function_calling"
            )
    return None


def _answer(body: dict[str, Any], responder: Responder, faults: ServerFaults) -> AIMessage:
    messages = _to_messages(body.get("messages") or [])
    role = role_of(messages)
    tools = [t for t in body.get("tools") or [] if t.get("type") == "function"]
    if role in faults.truncated_args and tools and not any(isinstance(m, AIMessage) for m in messages):
        faults.injected.append(role or "")
        name = tools[0]["function"]["name"]
        return AIMessage(
            content="",
            tool_calls=[],
            invalid_tool_calls=[
                {
                    "name": name,
                    "args": '{"filter": {"all": [',
                    "id": None,
                    "error": None,
                    "type": "invalid_tool_call",
                }
            ],
        )
    kwargs: dict[str, Any] = {"tools": tools, "tool_choice": body.get("tool_choice")}
    spec = _structured_spec(body) or _forced_function_spec(body)
    if spec is not None:
        kwargs["scripted_structured_output"] = spec
    return ScriptedChatModel(responder)._answer(messages, kwargs)


def chat_completion(
    body: dict[str, Any], responder: Responder = default_responder, faults: ServerFaults | None = None
) -> dict[str, Any]:
    """The OpenAI `chat.completion` object answering `body` (ids derived from the request)."""
    message = _answer(body, responder, faults or ServerFaults())
    seed = _digest(body.get("model"), body.get("messages"), body.get("tools"), body.get("response_format"))
    calls = [
        {
            "id": f"call_{_digest(seed, i, c['name'])[:24]}",
            "type": "function",
            "function": {"name": c["name"], "arguments": json.dumps(c["args"], ensure_ascii=False)},
        }
        for i, c in enumerate(message.tool_calls)
    ]
    calls += [
        {
            "id": f"call_{_digest(seed, 'invalid', i)[:24]}",
            "type": "function",
            "function": {"name": c.get("name") or "", "arguments": c.get("args") or ""},
        }
        for i, c in enumerate(message.invalid_tool_calls)
    ]
    usage = message.usage_metadata or {"input_tokens": 0, "output_tokens": 0, "total_tokens": 0}
    out_message: dict[str, Any] = {"role": "assistant", "content": message.text or (None if calls else "")}
    if calls:
        out_message["tool_calls"] = calls
    return {
        "id": f"chatcmpl-{seed[:24]}",
        "object": "chat.completion",
        "created": 0,
        "model": body.get("model", "scripted"),
        "choices": [{"index": 0, "message": out_message, "finish_reason": "tool_calls" if calls else "stop"}],
        "usage": {
            "prompt_tokens": usage["input_tokens"],
            "completion_tokens": usage["output_tokens"],
            "total_tokens": usage["total_tokens"],
        },
    }


def _sse_chunks(completion: dict[str, Any], include_usage: bool) -> Iterator[dict[str, Any]]:
    """The same completion as `chat.completion.chunk` objects: text slices, one chunk per tool call."""
    base = {
        "id": completion["id"],
        "object": "chat.completion.chunk",
        "created": 0,
        "model": completion["model"],
    }
    choice = completion["choices"][0]
    message = choice["message"]

    def chunk(delta: dict[str, Any], finish: str | None = None) -> dict[str, Any]:
        out = {**base, "choices": [{"index": 0, "delta": delta, "finish_reason": finish}]}
        if include_usage:
            out["usage"] = None
        return out

    text = message.get("content") or ""
    pieces = [text[i : i + _STREAM_PIECE] for i in range(0, len(text), _STREAM_PIECE)] or [""]
    yield chunk({"role": "assistant", "content": pieces[0]})
    for piece in pieces[1:]:
        yield chunk({"content": piece})
    for index, call in enumerate(message.get("tool_calls") or []):
        yield chunk({"tool_calls": [{"index": index, **call}]})
    yield chunk({}, choice["finish_reason"])
    if include_usage:
        yield {**base, "choices": [], "usage": completion["usage"]}


class OpenAICompatServer:
    """`with OpenAICompatServer(port=18765) as server:` serves `server.base_url` in a daemon thread.

    `port=0` picks a free port. Only 127.0.0.1 is bound; any API key is accepted (none is checked).
    """

    def __init__(
        self,
        port: int = 0,
        *,
        responder: Responder = default_responder,
        faults: ServerFaults | None = None,
    ) -> None:
        import llm.scripted.roles  # noqa: F401  (registers the scripted answers of every role)

        self.responder = responder
        self.faults = faults or ServerFaults()
        self.requests = 0
        self._httpd = ThreadingHTTPServer(("127.0.0.1", port), self._handler())
        self._httpd.daemon_threads = True
        self._thread: threading.Thread | None = None

    @property
    def port(self) -> int:
        return int(self._httpd.server_address[1])

    @property
    def base_url(self) -> str:
        return f"http://127.0.0.1:{self.port}/v1"

    def _handler(self) -> type[BaseHTTPRequestHandler]:
        server = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def log_message(self, format: str, *args: Any) -> None:  # quiet: tests read no access log
                return

            def _send_json(self, status: int, payload: dict[str, Any]) -> None:
                data = json.dumps(payload).encode()
                self.send_response(status)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(data)))
                self.end_headers()
                self.wfile.write(data)

            def do_POST(self) -> None:
                if self.path.rstrip("/") not in ("/v1/chat/completions", "/chat/completions"):
                    self._send_json(404, {"error": {"message": f"no route {self.path}", "type": "not_found"}})
                    return
                length = int(self.headers.get("Content-Length") or 0)
                try:
                    body = json.loads(self.rfile.read(length) or b"{}")
                    completion = chat_completion(body, server.responder, server.faults)
                except Exception as exc:  # report it the way OpenAI does, so the client raises clearly
                    self._send_json(
                        400,
                        {
                            "error": {
                                "message": f"{type(exc).__name__}: {exc}",
                                "type": "invalid_request_error",
                            }
                        },
                    )
                    return
                server.requests += 1
                if not body.get("stream"):
                    self._send_json(200, completion)
                    return
                include_usage = bool((body.get("stream_options") or {}).get("include_usage"))
                data = (
                    b"".join(
                        f"data: {json.dumps(c)}\n\n".encode() for c in _sse_chunks(completion, include_usage)
                    )
                    + b"data: [DONE]\n\n"
                )
                self.send_response(200)
                self.send_header("Content-Type", "text/event-stream")
                self.send_header("Content-Length", str(len(data)))
                self.end_headers()
                self.wfile.write(data)

        return Handler

    def start(self) -> OpenAICompatServer:
        self._thread = threading.Thread(target=self._httpd.serve_forever, name="openai-compat", daemon=True)
        self._thread.start()
        return self

    def stop(self) -> None:
        self._httpd.shutdown()
        self._httpd.server_close()
        if self._thread is not None:
            self._thread.join(timeout=5)

    def __enter__(self) -> OpenAICompatServer:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()
