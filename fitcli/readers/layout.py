"""Finding the table in a file: the layout of an instrument export.

Instrument exports put lines that are not part of the table before it
(metadata, ``key: value`` lines, ``[Section]`` markers, blank lines), a
header row with the column names right before the numbers, sometimes a
units row under the header, and sometimes a closing line after the numbers
(``>>>>>End Spectral Data<<<<<``).  This module finds, from the rows at the
start of a file (and at its end), where the numeric block starts and ends,
which row is the header and which the units row, and which delimiter and
decimal mark make the block a table.

It works on *rows of fields* already split (text files: by each candidate
delimiter; spreadsheets: their cells), each field classified as a number,
text or empty (:func:`kinds`).  The rules (docs/spec.md, "Data files"):

* The numeric block is the run of rows at the end (before any closing
  lines without numbers) whose x-like column holds a number: walking back
  from the last row, a row belongs to the block while the first column that
  is numeric in the last row holds a number (a row of another width
  belongs to it while its first field is a number, so a short row is an
  error, not skipped).
* The header is the row right before the block when it has as many fields
  as the block and no number in a numeric column (or it is the first row
  of the file and has text where the data have numbers).  When the row
  right before the block looks like units (``s``, ``(deg)``, ``[V]``,
  ``counts``...) and the row before it is a header, they are header and
  units row.
* Rows between a header and the block are data: a bad first data row is
  an error on its line, never skipped.
* Every other row before the header is skipped (the preamble); rows after
  the block without any number are skipped (the closing lines).

A trailing delimiter on every row (``1.0;2.0;``) adds empty last columns,
which are dropped.
"""
from __future__ import annotations

import re
from collections import Counter
from dataclasses import dataclass, field

__all__ = ["NUM", "TEXT", "EMPTY", "Block", "find_block", "looks_like_units",
           "number_kind"]

#: Kinds of field.
EMPTY, NUM, TEXT = 0, 1, 2


def number_kind(text, decimal="."):
    """The kind of one text field: :data:`NUM` when it is a number with the
    decimal mark ``decimal`` (``nan`` and ``inf`` count as numbers),
    :data:`EMPTY` when blank, else :data:`TEXT`.  With a decimal comma a
    field holding a point is text (``1.500`` is a thousands separator in
    that convention)."""
    s = text.strip()
    if not s:
        return EMPTY
    if decimal != ".":
        if "." in s:
            return TEXT
        s = s.replace(decimal, ".")
    if "_" in s:
        return TEXT
    try:
        float(s)
    except ValueError:
        return TEXT
    return NUM


@dataclass
class Block:
    """Where the table is among the rows given to :func:`find_block`.

    Attributes
    ----------
    start : int
        Index (into the rows) of the first row of the numeric block.
    stop : int
        Index after its last row (rows from ``stop`` on are closing lines
        without numbers).
    ncols : int
        Columns of the table (a trailing empty column dropped).
    width : int
        Fields per row as split (``ncols + 1`` with a trailing delimiter).
    header : int or None
        Index of the header row.
    units : int or None
        Index of the units row.
    names : list of str or None
        Column names from the header.
    unit_names : list of str or None
    numeric : list of int
        Columns holding numbers in the block.
    text_cols : int
        Columns of text in the block (labels).
    clean : int
        Rows of the block (among those given) with a number in every
        numeric column: how well this reading explains the file.
    """

    start: int
    stop: int
    ncols: int
    width: int
    header: int | None = None
    units: int | None = None
    names: list | None = None
    unit_names: list | None = None
    numeric: list = field(default_factory=list)
    text_cols: int = 0
    empty_cols: int = 0
    clean: int = 0

    @property
    def trailing(self) -> bool:
        """Whether every row ends with empty fields (a trailing delimiter)."""
        return self.width > self.ncols

    def score(self):
        """Larger is a better reading of the file: more clean rows, at
        least two numeric columns, fewer text and empty columns, a header,
        more numeric columns."""
        return (self.clean, min(len(self.numeric), 2), -self.text_cols,
                -self.empty_cols, self.names is not None, len(self.numeric))


