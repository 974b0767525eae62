"""What a run's model calls were, observed at the LangChain callback boundary: how many, by which
role, with how many tokens, and whether each reply carried its tool calls as tool calls.

One handler per run is passed in the run's `callbacks`; LangGraph hands it to every model call the
run makes (supervisor, specialists in parallel, synthesizer). Tokens are what the model reported in
`AIMessage.usage_metadata` (the scripted model reports `count_tokens_approximately`'s estimate); a
call that reported none counts as a call without tokens, so a total can say "n/a" honestly.
"""

from __future__ import annotations

import threading
from dataclasses import dataclass
from typing import Any
from uuid import UUID

from langchain_core.callbacks import BaseCallbackHandler
from langchain_core.messages import AIMessage, BaseMessage
from langchain_core.outputs import LLMResult

from llm.scripted import role_of


@dataclass
class ModelCall:
    """One chat-model call: the prompt's role, and what came back (nothing when it raised)."""

    role: str
    tools_bound: bool
    ok: bool = False
    tool_calls: int = 0
    invalid_tool_calls: int = 0
    text: str = ""
    prompt_tokens: int | None = None
    completion_tokens: int | None = None
    error: str = ""


class CallLog(BaseCallbackHandler):
    """Every model call of one run, in the order they started (thread-safe: specialists run in
    parallel). Hashed by identity, as LangChain merges handlers in sets."""

    def __init__(self) -> None:
        super().__init__()
        self.calls: list[ModelCall] = []
        self._open: dict[UUID, ModelCall] = {}
        self._lock = threading.Lock()

    def on_chat_model_start(
        self, serialized: dict[str, Any], messages: list[list[BaseMessage]], *, run_id: UUID, **kwargs: Any
    ) -> None:
        params = kwargs.get("invocation_params") or {}
        call = ModelCall(
            role=role_of(messages[0] if messages else []) or "?", tools_bound=bool(params.get("tools"))
        )
        with self._lock:
            self.calls.append(call)
            self._open[run_id] = call

    def on_llm_end(self, response: LLMResult, *, run_id: UUID, **kwargs: Any) -> None:
        with self._lock:
            call = self._open.pop(run_id, None)
        if call is None:
            return
        call.ok = True
        generation = response.generations[0][0] if response.generations and response.generations[0] else None
        message = getattr(generation, "message", None)
        if isinstance(message, AIMessage):
            call.tool_calls = len(message.tool_calls)
            call.invalid_tool_calls = len(message.invalid_tool_calls)
            call.text = message.text[:400]
            usage = message.usage_metadata
            if usage:
                call.prompt_tokens = int(usage.get("input_tokens") or 0)
                call.completion_tokens = int(usage.get("output_tokens") or 0)

    def on_llm_error(self, error: BaseException, *, run_id: UUID, **kwargs: Any) -> None:
        with self._lock:
            call = self._open.pop(run_id, None)
        if call is not None:
            call.error = f"{type(error).__name__}: {error}"[:300]

    # ------------------------------------------------------------------------------------ summaries

    @property
    def count(self) -> int:
        return len(self.calls)

    def tokens(self) -> tuple[int, int, bool]:
        """(prompt, completion, reported): `reported` is False when no call reported usage."""
        reported = [c for c in self.calls if c.prompt_tokens is not None]
        prompt = sum(c.prompt_tokens or 0 for c in reported)
        completion = sum(c.completion_tokens or 0 for c in reported)
        return prompt, completion, bool(reported)

    def tool_replies(self, roles: set[str] | None = None) -> list[ModelCall]:
        """Answered calls that were bound to tools (a specialist's turns), of these roles if given."""
        return [c for c in self.calls if c.ok and c.tools_bound and (roles is None or c.role in roles)]
