"""What every specialist shares: a skill (prompt, tools, acceptance), and one subgraph shape to run it.

A specialist is a compiled LangGraph subgraph, `model` ⇄ `tools`:
- `model` asks the chat model for the next step (transient errors are retried on this step alone);
- `tools` runs the requested tools through LangGraph's `ToolNode`, answers invalid calls with an
  error the model can repair, and nudges a reply without a tool call. When the model calls `finish`,
  it asks the skill's `check` whether the task is really done, and if so the skill's `collect` reads
  what the tools actually did (segment saved, variants stored, requests staged) into the task's
  typed outputs, so a result never rests on what the model merely claims.

Every step is a checkpointed superstep, so a crash or a retry resumes at the step it stopped on, and
Studio draws each specialist's steps. The step budget is LangGraph's recursion limit: each model call
costs two supersteps (model, tools), so `max_agent_steps` model calls fit in `2 * max_agent_steps`;
a resumed task also counts the calls its checkpointed conversation holds, so a crash never refills it.
The model step takes any chat model (or a function of the runtime that picks one); tool calls a model
wrote as text are read back (`llm.actions`), and `CDP_AGENTS_TOOL_CALLS=json` asks for them as JSON.

Everything a step needs is in the subgraph's state (the task, the conversation) or in the run's
context (`Runtime`): proposals and peer notes are read back from the tool calls in the conversation,
never kept in memory between steps. Every text put before a model, besides the system prompt we ship,
passes `cdp.redact.redact`: the task message, each tool result (tools built outside `cdp_tool`
included) and each error.
"""

from __future__ import annotations

import json
import warnings
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Annotated, Any, Literal, Protocol, cast

from langchain_core.language_models import BaseChatModel
from langchain_core.messages import AIMessage, AnyMessage, HumanMessage, SystemMessage, ToolMessage
from langchain_core.runnables import RunnableConfig
from langchain_core.tools import BaseTool, StructuredTool
from langgraph.errors import GraphRecursionError
from langgraph.graph import END, START, StateGraph
from langgraph.graph.message import add_messages
from langgraph.graph.state import CompiledStateGraph
from langgraph.prebuilt import ToolNode
from langgraph.runtime import Runtime
from langgraph.types import Command, RetryPolicy
from pydantic import BaseModel, Field
from typing_extensions import TypedDict

from cdp.policy import ContactPolicy
from cdp.redact import redact, redact_json_text
from cdp.tools_base import ToolSession, close_session
from llm.actions import recover_tool_calls
from prompts import load_prompt

FINISH_TOOL = "finish"


class StepBudgetExceeded(RuntimeError):
    """The specialist used all the model calls its budget allows without finishing its task."""


class AgentContext(Protocol):
    """What a specialist reads from the run's context (the graph's `Context` has all of it)."""

    @property
    def db_path(self) -> str: ...

    @property
    def protocol(self) -> str: ...

    @property
    def max_agent_steps(self) -> int: ...

    def policy(self) -> ContactPolicy: ...

    def chat_model(self) -> BaseChatModel: ...


@dataclass
class AgentEnv:
    """Everything one task run may touch: the CDP file, ids of the run, upstream outputs, settings."""

    db_path: str
    thread_id: str
    task_id: str
    agent: str
    campaign_id: str
    objective: str
    goal: str
    inputs: dict[str, Any] = field(default_factory=dict)
    protocol: str = "hub"
    policy: ContactPolicy = field(default_factory=ContactPolicy)
    #: Notes the agent asked to send to peers; routed by the protocol after the task.
    outbox: list[dict[str, Any]] = field(default_factory=list)
    #: Proposals on shared decisions (budget, audience size ...) for conflict detection.
    proposals: list[dict[str, Any]] = field(default_factory=list)

    def session(self) -> ToolSession:
        """The CDP tool session of this task: its tools share one connection (see `cdp.tools_base`)."""
        return ToolSession(
            db_path=self.db_path,
            thread_id=self.thread_id,
            task_id=self.task_id,
            agent=self.agent,
            campaign_id=self.campaign_id,
        )


@dataclass
class ToolRecord:
    name: str
    args: dict[str, Any]
    result: Any
    error: bool


