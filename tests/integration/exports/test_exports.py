"""Every export format reads back to exactly the stored answers (C8).

Interviews are run through the real runner on the example insurance script with a seeded
random respondent; the CSV is read with ``csv``, the ``.sav`` with pyreadstat (keeping
user-missing codes), Triple-S with an XML parse plus a fixed-width read driven only by the
metadata file. Each is compared value by value with ``Layout.values`` of the stored rows.
"""

from __future__ import annotations

import csv
import math
import random
import xml.etree.ElementTree as ET
from pathlib import Path
from typing import Any

import pyreadstat
import pytest

from gatehouse.adapters.exports import ExportRow, build_layout, write_csv, write_sav, write_triple_s
from gatehouse.adapters.exports.csvfile import neutralise
from gatehouse.adapters.exports.layout import Layout
from gatehouse.domain.scripts.model import Script, load_script
from gatehouse.domain.scripts.runner import AnswerRefused, Interview, QuestionView

EXAMPLE = Path(__file__).resolve().parents[3] / "examples" / "insurance-survey.yaml"
VERBATIMS = [
    "Clearer wording on the policy",
    '=HYPERLINK("http://evil")',  # a formula: must come back neutralised in CSV only
    "Fewer add-ons, café-style simple choices",
    "-minus sign first",
    "Nothing really",
]


def random_answer(view: QuestionView, rng: random.Random) -> tuple[Any, str | None]:
    if view.type == "grid":  # specials are per row in a grid
        choices = [*view.options, *view.specials]
        return {item_id: rng.choice(choices).code for item_id, _ in view.items}, None
    if view.specials and rng.random() < 0.1:
        return rng.choice(view.specials).code, None
    if view.type in ("single", "yesno"):
        option = rng.choice(view.options)
        return option.code, ("Travel cover" if option.other_specify else None)
    if view.type == "multi":
        plain = [o for o in view.options if not o.exclusive]
        if rng.random() < 0.1:
            return [next(o for o in view.options if o.exclusive).code], None
        chosen = rng.sample(plain, rng.randint(1, len(plain)))
        other = "Gadget cover" if any(o.other_specify for o in chosen) else None
        return [o.code for o in chosen], other
    if view.type in ("rating", "numeric"):
        assert view.min is not None and view.max is not None
        return rng.randint(int(view.min), int(view.max)), None
    if view.type == "open":
        return rng.choice(VERBATIMS), None
    return None, None


def run_interviews(script: Script, n: int, seed: int = 7) -> list[ExportRow]:
    rng = random.Random(seed)
    rows = []
    for i in range(n):
        interview = Interview.start(script, seed=1000 + i, contact={"first_name": "Sam"})
        steps = 0
        while not interview.finished:
            view = interview.current()
            assert view is not None
            if steps > 3 and rng.random() < 0.02:
                interview.break_off()
                break
            value, other = random_answer(view, rng)
            try:
                interview.answer(value, other_text=other)
            except AnswerRefused:  # pragma: no cover - the generator only makes valid answers
                raise
            steps += 1
        state = interview.state
        rows.append(
            ExportRow(f"R{i:05d}", state["outcome"], state["answers"], {"region": "North West"})
        )
    return rows


@pytest.fixture(scope="module")
def script() -> Script:
    return load_script(EXAMPLE.read_text(encoding="utf-8"))


@pytest.fixture(scope="module")
def rows(script: Script) -> list[ExportRow]:
    return run_interviews(script, 300)


@pytest.fixture(scope="module")
def layout(script: Script) -> Layout:
    return build_layout(script, ["region"])


def test_the_sample_covers_every_shape(rows: list[ExportRow]) -> None:
    outcomes = {r.outcome for r in rows}
    assert {"complete", "screened_out", "break_off"} <= outcomes
    assert any(isinstance(r.answers.get("products"), int) for r in rows)  # a special in multi
    assert any(isinstance(r.answers.get("improve"), int) for r in rows)  # DK/REF on open text
    assert any("products_other" in r.answers for r in rows)


def test_csv_reads_back(tmp_path: Path, layout: Layout, rows: list[ExportRow]) -> None:
    path = tmp_path / "out.csv"
    assert write_csv(path, layout, rows) == len(rows)
    with path.open(encoding="utf-8", newline="") as handle:
        reader = csv.reader(handle)
        assert next(reader) == layout.names
        read = list(reader)
    assert len(read) == len(rows)
    for row, line in zip(rows, read, strict=True):
        expected = [
            "" if v is None else neutralise(v) if isinstance(v, str) else str(v)
            for v in layout.values(row)
        ]
        assert line == expected
    text = path.read_text(encoding="utf-8")
    assert "'=HYPERLINK" in text and "\n=HYPERLINK" not in text and ",=HYPERLINK" not in text


def test_csv_with_labels(tmp_path: Path, layout: Layout, rows: list[ExportRow]) -> None:
    path = tmp_path / "labels.csv"
    write_csv(path, layout, rows, labels=True)
    with path.open(encoding="utf-8", newline="") as handle:
        first = next(r for r in csv.DictReader(handle) if r["outcome"] == "Complete")
    assert first["consent"] == "Yes"
    assert first["age_band"] in {"18 to 34", "35 to 54", "55 or over", "Refused"}


