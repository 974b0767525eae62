"""LangGraph Studio end to end: the server `make studio` starts, driven through the API Studio uses.

`cli.studio.start_server` runs `langgraph dev` on 127.0.0.1 (sockets are allowed to loopback only)
over a private seeded CDP; `langgraph_sdk` then does what a person does in Studio: read the forms,
start a run, see it stop for approval, answer, and watch it finish. The CDP is then read with plain
SQL, so no assertion relies on the server reporting its own results.
"""

from __future__ import annotations

import os
import socket
import sqlite3
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
from langgraph_sdk import get_sync_client
from langgraph_sdk.client import SyncLangGraphClient

from cli.runs import DEMO_OBJECTIVE
from cli.studio import start_server, stop_server
from tests.conftest import FIXED_NOW
from tests.seeded import seeded_copy

pytestmark = [
    pytest.mark.network_local,
    # Loopback only: pytest-socket lets sockets be made, and lets them connect to 127.0.0.1 alone.
    # (Adding `enable_socket` would lift every restriction: it wins over `allow_hosts`.)
    pytest.mark.allow_hosts(["127.0.0.1"]),
    # One worker under `-n 2 --dist loadgroup`, so the module's single server serves every test.
    pytest.mark.xdist_group("studio"),
    # Generous: the server's start and each run may be slow on a machine shared with other work.
    pytest.mark.timeout(900),
]

GRAPH_ID = "cdp_agents"
#: Seconds the server may take to start, and a request to answer.
START_TIMEOUT_S = 300
REQUEST_TIMEOUT_S = 300
#: Low enough that the default objective on 2,000 customers needs a person's approval.
APPROVAL_THRESHOLD = 10
#: Variables of the developer's shell that would change the model, the CDP or a setting.
LEAKY_ENV = ("OPENAI_API_KEY", "OPENAI_BASE_URL", "MODEL", "LANGSMITH_TRACING", "LANGCHAIN_TRACING_V2")


@dataclass(frozen=True)
class Studio:
    base_url: str
    #: The CDP the server uses by default (CDP_AGENTS_DB in its environment).
    default_db: Path

    def client(self) -> SyncLangGraphClient:
        return get_sync_client(url=self.base_url, api_key=None, timeout=REQUEST_TIMEOUT_S)


def _unpin_clock(path: Path) -> None:
    """Return the copy to wall-clock time, so only the server's CDP_NOW can pin it again."""
    with sqlite3.connect(path) as conn:
        conn.execute("UPDATE cdp_clock SET now = NULL")
    conn.close()


def _server_env(db: Path) -> dict[str, str]:
    """This process's environment, offline and scripted, on `db` with the tests' clock."""
    env = {k: v for k, v in os.environ.items() if k not in LEAKY_ENV and not k.startswith("CDP_AGENTS_")}
    env.update({"CDP_AGENTS_DB": str(db), "CDP_NOW": FIXED_NOW, "CDP_AGENTS_NO_DOTENV": "1"})
    return env


@pytest.fixture(scope="module")
def studio(tmp_path_factory) -> Iterator[Studio]:
    workdir = tmp_path_factory.mktemp("studio")
    db = seeded_copy(workdir, customers=2000, seed=7)
    _unpin_clock(db)
    # The server's log stays in the module's temp folder (pytest keeps the last runs' folders).
    with (workdir / "server.log").open("w", buffering=1) as sink:
        server = start_server(workdir=workdir, env=_server_env(db), log=sink.write, timeout_s=START_TIMEOUT_S)
        try:
            yield Studio(server.base_url, db)
        finally:
            stop_server(server.process)
    assert server.process.returncode is not None
    with pytest.raises(ProcessLookupError):
        os.killpg(server.process.pid, 0)  # nothing of the server's process group is left


def _stream(client: SyncLangGraphClient, thread_id: str, assistant_id: str, **kwargs: Any) -> list[str]:
    """Run (or resume) on the server, return the names of the nodes whose updates streamed, in order."""
    nodes: list[str] = []
    for part in client.runs.stream(thread_id, assistant_id, stream_mode="updates", **kwargs):
        assert part.event != "error", part.data
        if part.event == "updates":
            nodes.extend(part.data)
    return nodes


def _pending_question(client: SyncLangGraphClient, thread_id: str) -> dict[str, Any]:
    state = client.threads.get_state(thread_id)
    assert state["next"] == ["launch"]
    (task,) = [t for t in state["tasks"] if t["interrupts"]]
    assert task["name"] == "launch"
    (interrupt,) = task["interrupts"]
    assert state["interrupts"] == [interrupt]  # the thread-level list Studio shows
    question: dict[str, Any] = interrupt["value"]
    # what the objective was taken to mean is part of what the person approves
    assert question["interpretation"]["audience"]["text"] and "warnings" in question
    return question


def _sql(path: Path, sql: str, params: tuple[Any, ...] = ()) -> list[tuple[Any, ...]]:
    conn = sqlite3.connect(path)
    try:
        return conn.execute(sql, params).fetchall()
    finally:
        conn.close()


def test_studio_shows_typed_input_and_context_forms(studio):
    client = studio.client()
    (assistant,) = client.assistants.search(graph_id=GRAPH_ID, metadata={"created_by": "system"})
    schemas = client.assistants.get_schemas(assistant["assistant_id"])
    assert schemas["graph_id"] == GRAPH_ID
    assert schemas["input_schema"] is not None, "Studio would show a raw JSON box instead of a form"
    assert set(schemas["input_schema"]["properties"]) == {"objective"}
    assert schemas["input_schema"]["required"] == ["objective"]
    context = schemas["context_schema"]["properties"]
    assert {"model", "db_path", "protocol", "approval", "approval_threshold", "frequency_cap"} <= set(context)
    assert context["approval"]["enum"] == ["ask", "auto", "deny"]
    assert context["protocol"]["enum"] == ["hub", "p2p", "blackboard"]
    assert "CDP_AGENTS_DB" in context["db_path"]["description"]
    assert {"status", "campaign_id", "launch", "report"} <= set(schemas["output_schema"]["properties"])


