"""Side-by-side diff rows for the script approval page (``difflib`` does the matching).

Each row pairs a line of the last approved version (left) with a line of the version under
review (right); ``kind`` is ``same``, ``del``, ``add`` or ``chg``. Missing sides are ``None``
so the template can draw a hatched gap, which is what reviewers expect from code review tools.
"""

from __future__ import annotations

import difflib
from dataclasses import dataclass


@dataclass(frozen=True, slots=True)
class DiffRow:
    kind: str
    left_no: int | None
    left: str | None
    right_no: int | None
    right: str | None


def side_by_side(old: str, new: str) -> list[DiffRow]:
    a, b = old.splitlines(), new.splitlines()
    rows: list[DiffRow] = []
    matcher = difflib.SequenceMatcher(a=a, b=b, autojunk=False)
    for tag, i1, i2, j1, j2 in matcher.get_opcodes():
        if tag == "equal":
            rows.extend(
                DiffRow("same", i + 1, a[i], j + 1, b[j])
                for i, j in zip(range(i1, i2), range(j1, j2), strict=True)
            )
            continue
        left = list(range(i1, i2))
        right = list(range(j1, j2))
        for k in range(max(len(left), len(right))):
            li = left[k] if k < len(left) else None
            rj = right[k] if k < len(right) else None
            kind = (
                "chg" if li is not None and rj is not None else "del" if li is not None else "add"
            )
            rows.append(
                DiffRow(
                    kind,
                    li + 1 if li is not None else None,
                    a[li] if li is not None else None,
                    rj + 1 if rj is not None else None,
                    b[rj] if rj is not None else None,
                )
            )
    return rows


def summary(rows: list[DiffRow]) -> dict[str, int]:
    counts = {"add": 0, "del": 0, "chg": 0}
    for row in rows:
        if row.kind in counts:
            counts[row.kind] += 1
    return counts