@dataclass
class AgentRun:
    """What happened in one task run, read back from its conversation: model and tool calls, summary."""

    llm_calls: int = 0
    tool_calls: list[ToolRecord] = field(default_factory=list)
    summary: str = ""
    finished: bool = False

    def results_of(self, name: str) -> list[Any]:
        """Successful results of a tool, oldest first."""
        return [r.result for r in self.tool_calls if r.name == name and not r.error]


def _parse_result(content: Any) -> Any:
    if isinstance(content, str):
        try:
            return json.loads(content)
        except ValueError:
            return content
    return content


def run_of(messages: list[AnyMessage]) -> AgentRun:
    """The task's model and tool calls from its conversation, each call paired with its answer.

    An answer belongs to a call of the reply just before it, with the same id, first come first
    served: ids repeated across turns (some servers number every call `call_0`) or within a reply
    never pair a call with another call's answer. Only a `finish` whose call succeeded finishes.
    """
    run = AgentRun()
    pending: list[tuple[str, ToolRecord]] = []
    for message in messages:
        if isinstance(message, AIMessage):
            run.llm_calls += 1
            run.finished = False
            pending = []
            for bad in message.invalid_tool_calls:
                record = ToolRecord(str(bad.get("name")), {}, None, True)
                run.tool_calls.append(record)
                pending.append((str(bad.get("id") or ""), record))
            for call in message.tool_calls:
                record = ToolRecord(call["name"], call.get("args") or {}, None, True)
                run.tool_calls.append(record)
                pending.append((str(call.get("id") or ""), record))
        elif isinstance(message, ToolMessage):
            found = next((i for i, (cid, _) in enumerate(pending) if cid == message.tool_call_id), None)
            if found is None:
                continue
            _, record = pending.pop(found)
            record.error = message.status == "error"
            record.result = _parse_result(message.content)
            if record.name == FINISH_TOOL and not record.error:
                run.summary = str(record.args.get("summary", ""))[:600]
                run.finished = True
    return run


def _redacted(message: AnyMessage) -> AnyMessage:
    """The tool answer with every text in it redacted: plain text, JSON text or content blocks."""
    content = message.content
    if isinstance(content, str):
        message.content = redact_json_text(content)
    elif isinstance(content, list):
        message.content = [
            redact_json_text(part)
            if isinstance(part, str)
            else {k: redact_json_text(v) if isinstance(v, str) else v for k, v in part.items()}
            if isinstance(part, dict)
            else part
            for part in content
        ]
    return message


class _FinishArgs(BaseModel):
    summary: str = Field(description="Two or three sentences: what you did and the key figures.")


def finish_tool() -> BaseTool:
    def finish(summary: str) -> str:
        return "recorded"

    return StructuredTool.from_function(
        finish,
        name=FINISH_TOOL,
        description="Call once, last, when the task is done: give a short summary of what you did.",
        args_schema=_FinishArgs,
    )


@dataclass(frozen=True)
class Skill:
    """What a specialist brings: its prompt, its tools, what it hands on, and when its task is done.

    `collect(run, env)` turns what the tools did into the task's outputs; `check(run, env)` may reject
    a `finish` with the reason, which the model sees and can act on within the same budget.
    """

    name: str
    prompt: str
    tools: Callable[[AgentEnv], list[BaseTool]]
    collect: Callable[[AgentRun, AgentEnv], dict[str, Any]]
    check: Callable[[AgentRun, AgentEnv], str | None] | None = None


class TaskInput(TypedDict):
    """What the dispatcher sends to a specialist node with `Send`: one task and what it works from."""

    task: dict[str, Any]
    agent: str
    objective: str
    campaign_id: str
    inputs: dict[str, Any]
    attempt: int
    #: [task_id, agent] of the tasks that depend on this one (p2p hands outputs to them directly).
    consumers: list[list[str]]


class SpecialistInput(TaskInput):
    """The task as the specialist's subgraph takes it: the dispatcher's hand-over plus the run's thread."""

    thread_id: str


class Outcome(TypedDict):
    """What a finished specialist hands back: the summary, typed outputs, and what it asked of others."""

    summary: str
    outputs: dict[str, Any]
    llm_calls: int
    tools: list[str]
    proposals: list[dict[str, Any]]
    outbox: list[dict[str, Any]]


class SpecialistState(SpecialistInput, total=False):
    #: The task's conversation with its model (system prompt, task, replies, tool results).
    messages: Annotated[list[AnyMessage], add_messages]
    outcome: Outcome


