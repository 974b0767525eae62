"""The model settings read from the environment, in a module that imports no model library.

`cdp-agents` checks every setting before any command runs; reading these here keeps that check from
loading LangChain for a command that never calls a model.
"""

from __future__ import annotations

import os

TIMEOUT_ENV = "CDP_AGENTS_MODEL_TIMEOUT_S"
DEFAULT_TIMEOUT_S = 60.0
LATENCY_ENV = "CDP_AGENTS_SCRIPTED_LATENCY_MS"
STRUCTURED_ENV = "CDP_AGENTS_STRUCTURED_OUTPUT"
#: How a plan is asked for: a JSON schema in `response_format`, a forced function call, or JSON mode.
STRUCTURED_METHODS = ("json_schema", "function_calling", "json_mode")


class ModelConfigError(ValueError):
    """The model asked for cannot be built from the current settings (missing key, bad name)."""


def model_timeout_s() -> float:
    """Seconds a real model's call may take (`CDP_AGENTS_MODEL_TIMEOUT_S`, default 60)."""
    raw = os.environ.get(TIMEOUT_ENV, "").strip()
    if not raw:
        return DEFAULT_TIMEOUT_S
    try:
        value = float(raw)
    except ValueError:
        raise ModelConfigError(f"{TIMEOUT_ENV} must be a number of seconds, got {raw!r}") from None
    if value <= 0:
        raise ModelConfigError(f"{TIMEOUT_ENV} must be positive, got {raw!r}")
    return value


def scripted_latency_s(explicit_ms: float | None) -> float:
    """Seconds the scripted model waits per call: `explicit_ms`, else `CDP_AGENTS_SCRIPTED_LATENCY_MS`."""
    if explicit_ms is not None:
        return max(0.0, explicit_ms) / 1000.0
    raw = os.environ.get(LATENCY_ENV, "").strip() or "0"
    try:
        return max(0.0, float(raw)) / 1000.0
    except ValueError:
        raise ValueError(f"{LATENCY_ENV} must be a number of milliseconds, got {raw!r}") from None


def structured_output_methods() -> tuple[str, ...]:
    """The ways to ask an endpoint for a plan, in the order to try them.

    `CDP_AGENTS_STRUCTURED_OUTPUT` names one (`json_schema`, `function_calling` or `json_mode`) and
    only that one is used; unset (or `auto`), `json_schema` comes first and `function_calling` is the
    fallback for a server that refuses `response_format` (llama-cpp-python's own server answers 500).
    """
    raw = os.environ.get(STRUCTURED_ENV, "").strip().lower()
    if raw in ("", "auto"):
        return ("json_schema", "function_calling")
    if raw not in STRUCTURED_METHODS:
        raise ModelConfigError(f"{STRUCTURED_ENV}={raw}: use auto, {', '.join(STRUCTURED_METHODS)}")
    return (raw,)


MAX_TOKENS_ENV = "CDP_AGENTS_MAX_TOKENS"
DEFAULT_MAX_TOKENS = 2048
TOOL_CALLS_ENV = "CDP_AGENTS_TOOL_CALLS"
#: How a specialist's model asks for a tool: the endpoint's native tool calls, or one JSON action
#: `{"tool", "args"}` per step under a JSON schema, for models that do not emit tool-call tags.
TOOL_CALL_MODES = ("native", "json")
PLAN_SCHEMA_ENV = "CDP_AGENTS_PLAN_SCHEMA"
#: What the supervisor's model fills: the whole plan (task DAG included), or a brief (the campaign and
#: the interpretation) from which code builds the task DAG over the registry.
PLAN_SCHEMAS = ("full", "brief")


def max_tokens() -> int:
    """The most tokens one answer may take (`CDP_AGENTS_MAX_TOKENS`, default 2048), sent on every call.

    Without a cap a small model can ramble for thousands of tokens (minutes on a CPU) before the
    answer is cut by the timeout instead."""
    raw = os.environ.get(MAX_TOKENS_ENV, "").strip()
    if not raw:
        return DEFAULT_MAX_TOKENS
    try:
        value = int(raw)
    except ValueError:
        raise ModelConfigError(f"{MAX_TOKENS_ENV} must be a whole number of tokens, got {raw!r}") from None
    if not 16 <= value <= 131_072:
        raise ModelConfigError(f"{MAX_TOKENS_ENV} must be between 16 and 131072, got {raw!r}")
    return value


def _choice(env: str, allowed: tuple[str, ...]) -> str:
    raw = os.environ.get(env, "").strip().lower()
    if not raw:
        return allowed[0]
    if raw not in allowed:
        raise ModelConfigError(f"{env}={raw}: use {' or '.join(allowed)}")
    return raw


def tool_call_mode() -> str:
    """`native` (default) or `json` (`CDP_AGENTS_TOOL_CALLS`): see `TOOL_CALL_MODES`."""
    return _choice(TOOL_CALLS_ENV, TOOL_CALL_MODES)


def plan_schema() -> str:
    """`full` (default) or `brief` (`CDP_AGENTS_PLAN_SCHEMA`): see `PLAN_SCHEMAS`."""
    return _choice(PLAN_SCHEMA_ENV, PLAN_SCHEMAS)
