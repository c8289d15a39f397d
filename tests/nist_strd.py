"""NIST StRD nonlinear-regression problems: file parser, models, helpers.

The 27 ``.dat`` files in ``tests/data/nist_strd`` are the public-domain
Statistical Reference Datasets of NIST/ITL
(https://www.itl.nist.gov/div898/strd/nls/nls_main.shtml).  Each file starts
with a header giving the 1-based line ranges of its blocks, e.g.::

    File Format:   ASCII
                   Starting Values   (lines 41 to 42)
                   Certified Values  (lines 41 to 47)
                   Data              (lines 61 to 74)

The starting values and the certified values share lines: each parameter
line reads ``bK = start1 start2 certified_value certified_std_dev``; the
certified block goes on with the residual sum of squares, the residual
standard deviation, the degrees of freedom and the number of observations.
Data lines hold the response first, then the predictor(s) (``Data: y x`` or,
for Nelson, ``Data: y x1 x2``).

The model functions below are transcribed from the formula printed in each
file.  ``model(b, x)`` takes the parameter vector ``b = (b1, ..., bn)`` and
the predictor (for Nelson, a 2-row array ``(x1, x2)``).  Nelson's model is
for ``log(y)``: its residual is taken on the log of the response, as
certified.
"""
from __future__ import annotations

import math
import re
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from fitcli import Parameters, minimize

DATA_DIR = Path(__file__).resolve().parent / "data" / "nist_strd"

# Level of difficulty as published by NIST (for information).
DIFFICULTY = {
    "Misra1a": "lower", "Chwirut2": "lower", "Chwirut1": "lower",
    "Lanczos3": "lower", "Gauss1": "lower", "Gauss2": "lower",
    "DanWood": "lower", "Misra1b": "lower",
    "Kirby2": "average", "Hahn1": "average", "Nelson": "average",
    "MGH17": "average", "Lanczos1": "average", "Lanczos2": "average",
    "Gauss3": "average", "Misra1c": "average", "Misra1d": "average",
    "Roszman1": "average", "ENSO": "average",
    "MGH09": "higher", "Thurber": "higher", "BoxBOD": "higher",
    "Rat42": "higher", "MGH10": "higher", "Eckerle4": "higher",
    "Rat43": "higher", "Bennett5": "higher",
}

# Order of the NIST web page (by difficulty).
NAMES = list(DIFFICULTY)

_PI = 3.141592653589793238462643383279


# ---------------------------------------------------------------- models
def _exp_rise(b, x):                        # Misra1a, BoxBOD
    return b[0] * (1.0 - np.exp(-b[1] * x))


def _chwirut(b, x):                         # Chwirut1, Chwirut2
    return np.exp(-b[0] * x) / (b[1] + b[2] * x)


def _lanczos(b, x):                         # Lanczos1, 2, 3
    return (b[0] * np.exp(-b[1] * x) + b[2] * np.exp(-b[3] * x)
            + b[4] * np.exp(-b[5] * x))


def _gauss(b, x):                           # Gauss1, 2, 3
    return (b[0] * np.exp(-b[1] * x)
            + b[2] * np.exp(-(x - b[3]) ** 2 / b[4] ** 2)
            + b[5] * np.exp(-(x - b[6]) ** 2 / b[7] ** 2))


def _danwood(b, x):
    return b[0] * x ** b[1]


def _misra1b(b, x):
    return b[0] * (1.0 - (1.0 + b[1] * x / 2.0) ** (-2))


def _kirby2(b, x):
    return (b[0] + b[1] * x + b[2] * x ** 2) / (1.0 + b[3] * x + b[4] * x ** 2)


def _cubic_cubic(b, x):                     # Hahn1, Thurber
    return ((b[0] + b[1] * x + b[2] * x ** 2 + b[3] * x ** 3)
            / (1.0 + b[4] * x + b[5] * x ** 2 + b[6] * x ** 3))


def _nelson(b, x):                          # model of log(y)
    x1, x2 = x
    return b[0] - b[1] * x1 * np.exp(-b[2] * x2)


def _mgh17(b, x):
    return b[0] + b[1] * np.exp(-x * b[3]) + b[2] * np.exp(-x * b[4])


def _misra1c(b, x):
    return b[0] * (1.0 - (1.0 + 2.0 * b[1] * x) ** (-0.5))


def _misra1d(b, x):
    return b[0] * b[1] * x * ((1.0 + b[1] * x) ** (-1))


def _roszman1(b, x):
    return b[0] - b[1] * x - np.arctan(b[2] / (x - b[3])) / _PI


def _enso(b, x):
    w = 2.0 * _PI * x
    return (b[0] + b[1] * np.cos(w / 12.0) + b[2] * np.sin(w / 12.0)
            + b[4] * np.cos(w / b[3]) + b[5] * np.sin(w / b[3])
            + b[7] * np.cos(w / b[6]) + b[8] * np.sin(w / b[6]))


def _mgh09(b, x):
    return b[0] * (x ** 2 + x * b[1]) / (x ** 2 + x * b[2] + b[3])


