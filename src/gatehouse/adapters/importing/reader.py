"""Stream rows out of CSV and XLSX files, refusing hostile files with a clear reason.

CSV: encoding detected with charset-normalizer (a BOM wins), delimiter sniffed among
``, ; tab``, a field size cap (a 50 MB field is refused, not read into memory). XLSX: read
with openpyxl in read-only mode after checking the zip's uncompressed size and compression
ratio (a zip bomb is refused before anything is inflated).
"""

from __future__ import annotations

import codecs
import csv
import io
import zipfile
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

from charset_normalizer import from_bytes

from gatehouse.domain.errors import ValidationFailed

MAX_FIELD = 64 * 1024  # characters: no contact field is longer
MAX_XLSX_UNCOMPRESSED = 512 * 1024 * 1024
MAX_XLSX_RATIO = 200


class BadFile(ValidationFailed):
    error_id = "bad-contact-file"


@dataclass
class Table:
    headers: list[str]
    rows: Iterator[tuple[int, list[str]]]  # (1-based row number in the file, cells)
    encoding: str = ""
    delimiter: str = ""


def open_table(path: Path) -> Table:
    if path.stat().st_size == 0:
        raise BadFile(f"{path.name} is empty")
    if path.suffix.lower() in (".xlsx", ".xlsm"):
        return _xlsx(path)
    return _csv(path)


def _csv(path: Path) -> Table:
    with path.open("rb") as f:
        head = f.read(256 * 1024)
    if head.startswith(codecs.BOM_UTF8):
        encoding = "utf-8-sig"
    elif head.startswith((codecs.BOM_UTF16_LE, codecs.BOM_UTF16_BE)):
        encoding = "utf-16"
    else:
        best = from_bytes(head).best()
        encoding = best.encoding if best else "utf-8"
    sample = head.decode(encoding, errors="replace")
    # The header line decides: quotes in data rows confuse csv.Sniffer.
    first_line = sample.splitlines()[0] if sample else ""
    counts = {d: first_line.count(d) for d in (",", ";", "\t")}
    delimiter = max(counts, key=lambda d: counts[d]) if any(counts.values()) else ","
    handle = path.open("r", encoding=encoding, errors="strict", newline="")
    csv.field_size_limit(MAX_FIELD)
    reader = csv.reader(handle, delimiter=delimiter)
    try:
        headers = next(reader)
    except StopIteration:
        handle.close()
        raise BadFile(f"{path.name} has no header row") from None
    except (csv.Error, UnicodeDecodeError) as exc:
        handle.close()
        raise BadFile(f"{path.name}: the header row cannot be read ({exc})") from None

    def rows() -> Iterator[tuple[int, list[str]]]:
        try:
            yield from enumerate(reader, start=2)
        except csv.Error as exc:
            raise BadFile(
                f"{path.name} line {reader.line_num}: {exc} (nothing was imported)"
            ) from None
        except UnicodeDecodeError as exc:
            raise BadFile(
                f"{path.name} line {reader.line_num}: not valid {encoding} ({exc.reason}); "
                "nothing was imported"
            ) from None
        finally:
            handle.close()

    return Table(headers, rows(), encoding, delimiter)


def _xlsx(path: Path) -> Table:
    try:
        with zipfile.ZipFile(path) as archive:
            total = sum(info.file_size for info in archive.infolist())
            packed = sum(info.compress_size for info in archive.infolist()) or 1
    except zipfile.BadZipFile:
        raise BadFile(f"{path.name} is not a valid XLSX file") from None
    if total > MAX_XLSX_UNCOMPRESSED or total / packed > MAX_XLSX_RATIO:
        raise BadFile(
            f"{path.name} inflates to {total // (1024 * 1024)} MiB "
            f"({total / packed:.0f}× its size): refused as a possible zip bomb"
        )
    import openpyxl

    try:
        book = openpyxl.load_workbook(io.BytesIO(path.read_bytes()), read_only=True, data_only=True)
    except Exception as exc:
        raise BadFile(f"{path.name} cannot be read as a workbook ({type(exc).__name__})") from None
    sheet = book.worksheets[0]
    values = sheet.iter_rows(values_only=True)
    try:
        headers = ["" if v is None else str(v) for v in next(values)]
    except StopIteration:
        book.close()
        raise BadFile(f"{path.name} has no header row") from None

    def rows() -> Iterator[tuple[int, list[str]]]:
        try:
            for number, row in enumerate(values, start=2):
                cells = ["" if v is None else str(v) for v in row]
                if any(len(c) > MAX_FIELD for c in cells):
                    raise BadFile(
                        f"{path.name} row {number}: a cell longer than {MAX_FIELD} characters"
                    )
                yield number, cells
        finally:
            book.close()

    return Table(headers, rows())
