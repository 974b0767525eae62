"""Replay fixtures: the ChatOpenAI environment a cassette was recorded with, sockets staying blocked."""

from __future__ import annotations

import pytest

from tests.replay.record import NOW, read_header


@pytest.fixture
def replay_env_for(monkeypatch):
    """Point ChatOpenAI at the endpoint a cassette names (never reached: vcrpy answers)."""

    def apply(cassette) -> dict[str, str]:
        meta = read_header(cassette)
        monkeypatch.setenv("OPENAI_BASE_URL", meta["endpoint"])
        monkeypatch.setenv("OPENAI_API_KEY", "sk-replay")
        monkeypatch.setenv("CDP_NOW", NOW)
        monkeypatch.setenv("LANGCHAIN_OPENAI_TCP_KEEPALIVE", "0")
        return meta

    return apply