def _first_nonempty(kinds):
    for k in kinds:
        if k != EMPTY:
            return k
    return EMPTY


def find_block(rows, kinds, *, complete=True, header="auto", resplit=None,
               decimal="."):
    """Find the table among ``rows``.

    Parameters
    ----------
    rows : list of list of str
        The rows (blank and comment lines already left out), each split
        into fields.
    kinds : list of list of int
        :data:`NUM` / :data:`TEXT` / :data:`EMPTY` for each field.
    complete : bool
        Whether the rows reach the end of the file (only then are closing
        lines without numbers left out).
    header : 'auto', 'none' or int
        ``'none'``: no header (every row before the block is skipped);
        an int: the index of the header row (the block starts at the first
        row after it with a number).
    resplit : callable, optional
        ``resplit(i)`` -> other fields of row ``i`` for a header whose
        width does not match (whitespace-separated names containing
        single spaces, split at runs of spaces).

    Returns
    -------
    Block or None
        None when no row holds a number.
    """
    n = len(rows)
    stop = n
    if complete:
        while stop > 0 and NUM not in kinds[stop - 1]:
            stop -= 1
    if stop == 0 or NUM not in kinds[stop - 1]:
        return None
    if isinstance(header, int) and not isinstance(header, bool):
        start = header + 1
        while start < stop and _first_nonempty(kinds[start]) != NUM:
            start += 1
        if start >= stop:
            return None
        return _finish(rows, kinds, start, stop, header, forced=True,
                       resplit=resplit, decimal=decimal)
    last = kinds[stop - 1]
    width = len(last)
    first_num = last.index(NUM)
    start = stop - 1
    while start > 0:
        k = kinds[start - 1]
        if len(k) == width:
            if k[first_num] != NUM:
                break
        elif _first_nonempty(k) != NUM:
            break
        start -= 1
    return _finish(rows, kinds, start, stop, None if header == "none" else
                   "auto", forced=False, resplit=resplit, decimal=decimal)


def _finish(rows, kinds, start, stop, header, *, forced, resplit, decimal):
    block = kinds[start:stop]
    widths = Counter(len(k) for k in block)
    top = max(widths.values())
    # the most common width; ties go to the first row's width
    width = next(len(k) for k in block if widths[len(k)] == top)
    same = [k for k in block if len(k) == width]
    numeric = [j for j in range(width)
               if sum(k[j] == NUM for k in same) >= max(1, sum(k[j] == TEXT
                                                          for k in same))]
    ncols = width                # trailing columns empty in every row: dropped
    while ncols >= 2 and all(k[ncols - 1] == EMPTY for k in same):
        ncols -= 1
    numeric = [j for j in numeric if j < ncols]
    text_cols = sum(1 for j in range(ncols) if j not in numeric and
                    any(k[j] == TEXT for k in same))
    empty_cols = sum(1 for j in range(ncols) if all(k[j] == EMPTY
                                                     for k in same))
    clean = sum(1 for k in block if len(k) == width and
                all(k[j] != TEXT for j in numeric))
    out = Block(start=start, stop=stop, ncols=ncols, width=width,
                numeric=numeric, text_cols=text_cols, clean=clean,
                empty_cols=empty_cols)
    if header is None:
        return out
    if forced:
        # a header given by its line may name more columns than there are
        fields = rows[header]
        if len(fields) > out.ncols:
            named = [f for f in fields if f.strip()]
            fields = named if len(named) == out.ncols else fields
        if len(fields) < out.ncols:
            fields = None
        if fields is None and resplit is not None:
            fields = _fit(out, resplit(header))
        if fields is not None:
            fields = fields[:out.ncols]
        out.header = header
        out.names = None if fields is None else [f.strip() for f in fields]
        if start == header + 2:
            fields = _fit(out, rows[header + 1])
            if fields is not None and looks_like_units(fields):
                out.units, out.unit_names = header + 1, fields
        return out
    # the header is right before the block, or two rows up with a units row
    # between; rows between a header and the block are data (errors)
    cand = []
    for back in (1, 2, 3):
        i = start - back
        if i < 0:
            break
        fields = _fit(out, rows[i])
        if fields is None and resplit is not None:
            fields = _fit(out, resplit(i))
        if fields is not None and _header_like(out, fields, decimal):
            cand.append((i, fields))
    if not cand:
        if start == 1:
            _first_row_header(out, rows, kinds)
        return out
    i, fields = cand[0]
    if i == start - 1 and len(cand) > 1 and cand[1][0] == i - 1 and \
            looks_like_units(fields):
        out.units, out.unit_names = i, fields
        i, fields = cand[1]
    elif i < start - 1:
        out.start = i + 1          # rows between header and block: data
    out.header, out.names = i, [f.strip() for f in fields]
    return out


