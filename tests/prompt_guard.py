"""A pytest plugin that checks every prompt the suite sends to a model for personal data.

It wraps the two doors to a model: the scripted model's request (every sync, async and streaming call
goes through `ScriptedChatModel._request`) and ChatOpenAI's request payload (what vcrpy or a server
would receive). Each text a model is sent, except the model's own earlier turns, is recorded; after
each test the texts recorded since the last check are scanned twice: with the product's own detector
(`cdp.redact.find_pii`) and with `paranoid_pii`, a deliberately broader detector written apart from it
(so a blind spot of the product's patterns is not also a blind spot of the check), and the test fails
naming the leak. Prompts sent while a module- or
session-scoped fixture was built are scanned after the first test that used it.

Each xdist worker is its own process, so each checks the prompts its own tests sent.
A test that sends personal data to a model on purpose marks itself `allow_pii_in_prompts`.
"""

from __future__ import annotations

import re
import threading
import unicodedata
from collections.abc import Iterator
from typing import Any

import pytest

# ------------------------------------------------------------------ the independent, broader detector

_INVISIBLE = re.compile(r"[\u00ad\u180e\u200b-\u200f\u202a-\u202e\u2060-\u2064\ufeff]")
_DASH = re.compile(r"[\u2010-\u2015\u2212\ufe58\ufe63\uff0d]")
# Shapes every prompt carries that are not personal data: ISO dates and timestamps, clock times,
# decimals with one point, UUIDs, hexadecimal ids. Masked before digit runs are looked for.
_SAFE = re.compile(
    r"\d{4}-\d{2}-\d{2}(?:[T ]\d{2}:\d{2}(?::\d{2}(?:\.\d+)?)?(?:Z|[+-]\d{2}:?\d{2})?)?"
    r"|(?<![\d:])\d{1,2}:\d{2}(?::\d{2})?(?![\d:])"
    r"|(?<![\d.])\d+\.\d+(?:[eE][+-]?\d+)?(?![\d.]|\.\d)"
    r"|\b[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}\b"
    r"|\b[a-z]{2,8}_[0-9a-f]{6,}\b"  # the product's ids: cmp_6c5024409688, seg_478b2eaad102a54f
)
_PARANOID = {
    # Anything around an '@' (or a spelled-out "(at)" before a domain), whatever the alphabet.
    "email": re.compile(
        r"[\w.%+'\"-]+\s{0,2}@\s{0,2}[\w\[][\w.\-\]]*"
        r"|\w\s{0,2}[(\[{]\s?at\s?[)\]}]\s{0,2}\w+\s{0,2}(?:\.|[(\[{]\s?dot\s?[)\]}])",
        re.IGNORECASE,
    ),
    # Two letters, two digits, then 11-30 letters or digits with any spacing, in any case.
    "iban": re.compile(r"(?<![\w-])[A-Za-z]{2}\d{2}(?:[\s\-.]{0,3}[A-Za-z0-9]){11,30}(?![A-Za-z0-9])"),
    # Nine or more digits with any separators between them (phones, cards, account numbers).
    "digits": re.compile(r"\d(?:[\s\-./()_]{0,3}\d){8,}"),
}


def _normalised(text: str) -> str:
    text = unicodedata.normalize("NFKC", _INVISIBLE.sub("", text))
    if not text.isascii():
        text = "".join(
            str(unicodedata.digit(c)) if not c.isascii() and unicodedata.digit(c, None) is not None else c
            for c in text
        )
    text = _DASH.sub("-", text)
    return "".join(" " if c != "\n" and c.isspace() else c for c in text)


def paranoid_pii(text: str) -> list[tuple[str, str]]:
    """Anything in `text` that could be personal data, as (kind, matched text in normalised form).

    Broader than `cdp.redact.find_pii` on purpose and sharing none of its code: NFKC plus every
    Unicode digit as ASCII and invisible characters dropped, then any '@' between word characters,
    any IBAN-shaped token (no checksum) and any run of nine or more digits with any separators. A
    prompt may carry placeholders, ids, timestamps, prices and counts; none of those match.
    """
    norm = _normalised(text)
    found = [(kind, m.group(0)) for kind in ("email", "iban") for m in _PARANOID[kind].finditer(norm)]
    masked = _SAFE.sub(lambda m: "#" * len(m.group(0)), norm)
    found += [("digits", m.group(0)) for m in _PARANOID["digits"].finditer(masked)]
    return found


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

    leaks = [
        (source, kind, found)
        for source, text in sent
        for kind, found in dict.fromkeys([*find_pii(text), *paranoid_pii(text)])
    ]
    if leaks:
        shown = "; ".join(f"{kind} {found!r} in a {source} message" for source, kind, found in leaks[:5])
        pytest.fail(f"personal data reached a model prompt ({len(leaks)} found): {shown}", pytrace=False)


def pytest_configure(config: pytest.Config) -> None:
    config.addinivalue_line(
        "markers", "allow_pii_in_prompts: this test sends personal data to a model on purpose"
    )
