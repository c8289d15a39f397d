"""Readers of data files: text tables and instrument exports, Excel
workbooks and HDF5/NeXus files, each giving a :class:`~.table.Table`.

The reader is chosen by the file's suffix (:data:`FORMATS`); a trailing
``.gz`` means gzip-compressed text.  Excel and HDF5 need optional packages
(``pip install 'fitcli[excel]'``, ``'fitcli[hdf5]'``), imported only when
such a file is read.  Only numpy and the standard library are imported by
this package itself.
"""
from __future__ import annotations

from .table import Table, delimiter_name
from .text import ENCODINGS, TextOptions, WHITESPACE

__all__ = ["Table", "TextOptions", "ENCODINGS", "WHITESPACE", "FORMATS",
           "KIND_NAMES", "OPTION_FORMATS", "option_problem",
           "read_table", "format_of", "delimiter_name"]

#: Suffix -> reader name.
FORMATS = {".xlsx": "excel", ".xlsm": "excel", ".h5": "hdf5",
           ".hdf5": "hdf5", ".hdf": "hdf5", ".nxs": "hdf5", ".nx5": "hdf5"}
#: Reader name -> the files it reads, for messages.
KIND_NAMES = {"text": "text files", "excel": "Excel workbooks (.xlsx)",
              "hdf5": "HDF5/NeXus files (.h5, .hdf5, .nxs)"}
_KIND_NAME = {"text": "a text file", "excel": "an Excel workbook",
              "hdf5": "an HDF5 file"}
#: ``data:`` options -> the readers they apply to (the others refuse
#: them).
OPTION_FORMATS = {
    "delimiter": ("text",), "decimal": ("text",), "comment": ("text",),
    "encoding": ("text",), "skip_rows": ("text", "excel"),
    "header_row": ("text", "excel"), "sheet": ("excel",),
    "dataset": ("hdf5",)}


def option_problem(key, name):
    """Why the ``data:`` option ``key`` does not apply to the file
    ``name`` (its format does not take it), or None."""
    import os
    kinds = OPTION_FORMATS.get(key)
    kind = format_of(name)
    if kinds is None or kind in kinds:
        return None
    return (f"{key} applies to "
            f"{' and '.join(KIND_NAMES[k] for k in kinds)} only; "
            f"{os.path.basename(name)} is {_KIND_NAME[kind]}")


def format_of(name):
    """``'text'``, ``'excel'`` or ``'hdf5'`` for a file name."""
    import os
    return FORMATS.get(os.path.splitext(name.lower())[1], "text")


def read_table(path, raw, suffix, options, err, *, sheet=None, dataset=None,
               columns=None):
    """The table in a data file.

    Parameters
    ----------
    path : str
        The file (for messages and for readers that open it themselves).
    raw : bytes
        Its bytes, read within the data size limit (decompressed).
    suffix : str
        Its suffix without ``.gz``, lower case.
    options : TextOptions
        Options of text tables (and the row options of spreadsheets).
    err : object
        Makes DataErrors (``data_error``/``spec_error``).
    sheet : str or int, optional
        Excel: the sheet (name or 0-based index; default the first).
    dataset : str, optional
        HDF5: the group or dataset holding the columns.
    columns : dict, optional
        HDF5: the column references of the spec -> their keys (``'y'``);
        paths in the file are columns of their own.
    """
    kind = FORMATS.get(suffix, "text")
    if kind == "excel":
        from .excel import read_excel
        return read_excel(path, raw, options, err, sheet=sheet)
    if kind == "hdf5":
        from .hdf5 import read_hdf5
        return read_hdf5(path, raw, err, dataset=dataset,
                         columns=columns or {})
    from .text import read_text
    return read_text(raw, suffix, options, err)
