"""Text tables: CSV, TSV, whitespace-separated and instrument exports.

:func:`read_text` takes the bytes of a data file and finds the table in
it: the encoding (a byte-order mark, ``data.encoding``, else UTF-8), the
line ends (``\\n``, ``\\r\\n`` or ``\\r`` alone), the delimiter and the
decimal mark (from the file's suffix and its rows, unless given), the rows
before the table that are not part of it, the header and units rows
(:mod:`fitcli.readers.layout`).  Only the first :data:`HEAD_LINES` lines
and the last :data:`TAIL_LINES` are looked at for that.

The numbers of the block are then read at once by numpy's text parser (the
fast path, about as fast as :func:`numpy.loadtxt` and holding no Python
object per field); when it refuses the block (a missing value, a text
field, a row of another length) the block is read again line by line,
which either reads it (empty fields are missing values) or raises the
error located at its line.
"""
from __future__ import annotations

import codecs
import io
import itertools
import math
import re

import numpy as np

from .layout import EMPTY, NUM, TEXT, find_block, number_kind
from .table import Table, check_names, delimiter_name

__all__ = ["TextOptions", "read_text", "HEAD_LINES", "TAIL_LINES",
           "ENCODINGS", "WHITESPACE"]

#: Lines read from the start of a file to find the table.
HEAD_LINES = 2000
#: Lines looked at first: when the table starts in their first half and
#: runs to their end, the rest of the head would say nothing new (a batch
#: of plain CSV files is read twice as fast); otherwise the whole head.
QUICK_LINES = 100
_CHUNK = 1 << 16
#: Lines read from the end of a large file to find closing lines.
TAIL_LINES = 200
WHITESPACE = "whitespace"

#: Encodings accepted by ``data.encoding`` (Python's names and aliases
#: work too): name -> what it is, for messages.
ENCODINGS = {
    "utf-8": "Unicode (the default; a byte-order mark is allowed)",
    "utf-16": "Unicode in 2-byte units, with a byte-order mark",
    "utf-16-le": "UTF-16 little-endian without a byte-order mark",
    "utf-16-be": "UTF-16 big-endian without a byte-order mark",
    "latin-1": "ISO 8859-1, Western European",
    "cp1252": "Windows Western European",
    "ascii": "7-bit ASCII",
}

_SUFFIX_ORDER = {
    ".csv": (",", ";", "\t", WHITESPACE),
    ".tsv": ("\t", WHITESPACE, ",", ";"),
    ".tab": ("\t", WHITESPACE, ",", ";"),
}
_DEFAULT_ORDER = ("\t", WHITESPACE, ",", ";")
_RESPLIT = re.compile(r"\t| {2,}")


class TextOptions:
    """How to read a text table (the ``data:`` keys of a spec).

    Parameters
    ----------
    delimiter : str or None
        ``None``: found from the suffix and the rows; ``'whitespace'`` or
        one character.
    decimal : {None, '.', ','}
        Decimal mark; None: found from the rows.
    comment : str or None
        Character that starts a comment (default ``'#'``); None: none.
    skip_rows : int
        Lines skipped before anything is looked at.
    header_row : None, 'none' or int
        1-based line of the header; ``'none'``: the file has no header.
    encoding : str or None
        Text encoding; None: a byte-order mark, else UTF-8.
    """

    def __init__(self, delimiter=None, decimal=None, comment="#",
                 skip_rows=0, header_row=None, encoding=None):
        self.delimiter = delimiter
        self.decimal = decimal
        self.comment = comment
        self.skip_rows = int(skip_rows or 0)
        self.header_row = header_row
        self.encoding = encoding


# ----------------------------------------------------------------- decoding
_BOMS = ((codecs.BOM_UTF8, "utf-8"), (codecs.BOM_UTF16_LE, "utf-16-le"),
         (codecs.BOM_UTF16_BE, "utf-16-be"))


def _ascii_compatible(encoding):
    return codecs.lookup(encoding).name in (
        "utf-8", "iso8859-1", "cp1252", "ascii", "latin-1")


