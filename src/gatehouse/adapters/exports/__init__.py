"""Result exports (C8): CSV, SPSS ``.sav`` (pyreadstat) and Triple-S (XML + fixed width).

All three are driven by one :class:`~gatehouse.adapters.exports.layout.Layout` built from the
approved script version, so codes, labels and missing values agree across formats. Rows carry
a pseudonymous respondent id and only the client fields the campaign approved for export.
"""

from __future__ import annotations

from gatehouse.adapters.exports.csvfile import write_csv
from gatehouse.adapters.exports.layout import ExportRow, Layout, build_layout
from gatehouse.adapters.exports.savfile import write_sav
from gatehouse.adapters.exports.triples import write_triple_s

__all__ = ["ExportRow", "Layout", "build_layout", "write_csv", "write_sav", "write_triple_s"]
