"""Which `.env` the CLI and the Studio launcher read, and the switch that turns it off."""

from __future__ import annotations

import os
from pathlib import Path

from dotenv import find_dotenv

#: Set to 1 (or pass --no-dotenv) to ignore any `.env`: scripts and the test suite that must not
#: depend on a user's own settings use it.
NO_DOTENV_ENV = "CDP_AGENTS_NO_DOTENV"


def dotenv_path(start: Path | None = None) -> Path | None:
    """The `.env` the CLI reads: the nearest one from the working folder up, unless switched off.

    Variables already in the environment win over the file (`override=False`).
    """
    if os.environ.get(NO_DOTENV_ENV, "").strip().lower() in ("1", "true", "yes", "on"):
        return None
    if start is not None:
        candidate = start / ".env"
        return candidate if candidate.is_file() else None
    found = find_dotenv(usecwd=True)
    return Path(found) if found else None
