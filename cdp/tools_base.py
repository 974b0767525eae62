"""What every CDP tool shares: the session it acts for, its connection, and one error convention.

Redaction: every result passes `json_safe`, which runs every string in it (values and keys) through
`cdp.redact.redact`, and error texts are redacted too. This is the one choke point between CDP text and
a model, so a tool written tomorrow cannot forget it.

Error convention: a tool never returns an error as data. Bad arguments, unknown ids and invalid
filters raise `ToolException`; every tool is built with `handle_tool_error`, so the model gets a
ToolMessage with `status="error"` whose content starts with "Error:" and says what to change.
"""

from __future__ import annotations

import inspect
import json
import math
import threading
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Any

from langchain_core.tools import StructuredTool, ToolException
from pydantic import BaseModel, ValidationError

from cdp.db import open_cdp
from cdp.errors import CdpError
from cdp.redact import redact

_OPEN: dict[ToolSession, tuple[Any, threading.Lock]] = {}
_OPEN_LOCK = threading.Lock()
_MIGRATED: set[str] = set()


@dataclass(frozen=True)
class ToolSession:
    """Who is calling (agent), for which run (thread, task, campaign), on which CDP file."""

    db_path: str
    thread_id: str | None
    task_id: str | None
    agent: str
    campaign_id: str | None = None


def _connection(session: ToolSession) -> tuple[Any, threading.Lock]:
    """The task's one connection, opened on its first tool call.

    The schema is migrated on the first use of a file in this process only: `open_cdp` also re-syncs
    the clock to `CDP_NOW`, which must not undo a clock another component moved.
    """
    with _OPEN_LOCK:
        found = _OPEN.get(session)
        if found is None:
            found = (open_cdp(session.db_path, migrate=session.db_path not in _MIGRATED), threading.Lock())
            _MIGRATED.add(session.db_path)
            _OPEN[session] = found
        return found


def close_session(session: ToolSession) -> None:
    """Close the task's connection, if its tools opened one (the specialist calls this at its end)."""
    with _OPEN_LOCK:
        found = _OPEN.pop(session, None)
    if found is not None:
        with found[1]:
            found[0].conn.close()


@contextmanager
def session_db(session: ToolSession, *, write: bool) -> Iterator[Any]:
    """The task's connection for one tool call, one call at a time.

    A task opens one connection for all its tool calls (`ToolNode` may run a step's calls in worker
    threads, so calls take turns on a lock). Read tools get `query_only` for the length of the call,
    so no argument can turn them into writers; a read tool never sees another call's transaction.
    """
    db, lock = _connection(session)
    with lock:
        if not write:
            db.execute("PRAGMA query_only = ON")
        try:
            yield db
        finally:
            if db.conn.in_transaction:
                db.conn.rollback()
            if not write:
                db.execute("PRAGMA query_only = OFF")


def json_safe(value: Any) -> Any:
    """Plain JSON types only (non-finite floats become None), every string redacted.

    Strings are what can carry CDP text (ticket subjects, notes, event properties, trait values), so
    each one, keys included, passes `redact` on its way to the model; numbers and booleans cannot.
    """
    if value is None or isinstance(value, bool | int):
        return value
    if isinstance(value, str):
        return redact(value)
    if isinstance(value, float):
        return value if math.isfinite(value) else None
    if isinstance(value, dict):
        return {redact(str(k)): json_safe(v) for k, v in value.items()}
    if isinstance(value, list | tuple | set | frozenset):
        return [json_safe(v) for v in value]
    return redact(str(value))


def _error_text(exc: ToolException) -> str:
    # An error may quote what it refused (an argument, a row), so it is redacted like a result.
    return redact(f"Error: {exc}")


def _validation_text(exc: ValidationError | Any) -> str:
    errors = getattr(exc, "errors", None)
    if not callable(errors):
        return f"Error: invalid arguments: {exc}"
    parts = []
    for err in errors()[:5]:
        loc = ".".join(str(p) for p in err.get("loc", ()))
        parts.append(f"{loc}: {err.get('msg', 'invalid')}" if loc else str(err.get("msg")))
    return redact(
        "Error: invalid arguments: " + "; ".join(parts) + ". Fix these arguments and call the tool again."
    )


def cdp_tool(
    session: ToolSession,
    fn: Callable[[Any, Any], Any],
    args_schema: type[BaseModel],
    *,
    write: bool = False,
) -> StructuredTool:
    """Wrap `fn(db, args)` as a LangChain tool named after it, described by its docstring.

    Arguments are validated by `args_schema` (defaults filled in), the call runs on the task's
    connection, the result is made JSON-safe, and CDP or argument errors become ToolException.
    """
    return wrap_tool(
        session,
        lambda db, kwargs: fn(db, args_schema.model_validate(kwargs)),
        args_schema,
        name=fn.__name__,
        description=inspect.cleandoc(fn.__doc__ or fn.__name__),
        write=write,
    )


def wrap_tool(
    session: ToolSession,
    fn: Callable[[Any, dict[str, Any]], Any],
    args_schema: type[BaseModel],
    *,
    name: str,
    description: str,
    write: bool,
) -> StructuredTool:
    """The one tool convention: `fn(db, arguments)` on the task's connection, JSON-safe and redacted
    results, and every refusal raised as `ToolException` (the model gets it as an error ToolMessage)."""

    def run(**kwargs: Any) -> Any:
        try:
            with session_db(session, write=write) as db:
                return json_safe(fn(db, kwargs))
        except ToolException:
            raise
        except (CdpError, ValueError) as exc:
            raise ToolException(str(exc)) from None

    return StructuredTool.from_function(
        func=run,
        name=name,
        description=description,
        args_schema=args_schema,
        handle_tool_error=_error_text,
        handle_validation_error=_validation_text,
    )


def dumps(value: Any) -> str:
    """The exact text a model sees for a tool result (used by tests that hunt for PII).

    It does not redact by itself, so such a test still sees what a tool really returned.
    """
    return json.dumps(value, ensure_ascii=False)
