"""Fit specs: the YAML or TOML files that ``fitcli run`` reads.

:func:`load_spec` parses a spec, checks it against a strict schema and
returns a :class:`FitSpec` of frozen dataclasses with defaults applied and
paths resolved against the spec file's directory.  Every problem is a
:class:`~fitcli.errors.SpecError` naming the file, the line (and column
where known) and the key path, e.g.::

    peaks.yaml:12:5: parameters.amp1.mn: unknown key; did you mean 'min'?

The parsers are hardened against the usual traps:

* YAML is read with a ``SafeLoader`` subclass that refuses anchors and
  aliases (no "billion laughs"), merge keys and non-standard tags, and
  rejects duplicate keys at the line of the repeat.  YAML 1.1 quirks are
  explained instead of silently accepted: ``no``/``off`` read as booleans,
  ``1e3`` and ``-.5`` read as text, ``010`` read as octal, ``1:20`` read as
  a base-60 number.
* TOML is read with :mod:`tomllib` (or ``tomli`` before Python 3.11);
  syntax errors carry their line and column.
* Files larger than :data:`MAX_SPEC_BYTES` are refused before parsing.
* NaN is refused everywhere; infinities only as parameter bounds.
* Expressions (the model, constraint ``expr``, user functions) are compiled
  by :func:`fitcli.expr.compile_expression` at load time; which *names* they
  use is checked later, once the data columns are known.

The positions of every key and value are kept (:attr:`FitSpec.positions`),
so that later stages (data loading, model building) can point at the spec
line a problem comes from, with :meth:`FitSpec.where` or
:meth:`FitSpec.locate`.

This module imports neither YAML nor numpy at import time.
"""
__all__ = [
    "FitSpec", "DataSection", "ParamSpec", "FunctionSpec", "FitSection",
    "MapSpec", "ConfidenceSection", "OutputSection", "SummaryX",
    "ExpectSection",
    "ExpectWindow", "ExpectParam", "DatasetSpec",
    "load_spec", "load_spec_text", "apply_overrides", "expand_data_files",
    "spec_schema", "MAX_SPEC_BYTES", "SUFFIXES",
]

from .check import *  # noqa: F401,F403
from .crosscheck import expand_data_files, is_glob, natural_key  # noqa: F401
from .fitspec import (ConfidenceSection, DataSection, DatasetSpec, ExpectParam,  # noqa: F401
                      ExpectSection, ExpectWindow, FitSection, FitSpec,
                      FunctionSpec, MapSpec, OutputSection, ParamSpec,
                      SummaryX)
from .format import *  # noqa: F401,F403
from .load import load_spec, load_spec_text  # noqa: F401
from .overrides import apply_overrides  # noqa: F401
from .schema import spec_schema  # noqa: F401
from .text import MAX_SPEC_BYTES, SUFFIXES  # noqa: F401
