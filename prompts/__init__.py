"""Prompts, one Markdown file per role, loaded by name.

Each starts with a `<role>NAME</role>` tag (the offline scripted model answers by role; real models
read it as plain context). `CDP_AGENTS_PROMPTS_DIR` may point at a folder of overrides.
"""

from __future__ import annotations

import os
import tomllib
from dataclasses import dataclass
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


@dataclass(frozen=True)
class TemplateTask:
    """One task of the campaign template (`plan_template.toml`)."""

    id: str
    agent: str
    goal: str
    depends_on: tuple[str, ...] = ()
    acceptance: tuple[str, ...] = ()
    needs: frozenset[str] = frozenset()


@lru_cache(maxsize=1)
def plan_template() -> tuple[TemplateTask, ...]:
    """The campaign's task template, audience first, read once."""
    data = tomllib.loads((_HERE / "plan_template.toml").read_text(encoding="utf-8"))
    return tuple(
        TemplateTask(
            id=t["id"],
            agent=t["agent"],
            goal=t["goal"],
            depends_on=tuple(t.get("depends_on", ())),
            acceptance=tuple(t.get("acceptance", ())),
            needs=frozenset(t.get("needs", ())),
        )
        for t in data["task"]
    )


def template_tasks(agents: set[str], have: set[str], **fill: str) -> list[dict[str, object]]:
    """The template's tasks the registered `agents` can do and whose `needs` are all in `have`,
    goals filled from `fill`, edges to left-out tasks dropped (inputs are the planner's to add)."""
    chosen = [t for t in plan_template() if t.agent in agents and t.needs <= have]
    ids = {t.id for t in chosen}
    tasks: list[dict[str, object]] = []
    for t in chosen:
        goal = t.goal
        for key, value in fill.items():
            goal = goal.replace("{" + key + "}", value)
        tasks.append(
            {
                "id": t.id,
                "agent": t.agent,
                "goal": goal,
                "depends_on": [d for d in t.depends_on if d in ids],
                "acceptance": list(t.acceptance),
                "inputs": {},
            }
        )
    return tasks
