"""The one model loader: `scripted` offline, or any OpenAI-compatible endpoint through ChatOpenAI.

Names: `scripted` (default when no `OPENAI_API_KEY` is set), `openai/<model>` or a bare model name
(`gpt-4o-mini`, `llama3.1:8b`, `Qwen/Qwen2.5-7B-Instruct`). `MODEL` in the environment (or `.env`)
names the model when the caller does not; `OPENAI_BASE_URL` points at Ollama, vLLM, llama.cpp ...
"""

from __future__ import annotations

import os
from collections.abc import Callable
from typing import Any

from langchain_core.language_models import BaseChatModel

from llm.scripted import Responder, ScriptedChatModel, ScriptedRateLimitError, ScriptedTimeoutError
from llm.settings import (
    TIMEOUT_ENV,
    ModelConfigError,
    max_tokens,
    structured_output_methods,
    tool_call_mode,
)
from llm.settings import model_timeout_s as _timeout

__all__ = [
    "DEFAULT_OPENAI_MODEL",
    "ModelConfigError",
    "call_with_fallback",
    "endpoint_problem",
    "is_transient_error",
    "load_chat_model",
    "resolve_model_name",
    "structured_model",
]

SCRIPTED = "scripted"
DEFAULT_OPENAI_MODEL = "gpt-4o-mini"


def resolve_model_name(name: str | None = None) -> str:
    """The model a run will use: the explicit name, else `MODEL`, else scripted / the OpenAI default."""
    chosen = (name or "").strip() or os.environ.get("MODEL", "").strip()
    if chosen:
        return chosen
    return f"openai/{DEFAULT_OPENAI_MODEL}" if os.environ.get("OPENAI_API_KEY") else SCRIPTED


def load_chat_model(name: str | None = None, *, responder: Responder | None = None) -> BaseChatModel:
    """Build the chat model `name` names (see the module docstring).

    `responder` is used by the scripted model only (its default dispatches on the prompt's role);
    a real model ignores it. ChatOpenAI is built with temperature 0, `max_tokens` on every call
    (`CDP_AGENTS_MAX_TOKENS`) and no client retries: retries
    belong to the graph (LangGraph `RetryPolicy`), which can see and log them.
    """
    resolved = resolve_model_name(name)
    if resolved == SCRIPTED or resolved.startswith(f"{SCRIPTED}/"):
        import llm.scripted.roles  # noqa: F401  (registers the scripted answers of every role)

        return ScriptedChatModel(responder) if responder is not None else ScriptedChatModel()
    model = resolved.removeprefix("openai/").strip()
    if not model:
        raise ModelConfigError(f"model name {resolved!r} has no model after 'openai/'")
    api_key = os.environ.get("OPENAI_API_KEY", "").strip()
    if not api_key:
        raise ModelConfigError(
            f"model '{model}' needs OPENAI_API_KEY: set it in .env (copy .env.example), e.g. "
            "OPENAI_API_KEY=sk-... for OpenAI, or any non-empty value such as OPENAI_API_KEY=ollama "
            "with OPENAI_BASE_URL=http://localhost:11434/v1 for a local server; or use --model scripted "
            "to run offline"
        )
    from langchain_openai import ChatOpenAI  # imported here: the offline path never needs the client

    kwargs: dict[str, Any] = {
        "model": model,
        "api_key": api_key,
        "base_url": os.environ.get("OPENAI_BASE_URL", "").strip() or None,
        "temperature": 0,
        "timeout": _timeout(),
        "max_retries": 0,
        "max_tokens": max_tokens(),
    }
    chat = ChatOpenAI(**kwargs)
    if tool_call_mode() == "json":
        from llm.actions import JsonActionModel

        return JsonActionModel(inner=chat)
    return chat