def _rat42(b, x):
    return b[0] / (1.0 + np.exp(b[1] - b[2] * x))


def _mgh10(b, x):
    return b[0] * np.exp(b[1] / (x + b[2]))


def _eckerle4(b, x):
    return (b[0] / b[1]) * np.exp(-0.5 * ((x - b[2]) / b[1]) ** 2)


def _rat43(b, x):
    return b[0] / ((1.0 + np.exp(b[1] - b[2] * x)) ** (1.0 / b[3]))


def _bennett5(b, x):
    return b[0] * (b[1] + x) ** (-1.0 / b[2])


MODELS = {
    "Misra1a": _exp_rise, "BoxBOD": _exp_rise,
    "Chwirut1": _chwirut, "Chwirut2": _chwirut,
    "Lanczos1": _lanczos, "Lanczos2": _lanczos, "Lanczos3": _lanczos,
    "Gauss1": _gauss, "Gauss2": _gauss, "Gauss3": _gauss,
    "DanWood": _danwood, "Misra1b": _misra1b, "Kirby2": _kirby2,
    "Hahn1": _cubic_cubic, "Thurber": _cubic_cubic, "Nelson": _nelson,
    "MGH17": _mgh17, "Misra1c": _misra1c, "Misra1d": _misra1d,
    "Roszman1": _roszman1, "ENSO": _enso, "MGH09": _mgh09, "Rat42": _rat42,
    "MGH10": _mgh10, "Eckerle4": _eckerle4, "Rat43": _rat43,
    "Bennett5": _bennett5,
}

#: Problems whose certified model is for a transform of the response.
RESPONSE_TRANSFORM = {"Nelson": np.log}


# ---------------------------------------------------------------- parser
@dataclass
class NistProblem:
    """One StRD problem as read from its ``.dat`` file."""
    name: str
    model_text: str
    nparams: int
    start1: np.ndarray
    start2: np.ndarray
    certified: np.ndarray
    certified_stderr: np.ndarray
    rss: float
    residual_sd: float
    dof: int
    nobs: int
    y: np.ndarray
    x: np.ndarray            # 1-d, or (k, N) for k > 1 predictors
    columns: list = field(default_factory=list)

    @property
    def param_names(self):
        return [f"b{i + 1}" for i in range(self.nparams)]

    def start(self, which):
        """Start values 1 or 2."""
        if which in (1, "1", "start1"):
            return self.start1
        if which in (2, "2", "start2"):
            return self.start2
        raise ValueError(f"start must be 1 or 2, got {which!r}")

    def model(self, b, x=None):
        return MODELS[self.name](b, self.x if x is None else x)

    def response(self):
        """The response the model describes (log(y) for Nelson)."""
        f = RESPONSE_TRANSFORM.get(self.name)
        return self.y if f is None else f(self.y)


_RANGE = re.compile(r"^\s*(?:File Format:\s*ASCII\s*)?"
                    r"(Starting Values|Certified Values|Data)\s*"
                    r"\(lines\s+(\d+)\s+to\s+(\d+)\s*\)", re.IGNORECASE)
_PARAM = re.compile(r"^\s*b(\d+)\s*=\s*(\S+)\s+(\S+)\s+(\S+)\s+(\S+)\s*$")


def _float(text):
    return float(text.replace("D", "E").replace("d", "e"))


def _after_colon(line):
    return line.split(":", 1)[1].strip()


