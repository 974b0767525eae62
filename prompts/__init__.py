"""Prompts, one Markdown file per role, loaded by name.

Each starts with a `<role>NAME</role>` tag (the offline scripted model answers by role; real models
read it as plain context). `CDP_AGENTS_PROMPTS_DIR` may point at a folder of overrides.
"""

from __future__ import annotations

import os
from functools import lru_cache
from pathlib import Path

_HERE = Path(__file__).parent


@lru_cache(maxsize=64)
def _read(path: str) -> str:
    return Path(path).read_text(encoding="utf-8")


def load_prompt(name: str, **values: object) -> str:
    """The prompt `name` (override folder first), with `{placeholders}` filled from `values`."""
    override = os.environ.get("CDP_AGENTS_PROMPTS_DIR")
    candidates = [Path(override) / f"{name}.md"] if override else []
    candidates.append(_HERE / f"{name}.md")
    for path in candidates:
        if path.exists():
            text = _read(str(path))
            for key, value in values.items():  # not str.format: prompts contain JSON braces
                text = text.replace("{" + key + "}", str(value))
            return text
    raise FileNotFoundError(f"no prompt named '{name}' (looked in {', '.join(map(str, candidates))})")