def is_transient_error(exc: BaseException) -> bool:
    """Whether a model call that raised `exc` is worth retrying (for `RetryPolicy(retry_on=...)`).

    LangGraph's default `retry_on` does not retry `TimeoutError` (it is an `OSError`), so the graph
    should pass this instead: timeouts, rate limits, dropped connections and 5xx answers are retried;
    bad requests, auth errors and parsing errors are not.
    """
    if isinstance(exc, ScriptedTimeoutError | ScriptedRateLimitError | TimeoutError | ConnectionError):
        return True
    try:
        import openai
    except ImportError:  # pragma: no cover - langchain-openai depends on it
        return False
    if isinstance(exc, openai.APITimeoutError | openai.APIConnectionError | openai.RateLimitError):
        return True
    if isinstance(exc, openai.APIStatusError):
        return exc.status_code == 429 or exc.status_code >= 500
    return False


def endpoint_problem(exc: BaseException) -> str | None:
    """One line naming the model endpoint and what went wrong, when `exc` came from the endpoint.

    None for anything else (a bug, a bad plan): those keep their own handling. The line never quotes
    more than a short, redacted piece of what the server said.
    """
    try:
        import openai
    except ImportError:  # pragma: no cover - langchain-openai depends on it
        return None
    from cdp.redact import redact

    base = os.environ.get("OPENAI_BASE_URL", "").strip() or "https://api.openai.com/v1"
    if isinstance(exc, openai.APITimeoutError | TimeoutError):
        what = f"did not answer within {_timeout():g} s ({TIMEOUT_ENV})"
    elif isinstance(exc, openai.APIConnectionError):
        what = "cannot be reached (is the server running, and is OPENAI_BASE_URL right?)"
    elif isinstance(exc, openai.APIStatusError):
        said = " ".join(str(getattr(exc, "message", "") or exc).split())[:200]
        what = f"answered HTTP {exc.status_code}: {redact(said)}"
    else:
        return None
    return f"model endpoint {base} {what}"


#: Endpoints (base URL, model) that refused a structured-output method, per method, in this process.
_REFUSED: set[tuple[str, str, str]] = set()


def _refuses_method(exc: BaseException) -> bool:
    """A server's "no" to the way the output was asked for (4xx/5xx), not a dropped connection."""
    try:
        import openai
    except ImportError:  # pragma: no cover - langchain-openai depends on it
        return False
    return isinstance(exc, openai.APIStatusError) and exc.status_code in (400, 404, 422, 500, 501)


def _endpoint(model: BaseChatModel) -> tuple[str, str]:
    return (str(getattr(model, "openai_api_base", "") or ""), str(getattr(model, "model_name", "") or ""))


def call_with_fallback(model: BaseChatModel, *attempts: tuple[str, Callable[[], Any]]) -> Any:
    """The first of `attempts` (name, call) the endpoint accepts.

    When the endpoint refuses one (an HTTP error to the request itself), the next is tried at once and
    the refusal is remembered for this endpoint, so later calls go straight to what works. Any other
    error is raised as it is, for the graph's retry policy.
    """
    endpoint = _endpoint(model)
    usable = [a for a in attempts if (*endpoint, a[0]) not in _REFUSED] or list(attempts[-1:])
    for i, (name, call) in enumerate(usable):
        try:
            return call()
        except Exception as exc:
            if i == len(usable) - 1 or not _refuses_method(exc):
                raise
            _REFUSED.add((*endpoint, name))
    raise AssertionError("unreachable")  # pragma: no cover


def structured_model(model: BaseChatModel, schema: type) -> Any:
    """`model.with_structured_output(schema)` by the first method the endpoint accepts.

    The methods come from `llm.settings.structured_output_methods`, tried by `call_with_fallback`.
    """
    from langchain_core.runnables import RunnableLambda

    methods = structured_output_methods()
    runnables = {m: model.with_structured_output(schema, method=m) for m in methods}  # type: ignore[arg-type]

    def invoke(messages: Any) -> Any:
        return call_with_fallback(model, *((m, lambda r=runnables[m]: r.invoke(messages)) for m in methods))

    return RunnableLambda(invoke, name=f"structured_{getattr(schema, '__name__', 'output')}")
