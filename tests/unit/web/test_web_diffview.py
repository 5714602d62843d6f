from __future__ import annotations

from gatehouse.web.diffview import side_by_side, summary


def test_side_by_side_pairs_changes_and_gaps() -> None:
    old = "intro: Hello\nq1: Age?\nq2: Income?\nend: Thanks\n"
    new = "intro: Hello, from Northgate\nq1: Age?\nend: Thanks\nq9: New\n"
    rows = side_by_side(old, new)
    kinds = [r.kind for r in rows]
    assert kinds == ["chg", "same", "del", "same", "add"]
    assert rows[0].left == "intro: Hello" and rows[0].right == "intro: Hello, from Northgate"
    assert rows[2].right is None and rows[2].left_no == 3
    assert rows[4].left is None and rows[4].right_no == 4
    assert summary(rows) == {"add": 1, "del": 1, "chg": 1}


def test_first_version_is_all_additions() -> None:
    rows = side_by_side("", "a\nb\n")
    assert [r.kind for r in rows] == ["add", "add"]
