"""`run`, `demo`, `resume`, `runs` and `trace`: drive the orchestrator from the terminal.

Runs are durable: checkpoints go to a SQLite file beside the CDP, so a run paused for a person or
killed mid-way continues with `cdp-agents resume THREAD` from any process.
"""

from __future__ import annotations

import dataclasses
import json
import os
import sqlite3
import sys
import uuid
from pathlib import Path
from typing import TYPE_CHECKING, Any

import typer
from rich.markup import escape
from rich.table import Table
from rich.tree import Tree

from cdp import status as cdp_status
from cdp.db import default_db_path, open_cdp
from cdp.errors import CdpError
from cdp.settings import InvalidSettingError
from cli.checkpoints import checkpoint_path, durable_graph, load_report
from cli.console import EXIT_FAILED, EXIT_INTERRUPTED, EXIT_OK, EXIT_REFUSED, EXIT_USAGE, err, fail, out

# LangGraph and the orchestrator are imported by the functions that use them, so `--help` and the
# commands that only read the CDP (`runs`, `trace`) start without them.
if TYPE_CHECKING:
    from graph.context import Context

DEMO_OBJECTIVE = "launch a holiday retention campaign for at-risk premium customers"
DEMO_NOW = "2026-11-24T12:00:00Z"
#: The statuses `--json` and `runs` report, and the exit code of each (3: waiting for a person).
PUBLIC_STATUSES = {
    "completed": EXIT_OK,
    "interrupted": EXIT_INTERRUPTED,
    "needs_input": EXIT_INTERRUPTED,
    "refused": EXIT_REFUSED,
    "failed": EXIT_FAILED,
}
#: Context fields the run commands take as flags.
CONTEXT_FLAGS = {"simulate_days": "--simulate", "protocol": "--protocol", "approval": "--approve"}


def _pending_interrupt(graph, config) -> dict[str, Any] | None:
    snapshot = graph.get_state(config)
    for task in snapshot.tasks:
        for intr in task.interrupts:
            return intr.value if isinstance(intr.value, dict) else {"question": str(intr.value)}
    return None


def _show_update(update: dict[str, Any], quiet: bool) -> None:
    if quiet:
        return
    for node, change in update.items():
        if not isinstance(change, dict):
            continue
        if node == "supervisor" and change.get("plan"):
            tree = Tree("[bold]plan[/bold]")
            for t in change["plan"]:
                deps = f" (after {', '.join(t['depends_on'])})" if t.get("depends_on") else ""
                tree.add(f"[cyan]{t['id']}[/cyan] -> {t['agent']}: {escape(t['goal'][:80] + deps)}")
            out.print(tree)
            if change.get("interpretation"):
                show_interpretation(change["interpretation"])
        for tid, status in (change.get("task_status") or {}).items():
            colour = {"done": "green", "failed": "red", "running": "yellow"}.get(status, "white")
            out.print(f"  task [cyan]{tid}[/cyan]: [{colour}]{status}[/{colour}]")
        for msg in change.get("messages") or []:
            line = f"{msg['kind']:<10} {msg['sender']} -> {msg['recipient']}: {msg['text'][:90]}"
            out.print(f"  [dim]{escape(line)}[/dim]", highlight=False)
        if node == "launch" and change.get("launch"):
            la = change["launch"]
            out.print(f"  launch: {la.get('decision')} -> {la.get('scheduled', 0)} sends scheduled")


def show_interpretation(interp: dict[str, Any]) -> None:
    from report.interpretation import interpretation_lines

    out.print("[bold]understood as[/bold]")
    for line in interpretation_lines(interp):
        colour = "yellow" if line.startswith("warning") else "white"
        out.print(f"  [{colour}]{escape(line)}[/{colour}]", highlight=False, soft_wrap=True)


def _ask(question: dict[str, Any]) -> str:
    options = question.get("options") or ["approve", "deny"]
    if question.get("interpretation"):
        show_interpretation(question["interpretation"])
    out.print(f"[bold yellow]{escape(str(question.get('question', 'A decision is needed.')))}[/bold yellow]")
    if question.get("preview"):
        out.print(json.dumps(question["preview"], indent=2, default=str), highlight=False)
    return typer.prompt(f"Answer ({'/'.join(options)})", default=options[-1])


