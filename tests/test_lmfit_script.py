"""examples/lmfit_script.py -- a typical lmfit 1.x script with only its
import line changed -- runs and gives lmfit's numbers (issue 15).

The reference numbers below were measured by running the same script with
``import lmfit`` under lmfit 1.3.4 (numpy 2.4, scipy 1.17) in a scratch
environment; lmfit is not needed here.  Tolerances are far above the
conditioning of the problem and far below its statistical errors: values
to 1e-5 relative (the standard errors are 0.3-2 %), standard errors to
1e-3 relative, correlations to 1e-3, confidence limits to 1 % of the
standard error, and Nelder-Mead (which lmfit stops early) to 2 % of the
standard error.
"""
import contextlib
import io
import math
import runpy
from pathlib import Path

import pytest

SCRIPT = Path(__file__).resolve().parent.parent / "examples" / "lmfit_script.py"

#: lmfit 1.3.4, method='leastsq': value, stderr
LEASTSQ = {
    "amp": (5.003230534, 0.03805963676),
    "decay": (0.0256384927, 0.000445723244),
    "shift": (-0.09162987325, 0.009783807416),
    "omega": (1.996116288, 0.003162281216),
    "period": (3.147705044, 0.004986647625),
}
#: lmfit 1.3.4, method='nelder' (no standard errors without numdifftools)
NELDER = {
    "amp": 5.003239507,
    "decay": 0.02563874408,
    "shift": -0.09163938554,
    "omega": 1.996120765,
    "period": 3.147697984,
}
CHISQR = 10.8653513868
CORREL = {
    ("amp", "decay"): 0.583769,
    ("amp", "shift"): -0.120772,
    ("amp", "omega"): 0.0941397,
    ("decay", "shift"): -0.0710764,
    ("decay", "omega"): 0.055386,
    ("omega", "shift"): -0.785467,
}
#: conf_interval(sigmas=[1, 2]): limits at -2, -1 sigma, best, +1, +2 sigma
CI = {
    "amp": [4.927135086, 4.965228445, 5.003230534, 5.041336369, 5.079743738],
    "decay": [0.0247632783, 0.02519824797, 0.0256384927, 0.02608637976,
              0.02654439483],
    "shift": [-0.1113036457, -0.1014525205, -0.09162987325, -0.08178535193,
              -0.07186812371],
    "omega": [1.989737711, 1.992935885, 1.996116288, 1.999294268,
              2.002485108],
}
PROBS = [0.9544997361036416, 0.6826894921370859, 0.0, 0.6826894921370859,
         0.9544997361036416]


@pytest.fixture(scope="module")
def run():
    out = io.StringIO()
    with contextlib.redirect_stdout(out):
        names = runpy.run_path(str(SCRIPT), run_name="__main__")
    return names, out.getvalue()


def test_the_script_differs_from_lmfits_only_by_the_import():
    text = SCRIPT.read_text()
    imports = [ln for ln in text.splitlines()
               if ln.startswith(("import ", "from "))]
    assert imports == ["import numpy as np",
                       "import fitcli as lmfit   # the only change from the "
                       "lmfit script"]
    code = text.split("import fitcli as lmfit   #", 1)[1]
    assert "fitcli" not in code.split("\n", 1)[1]   # only lmfit's API below


def test_leastsq_gives_lmfits_numbers(run):
    result = run[0]["result"]
    assert result.success and result.errorbars
    assert result.chisqr == pytest.approx(CHISQR, rel=1e-7)
    for name, (value, stderr) in LEASTSQ.items():
        par = result.params[name]
        assert par.value == pytest.approx(value, rel=1e-5), name
        assert par.stderr == pytest.approx(stderr, rel=1e-3), name
    for (a, b), c in CORREL.items():
        assert result.params[a].correl[b] == pytest.approx(c, abs=1e-3)


def test_nelder_gives_lmfits_numbers(run):
    result = run[0]["result_nelder"]
    assert result.success
    for name, value in NELDER.items():
        tol = 0.02 * LEASTSQ[name][1]
        assert abs(result.params[name].value - value) <= tol, name


def test_conf_interval_gives_lmfits_limits(run):
    ci = run[0]["ci"]
    assert set(ci) == set(CI)
    for name, limits in CI.items():
        rows = ci[name]
        assert [p for p, _ in rows] == pytest.approx(PROBS, rel=1e-12)
        tol = 0.01 * LEASTSQ[name][1]
        for (_, got), want in zip(rows, limits):
            assert math.isfinite(got) and abs(got - want) <= tol, name


def test_reports_are_printed(run):
    text = run[1]
    assert text.count("[[Fit Statistics]]") == 2
    assert text.count("[[Variables]]") == 2
    for name in LEASTSQ:
        assert f"    {name}:" in text
    assert "_BEST_" in text and "68.27%" in text and "95.45%" in text
