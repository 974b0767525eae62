"""Numbered schema migrations of the CDP, applied in order by `open_cdp`.

Each module `mNNN_<what>.py` in this package defines `migrate(db)`; it is registered under its
module name and runs once, atomically. Add a migration as a new module with the next free number;
never edit one that has shipped.
"""

from __future__ import annotations

import importlib
import pkgutil

from sqlite_utils import Migrations

MIGRATIONS = Migrations("cdp")


def _register_all() -> None:
    names = sorted(
        m.name for m in pkgutil.iter_modules(__path__) if m.name[:1] == "m" and m.name[1:4].isdigit()
    )
    for name in names:
        module = importlib.import_module(f"{__name__}.{name}")
        MIGRATIONS(name=name)(module.migrate)


_register_all()
