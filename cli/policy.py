"""`cdp-agents explain`: why a customer got, or did not get, each message, with the evidence; and
`cdp-agents message-kinds`: the person-made list of message kinds exempt from the marketing rules.

`message-kinds` is the only writer of `transactional_message_kinds` (a test scans the code base): no
plan, agent, tool or import can make a message transactional."""

from __future__ import annotations

import getpass
import json
from pathlib import Path
from typing import Annotated

import typer
from rich.console import Console
from rich.table import Table

from cdp.db import default_db_path, open_cdp
from cdp.errors import CdpError
from cdp.vocabulary import TRANSACTIONAL_CANDIDATES, MessageKind


def explain(
    customer: Annotated[
        str, typer.Argument(help="A profile id, a merged id, or an identifier (email, phone, crm id ...).")
    ],
    campaign: Annotated[
        str | None, typer.Option("--campaign", help="Only this campaign.", show_default=False)
    ] = None,
    db: Annotated[
        Path | None,
        typer.Option("--db", help="CDP file (default: $CDP_AGENTS_DB or data/cdp.db).", show_default=False),
    ] = None,
    as_json: Annotated[bool, typer.Option("--json", help="Print JSON instead of a table.")] = False,
) -> None:
    """Explain every contact-policy decision about one customer: sent or not, and why, in plain words."""
    from cdp.explain import explain_customer

    try:
        cdp = open_cdp(db or default_db_path(), create=False)
        try:
            entries = explain_customer(cdp, customer, campaign)
        finally:
            cdp.conn.close()
    except CdpError as exc:
        Console(stderr=True).print(f"[red]error:[/red] {exc}", highlight=False, soft_wrap=True)
        raise typer.Exit(1) from None
    if as_json:
        typer.echo(json.dumps(entries, indent=2, ensure_ascii=False, default=str))
        return
    console = Console()
    if not entries:
        scope = f" in campaign {campaign}" if campaign else ""
        console.print(f"No send requests, sends or decisions for this customer{scope}.", highlight=False)
        return
    table = Table(title=f"Contact-policy decisions for {entries[0]['profile_id']}", show_lines=True)
    for col in ("campaign", "step", "channel", "outcome", "why", "thread / task / agent"):
        table.add_column(col, overflow="fold")
    for e in entries:
        name = e.get("name") or ""
        table.add_row(
            f"{e['campaign_id']}\n{name}" if name else e["campaign_id"],
            str(e["step"]),
            e.get("channel") or "",
            e.get("outcome") or "",
            e["explanation"],
            " / ".join(str(e.get(k) or "-") for k in ("thread_id", "task_id", "agent")),
        )
    console.print(table)


def _kind_list(values: list[str], option: str) -> list[str]:
    bad = [v for v in values if v not in TRANSACTIONAL_CANDIDATES]
    if bad:
        raise typer.BadParameter(
            f"{', '.join(map(repr, bad))} cannot be listed; kinds: {', '.join(TRANSACTIONAL_CANDIDATES)} "
            "(marketing is never transactional)",
            param_hint=option,
        )
    return values


def message_kinds(
    transactional: Annotated[
        list[str] | None,
        typer.Option(
            "--transactional",
            help=f"Make this kind transactional, exempt from the marketing rules (repeatable): "
            f"{', '.join(TRANSACTIONAL_CANDIDATES)}.",
            show_default=False,
        ),
    ] = None,
    marketing: Annotated[
        list[str] | None,
        typer.Option("--marketing", help="Make this kind marketing again (repeatable).", show_default=False),
    ] = None,
    by: Annotated[
        str | None,
        typer.Option(
            "--by",
            help="Who decides (recorded with the change; default: your login name).",
            show_default=False,
        ),
    ] = None,
    note: Annotated[
        str | None, typer.Option("--note", help="Why, recorded with the change.", show_default=False)
    ] = None,
    db: Annotated[
        Path | None,
        typer.Option("--db", help="CDP file (default: $CDP_AGENTS_DB or data/cdp.db).", show_default=False),
    ] = None,
) -> None:
    """Show or change which message kinds are transactional. Every kind is marketing until a person
    lists it here; a campaign planned from an objective is always marketing."""
    add = _kind_list(transactional or [], "--transactional")
    remove = _kind_list(marketing or [], "--marketing")
    both = sorted(set(add) & set(remove))
    if both:
        raise typer.BadParameter(f"{', '.join(both)} given as both transactional and marketing")
    try:
        cdp = open_cdp(db or default_db_path())
        try:
            if add or remove:
                from cdp import clock

                who = (by or getpass.getuser() or "cli")[:120]
                now = clock.now_iso(cdp)
                with cdp.conn:
                    cdp.conn.executemany(
                        "INSERT INTO transactional_message_kinds (kind, configured_by, configured_at, note) "
                        "VALUES (?, ?, ?, ?) ON CONFLICT (kind) DO UPDATE SET configured_by = excluded.configured_by, "
                        "configured_at = excluded.configured_at, note = excluded.note",
                        [(k, who, now, note) for k in add],
                    )
                    cdp.conn.executemany(
                        "DELETE FROM transactional_message_kinds WHERE kind = ?", [(k,) for k in remove]
                    )
            configured = {
                r[0]: (r[1], r[2], r[3])
                for r in cdp.execute(
                    "SELECT kind, configured_by, configured_at, note FROM transactional_message_kinds"
                )
            }
        finally:
            cdp.conn.close()
    except CdpError as exc:
        Console(stderr=True).print(f"[red]error:[/red] {exc}", highlight=False, soft_wrap=True)
        raise typer.Exit(1) from None
    table = Table(title="Message kinds")
    for col in ("kind", "treated as", "configured by", "at", "note"):
        table.add_column(col, overflow="fold", no_wrap=col == "kind")
    for kind in MessageKind:
        by_, at_, note_ = configured.get(kind.value, ("", "", ""))
        table.add_row(
            kind.value, "transactional" if kind.value in configured else "marketing", by_, at_, note_ or ""
        )
    Console().print(table)


def register(app: typer.Typer) -> None:
    app.command("explain")(explain)
    app.command("message-kinds")(message_kinds)