def drive(graph, config, context: Context, payload: Any, *, approve: str, as_json: bool) -> int:
    """Stream a run (or a resume) to its end or to an interrupt; answer interrupts when we can."""
    from langgraph.types import Command

    from llm.loader import endpoint_problem

    interactive = sys.stdin.isatty() and not as_json
    while True:
        try:
            for update in graph.stream(
                payload, config, context=context, stream_mode="updates", durability="sync"
            ):
                _show_update(update, as_json)
        except Exception as exc:
            problem = endpoint_problem(exc)
            if problem is None:
                raise
            return endpoint_failed(graph, config, context, payload, problem, as_json)
        question = _pending_interrupt(graph, config)
        if question is None:
            break
        if approve == "ask" and interactive:
            payload = Command(resume=_ask(question))
            continue
        if approve == "deny" or (approve == "auto" and not question.get("warnings")):
            payload = Command(resume="approve" if approve == "auto" else "deny")
            continue
        # A plan with a warning is never approved automatically: it waits for a person.
        break
    return finish(graph, config, context, as_json)


def endpoint_failed(graph, config, context: Context, payload: Any, problem: str, as_json: bool) -> int:
    """The model endpoint failed for good (after the retries): keep the run resumable and say so.

    The checkpoint holds every step that finished; the run is recorded as `failed` with steps still
    to run, so `resume` continues at the step that failed once the endpoint answers. One line on
    stderr, exit code 1.
    """
    from graph.run_info import upsert_run

    thread_id = config["configurable"]["thread_id"]
    values = graph.get_state(config).values or {}
    objective = values.get("objective") or (payload.get("objective") if isinstance(payload, dict) else "")
    db = open_cdp(context.db_path)
    try:
        upsert_run(db, thread_id, objective or "", "failed", context, values.get("campaign_id"))
    finally:
        db.conn.close()
    hint = f"cdp-agents resume {thread_id} --db {context.db_path}"
    if as_json:
        result = {"thread_id": thread_id, "status": "failed", "detail": "endpoint", "error": problem}
        print(json.dumps({**result, "resume": hint}, default=str))
    message = f"{problem}; the run is kept: continue it with `{hint}` once the endpoint answers"
    err.print(f"[red]error:[/red] {escape(message)}", highlight=False, soft_wrap=True)
    return EXIT_FAILED


def public_status(status: str | None) -> str:
    """A run's status as `--json` and `runs` show it: one of `PUBLIC_STATUSES`."""
    return status if status in PUBLIC_STATUSES else "failed"


def finish(graph, config, context: Context, as_json: bool) -> int:
    from report.facts import run_facts

    state = graph.get_state(config)
    values = state.values or {}
    pending = _pending_interrupt(graph, config)
    status = "interrupted" if pending else values.get("status", "failed")
    shown = public_status(status)
    thread_id = config["configurable"]["thread_id"]
    db = open_cdp(context.db_path)
    try:
        facts = run_facts(db, values, status)
        if pending and cdp_status.run_status(db, thread_id) is not None:
            with db.conn:
                cdp_status.set_run_status(db, thread_id, "interrupted")
    finally:
        db.conn.close()
    interpretation = (pending or {}).get("interpretation") or values.get("interpretation")
    result = {
        "thread_id": thread_id,
        "status": shown,
        "detail": status,
        "objective": values.get("objective", ""),
        "interpretation": interpretation,
        "plan": facts["plan"],
        "campaign_id": values.get("campaign_id"),
        "audience_size": facts["audience_size"],
        "sends": facts["sends"],
        "suppressed": facts["suppressed"],
        "conflicts": facts["conflicts"],
        "llm_calls": values.get("llm_calls", 0),
        "report": values.get("report", ""),
        "question": values.get("question") or values.get("error") if shown == "needs_input" else None,
        "interrupt": pending,
        "error": values.get("error"),
    }
    if as_json:
        print(json.dumps(result, default=str))
    else:
        if result["report"]:
            from rich.markdown import Markdown

            out.print(Markdown(result["report"]))
        if pending:
            if pending.get("warnings") and pending.get("interpretation"):
                show_interpretation(pending["interpretation"])
            out.print(
                f"[yellow]Waiting for a person:[/yellow] {escape(str(pending.get('question')))} "
                f"Continue with: cdp-agents resume {thread_id} --db {escape(context.db_path)} "
                "--decision approve|deny",
                highlight=False,
                soft_wrap=True,
            )
        elif shown == "needs_input":
            out.print(
                f"[yellow]A question for you:[/yellow] {escape(str(result['question']))} "
                "Start a new run with the objective restated.",
                highlight=False,
                soft_wrap=True,
            )
        elif shown != "completed":
            err.print(
                f"[red]error:[/red] run {status}: {escape(values.get('error') or 'see the report above')}",
                highlight=False,
                soft_wrap=True,
            )
    return PUBLIC_STATUSES[shown]


