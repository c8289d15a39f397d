"""The view of a data table that :mod:`fitcli.data` selects columns from."""
from __future__ import annotations

__all__ = ["Table", "delimiter_name", "check_names"]

_DELIMITER_NAMES = {",": "','", "\t": "tabs", ";": "';'",
                    "whitespace": "whitespace"}


def delimiter_name(d):
    """A delimiter as named in messages: ``','``, ``tabs``, ``whitespace``."""
    return _DELIMITER_NAMES.get(d, repr(d))


class Table:
    """Columns of numbers from a file (or inline lists).

    Attributes
    ----------
    names : list of str or None
        Header names (None without a header).
    header_line : int or None
        1-based line (row) of the header.
    ncols, nrows : int
        Columns, and rows of data once loaded.
    lines : ndarray or None
        1-based line (row) of each data row, once loaded.
    kind : str
        ``'text'``, ``'excel'``, ``'hdf5'`` or ``'inline'``.
    """

    names: list | None = None
    header_line: int | None = None
    ncols: int = 0
    nrows: int | None = 0
    lines = None
    first_line: int | None = None
    kind = "table"

    def line(self, i):
        """1-based line (row) of data row ``i`` (before loading: of the
        first data row for ``i == 0``)."""
        if self.lines is None:
            return self.first_line if i == 0 else None
        return int(self.lines[i])

    def hint(self, ref):
        """For a column ``ref`` that is not in the table: what was found
        and which option would help, as ``'; ...'`` ('' for nothing)."""
        return ""

    def label(self, j):
        return repr(self.names[j]) if self.names is not None else str(j)

    def name(self, j):
        return str(self.names[j]) if self.names is not None else f"col{j}"

    def load(self, columns):
        """Read the data of ``columns`` (indices); a no-op for tables read
        whole."""

    def describe_layout(self):
        """One line saying what was found in the file ('' when nothing
        needs saying)."""
        return ""

    def describe(self, j, i):
        """Why row ``i`` of column ``j`` is not a finite value."""
        s = self.field_text(j, i)
        if not str(s).strip():
            return f"column {self.label(j)}: missing value (empty field)"
        return f"column {self.label(j)}: {str(s).strip()!r} is not finite"

    def field_text(self, j, i):
        raise NotImplementedError


def check_names(names, line, err):
    """Refuse a header with an empty or a repeated column name."""
    seen = {}
    for j, n in enumerate(names):
        if not n:
            raise err.data_error(
                f"column {j} has an empty name in the header row; give every "
                "column a name (or drop the header and select columns by "
                "0-based index)", line=line, sub="file")
        if n in seen:
            raise err.data_error(
                f"duplicate column name {n!r} (columns {seen[n]} and {j}, "
                "0-based); column names must be unique", line=line,
                sub="file")
        seen[n] = j
