"""The error for a data file whose reader needs an optional package."""
from __future__ import annotations

__all__ = ["missing_extra"]


def missing_extra(path, suffix, package, extra):
    """A :class:`~fitcli.errors.DataError` for ``path``: reading files of
    ``suffix`` needs ``package``, installed with ``fitcli[extra]``."""
    from ..errors import DataError

    return DataError(f"reading {suffix} files needs {package}: pip install "
                     f"'fitcli[{extra}]'", file=path)
