"""What one node leaves for another to act on, read from state (nodes never import each other).

- The launch handshake: a task whose outputs stage a campaign asks for its launch in the state's
  `launch_request` channel; the dispatcher routes to the launch node while one is waiting.
- The lifecycle: after launch, the dispatcher hands over to the simulated days when the run asks.
"""

from __future__ import annotations

from graph.context import Context
from graph.state import LaunchRequest, OrchestratorState, TaskResult


def launch_request_of(task_id: str, result: TaskResult, *, campaign_id: str = "") -> LaunchRequest | None:
    """The launch request a finished task makes, or None when its outputs stage nothing to launch.

    The activation specialist's outputs say `needs_launch` (they keep saying so, for the report and
    the tasks downstream); the request carries what approval shows: the staged count and the gate's
    dry run.
    """
    outputs = result.get("outputs") or {}
    if result.get("status") != "done" or not outputs.get("needs_launch") or outputs.get("launched"):
        return None
    return LaunchRequest(
        task_id=task_id,
        campaign_id=campaign_id,
        preview=dict(outputs.get("preview") or {}),  # type: ignore[typeddict-item]
        staged=int(outputs.get("staged") or 0),
    )


def wants_lifecycle(state: OrchestratorState, ctx: Context) -> bool:
    """Simulate only a launched campaign, and only until the days run out or it is stopped."""
    info = state.get("lifecycle") or {}
    launched = (state.get("launch") or {}).get("decision") == "approve"
    done = info.get("stopped") or info.get("day", 0) >= ctx.simulate_days
    return bool(ctx.simulate_days > 0 and state.get("campaign_id") and launched and not done)