#: A model, or a function of the run's runtime that picks one (the graph injects the context's model).
ModelSource = BaseChatModel | Callable[[Runtime[Any]], BaseChatModel]


def context_model(runtime: Runtime[Any]) -> BaseChatModel:
    """The run's model, from the factory its context provides."""
    return cast(AgentContext, runtime.context).chat_model()


def env_of(state: SpecialistInput, context: AgentContext, agent: str) -> AgentEnv:
    task = state["task"]
    return AgentEnv(
        db_path=context.db_path,
        thread_id=state["thread_id"],
        task_id=task["id"],
        agent=agent,
        campaign_id=state.get("campaign_id", ""),
        objective=state.get("objective", ""),
        goal=task.get("goal", ""),
        inputs={
            **(task.get("inputs") or {}),
            "upstream": state.get("inputs", {}),
            "task_kind": task["agent"],
        },
        protocol=context.protocol,
        policy=context.policy(),
    )


def task_message(env: AgentEnv) -> str:
    return json.dumps(
        {
            "task_id": env.task_id,
            "objective": env.objective,
            "goal": env.goal,
            "campaign_id": env.campaign_id,
            "inputs": env.inputs,
        },
        default=str,
    )


def _error_text(exc: Exception) -> str:
    return redact(f"Error: {type(exc).__name__}: {exc}")[:800]


def build_specialist(
    skill: Skill,
    model: ModelSource,
    *,
    borrow: Callable[[str], Skill] | None = None,
    retry: RetryPolicy | None = None,
    checkpointer: Literal[False] | None = None,
) -> CompiledStateGraph[Any, Any, Any, Any]:
    """Compile `skill` into the specialist subgraph `model` ⇄ `tools`.

    `borrow(kind)` gives the skill of another agent: a fallback doing that agent's task works with
    the original's tools (its own added), collect and check, so its result means the same thing.
    `retry` applies to the model step (transient endpoint errors). `checkpointer=False` is for a
    caller that runs several specialists inside one node, where their steps would share a namespace.
    """

    def original_of(state: SpecialistInput) -> Skill:
        """The skill of the agent the task was planned for (this one, unless it stands in)."""
        kind = state["task"]["agent"]
        return borrow(kind) if borrow and kind != skill.name else skill

    def tools_for(state: SpecialistInput, env: AgentEnv) -> list[BaseTool]:
        original = original_of(state)
        merged = {t.name: t for t in original.tools(env)}
        for t in skill.tools(env) if skill is not original else ():
            merged.setdefault(t.name, t)
        return [*merged.values(), finish_tool()]

    def call_model(state: SpecialistState, runtime: Runtime[Any]) -> dict[str, Any]:
        env = env_of(state, cast(AgentContext, runtime.context), skill.name)
        chat = model(runtime) if callable(model) and not isinstance(model, BaseChatModel) else model
        history = list(state.get("messages") or [])
        budget = cast(AgentContext, runtime.context).max_agent_steps
        # The recursion limit bounds one run of the subgraph; a resumed task also counts the calls its
        # checkpointed conversation already holds, so a crash never refills the budget.
        if sum(isinstance(m, AIMessage) for m in history) >= budget:
            raise StepBudgetExceeded(f"no finished result after {budget} model calls")
        opening: list[AnyMessage] = []
        if not history:
            opening = [
                SystemMessage(load_prompt(skill.prompt)),
                HumanMessage(redact_json_text(task_message(env))),
            ]
        tools = tools_for(state, env)
        reply = chat.bind_tools(tools).invoke([*history, *opening])
        if not isinstance(reply, AIMessage):
            reply = AIMessage(content=str(getattr(reply, "content", reply)))
        # A small model may write its tool call as text (fenced JSON, untranslated tags): read it back.
        reply = recover_tool_calls(reply, [t.name for t in tools])
        return {"messages": [*opening, reply]}

    def collect(state: SpecialistInput, env: AgentEnv, run: AgentRun) -> Outcome:
        """What the tools did, as the task's outputs; proposals and notes read back from the calls."""
        env.proposals = [
            {k: v for k, v in r.items() if k != "recorded"}
            for r in run.results_of("propose")
            if isinstance(r, dict)
        ]
        env.outbox = [
            {
                "recipient": rec.args.get("recipient"),
                "topic": rec.args.get("topic"),
                "note": rec.args.get("note"),
                "data": rec.args.get("data") or {},
            }
            for rec in run.tool_calls
            if rec.name == "notify" and not rec.error
        ]
        outputs = original_of(state).collect(run, env)
        return {
            "summary": run.summary,
            "outputs": outputs,
            "llm_calls": run.llm_calls,
            "tools": [r.name for r in run.tool_calls],
            "proposals": env.proposals,
            "outbox": env.outbox,
        }

    def run_tools(
        state: SpecialistState, runtime: Runtime[Any], config: RunnableConfig
    ) -> Command[Literal["model", "__end__"]]:
        env = env_of(state, cast(AgentContext, runtime.context), skill.name)
        reply = cast(AIMessage, state["messages"][-1])
        answers: list[AnyMessage] = []
        # Arguments that were not valid JSON: answer each such call with an error the model can repair
        # (an assistant tool call left without a tool result is rejected by OpenAI-compatible APIs).
        # The parser's error quotes the arguments the model wrote: it is redacted like any other text.
        turn = len(state["messages"])
        for i, bad in enumerate(reply.invalid_tool_calls):
            answers.append(
                ToolMessage(
                    redact(
                        f"Error: the arguments of '{bad.get('name')}' were not valid JSON "
                        f"({bad.get('error') or 'unparsable'})."
                    )[:800],
                    tool_call_id=bad.get("id") or f"invalid_{turn}_{i}",
                    status="error",
                )
            )
        if reply.tool_calls:
            node = ToolNode(tools_for(state, env), handle_tool_errors=_error_text)
            ran = node.invoke({"messages": [reply]}, config)
            answers.extend(_redacted(message) for message in ran["messages"])
        elif not reply.invalid_tool_calls:
            answers.append(
                HumanMessage(
                    "Use the tools to do the task, then call `finish` with a short summary. "
                    + ("Your answer had no tool call." if reply.text.strip() else "Your answer was empty.")
                )
            )
        run = run_of([*state["messages"], *answers])
        if run.finished:
            original = original_of(state)
            problem = original.check(run, env) if original.check else None
            if problem is None:
                return Command(
                    goto="__end__", update={"messages": answers, "outcome": collect(state, env, run)}
                )
            answers.append(
                HumanMessage(redact(f"The task is not done yet: {problem} Fix this, then call finish."))
            )
        return Command(goto="model", update={"messages": answers})

    g = StateGraph(SpecialistState, input_schema=SpecialistInput)
    g.add_node("model", call_model, retry_policy=retry)
    # (state, runtime, config) nodes are not among add_node's overloads; the runtime accepts them.
    g.add_node("tools", run_tools, destinations=("model", END))  # type: ignore[call-overload]
    g.add_edge(START, "model")
    g.add_edge("model", "tools")
    return g.compile(name=skill.name, checkpointer=checkpointer)


