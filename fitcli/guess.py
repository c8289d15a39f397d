"""Starting values from the data.

Two levels:

Features of a curve (:func:`background`, :func:`find_peaks`,
:func:`find_step`, :func:`exponential_start`, :func:`sine_start`)
    Plain numpy on ``x, y`` (sorted by x here; NaN rows ignored).

    * The background is the straight line through the two edges of the data
      (the median x and y of the first and last :data:`EDGE` of the points).
    * Peaks are found one at a time above the background, as a peak finder
      of a fitting program does by hand: the highest point of the (lightly
      smoothed) rest is a peak's centre and height, its width the full width
      at half maximum -- twice the nearer half-height crossing, so that a
      neighbour does not widen it -- and a Gaussian of that height and width
      is subtracted before the next peak is looked for.  Peaks come in
      order of height; the search stops at ``n`` peaks or when what is left
      is within a few times the noise (the median absolute difference of
      neighbouring points).
    * A step is the change between the edge levels, centred where the
      smoothed data cross half way, its width the distance between the 25 %
      and 75 % crossings.

A model (:func:`guess_values`)
    The model's top-level terms (``a + b - c``) are matched with what the
    data show: a call of a built-in peak (``gaussian``, ``lorentzian``,
    ``voigt``, ``pvoigt``, ``moffat``, ``pearson7``), step (``step``,
    ``step_*``, ``logistic``), ``exponential``, ``sine``, ``linear``,
    ``quadratic``, ``polynomial`` with the variable as first argument and
    parameter names as the others; ``amp*exp(-x/tau)``, ``amp*exp(-k*x)``,
    ``amp*sin(w*x + phi)``; a parameter alone (a constant background) and
    ``p*x`` (a slope).  The first peak term gets the highest peak, the next
    the next highest, and so on; areas and widths are converted to each
    lineshape's own parameters (:mod:`fitcli.peaks`).  Parameters in other
    terms are not estimated.

Nothing here prints or reads files.
"""
from __future__ import annotations

import ast
import math
from dataclasses import dataclass

import numpy as np

__all__ = ["Peak", "Step", "background", "noise", "find_peaks",
           "find_step", "exponential_start", "sine_start", "guess_values",
           "Guess", "estimable", "PEAK_FUNCTIONS", "STEP_FUNCTIONS",
           "EDGE"]

#: Share of the points at each end taken as the edges of the data.
EDGE = 0.1
#: A peak must stand this many times the noise above what is left.
PEAK_NOISE = 5.0
#: ... and at least this share of the highest peak (with no ``n`` given).
PEAK_SHARE = 0.05

_FWHM_GAUSS = 2.0 * math.sqrt(2.0 * math.log(2.0))

#: Peak lineshapes: name -> the names of their arguments after x.
PEAK_FUNCTIONS = {
    "gaussian": ("amplitude", "center", "sigma"),
    "lorentzian": ("amplitude", "center", "sigma"),
    "voigt": ("amplitude", "center", "sigma", "gamma"),
    "pvoigt": ("amplitude", "center", "sigma", "fraction"),
    "moffat": ("amplitude", "center", "sigma", "beta"),
    "pearson7": ("amplitude", "center", "sigma", "expon"),
}
#: Step lineshapes: name -> 25-75 % rise width in units of sigma.
STEP_FUNCTIONS = {
    "step": 1.0, "step_linear": 1.0, "step_atan": 2.0,
    "step_erf": 2.0 * 0.6744897501960817,
    "step_logistic": 2.0 * math.log(3.0), "logistic": 2.0 * math.log(3.0),
}


@dataclass(frozen=True)
class Peak:
    """A peak above the background: centre, height and full width at half
    maximum, in the units of x and y."""

    center: float
    height: float
    fwhm: float


@dataclass(frozen=True)
class Step:
    """A step: the level before it, its height (negative: a fall), the x of
    its half-way point and its 25-75 % width."""

    low: float
    height: float
    center: float
    width: float


