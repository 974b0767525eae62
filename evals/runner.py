"""Run a suite of understanding-table rows through the real graph with any model, and report.

One CDP is seeded per suite (fixed seed, clock pinned at `evals.table.CLOCK`, as the table's dates
require) into a temporary folder, and every run gets a fresh copy of it, so runs never see each
other's campaigns, sends or frequency caps. Two stages:

- `plan`: the graph pauses before dispatch (as the table test plans), the plan is judged; fast.
- `launch`: the whole run with auto approval up to the gate's scheduled sends, no simulated
  lifecycle. A launch that waits for a person because the plan carries a warning (an audience over
  half the base, say) is approved by the evaluator, who stands in for that person: the point is to
  take every plan through the gate and audit what it scheduled.

Each run is judged with `evals.table.judge`, classed with `evals.failures`, and its CDP copy is
audited with `evals.audit.promise_violations` (every stage, though only `launch` can schedule sends).
"""

from __future__ import annotations

import os
import shutil
import sqlite3
import tempfile
import time
from collections.abc import Callable, Iterable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from evals.audit import promise_violations
from evals.calls import CallLog
from evals.failures import classify, raised, task_failures
from evals.report import RunRecord, Stage, SuiteReport, summarise
from evals.suites import Suite, load_suite
from evals.table import CLOCK, Row, filter_members, judge, members

DEFAULT_CUSTOMERS = 2000
DEFAULT_SEED = 7
STAGES: tuple[Stage, ...] = ("plan", "launch")
#: Interrupts a launch-stage run may meet (approvals of warned plans) before it counts as stuck.
MAX_RESUMES = 4


class EvalUsageError(ValueError):
    """A bad request to the harness: unknown stage, repeats below 1, no customers."""


class EndpointUnusableError(RuntimeError):
    """The model endpoint cannot be used at all (no key, unreachable, refusing): nothing was run."""


@contextmanager
def pinned_clock() -> Iterator[None]:
    """`CDP_NOW` at the table's clock for the duration (the rows' dates count from it)."""
    before = os.environ.get("CDP_NOW")
    os.environ["CDP_NOW"] = CLOCK
    try:
        yield
    finally:
        if before is None:
            os.environ.pop("CDP_NOW", None)
        else:
            os.environ["CDP_NOW"] = before


def seed_master(folder: Path, customers: int, seed: int) -> Path:
    """A seeded CDP in `folder`, its WAL folded in so the main file alone is the whole database."""
    from cdp import open_cdp
    from cdp.seed import seed_cdp

    path = folder / f"eval-{customers}-{seed}.db"
    db = open_cdp(path)
    try:
        seed_cdp(db, customers=customers, seed=seed)
        db.execute("PRAGMA wal_checkpoint(TRUNCATE)")
    finally:
        db.conn.close()
    return path


def fresh_copy(master: Path, target: Path) -> Path:
    with sqlite3.connect(master) as src, sqlite3.connect(target) as dst:
        src.backup(dst)
    src.close()
    dst.close()
    return target


def probe_endpoint(model: str | None) -> None:
    """One tiny call to a real endpoint before anything is seeded, so a wrong URL, a missing key or a
    server that is down stops the eval at once with one line (the scripted model needs no probe)."""
    from langchain_core.messages import HumanMessage

    from llm.loader import SCRIPTED, ModelConfigError, endpoint_problem, load_chat_model, resolve_model_name

    name = resolve_model_name(model)
    if name == SCRIPTED or name.startswith(f"{SCRIPTED}/"):
        return
    try:
        chat = load_chat_model(name)
        chat.bind(max_tokens=4).invoke([HumanMessage("Reply with the word OK.")])
    except ModelConfigError as exc:
        raise EndpointUnusableError(str(exc)) from None
    except Exception as exc:
        raise EndpointUnusableError(
            endpoint_problem(exc) or f"model {name}: {type(exc).__name__}: {exc}"
        ) from None


