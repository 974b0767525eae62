"""A model factory named in CDP_AGENTS_MODEL_FACTORY that is hostile or broken stops every command at its
start with one line and exit code 2, writing nothing, like every other bad setting.

Each case names a real module written into a temporary directory on `sys.path`: one that raises while
it is imported, one that does not parse, a function that returns something that is not a chat model,
and a function that cannot take the model name. The factory is imported and tried once with the
model name when the settings are read, so the last two are refused before anything runs too.
"""

from __future__ import annotations

import itertools
import sys

import pytest

from tests.unit.test_settings import _refused_everywhere

_names = itertools.count()

MODULES = {
    "raises_on_import": ('raise RuntimeError("endpoint table missing")\n', "build"),
    "does_not_parse": ("def build(:\n", "build"),
    "returns_a_string": ("def build(name):\n    return 'not a model'\n", "build"),
    "takes_no_name": ("def build():\n    return None\n", "build"),
}


@pytest.mark.parametrize("case", list(MODULES))
def test_a_broken_model_factory_is_one_line_and_exit_2_from_every_command(
    tmp_path, cdp_path, monkeypatch, case
):
    source, function = MODULES[case]
    module = f"hostile_factory_{case}_{next(_names)}"
    modules = tmp_path / "modules"
    modules.mkdir()
    (modules / f"{module}.py").write_text(source)
    monkeypatch.syspath_prepend(str(modules))
    try:
        value = f"{module}:{function}"
        for line in _refused_everywhere(tmp_path, cdp_path, {"CDP_AGENTS_MODEL_FACTORY": value}):
            assert line.startswith("error: CDP_AGENTS_MODEL_FACTORY=") and value in line, line
    finally:
        sys.modules.pop(module, None)
