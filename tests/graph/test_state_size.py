"""State stays small: with the SQLite checkpointer, every checkpoint of a 2,000-customer run is under
20 KB, because audiences and sends live in the CDP and state holds ids, counts and summaries."""

from __future__ import annotations

import sqlite3

from langgraph.checkpoint.sqlite import SqliteSaver

from tests.graph.helpers import DEFAULT_OBJECTIVE, compile_graph, run, scalar

LIMIT = 20 * 1024


def _checkpoint_sizes(cdp_path, tmp_path, thread: str) -> tuple[list[int], list[int], dict]:
    conn = sqlite3.connect(tmp_path / f"{thread}.checkpoints.db", check_same_thread=False)
    try:
        state = run(compile_graph(SqliteSaver(conn)), DEFAULT_OBJECTIVE, cdp_path, thread)
        sizes = [
            r[0]
            for r in conn.execute(
                "SELECT length(checkpoint) + length(metadata) FROM checkpoints WHERE thread_id = ?", [thread]
            )
        ]
        writes = [
            r[0] for r in conn.execute("SELECT length(value) FROM writes WHERE thread_id = ?", [thread])
        ]
    finally:
        conn.close()
    return sizes, writes, state


def test_every_checkpoint_is_under_20_kb(seeded_cdp_path, tmp_path):
    assert scalar(seeded_cdp_path, "SELECT count(*) FROM customer_360") == 2000
    sizes, writes, state = _checkpoint_sizes(seeded_cdp_path, tmp_path, "size-2000")
    assert state["status"] == "completed"
    assert len(sizes) >= len(state["plan"]), "at least one checkpoint per task"
    assert max(sizes) < LIMIT, sorted(sizes)[-3:]
    assert max(writes) < LIMIT, sorted(writes)[-3:]


def test_checkpoints_do_not_grow_with_the_audience(tmp_path):
    """Ten times the customers, about the same checkpoint: nothing in state scales with the audience."""
    from tests.seeded import seeded_copy

    small, _, s_state = _checkpoint_sizes(seeded_copy(tmp_path, customers=200), tmp_path, "size-200")
    large, _, l_state = _checkpoint_sizes(seeded_copy(tmp_path, customers=2000), tmp_path, "size-2000")
    assert (
        s_state["results"]["audience"]["outputs"]["audience_size"] * 5
        < (l_state["results"]["audience"]["outputs"]["audience_size"])
    )
    assert max(large) < max(small) * 1.3, (max(small), max(large))
