"""Record the replay cassettes (`make record`): run each scenario through the whole graph with ChatOpenAI.

Without `OPENAI_API_KEY` and `OPENAI_BASE_URL` in the environment, the requests go to the local
OpenAI-compatible server (`llm.openai_server`) bound to the fixed port 18765, so recorded URIs are stable;
with both set, they go to that service. Each cassette starts with comment lines naming its endpoint and
model, which the replay tests read; `cassettes/README.md` lists them.
"""

from __future__ import annotations

import os
import sys
import tempfile
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[2]
CASSETTES = ROOT / "cassettes"
LOCAL_PORT = 18765
LOCAL_BASE_URL = f"http://127.0.0.1:{LOCAL_PORT}/v1"
#: The name the scripted model answers to over HTTP (it is no real model; the header says so too).
DEFAULT_MODEL = "scripted-over-http"
NOW = "2026-11-24T12:00:00Z"
SEED_CUSTOMERS = 2000
SEED = 7
VCR_MATCH_ON = ["method", "uri", "body"]
DEFAULT_OBJECTIVE = "launch a holiday retention campaign for at-risk premium customers"


@dataclass(frozen=True)
class Scenario:
    """One recorded run: its objective, how it is driven, and what the local server does wrong on purpose."""

    name: str
    objective: str
    stream: bool = False
    #: roles whose first answer is a tool call with truncated JSON arguments (local server only)
    malformed_roles: frozenset[str] = frozenset()
    #: run with approval "ask" and a 0 threshold, then resume with "approve"
    interrupt: bool = False
    context: dict[str, Any] = field(default_factory=dict)
    #: settings the run is made with (the small-model levers), set in the environment while it plays
    env: dict[str, str] = field(default_factory=dict)
    #: the exact audience the objective means (`customer_360` WHERE clause), checked on replay
    audience: str | None = None

    @property
    def thread_id(self) -> str:
        return f"replay-{self.name}"

    @property
    def cassette(self) -> Path:
        return CASSETTES / f"{self.name}.yaml"


SCENARIOS: list[Scenario] = [
    Scenario("default_objective", DEFAULT_OBJECTIVE),
    Scenario("winback_germany_email", "win back lapsed VIP customers in Germany by email"),
    Scenario("welcome_new_email", "welcome new customers with 10% off by email"),
    Scenario(
        "reengage_sms_budget", "re-engage customers who haven't purchased in 60 days via SMS, budget 5k EUR"
    ),
    Scenario("streaming_default", DEFAULT_OBJECTIVE, stream=True),
    Scenario(
        "malformed_tool_call",
        "win back lapsed shoe buyers in Spain with 20% off",
        malformed_roles=frozenset({"audience"}),
    ),
    Scenario("interrupt_resume", "retain high-value customers in the UK, push only", interrupt=True),
    Scenario(
        "lifecycle_three_days",
        "grow revenue with a 10% discount for all customers by email and push",
        # every customer: above the default share that waits for a person, allowed here
        context={"simulate_days": 3, "audience_warn_share": 1},
    ),
]


#: The settings a small local model runs with (measured: README, "Which models work").
SMALL_MODEL = {
    "CDP_AGENTS_PLAN_SCHEMA": "brief",
    "CDP_AGENTS_TOOL_CALLS": "json",
    "CDP_AGENTS_MAX_TOKENS": "1024",
}

#: Recorded from a real model (`python -m tests.replay.record --real` with OPENAI_BASE_URL and MODEL
#: set, e.g. after `make real-model`); replayed like the others, judged by what the model really did.
REAL_SCENARIOS: list[Scenario] = [
    Scenario(
        "real_default_objective",
        DEFAULT_OBJECTIVE,
        env=SMALL_MODEL,
        audience="churn_risk >= 0.7 AND tier = 'premium'",
    ),
    Scenario(
        "real_winback_germany_email",
        "win back lapsed VIP customers in Germany by email",
        env=SMALL_MODEL,
        audience="days_since_purchase >= 90 AND tier = 'vip' AND country = 'DE'",
    ),
    Scenario(
        "real_welcome_new_email",
        "welcome new customers with 10% off by email",
        env=SMALL_MODEL,
        audience="days_since_signup <= 30",
    ),
]


