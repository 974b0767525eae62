"""A pytest plugin that checks every prompt the suite sends to a model for personal data.

It wraps the two doors to a model: the scripted model's request (every sync, async and streaming call
goes through `ScriptedChatModel._request`) and ChatOpenAI's request payload (what vcrpy or a server
would receive). Each text a model is sent, except the model's own earlier turns, is recorded; after
each test the texts recorded since the last check are scanned with the product's own detector
(`cdp.redact.find_pii`), and the test fails naming the leak. Prompts sent while a module- or
session-scoped fixture was built are scanned after the first test that used it.

Each xdist worker is its own process, so each checks the prompts its own tests sent.
A test that sends personal data to a model on purpose marks itself `allow_pii_in_prompts`.
"""

from __future__ import annotations

import threading
from collections.abc import Iterator
from typing import Any

import pytest

_SENT: list[tuple[str, str]] = []
_LOCK = threading.Lock()


def _record(source: str, text: Any) -> None:
    if isinstance(text, list):  # content parts
        text = " ".join(str(p.get("text", "")) if isinstance(p, dict) else str(p) for p in text)
    if text:
        with _LOCK:
            _SENT.append((source, str(text)))


def sent_prompts() -> list[tuple[str, str]]:
    """The (source, text) pairs sent since the last check, oldest first (the record is kept)."""
    with _LOCK:
        return list(_SENT)


def drain_prompts() -> list[tuple[str, str]]:
    """The (source, text) pairs sent since the last call, oldest first; the record is emptied."""
    with _LOCK:
        taken = list(_SENT)
        _SENT.clear()
    return taken


def _install(mp: pytest.MonkeyPatch) -> None:
    from langchain_core.messages import AIMessage

    from llm.scripted import ScriptedChatModel

    scripted_request = ScriptedChatModel._request

    def request(self, messages, kwargs):
        for m in messages:
            if not isinstance(m, AIMessage):
                _record(f"scripted/{m.type}", m.content)
        return scripted_request(self, messages, kwargs)

    mp.setattr(ScriptedChatModel, "_request", request)
    try:
        from langchain_openai.chat_models.base import BaseChatOpenAI
    except ImportError:  # pragma: no cover - langchain-openai is a dependency
        return
    payload_of = BaseChatOpenAI._get_request_payload

    def payload(self, *args, **kwargs):
        out = payload_of(self, *args, **kwargs)
        for m in out.get("messages") or out.get("input") or []:
            if isinstance(m, dict) and m.get("role") != "assistant":
                _record(f"openai/{m.get('role')}", m.get("content"))
        return out

    mp.setattr(BaseChatOpenAI, "_get_request_payload", payload)


@pytest.fixture(scope="session", autouse=True)
def _prompt_recorder() -> Iterator[None]:
    mp = pytest.MonkeyPatch()
    _install(mp)
    yield
    mp.undo()


@pytest.fixture(autouse=True)
def _no_pii_in_prompts(request, _prompt_recorder) -> Iterator[None]:
    yield
    sent = drain_prompts()
    if request.node.get_closest_marker("allow_pii_in_prompts") or not sent:
        return
    from cdp.redact import find_pii

    leaks = [(source, kind, found) for source, text in sent for kind, found in find_pii(text)]
    if leaks:
        shown = "; ".join(f"{kind} {found!r} in a {source} message" for source, kind, found in leaks[:5])
        pytest.fail(f"personal data reached a model prompt ({len(leaks)} found): {shown}", pytrace=False)


def pytest_configure(config: pytest.Config) -> None:
    config.addinivalue_line(
        "markers", "allow_pii_in_prompts: this test sends personal data to a model on purpose"
    )
