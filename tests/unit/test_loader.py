"""The model loader: scripted offline by default, ChatOpenAI for any other name, clear errors."""

from __future__ import annotations

import httpx
import openai
import pytest
from langchain_openai import ChatOpenAI

from llm.loader import ModelConfigError, is_transient_error, load_chat_model, resolve_model_name
from llm.scripted import ScriptedChatModel, ScriptedRateLimitError, ScriptedTimeoutError


@pytest.fixture(autouse=True)
def _no_model_env(monkeypatch):
    for name in ("OPENAI_API_KEY", "OPENAI_BASE_URL", "MODEL", "CDP_AGENTS_MODEL_TIMEOUT_S"):
        monkeypatch.delenv(name, raising=False)
    # ChatOpenAI probes TCP keepalive options with a (never connected) socket when built; the
    # switch keeps construct-only tests from touching socket() at all under pytest-socket.
    monkeypatch.setenv("LANGCHAIN_OPENAI_TCP_KEEPALIVE", "0")


def test_scripted_by_default_without_a_key():
    assert resolve_model_name() == "scripted"
    model = load_chat_model()
    assert isinstance(model, ScriptedChatModel)
    assert isinstance(load_chat_model("scripted"), ScriptedChatModel)


def test_scripted_takes_a_responder():
    model = load_chat_model("scripted", responder=lambda request: "fixed answer")
    assert model.invoke("hi").content == "fixed answer"


def test_model_env_names_the_model(monkeypatch):
    monkeypatch.setenv("MODEL", "scripted")
    monkeypatch.setenv("OPENAI_API_KEY", "sk-test")
    assert isinstance(load_chat_model(), ScriptedChatModel)  # MODEL wins over "a key is set"
    monkeypatch.setenv("MODEL", "llama3.1:8b")
    assert load_chat_model().model_name == "llama3.1:8b"
    assert isinstance(load_chat_model("scripted"), ScriptedChatModel)  # an explicit name wins over MODEL


def test_chat_openai_with_key_and_base_url(monkeypatch):
    monkeypatch.setenv("OPENAI_API_KEY", "ollama")
    monkeypatch.setenv("OPENAI_BASE_URL", "http://localhost:11434/v1")
    model = load_chat_model("openai/qwen2.5:7b")
    assert isinstance(model, ChatOpenAI)
    assert model.model_name == "qwen2.5:7b"
    assert model.openai_api_base == "http://localhost:11434/v1"
    assert model.openai_api_key is not None and model.openai_api_key.get_secret_value() == "ollama"
    assert model.temperature == 0
    assert model.max_retries == 0  # retries belong to the graph's RetryPolicy
    assert model.request_timeout == 60.0


def test_default_openai_model_when_only_a_key_is_set(monkeypatch):
    monkeypatch.setenv("OPENAI_API_KEY", "sk-test")
    assert resolve_model_name() == "openai/gpt-4o-mini"
    model = load_chat_model()
    assert isinstance(model, ChatOpenAI) and model.model_name == "gpt-4o-mini"
    assert model.openai_api_base is None


def test_names_with_slashes_are_kept(monkeypatch):
    """vLLM serves models by their hub name: only a leading "openai/" is a provider prefix."""
    monkeypatch.setenv("OPENAI_API_KEY", "EMPTY")
    assert load_chat_model("Qwen/Qwen2.5-7B-Instruct").model_name == "Qwen/Qwen2.5-7B-Instruct"


def test_real_model_without_key_is_a_clear_error():
    with pytest.raises(ModelConfigError, match=r"needs OPENAI_API_KEY.*\.env.*scripted"):
        load_chat_model("gpt-4o-mini")
    with pytest.raises(ModelConfigError, match="no model after"):
        load_chat_model("openai/")


def test_timeout_setting(monkeypatch):
    monkeypatch.setenv("OPENAI_API_KEY", "sk-test")
    monkeypatch.setenv("CDP_AGENTS_MODEL_TIMEOUT_S", "5")
    assert load_chat_model("gpt-4o-mini").request_timeout == 5.0
    monkeypatch.setenv("CDP_AGENTS_MODEL_TIMEOUT_S", "soon")
    with pytest.raises(ModelConfigError, match="number of seconds"):
        load_chat_model("gpt-4o-mini")


def test_transient_errors_for_retry_policies():
    request = httpx.Request("POST", "http://localhost/v1/chat/completions")

    def status(code: int) -> openai.APIStatusError:
        return openai.APIStatusError("x", response=httpx.Response(code, request=request), body=None)

    assert is_transient_error(ScriptedTimeoutError("t"))
    assert is_transient_error(ScriptedRateLimitError())
    assert is_transient_error(openai.APITimeoutError(request=request))
    assert is_transient_error(status(429)) and is_transient_error(status(503))
    assert not is_transient_error(status(400)) and not is_transient_error(status(401))
    assert not is_transient_error(ValueError("bad plan"))