def vcr_for(record_mode: str) -> Any:
    """The one vcrpy configuration used to record and to replay."""
    import vcr

    return vcr.VCR(
        match_on=VCR_MATCH_ON,
        filter_headers=["authorization", "openai-organization", "openai-project", "cookie", "set-cookie"],
        record_mode=record_mode,
        decode_compressed_response=True,
    )


def read_header(path: Path) -> dict[str, str]:
    """The `# key: value` comment lines at the top of a cassette (endpoint, model, recorded_by)."""
    meta: dict[str, str] = {}
    for line in path.read_text().splitlines():
        if not line.startswith("#"):
            break
        key, _, value = line[1:].partition(":")
        meta[key.strip()] = value.strip()
    return meta


@dataclass
class Outcome:
    """What a scenario run left behind (compared between record and replay)."""

    status: str
    llm_calls: int
    interrupted: bool = False
    streamed_tokens: int = 0
    state: dict[str, Any] = field(default_factory=dict)


def play(scenario: Scenario, db_path: Path, model: str) -> Outcome:
    """Drive the whole graph for `scenario` with ChatOpenAI `model` (env decides the endpoint)."""

    with settings_env(scenario.env):
        return _play(scenario, db_path, model)


@contextmanager
def settings_env(values: dict[str, str]) -> Iterator[None]:
    """The scenario's settings in the environment while it plays, restored afterwards."""
    saved = {k: os.environ.get(k) for k in values}
    os.environ.update(values)
    try:
        yield
    finally:
        for k, v in saved.items():
            if v is None:
                os.environ.pop(k, None)
            else:
                os.environ[k] = v


def _play(scenario: Scenario, db_path: Path, model: str) -> Outcome:
    from langgraph.checkpoint.memory import InMemorySaver
    from langgraph.types import Command

    from graph.context import Context
    from graph.graph import RECURSION_LIMIT, builder

    graph = builder.compile(checkpointer=InMemorySaver())
    config: Any = {"configurable": {"thread_id": scenario.thread_id}, "recursion_limit": RECURSION_LIMIT}
    settings: dict[str, Any] = {"approval": "auto", **scenario.context}
    if scenario.interrupt:
        settings.update(approval="ask", approval_threshold=0, holdout_pct=0.0)
    ctx = Context(model=model, db_path=str(db_path), **settings)
    inp: Any = {"objective": scenario.objective}
    if scenario.stream:
        tokens = 0
        for kind, _part in graph.stream(
            inp, config, context=ctx, durability="sync", stream_mode=["messages", "values"]
        ):
            if kind == "messages":
                tokens += 1
        state = dict(graph.get_state(config).values)
        return Outcome(state.get("status", ""), int(state.get("llm_calls") or 0), False, tokens, state)
    state = graph.invoke(inp, config, context=ctx, durability="sync")
    interrupted = bool(state.get("__interrupt__"))
    if scenario.interrupt and interrupted:
        state = graph.invoke(Command(resume="approve"), config, context=ctx, durability="sync")
    return Outcome(state.get("status", ""), int(state.get("llm_calls") or 0), interrupted, 0, dict(state))


@contextmanager
def replay_env(base_url: str, api_key: str) -> Iterator[None]:
    """Environment ChatOpenAI reads: endpoint, key, fixed clock, no keepalive probe socket."""
    wanted = {
        "OPENAI_BASE_URL": base_url,
        "OPENAI_API_KEY": api_key,
        "CDP_NOW": NOW,
        "LANGCHAIN_OPENAI_TCP_KEEPALIVE": "0",
    }
    with settings_env(wanted):
        yield


def _write_header(path: Path, endpoint: str, model: str, recorder: str, sc: Scenario, out: Outcome) -> None:
    body = path.read_text()
    settings = " ".join(f"{k}={v}" for k, v in sorted(sc.env.items())) or "defaults"
    header = (
        f"# endpoint: {endpoint}\n# model: {model}\n# recorded_by: {recorder}\n"
        f"# seeded_cdp: customers={SEED_CUSTOMERS} seed={SEED} CDP_NOW={NOW}\n"
        f"# settings: {settings}\n# outcome: {out.status}, {out.llm_calls} model calls\n"
    )
    path.write_text(header + body)


