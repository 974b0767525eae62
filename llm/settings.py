"""The model settings read from the environment, in a module that imports no model library.

`cdp-agents` checks every setting before any command runs; reading these here keeps that check from
loading LangChain for a command that never calls a model.
"""

from __future__ import annotations

import os

TIMEOUT_ENV = "CDP_AGENTS_MODEL_TIMEOUT_S"
DEFAULT_TIMEOUT_S = 60.0
LATENCY_ENV = "CDP_AGENTS_SCRIPTED_LATENCY_MS"


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
