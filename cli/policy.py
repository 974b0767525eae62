"""`cdp-agents explain`: why a customer got, or did not get, each message, with the evidence."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Annotated

import typer
from rich.console import Console
from rich.table import Table

from cdp.db import default_db_path, open_cdp
from cdp.errors import CdpError


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


def register(app: typer.Typer) -> None:
    app.command("explain")(explain)