def parse(path):
    """Read one StRD ``.dat`` file into a :class:`NistProblem`."""
    path = Path(path)
    lines = path.read_text().splitlines()
    ranges = {}
    for line in lines[:20]:
        m = _RANGE.match(line)
        if m:
            ranges[m.group(1).lower()] = (int(m.group(2)), int(m.group(3)))
    missing = {"starting values", "certified values", "data"} - set(ranges)
    if missing:
        raise ValueError(f"{path.name}: no line range for {sorted(missing)}")

    def block(key):                     # 1-based, inclusive
        a, b = ranges[key]
        return lines[a - 1:b]

    # model formula and number of parameters
    name = path.stem
    model_lines, nparams, in_model = [], None, False
    for line in lines:
        if line.startswith("Model:"):
            in_model = True
            continue
        if in_model:
            m = re.search(r"(\d+)\s+Parameters", line)
            if m and nparams is None:
                nparams = int(m.group(1))
                continue
            if re.match(r"^\s*(Starting|Certified) Values", line, re.I) or \
                    re.match(r"^\s*Start 1", line):
                break
            if line.strip():
                model_lines.append(line.strip())

    # starting values (first two numbers after "bK =")
    starts = {}
    for line in block("starting values"):
        m = _PARAM.match(line)
        if not m:
            raise ValueError(f"{path.name}: bad starting-value line {line!r}")
        starts[int(m.group(1))] = (_float(m.group(2)), _float(m.group(3)))

    # certified values (last two numbers), then the summary lines
    cert, rss, rsd, dof, nobs = {}, None, None, None, None
    for line in block("certified values"):
        m = _PARAM.match(line)
        if m:
            cert[int(m.group(1))] = (_float(m.group(4)), _float(m.group(5)))
        elif line.strip().startswith("Residual Sum of Squares"):
            rss = _float(_after_colon(line))
        elif line.strip().startswith("Residual Standard Deviation"):
            rsd = _float(_after_colon(line))
        elif line.strip().startswith("Degrees of Freedom"):
            dof = int(_after_colon(line))
        elif line.strip().startswith("Number of Observations"):
            nobs = int(_after_colon(line))
    if None in (rss, rsd, dof, nobs):
        raise ValueError(f"{path.name}: incomplete certified block")
    keys = sorted(cert)
    if keys != list(range(1, len(keys) + 1)) or sorted(starts) != keys:
        raise ValueError(f"{path.name}: parameters {keys} / {sorted(starts)}")
    if nparams is not None and nparams != len(keys):
        raise ValueError(f"{path.name}: header says {nparams} parameters, "
                         f"found {len(keys)}")

    # data: response first, then predictor(s); column names on the line
    # just above the block ("Data:   y   x")
    a, _ = ranges["data"]
    header = lines[a - 2] if a >= 2 else ""
    columns = header.split(":", 1)[1].split() if header.startswith("Data:") else []
    rows = [[_float(t) for t in line.split()] for line in block("data")
            if line.strip()]
    data = np.array(rows, dtype=float)
    if data.ndim != 2 or data.shape[0] != nobs:
        raise ValueError(f"{path.name}: {data.shape[0]} data rows, "
                         f"expected {nobs}")
    if columns and len(columns) != data.shape[1]:
        raise ValueError(f"{path.name}: columns {columns} vs {data.shape[1]}")
    y = data[:, 0].copy()
    x = data[:, 1].copy() if data.shape[1] == 2 else data[:, 1:].T.copy()

    return NistProblem(
        name=name, model_text=" ".join(model_lines), nparams=len(keys),
        start1=np.array([starts[k][0] for k in keys]),
        start2=np.array([starts[k][1] for k in keys]),
        certified=np.array([cert[k][0] for k in keys]),
        certified_stderr=np.array([cert[k][1] for k in keys]),
        rss=rss, residual_sd=rsd, dof=dof, nobs=nobs, y=y, x=x,
        columns=columns)


_CACHE = {}


def load(name):
    """The problem ``name`` (e.g. ``'Misra1a'``), parsed once."""
    if name not in _CACHE:
        _CACHE[name] = parse(DATA_DIR / f"{name}.dat")
    return _CACHE[name]


def all_names():
    """Problem names of the .dat files present, in NIST's order."""
    present = {p.stem for p in DATA_DIR.glob("*.dat")}
    return [n for n in NAMES if n in present] + sorted(present - set(NAMES))


# ---------------------------------------------------------------- fitting
def make_residual(name):
    """Residual function ``f(params, x, y) = y - model`` for fitcli."""
    model = MODELS[name]

    def residual(params, x, y):
        v = params.valuesdict()
        b = [v[f"b{i + 1}"] for i in range(len(v))]
        return y - model(b, x)

    return residual


def make_params(name, start):
    prob = load(name)
    params = Parameters()
    for pname, value in zip(prob.param_names, prob.start(start)):
        params.add(pname, value=float(value))
    return params


def fit_case(name, start, method=None, **engine_options):
    """Fit problem ``name`` from start values 1 or 2 and return the
    MinimizerResult.  Without ``method`` or options this is the plain
    ``minimize(residual, params, args=(x, y))`` (fitcli's default engine)."""
    prob = load(name)
    params = make_params(name, start)
    args = (prob.x, prob.response())
    residual = make_residual(name)
    if method is None and not engine_options:
        return minimize(residual, params, args=args)
    if method is None:
        return minimize(residual, params, args=args, **engine_options)
    return minimize(residual, params, method=method, args=args,
                    **engine_options)


def certified_rss(name):
    """RSS of the model at the certified values (checks the transcription)."""
    prob = load(name)
    r = prob.response() - prob.model(prob.certified)
    return float(r @ r)


# ---------------------------------------------------------------- accuracy
def lre(value, certified):
    """Log relative error: -log10(|q - c| / |c|) (-log10|q| when c == 0),
    capped at 15; 0 when ``value`` is None or not finite (and floored at 0,
    McCullough's convention: a negative LRE means no correct digit)."""
    try:
        q = float(value)
    except (TypeError, ValueError):
        return 0.0
    c = float(certified)
    if not math.isfinite(q):
        return 0.0
    err = abs(q - c) / abs(c) if c != 0 else abs(q)
    if err == 0.0:
        return 15.0
    out = -math.log10(err)
    if not math.isfinite(out):
        return 0.0
    return max(0.0, min(15.0, out))


def case_lres(name, result):
    """(parameter LREs, stderr LREs, RSS LRE) of a fit result."""
    prob = load(name)
    pars = result.params
    p_lre = [lre(pars[n].value, c) for n, c in
             zip(prob.param_names, prob.certified)]
    e_lre = [lre(pars[n].stderr, c) for n, c in
             zip(prob.param_names, prob.certified_stderr)]
    return p_lre, e_lre, lre(result.chisqr, prob.rss)