def test_a_studio_run_waits_for_approval_then_schedules_only_consented_sends(studio):
    client = studio.client()
    db = studio.default_db
    # Studio's way: settings live on an assistant, so the run and its resume share them.
    assistant = client.assistants.create(
        graph_id=GRAPH_ID,
        context={"approval": "ask", "approval_threshold": APPROVAL_THRESHOLD, "db_path": str(db)},
        name="e2e-approval",
    )
    thread = client.threads.create()
    tid, aid = thread["thread_id"], assistant["assistant_id"]

    first = _stream(client, tid, aid, input={"objective": DEMO_OBJECTIVE})
    assert first[0] == "supervisor"
    assert {"dispatch", "audience", "activation"} <= set(first)
    assert first[-1] == "__interrupt__" and "launch" not in first

    question = _pending_question(client, tid)
    assert question["kind"] == "approval" and question["options"] == ["approve", "deny"]
    planned = question["preview"]["scheduled"]
    assert planned > APPROVAL_THRESHOLD
    campaign_id = question["campaign_id"]
    # paused before any send
    assert _sql(db, "SELECT status FROM campaigns WHERE campaign_id = ?", (campaign_id,)) == [("planned",)]
    assert _sql(db, "SELECT count(*) FROM sends WHERE campaign_id = ?", (campaign_id,)) == [(0,)]

    second = _stream(client, tid, aid, command={"resume": "approve"})
    assert second[0] == "launch" and "synthesize" in second and "__interrupt__" not in second

    state = client.threads.get_state(tid)
    values = state["values"]
    assert state["next"] == [] and state["interrupts"] == []
    assert values["status"] == "completed", values.get("error")
    assert values["campaign_id"] == campaign_id
    launch = values["launch"]
    assert launch["decision"] == "approve" and launch["decided_by"] == "human"
    scheduled = launch["scheduled"]
    assert 0 < scheduled <= planned

    ((status, created_at),) = _sql(
        db, "SELECT status, created_at FROM campaigns WHERE campaign_id = ?", (campaign_id,)
    )
    assert status == "scheduled"
    # The copy's clock was unpinned: only CDP_NOW inherited by the server can have pinned it again.
    assert created_at == FIXED_NOW
    assert _sql(db, "SELECT count(*) FROM sends WHERE campaign_id = ?", (campaign_id,)) == [(scheduled,)]
    without_consent = _sql(
        db,
        """SELECT count(*) FROM sends s LEFT JOIN consents c
           ON c.profile_id = s.profile_id AND c.channel = s.channel AND c.status = 'granted'
           WHERE s.campaign_id = ? AND c.profile_id IS NULL""",
        (campaign_id,),
    )
    assert without_consent == [(0,)]


def test_a_denied_launch_from_studio_sends_nothing(studio, tmp_path):
    client = studio.client()
    db = seeded_copy(tmp_path, customers=2000, seed=7)
    # Per-run context, as Studio's run form sends it; a resume needs the same context again.
    context = {"approval": "ask", "approval_threshold": APPROVAL_THRESHOLD, "db_path": str(db)}
    (assistant,) = client.assistants.search(graph_id=GRAPH_ID, metadata={"created_by": "system"})
    tid, aid = client.threads.create()["thread_id"], assistant["assistant_id"]

    assert _stream(client, tid, aid, input={"objective": DEMO_OBJECTIVE}, context=context)[-1] == (
        "__interrupt__"
    )
    campaign_id = _pending_question(client, tid)["campaign_id"]
    assert "launch" in _stream(client, tid, aid, command={"resume": "deny"}, context=context)

    launch = client.threads.get_state(tid)["values"]["launch"]
    assert launch["decision"] == "deny" and launch["decided_by"] == "human"
    assert _sql(db, "SELECT status FROM campaigns WHERE campaign_id = ?", (campaign_id,)) == [("denied",)]
    assert _sql(db, "SELECT count(*) FROM sends WHERE campaign_id = ?", (campaign_id,)) == [(0,)]
    # the run's db_path, not the server's default CDP, received the campaign
    assert _sql(
        studio.default_db, "SELECT count(*) FROM campaigns WHERE campaign_id = ?", (campaign_id,)
    ) == [(0,)]


def test_a_taken_port_is_detected_and_the_port_the_server_announced_is_used(tmp_path, seeded_cdp_path):
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as squatter:
        squatter.bind(("127.0.0.1", 0))
        squatter.listen()
        taken = squatter.getsockname()[1]
        lines: list[str] = []
        server = start_server(
            port=taken,
            workdir=tmp_path,
            env=_server_env(seeded_cdp_path),
            log=lines.append,
            timeout_s=START_TIMEOUT_S,
        )
        try:
            assert server.base_url.startswith("http://127.0.0.1:")
            assert not server.base_url.endswith(f":{taken}")
            assert any(f"Port {taken} is already in use" in line for line in lines)
            (assistant,) = get_sync_client(
                url=server.base_url, api_key=None, timeout=REQUEST_TIMEOUT_S
            ).assistants.search(graph_id=GRAPH_ID)
            assert assistant["graph_id"] == GRAPH_ID
        finally:
            stop_server(server.process)
    assert server.process.returncode is not None
