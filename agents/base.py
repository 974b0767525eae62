"""What every specialist shares: the environment of one task and a bounded tool-calling loop.

A specialist is a model, a prompt, a set of CDP tools and a `collect` function. The model decides;
`collect` reads what the tools actually did (segment saved, variants stored, requests staged) and
turns it into the task's typed outputs, so a result never rests on what the model merely claims.

Every text this loop puts before a model, besides the system prompt we ship, passes `cdp.redact.redact`:
the task message (objective, upstream outputs, peer notes), each tool result (tools built outside
`cdp_tool`, such as the coordination tools, included) and each error. No personal data reaches a prompt
even from a tool that forgot to redact.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from langchain_core.language_models import BaseChatModel
from langchain_core.messages import AIMessage, BaseMessage, HumanMessage, SystemMessage, ToolMessage
from langchain_core.tools import BaseTool, StructuredTool
from pydantic import BaseModel, Field

from cdp.policy import ContactPolicy
from cdp.redact import redact, redact_json_text
from prompts import load_prompt

FINISH_TOOL = "finish"


class StepBudgetExceeded(RuntimeError):
    """The specialist used all the model calls its budget allows without finishing its task."""


class AcceptanceError(RuntimeError):
    """The specialist finished, but what it did does not meet the task's acceptance criteria."""


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
    max_steps: int = 6
    #: Messages the agent asked to send to peers; routed by the protocol after the task.
    outbox: list[dict[str, Any]] = field(default_factory=list)
    #: Proposals on shared decisions (budget, audience size ...) for conflict detection.
    proposals: list[dict[str, Any]] = field(default_factory=list)

    def session(self):
        """The CDP tool session for this task (tools open their own connections)."""
        from cdp.tools import ToolSession

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
    """What happened in one task run: model calls, tool calls with results, the final summary."""

    llm_calls: int = 0
    tool_calls: list[ToolRecord] = field(default_factory=list)
    summary: str = ""

    def results_of(self, name: str) -> list[Any]:
        """Successful results of a tool, oldest first."""
        return [r.result for r in self.tool_calls if r.name == name and not r.error]


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


def _parse_result(content: Any) -> Any:
    if isinstance(content, str):
        try:
            return json.loads(content)
        except ValueError:
            return content
    return content


def run_tool_loop(
    model: BaseChatModel,
    system_prompt: str,
    task_message: str,
    tools: list[BaseTool],
    *,
    max_steps: int,
    check: Callable[[AgentRun], str | None] | None = None,
) -> AgentRun:
    """Call the model, run the tools it asks for, feed results back; stop when it calls `finish`.

    Bounded by `max_steps` model calls. Unknown tools and invalid arguments come back to the model as
    error messages it can repair; they are never run with made-up arguments. `check` may reject a
    finish (returning the reason), which the model sees and can act on within the same budget.
    """
    all_tools = [*tools, finish_tool()]
    by_name = {t.name: t for t in all_tools}
    bound = model.bind_tools(all_tools)
    messages: list[BaseMessage] = [SystemMessage(system_prompt), HumanMessage(redact_json_text(task_message))]
    run = AgentRun()
    for _ in range(max_steps):
        reply = bound.invoke(messages)
        run.llm_calls += 1
        if not isinstance(reply, AIMessage):
            reply = AIMessage(content=str(getattr(reply, "content", reply)))
        messages.append(reply)
        # Arguments that were not valid JSON: answer each such call with an error the model can repair
        # (an assistant tool call left without a tool result is rejected by OpenAI-compatible APIs).
        for bad in reply.invalid_tool_calls:
            messages.append(
                ToolMessage(
                    f"Error: the arguments of '{bad.get('name')}' were not valid JSON ({bad.get('error') or 'unparsable'}).",
                    tool_call_id=bad.get("id") or f"invalid_{len(run.tool_calls)}",
                    status="error",
                )
            )
            run.tool_calls.append(ToolRecord(str(bad.get("name")), {}, None, True))
        if reply.invalid_tool_calls and not reply.tool_calls:
            continue
        if not reply.tool_calls:
            messages.append(
                HumanMessage(
                    "Use the tools to do the task, then call `finish` with a short summary. "
                    + ("Your answer had no tool call." if reply.text.strip() else "Your answer was empty.")
                )
            )
            continue
        finished = False
        for call in reply.tool_calls:
            tool = by_name.get(call["name"])
            call_id = call.get("id") or f"call_{len(run.tool_calls)}"
            if tool is None:
                messages.append(
                    ToolMessage(
                        f"Error: there is no tool named '{call['name']}'. Tools: {', '.join(by_name)}.",
                        tool_call_id=call_id,
                        status="error",
                    )
                )
                run.tool_calls.append(ToolRecord(call["name"], call.get("args", {}), None, True))
                continue
            args = call.get("args") or {}
            try:
                out = tool.invoke({"name": call["name"], "args": args, "id": call_id, "type": "tool_call"})
                content = out.content if isinstance(out, ToolMessage) else json.dumps(out, default=str)
                error = isinstance(out, ToolMessage) and out.status == "error"
            except Exception as exc:  # invalid arguments or a tool error: tell the model, let it repair
                content, error = redact(f"Error: {type(exc).__name__}: {exc}")[:800], True
            content = redact_json_text(content) if isinstance(content, str) else content
            result = _parse_result(content)
            error = error or (isinstance(result, dict) and set(result) == {"error"})
            run.tool_calls.append(ToolRecord(call["name"], args, result, error))
            messages.append(
                ToolMessage(content, tool_call_id=call_id, status="error" if error else "success")
            )
            if call["name"] == FINISH_TOOL:
                run.summary = str(args.get("summary", ""))[:600]
                finished = True
        if finished:
            problem = check(run) if check else None
            if problem is None:
                return run
            messages.append(
                HumanMessage(redact(f"The task is not done yet: {problem} Fix this, then call finish."))
            )
    raise StepBudgetExceeded(f"no finished result after {max_steps} model calls")


@dataclass
class Specialist:
    """A specialist agent: `run(env)` does one task and returns its typed outputs."""

    name: str
    model: BaseChatModel
    prompt: str
    tools: Callable[[AgentEnv], list[BaseTool]]
    collect: Callable[[AgentRun, AgentEnv], dict[str, Any]]
    check: Callable[[AgentRun, AgentEnv], str | None] | None = None

    def run(self, env: AgentEnv) -> tuple[AgentRun, dict[str, Any]]:
        task_message = json.dumps(
            {
                "task_id": env.task_id,
                "objective": env.objective,
                "goal": env.goal,
                "campaign_id": env.campaign_id,
                "inputs": env.inputs,
            },
            default=str,
        )
        check = self.check
        checker = (lambda r: check(r, env)) if check else None
        run = run_tool_loop(
            self.model,
            load_prompt(self.prompt),
            task_message,
            self.tools(env),
            max_steps=env.max_steps,
            check=checker,
        )
        return run, self.collect(run, env)