def _clean(x, y):
    x = np.asarray(x, dtype=float).ravel()
    y = np.asarray(y, dtype=float).ravel()
    if x.shape != y.shape:
        raise ValueError(f"x and y differ in length: {x.size} and {y.size}")
    keep = np.isfinite(x) & np.isfinite(y)
    x, y = x[keep], y[keep]
    order = np.argsort(x, kind="stable")
    return x[order], y[order]


def _edges(n):
    return max(1, min(n // 2, int(round(EDGE * n))))


def background(x, y):
    """``(slope, intercept)`` of the straight line through the edges of the
    data (the median x and y of the first and of the last :data:`EDGE` of
    the points, by x)."""
    x, y = _clean(x, y)
    if x.size == 0:
        return 0.0, 0.0
    k = _edges(x.size)
    x0, y0 = float(np.median(x[:k])), float(np.median(y[:k]))
    x1, y1 = float(np.median(x[-k:])), float(np.median(y[-k:]))
    if x1 == x0:
        return 0.0, (y0 + y1) / 2
    slope = (y1 - y0) / (x1 - x0)
    return slope, y0 - slope * x0


def noise(y):
    """Noise of ``y`` (in order of x): the median absolute difference of
    neighbours, scaled to a standard deviation (``1.4826 / sqrt 2``)."""
    y = np.asarray(y, dtype=float)
    y = y[np.isfinite(y)]
    if y.size < 3:
        return 0.0
    d = np.diff(y)
    return float(1.4826 * np.median(np.abs(d - np.median(d))) / math.sqrt(2))


def _smooth(y, n):
    """A centred moving average over about 1 % of the points (odd window,
    3 at least; the ends use the points there are)."""
    w = max(3, (n // 100) | 1)
    if n < 2 * w:
        return y.copy()
    kernel = np.ones(w)
    num = np.convolve(y, kernel, mode="same")
    den = np.convolve(np.ones_like(y), kernel, mode="same")
    return num / den


def _crossing(x, r, i, level, step):
    """x where ``r`` first falls to ``level`` walking from index ``i`` by
    ``step`` (+1 right, -1 left), interpolated; None at the end of the
    data."""
    j = i
    n = len(r)
    while 0 <= j + step < n:
        k = j + step
        if r[k] <= level:
            a, b = r[j], r[k]
            t = (a - level) / (a - b) if a != b else 0.0
            return x[j] + t * (x[k] - x[j])
        j = k
    return None


def find_peaks(x, y, n=None, base=None):
    """Peaks above the background, highest first (see the module's
    docstring).

    Parameters
    ----------
    x, y : array_like
    n : int, optional
        How many peaks to find (fewer when the data run out: every point
        already explained).  Default: every peak standing out of the noise.
    base : (slope, intercept), optional
        The background line; default :func:`background`.

    Returns
    -------
    list of Peak
    """
    x, y = _clean(x, y)
    if x.size < 3:
        return []
    slope, intercept = background(x, y) if base is None else base
    rest = y - (slope * x + intercept)
    sm = _smooth(rest, x.size)
    floor = PEAK_NOISE * noise(rest)
    span = float(x[-1] - x[0]) or 1.0
    dx = span / max(1, x.size - 1)
    peaks = []
    first = None
    while n is None or len(peaks) < n:
        i = int(np.argmax(sm))
        h = float(sm[i])
        if not h > 0:
            break
        if n is None and (h <= floor or (first is not None and
                                         h < PEAK_SHARE * first)):
            break
        left = _crossing(x, sm, i, h / 2, -1)
        right = _crossing(x, sm, i, h / 2, +1)
        halves = [abs(v - x[i]) for v in (left, right) if v is not None]
        fwhm = 2 * min(halves) if halves else span / 4
        fwhm = max(fwhm, 2 * dx)
        peaks.append(Peak(float(x[i]), h, float(fwhm)))
        first = h if first is None else first
        s = fwhm / _FWHM_GAUSS
        sm = sm - h * np.exp(-0.5 * ((x - x[i]) / s) ** 2)
        if len(peaks) >= x.size // 3:
            break
    return peaks


def find_step(x, y):
    """The step between the two edges of the data (a :class:`Step`)."""
    x, y = _clean(x, y)
    if x.size < 2:
        return Step(0.0, 0.0, 0.0, 1.0)
    k = _edges(x.size)
    low = float(np.median(y[:k]))
    high = float(np.median(y[-k:]))
    sm = _smooth(y, x.size)
    height = high - low
    if height == 0:
        return Step(low, 0.0, float(np.median(x)), float(x[-1] - x[0]) / 4)
    frac = (sm - low) / height                # 0 before, 1 after

    def cross(level):
        above = np.flatnonzero(frac >= level)
        if above.size == 0:
            return float(x[-1])
        j = int(above[0])
        if j == 0:
            return float(x[0])
        a, b = frac[j - 1], frac[j]
        t = (level - a) / (b - a) if b != a else 0.0
        return float(x[j - 1] + t * (x[j] - x[j - 1]))

    center = cross(0.5)
    width = cross(0.75) - cross(0.25)
    dx = float(x[-1] - x[0]) / max(1, x.size - 1)
    return Step(low, height, center, max(width, dx))


def exponential_start(x, y):
    """``(amplitude, decay, offset)`` of ``amplitude*exp(-x/decay) +
    offset``: the offset from the last edge, then a straight line through
    ``log|y - offset|`` where it stands out of the noise."""
    x, y = _clean(x, y)
    if x.size < 3:
        return 1.0, 1.0, 0.0
    k = _edges(x.size)
    offset = float(np.median(y[-k:]))
    z = y - offset
    sign = 1.0 if np.median(z[:k]) >= 0 else -1.0
    z = sign * z
    use = z > max(3 * noise(y), 0.05 * float(np.max(z)))
    if use.sum() < 2:
        return sign * float(np.max(z)), float(x[-1] - x[0]) / 3, offset
    b, a = np.polyfit(x[use], np.log(z[use]), 1)
    if not b < 0:
        return sign * float(np.max(z)), float(x[-1] - x[0]) / 3, offset
    return sign * math.exp(a), -1.0 / b, offset


def sine_start(x, y):
    """``(amplitude, frequency, shift, offset)`` of ``amplitude *
    sin(frequency*x + shift) + offset`` (angular frequency): the strongest
    frequency of the data resampled evenly, then amplitude and phase by
    linear least squares at that frequency."""
    x, y = _clean(x, y)
    if x.size < 4 or x[-1] == x[0]:
        return 1.0, 1.0, 0.0, float(np.mean(y)) if y.size else 0.0
    m = max(64, x.size)
    grid = np.linspace(x[0], x[-1], m)
    g = np.interp(grid, x, y)
    g = g - g.mean()
    spec = np.abs(np.fft.rfft(g * np.hanning(m)))
    spec[0] = 0.0
    j = int(np.argmax(spec))
    if 0 < j < spec.size - 1:           # parabola through the top 3
        a, b, c = spec[j - 1], spec[j], spec[j + 1]
        d = a - 2 * b + c
        j = j + (0.5 * (a - c) / d if d != 0 else 0.0)
    omega = 2 * math.pi * j / (grid[-1] - grid[0]) * (m - 1) / m
    omega = max(omega, 2 * math.pi / (x[-1] - x[0]))
    A = np.column_stack([np.sin(omega * x), np.cos(omega * x),
                         np.ones_like(x)])
    (s, c, off), *_ = np.linalg.lstsq(A, y, rcond=None)
    return float(math.hypot(s, c)), float(omega), float(math.atan2(c, s)), \
        float(off)


# ==========================================================================
# a model's terms
@dataclass(frozen=True)
class Guess:
    """What :func:`guess_values` found: ``values`` {parameter: starting
    value}, ``terms`` how each top-level term was read (``'peak'``,
    ``'step'``, ``'offset'``...; ``None`` for a term it cannot estimate)
    and ``peaks`` the peaks found."""

    values: dict
    terms: list
    peaks: list


def _terms(text):
    """Top-level terms of a sum: ``[(sign, node)]``."""
    from .expr import parse_expression

    tree = parse_expression(text.strip()).body
    out = []

    def walk(node, sign):
        if isinstance(node, ast.BinOp) and isinstance(node.op,
                                                      (ast.Add, ast.Sub)):
            walk(node.left, sign)
            walk(node.right, -sign if isinstance(node.op, ast.Sub) else sign)
        elif isinstance(node, ast.UnaryOp) and isinstance(node.op, ast.USub):
            walk(node.operand, -sign)
        else:
            out.append((sign, node))

    walk(tree, 1)
    return out


def _name(node):
    return node.id if isinstance(node, ast.Name) else None


def _is_var(node, xnames):
    return isinstance(node, ast.Name) and node.id in xnames


def _product(node):
    """The factors of a product ``a*b*c``."""
    if isinstance(node, ast.BinOp) and isinstance(node.op, ast.Mult):
        return _product(node.left) + _product(node.right)
    return [node]


def _classify(sign, node, xnames, params):
    """``(kind, info)`` of one term."""
    if isinstance(node, ast.Name) and node.id in params:
        return "offset", {"offset": node.id}
    factors = _product(node)
    names = [_name(f) for f in factors]
    pars = [n for n in names if n in params]
    xs = [f for f in factors if _is_var(f, xnames)]
    calls = [f for f in factors if isinstance(f, ast.Call)]
    if len(factors) == 2 and len(pars) == 1 and len(xs) == 1:
        return "slope", {"slope": pars[0]}
    if isinstance(node, ast.Call) and _name(node.func):
        fn = node.func.id
        args = node.args
        if not args or not _is_var(args[0], xnames) or node.keywords:
            return None, None
        rest = [_name(a) for a in args[1:]]
        if fn in PEAK_FUNCTIONS:
            return "peak", {"func": fn, "args": dict(zip(PEAK_FUNCTIONS[fn],
                                                         rest))}
        if fn in STEP_FUNCTIONS:
            return "step", {"func": fn, "args": dict(zip(
                ("amplitude", "center", "sigma"), rest))}
        if fn == "linear":
            return "line", {"slope": rest[0] if rest else None,
                            "offset": rest[1] if len(rest) > 1 else None}
        if fn == "quadratic":
            return "line", {"zero": rest[0] if rest else None,
                            "slope": rest[1] if len(rest) > 1 else None,
                            "offset": rest[2] if len(rest) > 2 else None}
        if fn == "polynomial":
            return "line", {"offset": rest[0] if rest else None,
                            "slope": rest[1] if len(rest) > 1 else None,
                            "zeros": rest[2:]}
        if fn == "exponential":
            return "exp", {"amplitude": rest[0] if rest else None,
                           "decay": rest[1] if len(rest) > 1 else None,
                           "sign": sign}
        if fn == "sine":
            return "sine", {"amplitude": rest[0] if rest else None,
                            "frequency": rest[1] if len(rest) > 1 else None,
                            "shift": rest[2] if len(rest) > 2 else None,
                            "sign": sign}
        return None, None
    # amp * exp(-x/tau), amp * exp(-k*x), amp * sin(w*x + phi)
    if len(factors) == 2 and len(pars) == 1 and len(calls) == 1:
        call = calls[0]
        fn = _name(call.func)
        if fn == "exp" and len(call.args) == 1:
            arg = ast.unparse(call.args[0]).replace("(", "").replace(")", "")
            for x in xnames:
                for p in params:
                    if arg in (f"-{x} / {p}", f"-{x} / {p}".replace(" ", "")):
                        return "exp", {"amplitude": pars[0], "decay": p,
                                       "sign": sign}
                    if arg in (f"-{p} * {x}", f"-{x} * {p}"):
                        return "exp", {"amplitude": pars[0], "rate": p,
                                       "sign": sign}
        if fn in ("sin", "cos") and len(call.args) == 1:
            a = call.args[0]
            shift = None
            if isinstance(a, ast.BinOp) and isinstance(a.op, ast.Add) and \
                    _name(a.right) in params:
                shift, a = a.right.id, a.left
            fac = _product(a)
            if len(fac) == 2 and sum(_is_var(f, xnames) for f in fac) == 1:
                w = [_name(f) for f in fac if _name(f) in params]
                if w:
                    return "sine", {"amplitude": pars[0], "frequency": w[0],
                                    "shift": shift, "sign": sign,
                                    "cos": fn == "cos"}
    return None, None


def _peak_values(func, peak, sign):
    """The lineshape's own parameters for a peak of ``peak``'s height and
    FWHM (``sign`` -1 for a term subtracted)."""
    from . import peaks as P

    h, f = sign * peak.height, peak.fwhm
    if func == "gaussian":
        s = f / _FWHM_GAUSS
        return {"amplitude": h * s * math.sqrt(2 * math.pi), "sigma": s}
    if func == "lorentzian":
        s = f / 2
        return {"amplitude": h * math.pi * s, "sigma": s}
    if func == "voigt":
        s = f / 3.6013                       # sigma = gamma
        return {"amplitude": h / float(P.voigt_height(1.0, s, s)),
                "sigma": s, "gamma": s}
    if func == "pvoigt":
        s = f / 2
        return {"amplitude": h / float(P.pvoigt_height(1.0, s, 0.5)),
                "sigma": s, "fraction": 0.5}
    if func == "moffat":
        return {"amplitude": h, "sigma": f / 2, "beta": 1.0}
    if func == "pearson7":
        s = f / 2
        return {"amplitude": h / float(P.pearson7_height(1.0, s, 1.0)),
                "sigma": s, "expon": 1.0}
    raise ValueError(f"not a peak function: {func!r}")


def estimable(model_text, params, variables=("x",)):
    """``{parameter: kind of its term}`` for the parameters that
    :func:`guess_values` estimates from data for ``model_text`` (those of
    its top-level built-in peak, step, background, exponential and sine
    terms; see the module's docstring) -- known from the model alone,
    before any data are read.  A parameter of several terms takes the
    first term's kind."""
    params = set(params)
    xnames = set(variables)
    out = {}

    def names(info):
        for key, v in info.items():
            if isinstance(v, dict):
                yield from names(v)
            elif isinstance(v, (list, tuple)):
                yield from (u for u in v if isinstance(u, str))
            elif isinstance(v, str) and key != "func":
                yield v

    for sign, node in _terms(model_text):
        kind, info = _classify(sign, node, xnames, params)
        if kind is None:
            continue
        for name in names(info):
            if name in params:
                out.setdefault(name, kind)
    return out


def guess_values(model_text, x, y, params, variables=("x",)):
    """Starting values of ``params`` for ``model_text`` from the data (see
    the module's docstring).

    Parameters
    ----------
    model_text : str
        The model expression.
    x, y : array_like
        The data (one x variable).
    params : iterable of str
        The model's parameter names.
    variables : iterable of str
        Names of x in the model (``('x', 't')``).

    Returns
    -------
    Guess
        ``values`` holds only the parameters it could estimate.
    """
    x, y = _clean(x, y)
    params = set(params)
    xnames = set(variables)
    kinds = [(sign,) + _classify(sign, node, xnames, params)
             for sign, node in _terms(model_text)]
    values = {}
    has = {k for _, k, _ in kinds}

    def put(name, value):
        if name in params and name not in values and \
                value is not None and math.isfinite(value):
            values[name] = float(value)

    if x.size == 0:
        return Guess(values, [k for _, k, _ in kinds], [])
    slope, intercept = background(x, y)
    level = slope * x + intercept
    rest = y.copy()
    # steps, exponentials and sines explain the shape of the whole curve:
    # the background is then what is left at the edges
    for sign, kind, info in kinds:
        if kind == "step":
            st = find_step(x, sign * y)
            a = info["args"]
            put(a.get("amplitude"), sign * st.height)
            put(a.get("center"), st.center)
            put(a.get("sigma"), st.width / STEP_FUNCTIONS[info["func"]])
            rest = y - sign * st.height / (1 + np.exp(
                -(x - st.center) * 2 * math.log(3) / max(st.width, 1e-300)))
            slope, intercept = 0.0, sign * st.low
            level = np.full_like(x, intercept)
        elif kind == "exp":
            amp, decay, off = exponential_start(x, y)
            put(info["amplitude"], info["sign"] * amp)
            if "rate" in info:
                put(info["rate"], 1.0 / decay)
            else:
                put(info["decay"], decay)
            slope, intercept = 0.0, off
            level = np.full_like(x, off)
        elif kind == "sine":
            amp, omega, shift, off = sine_start(x, y)
            if info.get("cos"):
                shift -= math.pi / 2
            if info["sign"] < 0:
                shift += math.pi
            shift = (shift + math.pi) % (2 * math.pi) - math.pi
            put(info["amplitude"], amp)
            put(info["frequency"], omega)
            put(info.get("shift"), shift)
            slope, intercept = 0.0, off
            level = np.full_like(x, off)
    sloped = "slope" in has or any(
        k == "line" and i.get("slope") for _, k, i in kinds)
    signs = {s for s, k, _ in kinds if k == "peak"}
    if not sloped and not (has & {"step", "exp", "sine"}):
        # a flat background: the lower edge when the peaks stand above it,
        # the upper one for dips
        k = _edges(x.size)
        ends = (float(np.median(y[:k])), float(np.median(y[-k:])))
        slope = 0.0
        intercept = min(ends) if signs == {1} else max(ends) \
            if signs == {-1} else sum(ends) / 2
        level = np.full_like(x, intercept)
    for sign, kind, info in kinds:
        if kind == "offset":
            put(info["offset"], sign * intercept)
        elif kind == "slope":
            put(info["slope"], sign * slope)
        elif kind == "line":
            put(info.get("offset"), intercept)
            put(info.get("slope"), slope)
            put(info.get("zero"), 0.0)
            for z in info.get("zeros", ()):
                put(z, 0.0)
    npeaks = sum(1 for _, k, _ in kinds if k == "peak")
    found = []
    if npeaks:
        # a term added is a peak, one subtracted a dip; with both, the
        # largest deviations either way, each given to a term of its sign
        r = rest - level
        if len(signs) == 1:
            (way,) = signs
            found = find_peaks(x, way * r, n=npeaks, base=(0.0, 0.0))
            ways = [way] * len(found)
        else:
            found = find_peaks(x, np.abs(r), n=npeaks, base=(0.0, 0.0))
            ways = [1 if r[min(np.searchsorted(x, p.center), x.size - 1)]
                    >= 0 else -1 for p in found]
        left = list(zip(found, ways))
        for sign, kind, info in kinds:
            if kind != "peak" or not left:
                continue
            pick = next((i for i, (_, w) in enumerate(left) if w == sign), 0)
            peak, way = left.pop(pick)
            a = info["args"]
            put(a.get("center"), peak.center)
            for key, v in _peak_values(info["func"], peak,
                                       sign * way).items():
                put(a.get(key), v)
    return Guess(values, [k for _, k, _ in kinds], found)
