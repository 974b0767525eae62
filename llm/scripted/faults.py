"""Fault injection for the scripted model: the failures a real endpoint produces, on a schedule or a seed.

`with_faults(responder, FaultPlan(...))` wraps any responder; graph tests use it to prove retries,
fallbacks and escalation work on timeouts, 429s, truncated JSON, empty answers and bad tool calls.
"""

from __future__ import annotations

import itertools
import json
import random
import threading
from dataclasses import dataclass, field
from typing import Literal, get_args

from langchain_core.messages import AIMessage

from llm.scripted.model import Responder, ResponderResult, ScriptedRequest, _to_message


class ScriptedTimeoutError(TimeoutError):
    """An injected model timeout (the kind a real endpoint raises after its deadline)."""


class ScriptedRateLimitError(Exception):
    """An injected HTTP 429 from the model endpoint."""

    status_code = 429


FaultKind = Literal["timeout", "rate_limit", "truncated_json", "empty", "unknown_tool", "bad_arguments"]
FAULT_KINDS: tuple[FaultKind, ...] = get_args(FaultKind)


@dataclass
class FaultPlan:
    """Which calls fail and how: `schedule` pins kinds to call numbers (0-based); otherwise each call
    fails with probability `rate`, drawn from a generator seeded with (`seed`, call number) so the same
    call order repeats exactly. `roles` limits faults to those roles; `injected` records them."""

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
        rng = random.Random(f"{self.seed}:{call}")
        if self.rate <= 0 or not self.kinds or rng.random() >= self.rate:
            return None
        return self.kinds[rng.randrange(len(self.kinds))]


def with_faults(responder: Responder, plan: FaultPlan) -> Responder:
    """Wrap `responder` so the calls `plan` picks fail: raise a timeout or a 429, answer with half the
    real answer's JSON, nothing, a tool that was not bound, or arguments the tool's schema refuses."""
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
            return {"tool_calls": [{"name": "no_such_tool", "args": {"x": 1}}]}
        if kind == "bad_arguments":
            name = request.tools[0].name if request.tools else "no_such_tool"
            return {"tool_calls": [{"name": name, "args": {"unexpected_argument": [None]}}]}
        # truncated_json: the answer it would have given, serialised and cut mid-object
        full = _to_message(responder(request), request)
        text = json.dumps(full.tool_calls[0]["args"]) if full.tool_calls else full.text or "{}"
        return AIMessage(content=text[: max(1, len(text) // 2)])

    return faulty
