"""The plan check names what makes a task graph impossible to run, so the model can repair it."""

from __future__ import annotations

from itertools import pairwise

import pytest

from graph.plan import Plan, PlanError, PlannedTask, find_cycle, validate_plan

AGENTS = {"audience", "content", "activation"}


def _plan(deps: dict[str, list[str]]) -> Plan:
    return Plan(
        tasks=[PlannedTask(id=t, agent="audience", goal=f"do {t}", depends_on=d) for t, d in deps.items()]
    )


def _rotations(cycle: list[str]) -> set[str]:
    ring = cycle[:-1]
    return {" -> ".join([*ring[i:], *ring[:i], ring[i]]) for i in range(len(ring))}


def test_a_cycle_is_named_in_the_direction_of_the_dependencies():
    plan = _plan({"a": ["b"], "b": ["c"], "c": ["a"], "d": ["a"]})
    cycle = find_cycle(plan.tasks)
    assert cycle is not None
    assert cycle[0] == cycle[-1] and len(cycle) == 4
    # Each id depends on the next one.
    deps = {t.id: set(t.depends_on) for t in plan.tasks}
    assert all(b in deps[a] for a, b in pairwise(cycle))
    with pytest.raises(PlanError) as err:
        validate_plan(plan, AGENTS)
    named = str(err.value).removeprefix("dependency cycle: ")
    assert named in _rotations(["a", "b", "c", "a"])


def test_an_acyclic_plan_passes_and_a_self_dependency_is_reported_once():
    assert find_cycle(_plan({"a": [], "b": ["a"], "c": ["a", "b"]}).tasks) is None
    validate_plan(_plan({"a": [], "b": ["a"], "c": ["a", "b"]}), AGENTS)
    plan = _plan({"a": ["a"], "b": ["a", "zz"]})
    assert find_cycle(plan.tasks) is None
    with pytest.raises(PlanError) as err:
        validate_plan(plan, AGENTS)
    assert str(err.value) == "task 'a' depends on itself; task 'b' depends on unknown task 'zz'"


def test_two_tasks_waiting_on_each_other():
    with pytest.raises(PlanError, match=r"^dependency cycle: (a -> b -> a|b -> a -> b)$"):
        validate_plan(_plan({"a": ["b"], "b": ["a"]}), AGENTS)