def _rows(suite_or_rows: str | Suite | Iterable[Row] | None) -> tuple[str, tuple[Row, ...]]:
    if suite_or_rows is None or isinstance(suite_or_rows, str):
        suite = load_suite(suite_or_rows)
        return suite.name, suite.rows
    if isinstance(suite_or_rows, Suite):
        return suite_or_rows.name, suite_or_rows.rows
    return "custom", tuple(suite_or_rows)


def _compile(stage: Stage, retry: Any | None) -> Any:
    from langgraph.checkpoint.memory import InMemorySaver

    from graph.graph import build_graph, builder

    chosen = builder if retry is None else build_graph(retry=retry)
    if stage == "plan":
        return chosen.compile(checkpointer=InMemorySaver(), interrupt_before=["dispatch"])
    return chosen.compile(checkpointer=InMemorySaver())


def _pending(graph: Any, config: dict[str, Any]) -> bool:
    return any(task.interrupts for task in graph.get_state(config).tasks)


def _drive(graph: Any, config: dict[str, Any], objective: str, context: Any, stage: Stage) -> None:
    from langgraph.types import Command

    payload: Any = {"objective": objective}
    for _ in range(MAX_RESUMES + 1):
        graph.invoke(payload, config, context=context, durability="sync")
        if stage == "plan" or not _pending(graph, config):
            return
        payload = Command(resume="approve")


def _count(path: Path, sql: str, params: list[Any]) -> int:
    conn = sqlite3.connect(str(path))
    try:
        return int(conn.execute(sql, params).fetchone()[0])
    finally:
        conn.close()


def run_one(
    row: Row,
    repeat: int,
    *,
    graph: Any,
    master: Path,
    master_conn: sqlite3.Connection,
    folder: Path,
    stage: Stage,
    model: str,
    model_factory: Callable[..., Any] | None,
    keep: bool = False,
) -> RunRecord:
    """Run one objective on a fresh copy of the master CDP in `folder` and judge, class and audit it;
    the copy is deleted afterwards unless `keep`."""
    from graph.context import Context
    from graph.graph import RECURSION_LIMIT

    thread_id = f"eval-{row.slug}-{repeat}"
    path = fresh_copy(master, folder / f"run-{row.slug}-{repeat}.db")
    log = CallLog()
    config: dict[str, Any] = {
        "configurable": {"thread_id": thread_id},
        "recursion_limit": RECURSION_LIMIT,
        "callbacks": [log],
    }
    context = Context(
        db_path=str(path),
        model=model,
        model_factory=model_factory,
        approval="ask" if stage == "plan" else "auto",
        simulate_days=0,
    )
    started = time.perf_counter()
    error: BaseException | None = None
    try:
        _drive(graph, config, row.objective, context, stage)
    except Exception as exc:  # the run's own failure is what is measured, never the harness's
        error = exc
    wall = time.perf_counter() - started
    state = dict(graph.get_state(config).values or {})
    interpretation = state.get("interpretation") or {}
    audience = (interpretation.get("audience") or {}) if isinstance(interpretation, dict) else {}
    got = filter_members(master_conn, audience.get("filter")) if state.get("plan") and audience else None
    want = members(master_conn, row.sql) if row.sql is not None else None
    failure: str | None
    if error is not None:
        verdict, why = "wrong", ""
        failure, detail = raised(error)
    else:
        # A run that failed after planning is judged on its plan; the failure is classed apart.
        planned = (
            {**state, "status": "running"} if state.get("status") == "failed" and state.get("plan") else state
        )
        verdict, why = judge(row, planned, master_conn)
        failure, detail = classify(
            row,
            state,
            verdict,
            why,
            launched=stage == "launch",
            calls=log,
            failures=task_failures(path, thread_id),
        )
    broken = promise_violations(path)
    violations = sum(len(found) for found in broken.values())
    if failure is None and violations:
        failure, detail = "error", f"the contact-policy promise is broken: {', '.join(sorted(broken))}"
    prompt, completion, reported = log.tokens()
    status = str(state.get("status") or ("error" if error else "failed"))
    if stage == "plan" and status == "running":
        status = "planned"
    campaign = state.get("campaign_id")
    sends = _count(path, "SELECT count(*) FROM sends WHERE campaign_id = ?", [campaign]) if campaign else 0
    if not keep:
        for side in ("", "-wal", "-shm"):
            Path(f"{path}{side}").unlink(missing_ok=True)
    return RunRecord(
        slug=row.slug,
        kind=row.kind,
        objective=row.objective,
        repeat=repeat,
        thread_id=thread_id,
        passed=failure is None,
        failure=failure,
        detail=detail,
        status=status,
        model_calls=log.count,
        prompt_tokens=prompt,
        completion_tokens=completion,
        tokens_reported=reported,
        wall_s=round(wall, 3),
        violations=violations,
        broken_checks=sorted(broken),
        audience_size=None if got is None else len(got),
        expected_size=None if want is None else len(want),
        audience_exact=None if want is None else (got == want if error is None else False),
        question_correct=None if row.question is None else (failure is None and error is None),
        question=state.get("question") if state.get("status") == "needs_input" else None,
        sends=sends,
    )


