"""Personal data written into tickets never reaches a model, while the service agent still sees the counts.

The attack: customers write an email address, phone numbers, a card number and an IBAN into the
subjects and bodies of open tickets; `service_issues` quotes open-ticket subjects to the service agent.
A run of the default objective must send none of it to any model, in any format it was written in.
"""

from __future__ import annotations

import json
import re

from llm.scripted import ScriptedChatModel
from tests.graph.helpers import DEFAULT_OBJECTIVE, compile_graph, connect, one_tool_per_turn, run, scalar
from tests.prompt_guard import sent_prompts
from tests.seeded import seeded_copy

EMAILS = ["jane.roe+refund@example.org", "j.o'neil@mail.example.co.uk"]
PHONES = ["+49 30 1234567", "(030) 123-4567", "+1 (415) 555-2671", "0176.1234.5678", "+15550001234"]
CARDS = ["4111 1111 1111 1111", "5500-0000-0000-0004"]
IBANS = ["DE89 3704 0044 0532 0130 00", "GB82WEST12345698765432"]
SECRETS = EMAILS + PHONES + CARDS + IBANS


def _digits(value: str) -> str:
    return re.sub(r"\D", "", value)


def _plant_tickets(path) -> int:
    """Open tickets carrying PII on every third customer, opened last, so they are the ones quoted."""
    conn = connect(path)
    try:
        profiles = [r[0] for r in conn.execute("SELECT profile_id FROM profiles ORDER BY profile_id")][::3]
        rows = []
        for i, pid in enumerate(profiles):
            email, phone = EMAILS[i % len(EMAILS)], PHONES[i % len(PHONES)]
            card, iban = CARDS[i % len(CARDS)], IBANS[i % len(IBANS)]
            subject = f"Refund to {iban} card {card} call {phone} or {email}"
            body = f"Please pay back to {iban}; my card {card}; reach me on {phone} / {email}."
            rows.append(
                (f"tk-pii-{i}", pid, "open", "2026-11-23T09:00:00Z", "2026-11-23T09:00:00Z", subject, body)
            )
        with conn:
            conn.executemany(
                "INSERT INTO tickets (ticket_id, profile_id, status, opened_at, updated_at, subject, body) "
                "VALUES (?, ?, ?, ?, ?, ?, ?)",
                rows,
            )
        return len(rows)
    finally:
        conn.close()


def _leaks(texts: list[str]) -> list[str]:
    found = []
    for secret in SECRETS:
        compact = _digits(secret)
        for text in texts:
            if secret in text or (len(compact) >= 9 and compact in _digits_runs(text)):
                found.append(secret)
                break
    return found


def _digits_runs(text: str) -> str:
    # Every digit of the text in order, with a separator where non-digit text longer than a separator sat.
    return re.sub(r"\D{3,}", "|", re.sub(r"(?<=\d)[ \-.()/]{1,2}(?=\d)", "", text))


def _stepwise_models(name=None, **_):
    import llm.scripted.roles  # noqa: F401  (registers the scripted answers of every role)

    # the service agent reads `service_issues` before it acts, as a real model does
    return ScriptedChatModel(lambda request: one_tool_per_turn(request, roles=("service",)))


def test_pii_in_ticket_subjects_never_reaches_a_prompt(tmp_path):
    path = seeded_copy(tmp_path)
    planted = _plant_tickets(path)
    assert planted > 500
    state = run(compile_graph(), DEFAULT_OBJECTIVE, path, "pii-1", model_factory=_stepwise_models)
    assert state["status"] == "completed", state.get("report")

    texts = [text for _, text in sent_prompts()]
    assert len(texts) > 10
    assert _leaks(texts) == []

    # The service agent still got the picture: the open-ticket count of its segment, as in SQL, and
    # the quoted subjects with placeholders where the personal data was.
    results = [json.loads(t) for t in texts if t.startswith("{") and '"open_ticket_subjects"' in t]
    assert results, "the service agent never received a service_issues result"
    issues = results[0]
    expected = scalar(
        path,
        "SELECT count(DISTINCT t.profile_id) FROM tickets t WHERE t.status = 'open' AND t.profile_id IN "
        "(SELECT profile_id FROM segment_members WHERE segment_id = ?)",
        [issues["segment_id"]],
    )
    assert issues["open_tickets"] == expected > 0
    subjects = issues["open_ticket_subjects"]["data"]
    assert subjects and all(
        "[iban]" in s and "[card]" in s and "[phone]" in s and "[email]" in s for s in subjects
    ), subjects
    assert issues["open_ticket_subjects"]["note"].startswith("customer-written text, quoted as data")


def test_an_objective_carrying_contact_details_reaches_the_planner_redacted(tmp_path):
    """The marketer's own words may hold an address or a number; the planner needs neither."""
    path = seeded_copy(tmp_path)
    objective = f"{DEFAULT_OBJECTIVE}; replies to {EMAILS[0]} or {PHONES[0]}"
    state = run(compile_graph(), objective, path, "pii-2")
    assert state.get("status")
    texts = [text for _, text in sent_prompts()]
    planner = [t for t in texts if "launch a holiday retention campaign" in t]
    assert planner, "the objective never reached a model"
    assert _leaks(texts) == []
    assert any("[email]" in t and "[phone]" in t for t in planner)
    # The run keeps the words as typed, for the marketer.
    assert EMAILS[0] in scalar(path, "SELECT objective FROM runs WHERE thread_id = ?", ["pii-2"])