def to_bytes(raw, opts, err):
    """``(buf, encoding)``: the file as bytes in an ASCII-compatible
    encoding with ``\\n`` line ends (a BOM removed; UTF-16 re-encoded as
    UTF-8; lone ``\\r`` line ends made ``\\n``)."""
    raw = bytes(raw) if not isinstance(raw, bytes) else raw
    enc = opts.encoding
    bom = bom_len = None
    for mark, name in _BOMS:
        if raw.startswith(mark):
            bom, bom_len = name, len(mark)
            break
    if enc is None:
        enc = bom or "utf-8"
    elif bom is not None and codecs.lookup(enc).name[:6] == bom[:6]:
        enc = bom                   # utf-16 + a little-endian mark
    if bom is not None and codecs.lookup(enc).name == codecs.lookup(bom).name:
        raw = raw[bom_len:]
    if _ascii_compatible(enc):
        buf = raw
        if codecs.lookup(enc).name in ("utf-8", "ascii") and not buf.isascii():
            try:
                buf.decode(enc)
            except UnicodeDecodeError as exc:
                line = buf[:exc.start].count(b"\n") + 1
                byte = buf[exc.start]
                raise err.data_error(
                    f"not {'UTF-8' if enc == 'utf-8' else enc} text: byte "
                    f"0x{byte:02x} (a binary file?); data files must be CSV, "
                    "TSV or whitespace-separated text; for text in another "
                    "encoding set data.encoding (latin-1 for Western "
                    "European Windows/instrument files, utf-16)", line=line,
                    sub="file") from None
        if b"\x00" in buf[:65536]:
            line = buf[:buf.index(b"\x00")].count(b"\n") + 1
            raise err.data_error(
                "not UTF-8 text: the file holds NUL bytes (a binary file, "
                "or UTF-16 text without a byte-order mark: set "
                "data.encoding: utf-16-le)", line=line, sub="file")
    else:
        try:
            text = raw.decode(enc)
        except UnicodeDecodeError as exc:
            raise err.data_error(
                f"not {enc} text (data.encoding): {exc.reason} at byte "
                f"{exc.start}", sub="file") from None
        buf = text.encode("utf-8")
        del text
        enc = "utf-8"
    if b"\r" in buf:
        if b"\n" not in buf:
            buf = buf.replace(b"\r", b"\n")       # classic Mac line ends
    return buf, enc


# ------------------------------------------------------------------ splitting
def split_fields(line, delim):
    """The fields of one line (a whitespace delimiter: runs of blanks;
    double-quoted fields allowed with a character delimiter)."""
    if delim == WHITESPACE:
        return line.split()
    if '"' in line:
        import csv
        return next(csv.reader([line], delimiter=delim))
    return line.split(delim)


def _strip_comment(line, comment):
    """``(text, is_comment_line)``: the line without its comment."""
    if comment and comment in line:
        i = line.index(comment)
        if not line[:i].strip():
            return "", True
        return line[:i], False
    return line, False


class _Head:
    """The non-blank, non-comment lines at the start of a file."""

    def __init__(self, buf, enc, opts, limit=HEAD_LINES):
        self.skip = opts.skip_rows
        off, line = 0, 0
        n = len(buf)
        while line < self.skip and off < n:
            nl = buf.find(b"\n", off)
            off = n if nl < 0 else nl + 1
            line += 1
        self.start_off = off
        self.texts, self.linenos = [], []
        header_row = opts.header_row if isinstance(opts.header_row, int) \
            else None
        nlines = 0                      # physical lines looked at
        end = off
        # in chunks of whole lines, until HEAD_LINES rows with text (a run
        # of blank lines costs no Python work per line)
        while len(self.texts) < limit and end < n:
            cut = buf.rfind(b"\n", end, end + _CHUNK)
            stop = n if cut < 0 or end + _CHUNK >= n else cut + 1
            lines = buf[end:stop].decode(enc).split("\n")
            if lines and lines[-1] == "":
                lines.pop()
            for i, raw in enumerate(lines):
                lineno = self.skip + nlines + i + 1
                raw = raw.rstrip("\r")
                s, is_comment = _strip_comment(raw, opts.comment)
                if is_comment and lineno == header_row:
                    s = raw.strip().lstrip(opts.comment)
                if not s.strip():
                    continue
                self.texts.append(s)
                self.linenos.append(lineno)
                if len(self.texts) >= limit:
                    # stop after this line
                    stop = end + len("\n".join(lines[:i + 1]).encode(enc)) + 1
                    nlines += i + 1
                    break
            else:
                nlines += len(lines)
            end = min(stop, n)
        self.complete = end >= n
        self.nlines = nlines
        self.end_off = end