def open_existing(db_path: str, *, writes: bool = False):
    """Open an existing CDP (never creating one) or stop with one line: no CDP there, or not a CDP.

    `run` calls it before its checkpoint file is created, so a foreign `--db` gets nothing beside it.
    Commands that go on to write (`run`, `resume`, `demo`) pass `writes`: a CDP from before the mark
    then gets it and its migrations (see `cdp.db.open_cdp`).
    """
    try:
        return open_cdp(db_path, create=False, writes=writes)
    except CdpError as exc:
        raise fail(str(exc)) from None


def _storage_error(exc: sqlite3.Error, db_path: str, thread_id: str) -> str:
    """A storage failure (read-only file, disk full, lock held too long) as a message a person can act on."""
    text = str(exc)
    if "readonly" in text or "read-only" in text:
        hint = f"the CDP {db_path} is read-only: make the file and its folder writable"
    elif "full" in text:
        hint = f"the disk holding {db_path} is full: free some space"
    elif "locked" in text or "busy" in text:
        hint = f"another process kept {db_path} locked too long: let it finish"
    else:
        hint = f"the CDP {db_path} could not be written"
    return (
        f"{hint} ({text}). Sends are written in one transaction, so none was half-written; "
        f"then continue with: cdp-agents resume {thread_id} --db {db_path}"
    )


def _context(
    db: str | None, model: str | None, protocol: str, approve: str, simulate: int = 0, **settings: Any
) -> Context:
    kwargs: dict[str, Any] = {
        **settings,
        "db_path": db or default_db_path(),
        "protocol": protocol,
        "approval": approve,
        "simulate_days": simulate,
    }
    if model:
        kwargs["model"] = model
    from graph.context import Context

    try:
        return Context(**kwargs)
    except InvalidSettingError as exc:
        # A value given as a flag is named as the flag the person typed.
        flag = CONTEXT_FLAGS.get(exc.name)
        raise fail(f"{flag}={exc.value}: {exc.rule}" if flag else str(exc), EXIT_USAGE) from None
    except (TypeError, ValueError) as exc:
        raise fail(str(exc), EXIT_USAGE) from None


def _saved_settings(raw: str | None) -> dict[str, Any]:
    """Settings a run started with (runs.settings), minus those the resume command decides itself."""
    if not raw:
        return {}
    from graph.context import Context

    known = {f.name for f in dataclasses.fields(Context)}
    saved = {k: v for k, v in json.loads(raw).items() if k in known}
    for key in ("db_path", "protocol", "approval", "model", "simulate_days"):
        saved.pop(key, None)
    return saved


SIMULATE_HELP = (
    "After launch, simulate this many days of customer responses (writes simulated events into the CDP), "
    "measured against the holdout and optimised daily."
)


