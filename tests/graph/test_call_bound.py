"""The call bound of plan-then-dispatch: the default objective costs at most len(plan) + 2 model calls.

Calls are counted by a callback handler on `on_chat_model_start`, independently of the graph's own
`llm_calls` counter, so a regression that adds hidden model calls (or miscounts them) fails here.
"""

from __future__ import annotations

import threading

from langchain_core.callbacks import BaseCallbackHandler

from tests.graph.helpers import DEFAULT_OBJECTIVE, compile_graph, config_for, run


class CountChatCalls(BaseCallbackHandler):
    def __init__(self) -> None:
        self.calls = 0
        self._lock = threading.Lock()

    def on_chat_model_start(self, serialized, messages, **kwargs) -> None:
        with self._lock:
            self.calls += 1


def test_default_objective_stays_within_plan_plus_two_calls(seeded_cdp_path):
    counter = CountChatCalls()
    state = run(
        compile_graph(),
        DEFAULT_OBJECTIVE,
        seeded_cdp_path,
        "bound-1",
        config=config_for("bound-1", callbacks=[counter]),
    )
    assert state["status"] == "completed"
    plan = state["plan"]
    assert len(plan) >= 5  # a real plan, not a trivial one that makes the bound meaningless
    assert counter.calls > 0
    assert counter.calls <= len(plan) + 2, f"{counter.calls} model calls for {len(plan)} tasks"
    assert counter.calls == state["llm_calls"]  # the state counter agrees with the independent count
