"""Excel workbooks (``.xlsx``, ``.xlsm``): one sheet as a table.

Needs openpyxl (``pip install 'fitcli[excel]'``), imported here only.  The
sheet's cells are rows of fields like a text file's, so the table is found
by the same rules (:mod:`fitcli.readers.layout`): rows before it that are
not part of it skipped, the header the row right above the numbers, a
units row under it; ``data.skip_rows`` and ``data.header_row`` (a row
number, counted from 1 as Excel shows it) say the rest.  Columns are
counted from the sheet's column A (index 0), so ``x: 2`` is column C.
Numbers are cells holding numbers (or text that reads as a number, with a
decimal point); an empty cell is a missing value; formulas give the value
Excel saved with the file.

The workbook is a zip archive: the sizes its entries declare are summed
and checked against ``MAX_DATA_BYTES`` before anything is decompressed (a
small file that expands to gigabytes is refused unread), and no entry is
decompressed beyond its declared size.
"""
from __future__ import annotations

import io
import math

import numpy as np

from .missing import missing_extra
from .layout import EMPTY, NUM, TEXT, find_block, number_kind
from .table import Table, check_names

__all__ = ["read_excel", "column_letter"]


def column_letter(j):
    """Excel's name of the 0-based column ``j``: ``A``, ..., ``Z``,
    ``AA``..."""
    out = ""
    j += 1
    while j:
        j, r = divmod(j - 1, 26)
        out = chr(65 + r) + out
    return out


def _check_archive(raw, err):
    """Refuse what is not a zip archive, or one whose contents would pass
    MAX_DATA_BYTES when decompressed."""
    import zipfile

    from ..limits import exceeded, limit
    try:
        with zipfile.ZipFile(io.BytesIO(raw)) as z:
            infos = z.infolist()
    except (zipfile.BadZipFile, OSError, EOFError) as exc:
        raise err.data_error(
            f"not an Excel .xlsx workbook ({exc}); an old .xls workbook must "
            "be saved as .xlsx or CSV first", sub="file") from None
    total = sum(i.file_size for i in infos)
    if total > limit("MAX_DATA_BYTES"):
        raise err.data_error(exceeded("MAX_DATA_BYTES", total, "the workbook",
                                      detail=" when decompressed").message,
                             sub="file")


def _openpyxl(path):
    try:
        import openpyxl
    except ImportError:
        raise missing_extra(path, ".xlsx", "openpyxl", "excel") from None
    return openpyxl


def _sheet(wb, sheet, err):
    names = list(wb.sheetnames)
    if sheet is None:
        return wb[names[0]], names[0]
    if isinstance(sheet, int) and not isinstance(sheet, bool):
        if sheet >= len(names):
            raise err.data_error(
                f"sheet index {sheet} is out of range: the workbook has "
                f"{len(names)} sheet{'s' * (len(names) != 1)} (0-based: "
                f"0..{len(names) - 1}): {', '.join(map(repr, names))}",
                sub="sheet")
        return wb[names[sheet]], names[sheet]
    if sheet not in names:
        import difflib
        near = difflib.get_close_matches(sheet, names, n=1)
        hint = f"; did you mean {near[0]!r}?" if near else ""
        raise err.data_error(f"no sheet named {sheet!r}{hint} (sheets: "
                             f"{', '.join(map(repr, names))})", sub="sheet")
    return wb[sheet], sheet


def _kind(v):
    if v is None:
        return EMPTY
    if isinstance(v, bool):
        return TEXT
    if isinstance(v, (int, float)):
        return NUM
    if isinstance(v, str):
        return number_kind(v)
    return TEXT


def _text(v):
    if v is None:
        return ""
    if isinstance(v, float) and v.is_integer():
        return repr(v)
    return str(v)


