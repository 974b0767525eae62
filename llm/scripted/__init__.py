"""The offline scripted model: a real chat model whose answers come from per-role responders.

`model` is the `BaseChatModel` and its responder registry; `roles` registers the answer of every
role (imported on first use by `llm.loader`, so importing this package stays cheap).
"""

from llm.scripted.model import (
    LATENCY_ENV,
    FaultKind,
    FaultPlan,
    Responder,
    ScriptedChatModel,
    ScriptedRateLimitError,
    ScriptedRequest,
    ScriptedTimeoutError,
    StructuredOutputSpec,
    ToolSpec,
    UnknownRoleError,
    _latency_seconds,
    default_responder,
    register_role,
    registered_roles,
    role_of,
    with_faults,
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
