"""Triple-S export: XML metadata (``.sss``/``.xml``, Triple-S XML 2.0) + fixed-width data.

Each layout column becomes one Triple-S variable at fixed column positions:

* coded numeric columns (single choice, yes/no, dichotomies, grid rows, outcome, status)
  are ``type="single"`` with ``<values>`` (codes and labels, specials included);
* rating and numeric questions are ``type="quantity"`` with a ``<range>`` (widened to
  include the special codes) and the special codes as labelled values; decimals are written
  with a fixed number of places;
* text columns are ``type="character"`` with ``size``.

Numbers are right-aligned, text left-aligned; a missing (not asked) value is blanks. Text is
stored as UTF-8 and positions count characters (Triple-S 2.0 names no byte encoding for
fixed data; our reader and the test count characters too). Line breaks inside a verbatim are
written as spaces so every record is one line.
"""

from __future__ import annotations

import datetime as dt
import xml.etree.ElementTree as ET
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path

from gatehouse.adapters.exports.layout import MISSING_CODES, Column, ExportRow, Layout


@dataclass(frozen=True, slots=True)
class Field:
    column: Column
    start: int  # 1-based, inclusive (Triple-S convention)
    finish: int
    sss_type: str  # single | quantity | character


def fields_for(layout: Layout) -> list[Field]:
    out: list[Field] = []
    position = 1
    for column in layout.columns:
        if column.kind == "text":
            width, sss_type = max(column.width, 1), "character"
        elif column.value_range is not None:
            width, sss_type = column.width, "quantity"
        else:
            width, sss_type = column.width, "single"
        out.append(Field(column, position, position + width - 1, sss_type))
        position += width
    return out


def write_triple_s(
    metadata_path: Path, data_path: Path, layout: Layout, rows: Iterable[ExportRow]
) -> int:
    fields = fields_for(layout)
    count = 0
    with data_path.open("w", encoding="utf-8", newline="\n") as handle:
        for row in rows:
            parts: list[str] = []
            for spec, value in zip(fields, layout.values(row), strict=True):
                width = spec.finish - spec.start + 1
                parts.append(_cell(spec, value, width))
            handle.write("".join(parts) + "\n")
            count += 1
    metadata_path.write_bytes(_metadata(layout, fields, data_path.name))
    return count


def _cell(spec: Field, value: int | float | str | None, width: int) -> str:
    if value is None:
        return " " * width
    if spec.sss_type == "character":
        text = " ".join(str(value).split())
        return text[:width].ljust(width)
    decimals = spec.column.decimals
    text = f"{float(value):.{decimals}f}" if decimals else str(int(value))
    if len(text) > width:
        raise ValueError(f"{spec.column.name}: value {text!r} wider than {width}")
    return text.rjust(width)


def _metadata(layout: Layout, fields: list[Field], data_name: str) -> bytes:
    now = dt.datetime.now(dt.UTC)
    root = ET.Element("sss", version="2.0")
    ET.SubElement(root, "date").text = now.strftime("%d %B %Y")
    ET.SubElement(root, "time").text = now.strftime("%H:%M")
    ET.SubElement(root, "origin").text = "Gatehouse"
    survey = ET.SubElement(root, "survey")
    ET.SubElement(survey, "name").text = layout.script.id
    ET.SubElement(survey, "title").text = layout.script.title
    record = ET.SubElement(survey, "record", ident="A", href=data_name)
    for ident, spec in enumerate(fields, start=1):
        column = spec.column
        attrs = {"ident": str(ident), "type": spec.sss_type}
        if spec.column.name == "respid":
            attrs["use"] = "serial"
        variable = ET.SubElement(record, "variable", attrs)
        ET.SubElement(variable, "name").text = column.name
        ET.SubElement(variable, "label").text = column.label
        ET.SubElement(variable, "position", start=str(spec.start), finish=str(spec.finish))
        if spec.sss_type == "character":
            ET.SubElement(variable, "size").text = str(spec.finish - spec.start + 1)
            continue
        values = ET.SubElement(variable, "values")
        if spec.sss_type == "quantity" and column.value_range is not None:
            low, high = column.value_range
            if column.user_missing:
                low = min(low, *MISSING_CODES)  # the range must admit the special codes
            ET.SubElement(values, "range", {"from": _num(low, column), "to": _num(high, column)})
        for code, label in sorted(column.value_labels.items()):
            ET.SubElement(values, "value", code=str(code)).text = label
    ET.indent(root)
    header = (
        b'<?xml version="1.0" encoding="UTF-8"?>\n'
        b'<!DOCTYPE sss PUBLIC "-//triple-s//DTD Survey Interchange v2.0//EN" '
        b'"http://www.triple-s.org/dtd/sss_v20.dtd">\n'
    )
    body: bytes = ET.tostring(root, encoding="utf-8", xml_declaration=False)
    return header + body + b"\n"


def _num(value: int | float, column: Column) -> str:
    return f"{value:.{column.decimals}f}" if column.decimals else str(int(value))
