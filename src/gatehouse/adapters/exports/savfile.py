"""SPSS ``.sav`` export through pyreadstat (which wraps ReadStat).

Variable labels, value labels, measure levels and formats come from the layout; the special
codes -7/-8/-9 are declared user-missing (pyreadstat allows at most three discrete missing
values per variable: exactly ours). Multiple choice is one dichotomy per option because
ReadStat cannot write multiple-response sets (pyreadstat issue #25).
"""

from __future__ import annotations

from collections.abc import Iterable
from pathlib import Path
from typing import Any

import pandas as pd
import pyreadstat

from gatehouse.adapters.exports.layout import MISSING_CODES, ExportRow, Layout


def write_sav(path: Path, layout: Layout, rows: Iterable[ExportRow]) -> int:
    columns = layout.columns
    data: dict[str, list[Any]] = {c.name: [] for c in columns}
    for row in rows:
        for column, value in zip(columns, layout.values(row), strict=True):
            if column.kind == "text":
                data[column.name].append("" if value is None else value)
            else:
                data[column.name].append(float("nan") if value is None else float(value))
    frame = pd.DataFrame(
        {
            c.name: pd.Series(data[c.name], dtype="object" if c.kind == "text" else "float64")
            for c in columns
        }
    )
    numeric = [c for c in columns if c.kind == "numeric"]
    pyreadstat.write_sav(
        frame,
        str(path),
        file_label=layout.script.title[:64],
        column_labels={c.name: c.label for c in columns},
        variable_value_labels={
            c.name: {float(k): v for k, v in c.value_labels.items()}
            for c in numeric
            if c.value_labels
        },
        missing_ranges={
            c.name: [float(code) for code in MISSING_CODES] for c in numeric if c.user_missing
        },
        variable_measure={c.name: c.measure for c in columns},
        variable_format={
            c.name: (f"F{max(c.width, 1) + (1 if c.decimals else 0)}.{c.decimals}") for c in numeric
        },
    )
    return len(frame)
