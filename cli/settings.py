"""Every setting the product reads from the environment, checked once before a command runs."""

from __future__ import annotations

import os

import typer

EXIT_BAD_SETTING = 2


def check_settings() -> None:
    """Read and check every setting the product takes from the environment, once, before any command.

    A value out of its bounds raises `ValueError` (most often `InvalidSettingError`) naming the
    variable, the value and the allowed range; nothing has been opened or written yet.
    """
    from cdp import clock
    from cdp.identity import IdentitySettings
    from cdp.settings import InvalidSettingError
    from cdp.vocabulary import SegmentVocabulary
    from graph.context import Context
    from llm.settings import (
        max_tokens,
        model_timeout_s,
        plan_schema,
        scripted_latency_s,
        structured_output_methods,
        tool_call_mode,
    )

    Context()
    SegmentVocabulary.from_env()
    IdentitySettings.from_env()
    try:
        clock.env_now()
    except ValueError:
        raw = os.environ.get("CDP_NOW", "")
        raise InvalidSettingError(
            "CDP_NOW",
            raw,
            "must be an ISO 8601 time such as 2026-11-24T12:00:00Z"
            f" in the years {clock.MIN_YEAR}..{clock.MAX_YEAR}",
        ) from None
    model_timeout_s()
    structured_output_methods()
    max_tokens()
    tool_call_mode()
    plan_schema()
    scripted_latency_s(None)


def check_settings_or_exit() -> None:
    """`check_settings`, turning a bad value into one line on stderr and exit code 2."""
    try:
        check_settings()
    except ValueError as exc:
        typer.echo(f"error: {exc}", err=True)
        raise typer.Exit(EXIT_BAD_SETTING) from None