class _Reading:
    """One candidate reading of the head: delimiter, decimal, block."""

    def __init__(self, head, delim, decimal, header):
        self.delim, self.decimal = delim, decimal
        rows, kinds, lines = [], [], []
        for text, lineno in zip(head.texts, head.linenos):
            fields = split_fields(text, delim)
            k = [number_kind(f, decimal) for f in fields]
            if all(x == EMPTY for x in k):
                continue                        # ';;;' : an empty row
            rows.append(fields)
            kinds.append(k)
            lines.append(lineno)
        self.rows, self.kinds, self.lines = rows, kinds, lines
        hdr = header
        if isinstance(header, int) and not isinstance(header, bool):
            hdr = lines.index(header) if header in lines else None
        resplit = None
        if delim == WHITESPACE:
            def resplit(i):
                return _RESPLIT.split(rows[i] and
                                      head.texts[head.linenos.index(
                                          lines[i])].strip())
        self.block = None
        if hdr is not None:
            self.block = find_block(rows, kinds, complete=head.complete,
                                    header=hdr, resplit=resplit,
                                    decimal=decimal)

    def score(self, pref):
        return (self.block.score(), -pref)


def _candidates(opts, suffix):
    delims = (opts.delimiter,) if opts.delimiter else \
        _SUFFIX_ORDER.get(suffix, _DEFAULT_ORDER)
    out = []
    for d in delims:
        decs = (opts.decimal,) if opts.decimal else \
            ((".",) if d == "," else (".", ","))
        for dec in decs:
            if dec == d:
                continue
            out.append((d, dec))
    return out


_BLANK = re.compile(r"\s")


def _best(head, opts, suffix, header):
    best = None
    texts = head.texts
    blank = any(_BLANK.search(t) for t in texts)
    once = set()
    for pref, (d, dec) in enumerate(_candidates(opts, suffix)):
        if not (blank if d == WHITESPACE else any(d in t for t in texts)):
            # a delimiter found in no line: every row is one field, as with
            # any other such delimiter tried before (which won the tie)
            if dec in once:
                continue
            once.add(dec)
        r = _Reading(head, d, dec, header)
        if r.block is None:
            continue
        if best is None or r.score(pref) > best[0]:
            best = (r.score(pref), r)
    return None if best is None else best[1]


# -------------------------------------------------------------------- reading
def read_text(raw, suffix, opts, err):
    """Find and describe the table in a text file.

    Parameters
    ----------
    raw : bytes
        The file's bytes (decompressed).
    suffix : str
        Its suffix (``'.csv'``...; ``.gz`` removed), for the default
        delimiter.
    opts : TextOptions
    err : object
        Makes :class:`~fitcli.errors.DataError` (``data_error(msg, line=,
        sub=)``).

    Returns
    -------
    TextTable
    """
    buf, enc = to_bytes(raw, opts, err)
    head = _Head(buf, enc, opts, QUICK_LINES)
    reading = _quick_reading(head, opts, suffix)
    if reading is None and not head.complete:
        head = _Head(buf, enc, opts)
    if opts.header_row == "none":
        header = "none"
    elif isinstance(opts.header_row, int) and \
            not isinstance(opts.header_row, bool):
        header = opts.header_row
        if header <= opts.skip_rows or header not in head.linenos:
            why = ("is skipped by data.skip_rows" if header <= opts.skip_rows
                   else "is blank" if header <= head.skip + head.nlines
                   else "is past the lines read")
            raise err.data_error(f"data.header_row {header}: that line {why}",
                                 sub="header_row")
    else:
        header = "auto"
    if reading is None:
        reading = _best(head, opts, suffix, header)
    if reading is None:
        msg, line = _no_table(head, opts, suffix)
        raise err.data_error(msg, line=line, sub="file")
    table = TextTable(buf, enc, head, reading, opts, suffix, err)
    table._head, table._suffix, table._header = head, suffix, header
    return table