def run_suite(
    suite_or_rows: str | Suite | Iterable[Row] | None = None,
    *,
    model: str | None = None,
    model_factory: Callable[..., Any] | None = None,
    repeat: int = 1,
    stage: Stage = "launch",
    customers: int = DEFAULT_CUSTOMERS,
    seed: int = DEFAULT_SEED,
    retry: Any | None = None,
    on_run: Callable[[RunRecord], None] | None = None,
    keep: Path | None = None,
    seeded: Path | None = None,
) -> SuiteReport:
    """Run every row of the suite `repeat` times and return the report.

    `suite_or_rows`: a suite name from `suites.toml` (None: the default suite), a `Suite`, or rows.
    `model`: a model name for `llm.loader` (default: `MODEL`, else scripted without a key);
    `model_factory` builds the chat model instead (tests inject faulty models here). `retry` is the
    graph's retry policy for model steps (tests pass one without backoff). `on_run` sees each record
    as it is made (the CLI prints progress with it). `keep`: a folder to keep each run's CDP copy in,
    as `run-<slug>-<repeat>.db`, for inspection (by default the copies are deleted). `seeded`: a CDP
    seeded at the table's clock to copy instead of seeding one (`customers` is then read from it).
    """
    from llm.loader import resolve_model_name

    if stage not in STAGES:
        raise EvalUsageError(f"unknown stage {stage!r}; use plan or launch")
    if repeat < 1:
        raise EvalUsageError(f"--repeat must be at least 1, not {repeat}")
    if customers < 1:
        raise EvalUsageError(f"--customers must be at least 1, not {customers}")
    name, rows = _rows(suite_or_rows)
    model_name = (model or "scripted") if model_factory is not None else resolve_model_name(model)
    report = SuiteReport(
        model=model_name, suite=name, stage=stage, repeat=repeat, customers=customers, seed=seed, runs=[]
    )
    folder = Path(tempfile.mkdtemp(prefix="cdp-eval-"))
    try:
        with pinned_clock():
            master = seed_master(folder, customers, seed) if seeded is None else Path(seeded)
            graph = _compile(stage, retry)
            master_conn = sqlite3.connect(str(master))
            report.customers = int(master_conn.execute("SELECT count(*) FROM profiles").fetchone()[0])
            try:
                for row in rows:
                    for k in range(repeat):
                        record = run_one(
                            row,
                            k,
                            graph=graph,
                            master=master,
                            master_conn=master_conn,
                            folder=folder if keep is None else Path(keep),
                            stage=stage,
                            model=model_name,
                            model_factory=model_factory,
                            keep=keep is not None,
                        )
                        report.runs.append(record)
                        if on_run is not None:
                            on_run(record)
            finally:
                master_conn.close()
    finally:
        shutil.rmtree(folder, ignore_errors=True)
    return summarise(report)
