"""Our plan-then-dispatch graph against `langgraph_supervisor.create_supervisor`, side by side.

Both orchestrate the same specialists' tools on private copies of one seeded CDP, driven by scripted
models that reach the same campaign; we count model calls, approximate tokens and wall time under a
simulated latency, and check that both left the same segment members and the same sends.

    .venv/bin/python benchmarks/supervisor_vs_reference.py [--quick] [--customers 2000] [--out f.json]
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import sqlite3
import sys
import tempfile
import threading
import time
import warnings
from collections.abc import Callable
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

os.environ.setdefault("CDP_NOW", "2026-11-24T12:00:00Z")
sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
warnings.filterwarnings("ignore", message="create_react_agent has been moved")

from langchain_core.messages import AIMessage, BaseMessage, HumanMessage, SystemMessage, ToolMessage  # noqa: E402
from langchain_core.outputs import ChatGeneration, ChatResult  # noqa: E402
from langchain_core.runnables import RunnableConfig  # noqa: E402
from langchain_core.tools import StructuredTool  # noqa: E402

from llm.scripted import ScriptedChatModel, ScriptedRequest, default_responder  # noqa: E402

OBJECTIVES = [
    "launch a holiday retention campaign for at-risk premium customers",
    "win back lapsed VIP customers in Germany by email",
    "re-engage customers who haven't purchased in 60 days via SMS, budget 5k EUR",
    "welcome new customers with 10% off by email",
    "retain high-value customers in the UK, push only",
    "upsell loyal standard customers in Canada to premium",
    "win back lapsed shoe buyers in Spain with 20% off",
    "retain active customers in Japan with a $3,000 budget",
    "re-engage Italian customers who haven't ordered in 120 days by email",
    "welcome customers who signed up in the last 14 days via push",
    "send a Christmas email to loyal customers in Canada and the US",
    "win back lapsed customers in Paris and Lyon",
]
QUICK_OBJECTIVES = OBJECTIVES[:3]


# ------------------------------------------------------------------------------------- metered model


@dataclass
class Meter:
    """Model calls and approximate tokens of one run (every model built for the run shares it)."""

    calls: int = 0
    prompt_tokens: int = 0
    completion_tokens: int = 0
    lock: threading.Lock = field(default_factory=threading.Lock, repr=False)

    def add(self, prompt: int, completion: int) -> None:
        with self.lock:
            self.calls += 1
            self.prompt_tokens += prompt
            self.completion_tokens += completion


class LatencyModel(ScriptedChatModel):
    """The scripted model with a simulated latency of `base_ms` + `per_1k_ms` per 1k prompt tokens.

    Tokens are counted with `count_tokens_approximately` over the messages and the bound tools (the
    same counter for both orchestrators) and added to `meter`.
    """

    meter: Any = None
    base_ms: float = 0.0
    per_1k_ms: float = 0.0

    def _generate(
        self, messages: list[BaseMessage], stop=None, run_manager=None, **kwargs: Any
    ) -> ChatResult:
        message = self._answer(messages, kwargs)
        usage: dict[str, Any] = dict(message.usage_metadata or {})
        prompt, completion = int(usage.get("input_tokens", 0)), int(usage.get("output_tokens", 0))
        delay = (self.base_ms + self.per_1k_ms * prompt / 1000.0) / 1000.0
        if delay > 0:
            time.sleep(delay)
        if self.meter is not None:
            self.meter.add(prompt, completion)
        return ChatResult(generations=[ChatGeneration(message=message)])


def model_factory(
    meter: Meter, base_ms: float, per_1k_ms: float, responder=None
) -> Callable[..., LatencyModel]:
    import llm.scripted.roles  # noqa: F401  (registers the scripted answers of every role)

    def load(name: str | None = None, **_: Any) -> LatencyModel:
        return LatencyModel(
            responder=responder or default_responder,
            latency_ms=0,
            meter=meter,
            base_ms=base_ms,
            per_1k_ms=per_1k_ms,
        )

    return load


# ------------------------------------------------------------------------------------------- ours


def run_ours(
    db_path: Path,
    objective: str,
    thread_id: str,
    meter: Meter,
    base_ms: float,
    per_1k_ms: float,
    checkpointer=None,
) -> dict[str, Any]:
    from langgraph.checkpoint.memory import InMemorySaver

    from graph.context import Context
    from graph.graph import RECURSION_LIMIT, builder

    g = builder.compile(checkpointer=checkpointer or InMemorySaver())
    context = Context(
        db_path=str(db_path), approval="auto", model_factory=model_factory(meter, base_ms, per_1k_ms)
    )
    config: RunnableConfig = {
        "configurable": {"thread_id": thread_id},
        "recursion_limit": RECURSION_LIMIT,
        "max_concurrency": context.max_concurrency,  # as `cdp-agents run` passes it
    }
    started = time.perf_counter()
    out = g.invoke({"objective": objective}, config, context=context, durability="sync")
    wall = time.perf_counter() - started
    results = out.get("results") or {}
    segment = ((results.get("audience") or {}).get("outputs") or {}).get("segment_id")
    return {
        "wall_s": wall,
        "status": out.get("status"),
        "tasks": len(out.get("plan") or []),
        "segment_id": segment,
        "campaign_id": out.get("campaign_id"),
        "state_llm_calls": out.get("llm_calls"),
    }


# -------------------------------------------------------------------------------------- reference


def _plan_for(objective: str) -> dict[str, Any]:
    """The plan our scripted supervisor would make (the harness gives the reference its order for free)."""
    from agents.registry import describe_agents
    from llm.scripted.planner import supervisor

    request = ScriptedRequest(messages=[SystemMessage(describe_agents()), HumanMessage(objective)])
    plan = supervisor(request)
    assert isinstance(plan, dict), plan
    return plan


def _create_campaign(db_path: Path, objective: str, thread_id: str, plan: dict[str, Any]) -> str:
    """The campaign row our supervisor writes after planning, written by harness code for the reference."""
    from cdp.db import cdp_session
    from graph.context import Context
    from graph.nodes.supervisor import create_campaign
    from graph.plan import Plan
    from graph.run_info import campaign_id_for

    campaign_id = campaign_id_for(thread_id)
    with cdp_session(str(db_path)) as db:
        create_campaign(
            db, campaign_id, thread_id, objective, Plan.model_validate(plan), Context().holdout_pct
        )
    return campaign_id


def _json_of(text: str) -> dict[str, Any] | None:
    try:
        data = json.loads(text)
    except ValueError:
        return None
    return data if isinstance(data, dict) else None


def _handoffs(messages: list[BaseMessage]) -> list[AIMessage]:
    return [
        m
        for m in messages
        if isinstance(m, AIMessage) and any(c["name"].startswith("transfer_to_") for c in m.tool_calls)
    ]


def reference_supervisor_responder(tasks: list[dict[str, Any]], objective: str, campaign_id: str):
    """A ReAct supervisor that hands off to the agents in plan order, one handoff per model call.

    It reads each worker's last message (the default `output_mode`) for the task's outputs, passes
    upstream outputs in its instructions, and calls `launch_campaign` once sends are staged.
    """

    from graph.protocols import ancestors

    def respond(request: ScriptedRequest) -> Any:
        outputs = [
            d["outputs"]
            for m in request.messages
            if isinstance(m, AIMessage) and not m.tool_calls and (d := _json_of(m.text)) and "outputs" in d
        ]
        by_task = {tasks[i]["id"]: o for i, o in enumerate(outputs)}
        launched = any(isinstance(m, ToolMessage) and m.name == "launch_campaign" for m in request.messages)
        staged = any(o.get("needs_launch") for o in by_task.values())
        if staged and not launched:
            return {
                "content": "",
                "tool_calls": [{"name": "launch_campaign", "args": {"campaign_id": campaign_id}}],
            }
        done = len(_handoffs(request.messages))
        if done < len(tasks):
            task = tasks[done]
            upstream = {
                d: {
                    **by_task.get(d, {}),
                    **({"launched": True} if launched and by_task.get(d, {}).get("needs_launch") else {}),
                }
                for d in ancestors(task, tasks)
            }
            message = {
                "task_id": task["id"],
                "objective": objective,
                "goal": task["goal"],
                "campaign_id": campaign_id,
                "inputs": {**(task.get("inputs") or {}), "upstream": upstream, "task_kind": task["agent"]},
            }
            return {
                "content": json.dumps(message, default=str),
                "tool_calls": [{"name": f"transfer_to_{task['agent']}", "args": {}}],
            }
        return f"Campaign {campaign_id} is done: {len(tasks)} tasks ran and the sends were scheduled."

    return respond


def reference_worker_responder(db_path: Path, thread_id: str):
    """A ReAct worker making the same tool calls as our specialist, then answering with its outputs.

    The answer's outputs come from the specialist's own `collect` over the tool results, so the
    supervisor learns exactly what our dispatcher would pass downstream.
    """
    from agents.base import AgentEnv, AgentRun, ToolRecord
    from agents.registry import REGISTRY
    from llm.scripted.roles import specialist

    def respond(request: ScriptedRequest) -> Any:
        handoffs = _handoffs(request.messages)
        if not handoffs:
            return "I have no task."
        handoff = handoffs[-1]
        task = _json_of(handoff.text) or {}
        index = max(i for i, m in enumerate(request.messages) if m is handoff)
        own = [
            m
            for m in request.messages[index + 1 :]
            if not (isinstance(m, ToolMessage) and m.name and m.name.startswith("transfer_to_"))
        ]
        synthetic = ScriptedRequest(
            messages=[SystemMessage(request.system_text), HumanMessage(json.dumps(task)), *own],
            tools=request.tools,
            role=request.role,
        )
        calls = [c for c in specialist(synthetic)["tool_calls"] if c["name"] != "finish"]
        if calls:
            return {"content": "", "tool_calls": calls}
        kind = (task.get("inputs") or {}).get("task_kind") or request.role or ""
        names = {c["id"]: c["name"] for m in own if isinstance(m, AIMessage) for c in m.tool_calls}
        run = AgentRun(llm_calls=0)
        for m in own:
            if isinstance(m, ToolMessage):
                result = _json_of(m.text) if _json_of(m.text) is not None else m.text
                run.tool_calls.append(
                    ToolRecord(names.get(m.tool_call_id, ""), {}, result, m.status == "error")
                )
        env = AgentEnv(
            db_path=str(db_path),
            thread_id=thread_id,
            task_id=task.get("task_id", kind),
            agent=kind,
            campaign_id=task.get("campaign_id", ""),
            objective=task.get("objective", ""),
            goal=task.get("goal", ""),
            inputs=task.get("inputs") or {},
        )
        outputs = REGISTRY[kind].skill().collect(run, env)
        return json.dumps({"summary": f"{kind} task done", "outputs": outputs}, default=str)

    return respond


def run_reference(
    db_path: Path, objective: str, thread_id: str, meter: Meter, base_ms: float, per_1k_ms: float
) -> dict[str, Any]:
    from langgraph.checkpoint.memory import InMemorySaver
    from langgraph.prebuilt import create_react_agent
    from langgraph_supervisor import create_supervisor

    from agents.base import AgentEnv
    from agents.registry import REGISTRY
    from cdp.db import cdp_session
    from cdp.gate import run_gate
    from cdp.tools_base import close_session
    from graph.context import Context
    from prompts import load_prompt

    started = time.perf_counter()
    plan = _plan_for(objective)
    tasks = plan["tasks"]
    campaign_id = _create_campaign(db_path, objective, thread_id, plan)
    worker_model = model_factory(meter, base_ms, per_1k_ms, reference_worker_responder(db_path, thread_id))()
    agents: list[Any] = []
    envs: list[AgentEnv] = []
    for name in dict.fromkeys(t["agent"] for t in tasks):
        spec = REGISTRY[name].skill()
        env = AgentEnv(
            db_path=str(db_path),
            thread_id=thread_id,
            task_id=name,
            agent=name,
            campaign_id=campaign_id,
            objective=objective,
            goal="",
        )
        envs.append(env)
        agents.append(
            create_react_agent(worker_model, spec.tools(env), prompt=load_prompt(spec.prompt), name=name)
        )

    def launch_campaign(campaign_id: str) -> str:
        """Run the contact-policy gate over the staged sends of the campaign and schedule them."""
        with cdp_session(str(db_path)) as db:
            gate = run_gate(db, campaign_id, step=0, policy=Context().policy())
            with db.conn:
                db.execute("UPDATE campaigns SET status = 'scheduled' WHERE campaign_id = ?", [campaign_id])
        return json.dumps(gate.to_dict(), default=str)

    sup_model = model_factory(
        meter, base_ms, per_1k_ms, reference_supervisor_responder(tasks, objective, campaign_id)
    )()
    workflow = create_supervisor(
        agents,
        model=sup_model,
        tools=[StructuredTool.from_function(launch_campaign)],
        prompt="<role>reference_supervisor</role> You manage a team of marketing agents. Hand each task to "
        "the right agent, one at a time, and launch the campaign once its sends are staged.",
    )
    app = workflow.compile(checkpointer=InMemorySaver())
    try:
        app.invoke(
            {"messages": [HumanMessage(objective)]},
            {"configurable": {"thread_id": thread_id}, "recursion_limit": 400},
        )
    finally:
        for env in envs:  # each worker's tools shared one connection, as a task's do
            close_session(env.session())
    wall = time.perf_counter() - started
    segment = _scalar(db_path, "SELECT segment_id FROM segments ORDER BY rowid DESC LIMIT 1")
    return {"wall_s": wall, "tasks": len(tasks), "segment_id": segment, "campaign_id": campaign_id}


# ---------------------------------------------------------------------------------------- compare


def _rows(db_path: Path, sql: str, params: list[Any] | None = None) -> set[tuple[Any, ...]]:
    conn = sqlite3.connect(str(db_path))
    try:
        return {tuple(r) for r in conn.execute(sql, params or [])}
    finally:
        conn.close()


def _scalar(db_path: Path, sql: str) -> Any:
    found = list(_rows(db_path, sql))
    return found[0][0] if found else None


def campaign_facts(db_path: Path, segment_id: str | None, campaign_id: str | None) -> dict[str, Any]:
    members = _rows(db_path, "SELECT profile_id FROM segment_members WHERE segment_id = ?", [segment_id])
    sends = _rows(
        db_path, "SELECT profile_id, channel, variant FROM sends WHERE campaign_id = ?", [campaign_id]
    )
    return {"members": members, "sends": sends}


@dataclass
class Row:
    objective: str
    tasks: int
    ours_calls: int
    ref_calls: int
    ours_prompt_tokens: int
    ref_prompt_tokens: int
    ours_completion_tokens: int
    ref_completion_tokens: int
    ours_wall_s: float
    ref_wall_s: float
    segment_size: int
    sends: int
    equal: bool


def compare(master: Path, objective: str, n: int, workdir: Path, base_ms: float, per_1k_ms: float) -> Row:
    thread = f"bench-{n}"
    ours_db, ref_db = workdir / f"ours-{n}.db", workdir / f"ref-{n}.db"
    shutil.copyfile(master, ours_db)
    shutil.copyfile(master, ref_db)
    ours_meter, ref_meter = Meter(), Meter()
    ours = run_ours(ours_db, objective, thread, ours_meter, base_ms, per_1k_ms)
    ref = run_reference(ref_db, objective, thread, ref_meter, base_ms, per_1k_ms)
    a = campaign_facts(ours_db, ours["segment_id"], ours["campaign_id"])
    b = campaign_facts(ref_db, ref["segment_id"], ref["campaign_id"])
    for p in (ours_db, ref_db):
        p.unlink(missing_ok=True)
    return Row(
        objective,
        ours["tasks"],
        ours_meter.calls,
        ref_meter.calls,
        ours_meter.prompt_tokens,
        ref_meter.prompt_tokens,
        ours_meter.completion_tokens,
        ref_meter.completion_tokens,
        round(ours["wall_s"], 2),
        round(ref["wall_s"], 2),
        len(a["members"]),
        len(a["sends"]),
        a == b and ours["status"] == "completed",
    )


def seeded_master(customers: int, workdir: Path, seed: int = 7) -> Path:
    from cdp import open_cdp
    from cdp.seed import seed_cdp

    path = workdir / f"master-{customers}.db"
    db = open_cdp(path)
    seed_cdp(db, customers=customers, seed=seed)
    db.execute("PRAGMA wal_checkpoint(TRUNCATE)")
    db.conn.close()
    return path


def totals(rows: list[Row]) -> dict[str, Any]:
    s = lambda k: sum(getattr(r, k) for r in rows)  # noqa: E731
    return {
        "objectives": len(rows),
        "all_equal": all(r.equal for r in rows),
        "calls_within_tasks_plus_2": all(r.ours_calls <= r.tasks + 2 for r in rows),
        "calls_ratio": round(s("ours_calls") / max(1, s("ref_calls")), 3),
        "prompt_tokens_ratio": round(s("ours_prompt_tokens") / max(1, s("ref_prompt_tokens")), 3),
        "completion_tokens_ratio": round(s("ours_completion_tokens") / max(1, s("ref_completion_tokens")), 3),
        "wall_ratio": round(s("ours_wall_s") / max(1e-9, s("ref_wall_s")), 3),
    }


def main(argv: list[str] | None = None) -> dict[str, Any]:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="3 objectives, 100 ms base latency")
    parser.add_argument("--customers", type=int, default=2000)
    parser.add_argument(
        "--base-ms", type=float, default=None, help="latency per call (default 300, quick 100)"
    )
    parser.add_argument("--per-1k-ms", type=float, default=5.0, help="latency per 1k prompt tokens")
    parser.add_argument("--out", type=Path, default=None)
    args = parser.parse_args(argv)
    base = args.base_ms if args.base_ms is not None else (100.0 if args.quick else 300.0)
    objectives = QUICK_OBJECTIVES if args.quick else OBJECTIVES
    workdir = Path(tempfile.mkdtemp(prefix="bench-ref-"))
    try:
        master = seeded_master(args.customers, workdir)
        rows = []
        for n, objective in enumerate(objectives):
            row = compare(master, objective, n, workdir, base, args.per_1k_ms)
            rows.append(row)
            print(json.dumps(asdict(row)), flush=True)
    finally:
        shutil.rmtree(workdir, ignore_errors=True)
    report = {
        "customers": args.customers,
        "base_ms": base,
        "per_1k_ms": args.per_1k_ms,
        "rows": [asdict(r) for r in rows],
        "totals": totals(rows),
    }
    print(json.dumps(report["totals"], indent=1))
    if args.out:
        args.out.write_text(json.dumps(report, indent=1))
    return report


if __name__ == "__main__":
    main()