def read_excel(path, raw, opts, err, *, sheet=None):
    """The table on a sheet of the workbook ``raw`` (its bytes).

    Parameters
    ----------
    path : str
        The file, for messages.
    raw : bytes
    opts : TextOptions
        ``skip_rows`` and ``header_row`` apply (rows, counted from 1).
    err : object
        Makes DataErrors.
    sheet : str or int, optional
        Name, or 0-based index; default the first sheet.

    Returns
    -------
    ExcelTable
    """
    _check_archive(raw, err)
    openpyxl = _openpyxl(path)
    import warnings
    try:
        with warnings.catch_warnings():
            # openpyxl warns about workbook features it drops (data
            # validation, conditional formats): they do not change values
            warnings.simplefilter("ignore")
            wb = openpyxl.load_workbook(io.BytesIO(raw), read_only=True,
                                        data_only=True)
    except Exception as exc:    # noqa: BLE001 - any failure: not readable
        raise err.data_error(f"cannot read the workbook: {type(exc).__name__}"
                             f": {exc}", sub="file") from None
    try:
        ws, name = _sheet(wb, sheet, err)
        rows, kinds, numbers = [], [], []
        for r, values in enumerate(ws.iter_rows(min_row=1, min_col=1,
                                                values_only=True), 1):
            if r <= opts.skip_rows:
                continue
            k = [_kind(v) for v in values]
            if all(x == EMPTY for x in k):
                continue
            rows.append(list(values))
            kinds.append(k)
            numbers.append(r)
    finally:
        wb.close()
    return ExcelTable(rows, kinds, numbers, name, opts, err)


class ExcelTable(Table):
    """The table found on a sheet; row numbers are Excel's (from 1)."""

    kind = "excel"

    def __init__(self, rows, kinds, numbers, sheet, opts, err):
        self.sheet = sheet
        texts = [[_text(v) for v in row] for row in rows]
        header = "auto"
        if opts.header_row == "none":
            header = "none"
        elif isinstance(opts.header_row, int):
            if opts.header_row not in numbers:
                why = ("is skipped by data.skip_rows"
                       if opts.header_row <= opts.skip_rows else "is empty")
                raise err.data_error(f"data.header_row {opts.header_row}: "
                                     f"row {opts.header_row} of sheet "
                                     f"{sheet!r} {why}", sub="header_row")
            header = numbers.index(opts.header_row)
        block = find_block(texts, kinds, header=header) if rows else None
        if block is None:
            skipped = (f" after the {opts.skip_rows} rows of data.skip_rows"
                       if opts.skip_rows else "")
            raise err.data_error(f"no rows of numbers on sheet {sheet!r}"
                                 f"{skipped}; choose another sheet with "
                                 "data.sheet (a name or 0-based index)",
                                 sub="file")
        self.ncols = block.ncols
        self.header_line = None if block.header is None \
            else numbers[block.header]
        self.units_line = None if block.units is None \
            else numbers[block.units]
        if block.names is not None:
            self.names = [n or column_letter(j)
                          for j, n in enumerate(block.names)]
            check_names(self.names, self.header_line, err)
        self.skipped = numbers[block.header if block.header is not None
                               else block.start] - 1
        self.closing = len(rows) - block.stop
        self._rows = rows[block.start:block.stop]
        self.lines = np.asarray(numbers[block.start:block.stop],
                                dtype=np.int64)
        self.first_line = int(self.lines[0])
        self.nrows = len(self._rows)
        self.err = err

    def describe_layout(self):
        parts = [f"header on row {self.header_line}"
                 if self.names is not None else "no header"]
        if self.units_line is not None:
            parts.append(f"units on row {self.units_line}")
        if self.skipped:
            parts.append(f"row{'s' * (self.skipped > 1)} "
                         f"{'1-' if self.skipped > 1 else ''}{self.skipped} "
                         "skipped")
        return (f"read sheet {self.sheet!r} as {self.ncols} column"
                f"{'s' * (self.ncols != 1)} (A..{column_letter(self.ncols - 1)})"
                f" from row {self.first_line} ({'; '.join(parts)})")

    def hint(self, ref):
        found = "; " + self.describe_layout()
        if isinstance(ref, str):
            return (f"{found}; if the names are on another row, give its "
                    "number as data.header_row; for another sheet set "
                    "data.sheet")
        return found

    def field_text(self, j, i):
        row = self._rows[i]
        return _text(row[j]) if j < len(row) else ""

    def column(self, j, err, sub):
        out = np.empty(self.nrows)
        for i, row in enumerate(self._rows):
            v = row[j] if j < len(row) else None
            if v is None:
                out[i] = math.nan
            elif isinstance(v, (int, float)) and not isinstance(v, bool):
                out[i] = float(v)
            elif isinstance(v, str) and number_kind(v) in (NUM, EMPTY):
                out[i] = float(v) if v.strip() else math.nan
            else:
                raise err.data_error(
                    f"column {self.label(j)}: cell {column_letter(j)}"
                    f"{int(self.lines[i])} holds {_text(v)!r}, not a number",
                    line=int(self.lines[i]), sub=sub)
        return out