def _quick_reading(head, opts, suffix):
    """The reading of the first :data:`QUICK_LINES` lines when they settle
    the layout (see there), else None (the whole head is read)."""
    if head.complete:
        return None                   # the whole file: the usual reading
    header = opts.header_row
    if header == "none":
        pass
    elif isinstance(header, int) and not isinstance(header, bool):
        if header not in head.linenos:
            return None
    else:
        header = "auto"
    reading = _best(head, opts, suffix, header)
    if reading is None:
        return None
    b = reading.block
    rows = len(reading.rows)
    # settled: a table of numbers only (no label columns), starting in the
    # first half, every row of it clean and running to the end
    if b.stop != rows or b.start > rows // 2 or b.text_cols or \
            b.empty_cols or len(b.numeric) != b.ncols or \
            b.clean != b.stop - b.start:
        return None
    return reading


def _no_table(head, opts, suffix):
    """``(message, line)`` for a file where no row holds numbers."""
    cands = _candidates(opts, suffix)
    tried = list(dict.fromkeys(delimiter_name(d) for d, _ in cands))
    if not head.texts:
        return ("no data rows (the file is empty or has only comments and "
                "blank lines)" + (f" after the {opts.skip_rows} lines of "
                                  "data.skip_rows" if opts.skip_rows else ""),
                None)
    last = head.texts[-1]
    if head.complete and len(head.texts) == 1 and \
            len(split_fields(last, cands[0][0])) > 1:
        return ("no data rows: the file has a header row but no data below "
                f"it ({last.strip()[:40]!r}; no line holds numbers separated "
                f"by {', '.join(tried)})", head.linenos[-1])
    first = head.texts[0].strip()
    if len(first) > 40:
        first = first[:37] + "..."
    dec = f" with decimal mark {opts.decimal!r}" if opts.decimal else ""
    return (f"no rows of numbers found (lines {head.linenos[0]}-"
            f"{head.linenos[-1]} split by {', '.join(tried)}{dec}; line "
            f"{head.linenos[0]} reads {first!r}); if the numbers are "
            "separated by another character set data.delimiter, if they use "
            "a decimal comma set data.decimal: ','", head.linenos[0])