def _first_row_header(out, rows, kinds):
    """The first row, right before the block, is its header when it has
    text where the block's first row has a number (numeric column names
    such as ``time,400,500,600``)."""
    first, second = kinds[0], kinds[out.start]
    if len(first) != out.width or len(second) != out.width:
        return
    if any(a == TEXT and b == NUM for a, b in zip(first, second)):
        out.header = 0
        out.names = [f.strip() for f in rows[0][:out.ncols]]


def _fit(out, fields):
    """``fields`` as a header of ``out`` (names over trailing empty columns
    dropped), or None when the count does not match."""
    if fields is None or not out.ncols <= len(fields) <= out.width:
        return None
    return list(fields[:out.ncols])


def _header_like(out, fields, decimal):
    """Some text, and no number in a numeric column of the block."""
    return any(f.strip() for f in fields) and not any(
        number_kind(fields[j], decimal) == NUM for j in out.numeric
        if j < len(fields))


# ------------------------------------------------------------------ units
_PREFIXES = "yzafpnuµμmcdhkMGTPE"
_UNITS = {
    "s", "sec", "secs", "second", "seconds", "min", "h", "hr", "hrs", "hour",
    "hours", "day", "days", "m", "g", "a", "amp", "amps", "ampere", "k",
    "kelvin", "mol", "cd", "hz", "n", "pa", "j", "w", "watt", "watts", "c",
    "v", "volt", "volts", "f", "ω", "ohm", "ohms", "s/m", "wb", "t", "tesla",
    "h", "°", "°c", "°f", "degc", "degf", "deg", "degree", "degrees",
    "celsius", "rad", "sr", "ev", "å", "angstrom", "l", "bar", "atm",
    "torr", "psi", "oe", "gauss", "count", "counts", "cts", "cps", "a.u.",
    "au", "arb", "arb.u.", "a.u", "arb.units", "arbitrary", "units", "%",
    "ppm", "ppb", "db", "dbm", "1", "cm-1", "cm^-1", "counts/s", "abs",
    "absorbance", "rel", "norm", "normalized", "pixel", "pixels", "px",
    "2θ", "θ", "2theta", "theta", "k", "mm/s",
}
_BRACKETS = ("()", "[]", "{}", "<>")
_UNIT_TOKEN = re.compile(r"[^\s/*·.^\-]+")


def looks_like_units(fields):
    """Whether a row reads as units: every non-empty field is bracketed
    (``(s)``, ``[V]``) or made of known unit words with SI prefixes and
    powers (``mV``, ``counts/s``, ``cm^-1``, ``°C``); at least one field is
    not empty."""
    if fields is None:
        return False
    seen = False
    for f in fields:
        s = f.strip()
        if not s:
            continue
        seen = True
        if len(s) >= 2 and any(s[0] == a and s[-1] == b for a, b in _BRACKETS):
            continue
        if len(s) > 16 or not _unit_text(s):
            return False
    return seen


def _unit_text(s):
    low = s.lower()
    if low in _UNITS:
        return True
    tokens = _UNIT_TOKEN.findall(s)
    if not tokens:
        return False
    for tok in tokens:
        t = tok.rstrip("0123456789²³")
        if not t:
            continue
        if t.lower() in _UNITS:
            continue
        if len(t) > 1 and t[0] in _PREFIXES and t[1:].lower() in _UNITS:
            continue
        return False
    return True
