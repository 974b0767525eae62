"""The offline scripted model: a real chat model whose answers come from per-role responders.

`model` is the `BaseChatModel` and its responder registry, `faults` injects endpoint failures;
`roles` registers the answer of every role (imported on first use by `llm.loader`, so importing
this package stays cheap).
"""

from llm.scripted.faults import (
    FaultKind,
    FaultPlan,
    ScriptedRateLimitError,
    ScriptedTimeoutError,
    with_faults,
)
from llm.scripted.model import (
    LATENCY_ENV,
    Responder,
    ScriptedChatModel,
    ScriptedRequest,
    StructuredOutputSpec,
    ToolSpec,
    UnknownRoleError,
    _latency_seconds,
    default_responder,
    register_role,
    registered_roles,
    role_of,
)

__all__ = [
    "LATENCY_ENV",
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
    "_latency_seconds",
    "default_responder",
    "register_role",
    "registered_roles",
    "role_of",
    "with_faults",
]