def test_sav_reads_back(tmp_path: Path, layout: Layout, rows: list[ExportRow]) -> None:
    path = tmp_path / "out.sav"
    write_sav(path, layout, rows)
    frame, meta = pyreadstat.read_sav(str(path), user_missing=True)
    assert list(frame.columns) == layout.names
    assert meta.column_names_to_labels["outcome"] == "Interview outcome"
    assert meta.variable_value_labels["consent"][1.0] == "Yes"
    assert meta.variable_value_labels["consent"][-8.0] == "Don't know"
    assert {tuple(sorted(m["lo"] for m in r)) for r in [meta.missing_ranges["age_band"]]} == {
        (-9.0, -8.0, -7.0)
    }
    records = frame.to_dict(orient="records")
    for row, record in zip(rows, records, strict=True):
        for column, value in zip(layout.columns, layout.values(row), strict=True):
            got = record[column.name]
            if column.kind == "text":
                assert got == ("" if value is None else value), column.name
            elif value is None:
                assert got is None or math.isnan(got), column.name
            else:
                assert got == pytest.approx(float(value)), column.name
    # User-missing really is missing to SPSS: without user_missing the codes read as NaN.
    plain, _ = pyreadstat.read_sav(str(path))
    dk = [i for i, r in enumerate(rows) if r.answers.get("recommend") in (-8, -9)]
    assert dk and all(math.isnan(plain["recommend"][i]) for i in dk)


def read_triple_s(metadata: Path, data: Path) -> tuple[list[str], list[list[Any]]]:
    """A reader that knows nothing of Gatehouse: positions and types from the XML alone."""
    root = ET.parse(metadata).getroot()  # noqa: S314 - our own file, just written
    assert root.tag == "sss" and root.get("version") == "2.0"
    specs = []
    for variable in root.iter("variable"):
        position = variable.find("position")
        assert position is not None
        specs.append(
            (
                variable.findtext("name") or "",
                variable.get("type"),
                int(position.get("start", "0")),
                int(position.get("finish", "0")),
            )
        )
    names = [s[0] for s in specs]
    out = []
    for line in data.read_text(encoding="utf-8").splitlines():
        values: list[Any] = []
        for _name, kind, start, finish in specs:
            cell = line[start - 1 : finish]
            if not cell.strip():
                values.append(None)
            elif kind == "character":
                values.append(cell.rstrip())
            else:
                values.append(float(cell))
        out.append(values)
    return names, out


def test_triple_s_reads_back(tmp_path: Path, layout: Layout, rows: list[ExportRow]) -> None:
    meta, data = tmp_path / "out.sss", tmp_path / "out.asc"
    assert write_triple_s(meta, data, layout, rows) == len(rows)
    names, read = read_triple_s(meta, data)
    assert names == layout.names
    for row, values in zip(rows, read, strict=True):
        for column, expected, got in zip(layout.columns, layout.values(row), values, strict=True):
            if expected is None or expected == "":
                assert got is None, column.name
            elif column.kind == "text":
                assert got == " ".join(str(expected).split()), column.name
            else:
                assert got == pytest.approx(float(expected)), column.name
    root = ET.parse(meta).getroot()  # noqa: S314
    labels = {
        v.findtext("name"): {c.get("code"): c.text for c in v.iter("value")}
        for v in root.iter("variable")
    }
    assert labels["consent"]["1"] == "Yes" and labels["consent"]["-9"] == "Refused"
    recommend = next(v for v in root.iter("variable") if v.findtext("name") == "recommend")
    assert recommend.get("type") == "quantity"
    value_range = recommend.find("values/range")
    assert value_range is not None and value_range.get("to") == "50"


def test_exports_carry_only_approved_fields(tmp_path: Path, script: Script) -> None:
    row = ExportRow(
        "R1",
        "complete",
        {"consent": 1},
        {"region": "North", "phone": "+441614960000", "postcode": "M1 1AA"},
    )
    layout = build_layout(script, ["region"])
    path = tmp_path / "f.csv"
    write_csv(path, layout, [row])
    text = path.read_text(encoding="utf-8")
    assert "North" in text and "4960000" not in text and "M1 1AA" not in text
    assert "f_phone" not in text
    with pytest.raises(ValueError, match="not a plain"):
        build_layout(script, ["Phone; DROP"])


def test_layout_maps_answers_to_columns(layout: Layout) -> None:
    """The codebook itself, checked against hand-written stored answers (not the writers)."""
    answers = {
        "consent": 1,
        "decision_maker": 2,
        "age_band": -9,  # refused
        "nation": 1,
        "products": [2, 5],
        "products_other": "Travel cover",
        "importance": {"price": 4, "cover": -8, "claims": 1, "brand": 2},
        "recommend": 3,
        "improve": -8,  # don't know, on an open question
    }
    row = dict(zip(layout.names, layout.values(ExportRow("R9", "complete", answers)), strict=True))
    assert row["respid"] == "R9" and row["outcome"] == 1
    assert (row["consent"], row["decision_maker"], row["age_band"]) == (1, 2, -9)
    assert [row[f"products_{c}"] for c in range(1, 7)] == [0, 1, 0, 0, 1, 0]
    assert row["products_other"] == "Travel cover"
    assert (row["importance_price"], row["importance_cover"]) == (4, -8)
    assert row["renewal_channel"] is None and row["satisfaction"] is None  # not asked
    assert (row["improve"], row["improve_st"]) == (None, -8)
    dk = dict(
        zip(
            layout.names,
            layout.values(ExportRow("R8", "break_off", {"products": -8, "improve": "Fine"})),
            strict=True,
        )
    )
    assert [dk[f"products_{c}"] for c in range(1, 7)] == [-8] * 6
    assert (dk["improve"], dk["improve_st"], dk["outcome"]) == ("Fine", 1, 4)
    assert dk["f_region"] is None