def register(app: typer.Typer) -> None:
    @app.command()
    def run(
        objective: str = typer.Argument(..., help="What the campaign should achieve, in plain language."),
        db: str = typer.Option(None, "--db", help="CDP file (default: CDP_AGENTS_DB or data/cdp.db)."),
        thread: str = typer.Option(None, "--thread", help="Name of this run (default: a new id)."),
        model: str = typer.Option(None, "--model", help="'scripted' or an OpenAI-compatible model name."),
        protocol: str = typer.Option("hub", "--protocol", help="hub, p2p or blackboard."),
        approve: str = typer.Option("ask", "--approve", help="ask (prompt when interactive), auto or deny."),
        as_json: bool = typer.Option(False, "--json", help="Print one JSON object instead of live progress."),
        simulate: int = typer.Option(0, "--simulate", metavar="DAYS", help=SIMULATE_HELP),
    ) -> None:
        """Plan the objective, run the specialists on the CDP, and launch through the contact-policy gate."""
        from graph.graph import RECURSION_LIMIT

        context = _context(db, model, protocol, approve, simulate)
        if not Path(context.db_path).exists():
            raise fail(f"no CDP at {context.db_path}: create one with `cdp-agents seed` or pass --db")
        open_existing(context.db_path, writes=True).conn.close()
        thread_id = thread or f"run-{uuid.uuid4().hex[:10]}"
        try:
            with durable_graph(context.db_path) as graph:
                config = {
                    "configurable": {"thread_id": thread_id},
                    "recursion_limit": RECURSION_LIMIT,
                    "max_concurrency": context.max_concurrency,
                }
                existing = graph.get_state(config)
                if existing.values or existing.next:
                    raise fail(f"thread {thread_id} already exists: resume it or pick another --thread")
                code = drive(
                    graph, config, context, {"objective": objective}, approve=approve, as_json=as_json
                )
        except sqlite3.Error as exc:
            raise fail(_storage_error(exc, context.db_path, thread_id)) from None
        except (CdpError, ValueError, OSError) as exc:
            raise fail(str(exc)) from None
        raise typer.Exit(code)

    @app.command()
    def resume(
        thread: str = typer.Argument(..., help="Thread id of the run to continue."),
        decision: str = typer.Option(
            None, "--decision", help="Answer to a pending question (approve, deny, ...)."
        ),
        db: str = typer.Option(None, "--db", help="CDP file the run used."),
        approve: str = typer.Option("ask", "--approve", help="ask, auto or deny for later questions."),
        as_json: bool = typer.Option(False, "--json", help="Print one JSON object."),
    ) -> None:
        """Continue a run after a crash or an interrupt, from any process."""
        from langgraph.types import Command

        from graph.graph import RECURSION_LIMIT

        path = db or default_db_path()
        if not Path(path).exists():
            raise fail(f"no CDP at {path}: pass the --db the run used")
        cdp = open_existing(path, writes=True)
        row = cdp.execute(
            "SELECT status, protocol, model, CAST(json_extract(settings, '$.simulate_days') AS INTEGER), "
            "settings FROM runs WHERE thread_id = ?",
            [thread],
        ).fetchone()
        cdp.conn.close()
        if row is not None and row[0] == "needs_input":
            raise fail(
                f"run {thread} asked a question and has nothing to resume; start a new run with the "
                "objective restated (see `cdp-agents report " + thread + f" --db {path}`)",
                EXIT_INTERRUPTED,
            )
        if row is not None and row[0] in ("completed", "refused"):
            raise fail(f"run {thread} already finished ({row[0]}); start a new run instead")
        with durable_graph(path) as graph:
            config = {"configurable": {"thread_id": thread}, "recursion_limit": RECURSION_LIMIT}
            snapshot = graph.get_state(config)
            # A failed run is over, unless it stopped mid-way on its model endpoint: steps remain.
            if row is not None and row[0] == "failed" and not snapshot.next:
                raise fail(f"run {thread} already finished (failed); start a new run instead")
            if not snapshot.values and not snapshot.next:
                # Killed before its first checkpoint (or never run): there is nothing to continue.
                raise fail(
                    f"run {thread} never started (no checkpoint in {checkpoint_path(path)}); start it "
                    f"with: cdp-agents run OBJECTIVE --db {path} --thread {thread}"
                )
            if not snapshot.next and row is None:
                raise fail(f"run {thread} already finished; start a new run instead")
            # A run killed inside the supervisor has a checkpoint but no `runs` row yet: use the defaults.
            context = _context(
                path,
                row[2] if row else None,
                (row[1] if row else None) or "hub",
                approve,
                int(row[3] or 0) if row else 0,
                **_saved_settings(row[4] if row else None),
            )
            config["max_concurrency"] = context.max_concurrency
            question = _pending_interrupt(graph, config)
            payload: Any = None
            if question is not None:
                if decision is None and approve == "auto" and question.get("warnings"):
                    raise fail(
                        f"run {thread} waits for a person: {question.get('question')} Pass --decision "
                        f"approve|deny (--approve auto never approves a plan with a warning) --db {path}",
                        EXIT_INTERRUPTED,
                    )
                if decision is None and approve not in ("auto", "deny"):
                    if sys.stdin.isatty() and not as_json:
                        decision = _ask(question)
                    else:
                        raise fail(
                            f"run {thread} waits for: {question.get('question')} "
                            f"Pass --decision {'|'.join(question.get('options', []))}",
                            EXIT_INTERRUPTED,
                        )
                payload = Command(resume=decision or ("approve" if approve == "auto" else "deny"))
            try:
                code = drive(graph, config, context, payload, approve=approve, as_json=as_json)
            except sqlite3.Error as exc:
                raise fail(_storage_error(exc, path, thread)) from None
        raise typer.Exit(code)

    @app.command()
    def demo(
        db: str = typer.Option("data/demo.db", "--db", help="Demo CDP file (seeded when missing)."),
        customers: int = typer.Option(10_000, "--customers", help="Customers in the seeded demo CDP."),
        as_json: bool = typer.Option(False, "--json", help="Print one JSON object."),
        simulate: int = typer.Option(7, "--simulate", metavar="DAYS", help=SIMULATE_HELP),
        html: Path = typer.Option(
            Path("data/demo-report.html"), "--html", help="Where to write the run's HTML report."
        ),
    ) -> None:
        """Seed the demo CDP if missing, run the default objective offline (auto-approved), simulate a
        week of customer responses, and write the HTML report."""
        from graph.graph import RECURSION_LIMIT

        os.environ.setdefault("CDP_NOW", DEMO_NOW)
        if not Path(db).exists():
            from cdp.atomic_seed import seed_file

            out.print(f"Seeding a demo CDP with {customers:,} customers at {db} ...")
            try:
                seed_file(db, customers=customers, seed=42)
            except CdpError as exc:
                raise fail(str(exc)) from None
        open_existing(db, writes=True).conn.close()
        context = _context(db, "scripted", "hub", "auto", simulate)
        thread_id = f"demo-{uuid.uuid4().hex[:8]}"
        out.print(f"[bold]Objective:[/bold] {DEMO_OBJECTIVE}")
        with durable_graph(db) as graph:
            config = {
                "configurable": {"thread_id": thread_id},
                "recursion_limit": RECURSION_LIMIT,
                "max_concurrency": context.max_concurrency,
            }
            code = drive(
                graph, config, context, {"objective": DEMO_OBJECTIVE}, approve="auto", as_json=as_json
            )
        if code == EXIT_OK:
            from report.html import render_html

            html.parent.mkdir(parents=True, exist_ok=True)
            html.write_text(render_html(load_report(db, thread_id)), encoding="utf-8")
            if not as_json:
                out.print(f"HTML report: {html}  (again any time: cdp-agents report {thread_id} --db {db})")
        raise typer.Exit(code)

    @app.command("runs")
    def list_runs(db: str = typer.Option(None, "--db", help="CDP file.")) -> None:
        """List runs with their status and campaign."""
        cdp = open_existing(db or default_db_path())
        table = Table("thread", "status", "protocol", "campaign", "updated", "objective")
        for r in cdp.execute(
            "SELECT thread_id, status, protocol, campaign_id, updated_at, objective FROM runs "
            "ORDER BY updated_at DESC, thread_id"
        ):
            cells = [r[0], public_status(r[1]) if r[1] not in ("running", "planning") else r[1], *r[2:5]]
            table.add_row(*[escape(str(x or "")) for x in cells], escape(str(r[5])[:60]))
        cdp.conn.close()
        out.print(table)

    @app.command()
    def trace(
        thread: str = typer.Argument(..., help="Thread id."),
        db: str = typer.Option(None, "--db", help="CDP file."),
        as_json: bool = typer.Option(False, "--json", help="Print JSON."),
    ) -> None:
        """The timeline of a run: every structured message between agents, in order."""
        from report.data import thread_messages

        cdp = open_existing(db or default_db_path())
        messages = thread_messages(cdp, thread)
        cdp.conn.close()
        if not messages:
            raise fail(f"no messages for thread {thread}")
        if as_json:
            print(json.dumps(messages, default=str))
            return
        table = Table("time", "kind", "from", "to", "task", "payload")
        for m in messages:
            cells = (m["created_at"], m["kind"], m["sender"], m["recipient"], m["task_id"], m["payload"][:80])
            table.add_row(*(escape(str(v or "")) for v in cells))
        out.print(table)