def step_limit(max_steps: int) -> int:
    """Supersteps `max_steps` model calls need: a model step and a tools step per call."""
    return 2 * max_steps


def run_specialist(
    agent: CompiledStateGraph[Any, Any, Any, Any],
    task: SpecialistInput,
    context: AgentContext,
    config: RunnableConfig | None = None,
) -> Outcome:
    """Run one task to its outcome, within the context's step budget; the task's CDP connection closes.

    Inside a graph node, `config` is the node's: the subgraph then checkpoints under the node's
    namespace and resumes there after a crash.
    """
    session = ToolSession(
        db_path=context.db_path,
        thread_id=task["thread_id"],
        task_id=task["task"]["id"],
        agent=agent.name or task["agent"],
        campaign_id=task.get("campaign_id", ""),
    )
    limit = step_limit(context.max_agent_steps)
    try:
        if agent.checkpointer is False:
            # Without checkpoints there is no write to wait for, but a "sync" durability inherited from
            # the calling graph would wait for one (LangGraph 1.2): run it as "exit", quietly.
            with warnings.catch_warnings():
                warnings.filterwarnings("ignore", message="`durability` has no effect")
                out = agent.invoke(
                    task, {**(config or {}), "recursion_limit": limit}, context=context, durability="exit"
                )
        else:
            out = agent.invoke(task, {**(config or {}), "recursion_limit": limit}, context=context)
    except GraphRecursionError:
        raise StepBudgetExceeded(f"no finished result after {context.max_agent_steps} model calls") from None
    finally:
        close_session(session)
    return cast(Outcome, out["outcome"])
