"""CSV export: UTF-8, a header row of column names, codes (default) or labels.

Formula injection is neutralised: a text cell that a spreadsheet would run as a formula
(starting ``=``, ``+``, ``-``, ``@``, tab or carriage return) gets a leading apostrophe, as
OWASP advises. Numeric codes (including the negative special codes) are written as numbers
and left alone.
"""

from __future__ import annotations

import csv
from collections.abc import Iterable
from pathlib import Path

from gatehouse.adapters.exports.layout import ExportRow, Layout

_FORMULA_START = ("=", "+", "-", "@", "\t", "\r")


def neutralise(text: str) -> str:
    return "'" + text if text.startswith(_FORMULA_START) else text


def write_csv(
    path: Path, layout: Layout, rows: Iterable[ExportRow], *, labels: bool = False
) -> int:
    """Write ``rows``; returns how many. ``labels`` writes value labels instead of codes."""
    count = 0
    columns = layout.columns
    with path.open("w", encoding="utf-8", newline="") as handle:
        writer = csv.writer(handle)
        writer.writerow(layout.names)
        for row in rows:
            out: list[str | int | float] = []
            for column, value in zip(columns, layout.values(row), strict=True):
                if value is None:
                    out.append("")
                elif isinstance(value, str):
                    out.append(neutralise(value))
                elif labels and isinstance(value, int) and value in column.value_labels:
                    out.append(neutralise(column.value_labels[value]))
                else:
                    out.append(value)
            writer.writerow(out)
            count += 1
    return count