def _write_index() -> None:
    """cassettes/README.md: every cassette, from its own header lines."""
    lines = [
        "# Cassettes",
        "",
        "Recorded HTTP exchanges of whole-graph runs through `ChatOpenAI` (vcrpy, matched on method, URI and",
        "body; authorization filtered), replayed offline by `tests/replay/`. `make record` re-records the",
        "scripted ones; `python -m tests.replay.record --real` the real-model ones (after `make real-model`).",
        "Each cassette names its endpoint, model and settings in its first comment lines.",
        "",
        "| cassette | objective | endpoint | model | recorded by | settings | outcome |",
        "|---|---|---|---|---|---|---|",
    ]
    for sc in [*SCENARIOS, *REAL_SCENARIOS]:
        if not sc.cassette.exists():
            continue
        meta = read_header(sc.cassette)
        lines.append(
            f"| `{sc.cassette.name}` | {sc.objective} | `{meta.get('endpoint')}` | `{meta.get('model')}` | "
            f"{meta.get('recorded_by')} | {meta.get('settings', 'defaults')} | {meta.get('outcome', '')} |"
        )
    (CASSETTES / "README.md").write_text("\n".join(lines) + "\n")


def record(names: list[str] | None = None, *, real: bool = False) -> None:
    """Re-record every scenario (or those named) into `cassettes/`; `real`: the real-model ones, from
    the endpoint OPENAI_BASE_URL names (a real model: minutes per scenario)."""
    from llm.openai_server import OpenAICompatServer, ServerFaults
    from tests.seeded import seeded_copy

    os.environ["CDP_NOW"] = NOW
    real_key, real_url = os.environ.get("OPENAI_API_KEY", ""), os.environ.get("OPENAI_BASE_URL", "")
    live = bool(real_key and real_url)
    if real and not live:
        raise SystemExit(
            "record --real needs OPENAI_BASE_URL, OPENAI_API_KEY and MODEL (see make real-model)"
        )
    model = os.environ.get("MODEL", "").removeprefix("openai/") or DEFAULT_MODEL
    CASSETTES.mkdir(exist_ok=True)
    rows = []
    work = Path(tempfile.mkdtemp(prefix="cdp-record-"))
    # One server for the whole session: the OpenAI client keeps connections alive across runs, so a
    # per-scenario server would leave old handler threads answering with the previous fault settings.
    server = None if live else OpenAICompatServer(LOCAL_PORT).start()
    try:
        for sc in REAL_SCENARIOS if real else SCENARIOS:
            if names and sc.name not in names:
                continue
            folder = work / sc.name
            folder.mkdir()
            db_path = seeded_copy(folder, SEED_CUSTOMERS, SEED)
            sc.cassette.unlink(missing_ok=True)
            started = time.perf_counter()
            if server is None:
                endpoint, key = real_url.rstrip("/"), real_key
                recorder = (
                    f"real model {model} (OPENAI_BASE_URL)" if real else "live service (OPENAI_BASE_URL)"
                )
            else:
                endpoint, key, recorder = (
                    LOCAL_BASE_URL,
                    "sk-replay",
                    "llm.openai_server (scripted model over HTTP)",
                )
                server.faults = ServerFaults(truncated_args=sc.malformed_roles)
            with replay_env(endpoint, key), vcr_for("all").use_cassette(str(sc.cassette)):
                out = play(sc, db_path, model)
            if server is not None and sc.malformed_roles and not server.faults.injected:
                raise RuntimeError(f"{sc.name}: the server injected no malformed tool call")
            _write_header(sc.cassette, endpoint, model, recorder, sc, out)
            rows.append((sc, endpoint, model, recorder, out))
            print(
                f"{sc.name}: {out.status}, {out.llm_calls} model calls, {time.perf_counter() - started:.1f}s"
            )
    finally:
        if server is not None:
            server.stop()
    _write_index()


if __name__ == "__main__":
    args = sys.argv[1:]
    record([a for a in args if a != "--real"] or None, real="--real" in args)