class TextTable(Table):
    """The table found in a text file; its columns are read on demand
    (:meth:`load`)."""

    kind = "text"

    def __init__(self, buf, enc, head, reading, opts, suffix, err):
        b = reading.block
        self.buf, self.enc, self.opts, self.err = buf, enc, opts, err
        self.delim, self.decimal = reading.delim, reading.decimal
        self.comment = opts.comment
        self.width, self.ncols = b.width, b.ncols
        self.numeric = b.numeric
        self.names = b.names
        lines = reading.lines
        if self.names is not None and opts.comment and isinstance(
                opts.header_row, int):
            # a header given by its line may be a comment: '#x  #y'
            self.names = [n.lstrip(opts.comment).strip() for n in self.names]
        self.header_line = None if b.header is None else lines[b.header]
        self.units_line = None if b.units is None else lines[b.units]
        self.units = b.unit_names
        self.first_line = lines[b.start]
        self.skipped_before = lines[b.header if b.header is not None
                                    else b.start] - 1
        self.delim_given = opts.delimiter is not None
        self.decimal_given = opts.decimal is not None
        self._reading = reading
        # the block runs to the end of the file, less closing lines
        if head.complete:
            last = lines[b.stop - 1]
            self.end_line = last + 1
            self.closing = len(lines) - b.stop
            self.end_off = None
        else:
            self.end_line, self.closing, self.end_off = self._tail(head)
        self.nrows = None
        self._cache = {}
        self.lines = None
        if self.names is not None:
            check_names(self.names, self.header_line, err)

    # ------------------------------------------------------------ layout
    def _tail(self, head):
        """``(end_line, closing, end_off)`` from the last lines of a large
        file: the block's end line and byte offset, and how many closing
        lines (without numbers) follow it."""
        buf = self.buf
        total = buf.count(b"\n") + (0 if buf.endswith(b"\n") else 1)
        off = len(buf)
        for _ in range(TAIL_LINES + 1):
            p = buf.rfind(b"\n", 0, off - 1 if off > 0 else 0)
            if p < 0:
                break
            off = p + 1
        lines = buf[off:].split(b"\n")
        if lines and lines[-1] == b"":
            lines.pop()
        starts = [off]
        for line in lines:
            starts.append(starts[-1] + len(line) + 1)
        first = total - len(lines) + 1
        end, closing, end_off = total + 1, 0, len(buf)
        for k in range(len(lines) - 1, -1, -1):
            text = lines[k].decode(self.enc).rstrip("\r")
            s, _ = _strip_comment(text, self.comment)
            if not s.strip():
                continue
            kinds = [number_kind(f, self.decimal)
                     for f in split_fields(s, self.delim)]
            if NUM in kinds or all(x == EMPTY for x in kinds):
                break
            end, closing, end_off = first + k, closing + 1, starts[k]
        return end, closing, end_off

    def describe_layout(self):
        """What was found, one line: ``2 columns separated by tabs from
        line 8 (header on line 6, units on line 7; lines 1-5 skipped)``."""
        sep = delimiter_name(self.delim)
        parts = []
        if self.names is not None:
            parts.append(f"header on line {self.header_line}")
        else:
            parts.append("no header")
        if self.units_line is not None:
            parts.append(f"units on line {self.units_line}")
        if self.skipped_before:
            parts.append(f"line{'s' * (self.skipped_before > 1)} "
                         f"{'1-' if self.skipped_before > 1 else ''}"
                         f"{self.skipped_before} skipped")
        if self.closing:
            parts.append(f"{self.closing} closing line"
                         f"{'s' * (self.closing > 1)} without numbers "
                         "skipped")
        dec = " with decimal comma" if self.decimal == "," else ""
        trail = ", each row ending with the delimiter" if \
            self.width > self.ncols else ""
        return (f"read as {self.ncols} column{'s' * (self.ncols != 1)} "
                f"separated by {sep}{dec}{trail} from line "
                f"{self.first_line} ({'; '.join(parts)})")

    def hint(self, ref):
        """What was found, and an option that would give column ``ref``."""
        found = "; " + self.describe_layout()
        opts = self.opts
        if opts.delimiter is not None or opts.decimal is not None:
            free = TextOptions(comment=opts.comment, skip_rows=opts.skip_rows,
                               header_row=opts.header_row,
                               encoding=opts.encoding)
            alt = _best(self._head, free, self._suffix, self._header)
            if alt is not None and (alt.delim, alt.decimal) != (
                    self.delim, self.decimal) and _has(alt, ref):
                b = alt.block
                cols = (f"the columns {', '.join(b.names)}" if b.names
                        else f"{b.ncols} columns")
                given = " and ".join(k for k in ("delimiter", "decimal")
                                     if getattr(opts, k) is not None)
                dec = " and decimal comma" if alt.decimal == "," else ""
                return (f"{found}; with delimiter {delimiter_name(alt.delim)}"
                        f"{dec} it has {cols}: remove data.{given} (then "
                        "both are found from the file) or set "
                        f"data.delimiter: {alt.delim!r}")
        if isinstance(ref, str) and self.names is None:
            return (f"{found}; if the column names are on a line above the "
                    "numbers, give its number as data.header_row")
        if isinstance(ref, str) and self.header_line is not None:
            return (f"{found}; if the names are on another line, give its "
                    "number as data.header_row")
        return found

    # ----------------------------------------------------------- reading
    def _region(self):
        """Byte offsets of the block's lines [first_line, end_line)."""
        buf = self.buf
        off, line = 0, 1
        while line < self.first_line:
            off = buf.index(b"\n", off) + 1
            line += 1
        start = end = off
        if self.end_off is not None:
            return start, self.end_off
        for _ in range(self.end_line - self.first_line):   # a small file
            nl = buf.find(b"\n", end)
            if nl < 0:
                end = len(buf)
                break
            end = nl + 1
        return start, end

    def load(self, columns):
        """Read the block; ``columns`` are the column indices needed (the
        others are checked only for their number of fields)."""
        if self.nrows is not None:
            return
        start, end = self._region()
        arr = self._fast(start, end)
        if arr is not None:
            nphys = self.end_line - self.first_line
            self.nrows = arr.shape[0]
            if self.nrows == nphys:
                self.lines = np.arange(self.first_line,
                                       self.first_line + self.nrows)
            else:
                self.lines = self._data_lines(start, end)
            for j in columns:
                self._cache[j] = np.ascontiguousarray(arr[:, j])
            return
        self._slow(start, end, columns)

    def _fast(self, start, end):
        """The block as a float array (all columns; text columns and a
        trailing empty column as 0), or None when numpy refuses it."""
        if self.delim not in (WHITESPACE, ",", ";", "\t", " ", "|") and \
                len(self.delim) != 1:
            return None
        if self.decimal == ",":
            data = io.BytesIO(self.buf[start:end].replace(b",", b"."))
            it = iter(data)
        else:
            data = io.BytesIO(self.buf)
            data.seek(start)
            it = itertools.islice(data, self.end_line - self.first_line)
        zero = {j: _zero for j in range(self.width) if j not in self.numeric}
        try:
            arr = np.loadtxt(
                it, dtype=float, delimiter=None if self.delim == WHITESPACE
                else self.delim, comments=self.comment or None,
                quotechar=None if self.delim == WHITESPACE else '"',
                converters=zero or None, ndmin=2, encoding="latin1")
        except ValueError:
            return None
        if arr.shape[1] != self.width or arr.shape[0] == 0:
            return None
        return arr

    def _lines(self, start, end):
        text = self.buf[start:end].decode(self.enc)
        for k, line in enumerate(text.split("\n")):
            yield self.first_line + k, line.rstrip("\r")

    def _data_lines(self, start, end):
        out = []
        for lineno, line in self._lines(start, end):
            s, _ = _strip_comment(line, self.comment)
            if s.strip() and not all(not f.strip() for f in
                                     split_fields(s, self.delim)):
                out.append(lineno)
        return np.asarray(out, dtype=np.int64)

    def _slow(self, start, end, columns):
        err = self.err
        strings = {j: [] for j in columns}
        lines = []
        sep = delimiter_name(self.delim)
        where = (f"the header row on line {self.header_line}"
                 if self.names is not None
                 else f"the first row, on line {self.first_line}")
        for lineno, line in self._lines(start, end):
            s, _ = _strip_comment(line, self.comment)
            if not s.strip():
                continue
            fields = split_fields(s, self.delim)
            if all(not f.strip() for f in fields):
                continue
            if len(fields) != self.width and not (
                    self.ncols <= len(fields) < self.width and
                    not any(f.strip() for f in fields[self.ncols:])):
                raise err.data_error(
                    f"expected {self.ncols} fields separated by {sep} (as in "
                    f"{where}), found {len(fields)}; every row must have the "
                    "same number of fields", line=lineno, sub="file")
            for j in columns:
                strings[j].append(fields[j])
            lines.append(lineno)
        self.lines = np.asarray(lines, dtype=np.int64)
        self.nrows = len(lines)
        self._strings = strings

    def column(self, j, err, sub):
        if j in self._cache:
            return self._cache[j]
        strings = self._strings[j]
        dec = self.decimal
        out = np.empty(len(strings))
        for i, s in enumerate(strings):
            t = s.strip()
            if not t:
                out[i] = math.nan           # empty field: a missing value
                continue
            if number_kind(t, dec) != NUM:
                raise err.data_error(
                    f"column {self.label(j)}: {t!r} is not a number"
                    + self._not_number_hint(t), line=int(self.lines[i]),
                    sub=sub)
            out[i] = float(t.replace(dec, ".") if dec != "." else t)
        self._cache[j] = out
        return out

    def _not_number_hint(self, text):
        if self.decimal == "." and re.fullmatch(r"[-+]?\d+,\d+([eE][-+]?\d+)?",
                                                text):
            return (" (a decimal comma? set data.decimal: ',' and a "
                    "delimiter other than ',')")
        return ""

    def field_text(self, j, i):
        """The text of row ``i``, column ``j`` as written."""
        lineno = int(self.lines[i])
        off = 0
        for _ in range(lineno - 1):
            off = self.buf.index(b"\n", off) + 1
        nl = self.buf.find(b"\n", off)
        line = self.buf[off:None if nl < 0 else nl].decode(self.enc)
        s, _ = _strip_comment(line.rstrip("\r"), self.comment)
        return split_fields(s, self.delim)[j]


def _has(reading, ref):
    b = reading.block
    if isinstance(ref, str):
        return b.names is not None and ref in [n.strip() for n in b.names]
    return ref < b.ncols


def _zero(_text):
    return 0.0
