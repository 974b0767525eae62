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
