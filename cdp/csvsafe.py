"""The one way the product writes CSV: cells a spreadsheet would run as a formula are neutralised.

A cell that starts with `=`, `+`, `-`, `@`, a tab or a carriage return is a formula to Excel,
LibreOffice and Google Sheets (`=HYPERLINK(...)` exfiltrates data when the file is opened). The
OWASP rule applies: such a cell gets a leading single quote, so it shows as the text it is. Imports
already refuse such text; this holds for whatever reached the CDP another way. Every CSV writer of
the product goes through `write_csv` (a test checks that no other module writes CSV itself).
"""

from __future__ import annotations

import csv
from collections.abc import Iterable, Sequence
from typing import IO, Any

from cdp.input_checks import starts_like_formula

__all__ = ["append_csv", "neutralise", "write_csv"]


def neutralise(value: Any) -> Any:
    """The cell as a spreadsheet should show it: text with a formula prefix gets a leading `'`.

    Blanks before the prefix (spaces, a no-break space, a tab) do not hide it: spreadsheets skip them.

    Numbers stay numbers (a negative amount is data, not a formula); None becomes an empty cell.
    """
    if value is None:
        return ""
    if isinstance(value, str) and starts_like_formula(value):
        return "'" + value
    return value


def write_csv(handle: IO[str], header: Sequence[str], rows: Iterable[Sequence[Any]]) -> int:
    """Write `header` and `rows` as CSV to an open text handle (opened with `newline=""`).

    Every cell, the header's too, passes through `neutralise`. Returns the number of data rows.
    """
    csv.writer(handle).writerow([neutralise(h) for h in header])
    return append_csv(handle, rows)


def append_csv(handle: IO[str], rows: Iterable[Sequence[Any]]) -> int:
    """Write more `rows` to a CSV whose header `write_csv` wrote (a file filled as work goes on)."""
    writer = csv.writer(handle)
    count = 0
    for row in rows:
        writer.writerow([neutralise(cell) for cell in row])
        count += 1
    return count
