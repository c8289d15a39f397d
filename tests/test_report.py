"""Tests of the text reports: fit_report, report_fit / report_errors,
format_value_error, Parameters.pretty_print and show_candidates.

Small hand-built cases are compared with exact (golden) strings; reports of
real fits are checked for structure and consistency with the result.
"""
import math

import numpy as np
import pytest

from fitcli import (MinimizerResult, Parameters, fit_report, minimize,
                    report_errors, report_fit)
from fitcli.errors import ParameterAtBoundWarning
from fitcli.report import format_value_error


# --------------------------------------------------------------------------
# format_value_error
@pytest.mark.parametrize("value, err, expected", [
    (13.0123456, 0.0123, ("13.012", "0.012")),          # the docstring example
    (-2.71828, 0.0314, ("-2.718", "0.031")),
    (0.000123456, 1.2e-6, ("0.0001235", "0.0000012")),
    (1234.5678, 12.34, ("1235", "12")),
    (0.0, 0.05, ("0.000", "0.050")),
    (2.0, 0.05, ("2.000", "0.050")),
    (1.5e9, 2.3e7, ("1.500e+09", "2.3e+07")),
    (123456789.0, 1234.0, ("1.234568e+08", "1.2e+03")),
    (3.0, None, ("3", "None")),
    (3.0, 0.0, ("3", "0")),
    (5.0, math.nan, ("5", "nan")),
    (5.0, math.inf, ("5", "inf")),
])
def test_format_value_error(value, err, expected):
    assert format_value_error(value, err) == expected


def test_format_value_error_sig():
    assert format_value_error(13.0123456, 0.0123, sig=1) == ("13.01", "0.01")
    assert format_value_error(13.0123456, 0.0123, sig=3) == ("13.0123", "0.0123")


# --------------------------------------------------------------------------
# golden reports from hand-built parameters and results
def golden_params():
    """Parameters with known values, errors and correlations."""
    params = Parameters()
    params.add("amp", value=10.0)
    params.add("cen", value=0.0)
    params.add("wid", value=1.5, min=0.5, max=2.0)
    params.add("bg", value=1.0, min=0.0)
    params.add("off", value=-2.71828, vary=False)
    params.add("big", expr="amp*1e8")
    # "fitted" values (init_value keeps the starting ones)
    params["amp"].value = 13.0123456
    params["cen"].value = 0.000123456
    params["wid"].value = 2.0                       # on its max bound
    params["bg"].value = 0.25
    errors = {"amp": 0.0123, "cen": 1.2e-6, "wid": 0.05, "bg": 0.0314,
              "big": 1.23e6}
    for name, err in errors.items():
        params[name].stderr = err
    correl = {("amp", "cen"): -0.95, ("amp", "wid"): 0.05, ("amp", "bg"): 0.3,
              ("cen", "wid"): 0.5, ("cen", "bg"): -0.31, ("wid", "bg"): 0.1}
    for name in ("amp", "cen", "wid", "bg"):
        params[name].correl = {}
    for (a, b), c in correl.items():
        params[a].correl[b] = c
        params[b].correl[a] = c
    return params


GOLDEN_VARIABLES = """\
[[Variables]]
    amp: 13.012 +/- 0.012 (0.09%) (init = 10)
    cen: 0.0001235 +/- 0.0000012 (0.97%) (init = 0)
    wid: 2.000 +/- 0.050 (2.50%) (init = 1.5) (at max bound)
    bg:  0.250 +/- 0.031 (12.56%) (init = 1)
    off: -2.71828 (fixed)
    big: 1.3012e+09 +/- 1.2e+06 (0.09%) == 'amp*1e8'"""

GOLDEN_CORREL = """\
[[Correlations]] (unreported correlations are < 0.100)
    C(amp, cen) = -0.9500
    C(cen, wid) = +0.5000
    C(cen, bg)  = -0.3100
    C(amp, bg)  = +0.3000
    C(wid, bg)  = +0.1000"""


def test_fit_report_parameters_golden():
    assert fit_report(golden_params()) == GOLDEN_VARIABLES + "\n" + GOLDEN_CORREL


def test_fit_report_min_correl_filters():
    text = fit_report(golden_params(), min_correl=0.4)
    assert text == GOLDEN_VARIABLES + "\n" + """\
[[Correlations]] (unreported correlations are < 0.400)
    C(amp, cen) = -0.9500
    C(cen, wid) = +0.5000"""
    # 0.05 is below the default 0.1 and never shown
    assert "C(amp, wid)" not in fit_report(golden_params())
    # nothing above the threshold: no section at all
    assert fit_report(golden_params(), min_correl=0.99) == GOLDEN_VARIABLES
    assert fit_report(golden_params(), show_correl=False) == GOLDEN_VARIABLES


def test_fit_report_correlations_sorted_by_magnitude():
    text = fit_report(golden_params(), min_correl=0.0)
    lines = text.split("[[Correlations]]")[1].splitlines()[1:]
    values = [float(line.split("=")[1]) for line in lines]
    assert len(values) == 6
    assert [abs(v) for v in values] == sorted((abs(v) for v in values),
                                              reverse=True)
    assert lines[-1].strip() == "C(amp, wid) = +0.0500"


def test_fit_report_correl_table():
    text = fit_report(golden_params(), correl_mode="table")
    assert text == GOLDEN_VARIABLES + "\n" + """\
[[Correlations]]
              amp      cen      wid       bg
    amp   +1.0000  -0.9500  +0.0500  +0.3000
    cen   -0.9500  +1.0000  +0.5000  -0.3100
    wid   +0.0500  +0.5000  +1.0000  +0.1000
    bg    +0.3000  -0.3100  +0.1000  +1.0000"""


def test_fit_report_sort_pars():
    text = fit_report(golden_params(), sort_pars=True, show_correl=False)
    names = [line.split(":")[0].strip() for line in text.splitlines()[1:]]
    assert names == ["amp", "bg", "big", "cen", "off", "wid"]
    text = fit_report(golden_params(), sort_pars=len, show_correl=False)
    names = [line.split(":")[0].strip() for line in text.splitlines()[1:]]
    assert names == ["bg", "amp", "cen", "wid", "off", "big"]


def test_fit_report_modelpars():
    true = Parameters()
    true.add("amp", value=13.0)
    text = fit_report(golden_params(), modelpars=true, show_correl=False)
    assert "    amp: 13.012 +/- 0.012 (0.09%) (init = 10) (model_value = 13)" \
        in text.splitlines()


def test_fit_report_min_bound_note():
    params = Parameters()
    params.add("a", value=1.0, min=0.0)
    params["a"].value = 0.0
    params["a"].stderr = 0.25
    assert fit_report(params) == \
        "[[Variables]]\n    a: 0.00 +/- 0.25 (init = 1) (at min bound)"


def golden_result(**changes):
    params = golden_params()
    kws = dict(params=params, method="leastsq", nfev=17, ndata=10, nvarys=4,
               nfree=6, chisqr=1.25, redchi=1.25 / 6,
               aic=10 * math.log(1.25 / 10) + 2 * 4,
               bic=10 * math.log(1.25 / 10) + math.log(10) * 4,
               status="converged", success=True, errorbars=True,
               message="both tolerances met",
               var_names=["amp", "cen", "wid", "bg"])
    kws.update(changes)
    return MinimizerResult(**kws)


GOLDEN_STATS = """\
[[Fit Statistics]]
    # fitting method   = leastsq
    # function evals   = 17
    # data points      = 10
    # variables        = 4
    chi-square         = 1.25
    reduced chi-square = 0.2083333
    Akaike info crit   = -12.79442
    Bayesian info crit = -11.58408
    status             = converged (success=True)
    message            = both tolerances met"""


def test_fit_report_result_golden():
    text = fit_report(golden_result())
    assert text == GOLDEN_STATS + "\n" + GOLDEN_VARIABLES + "\n" + GOLDEN_CORREL


def test_fit_report_points_omitted():
    text = fit_report(golden_result(ndata_omitted=2), show_correl=False)
    lines = text.splitlines()
    assert lines[3] == "    # data points      = 10"
    assert lines[4] == "    # points omitted   = 2"
    assert lines[5] == "    # variables        = 4"


def test_fit_report_no_errorbars_warning():
    params = Parameters()
    params.add("a", value=1.0)
    params.add("b", value=1.0, max=1.0)
    params.add("d", value=2.0)
    params["a"].value = 2.0034567
    result = MinimizerResult(
        params=params, method="leastsq", nfev=40, ndata=30, nvarys=3,
        nfree=27, chisqr=0.5, redchi=0.5 / 27, aic=-100.0, bic=-95.0,
        status="degenerate", success=False, errorbars=False,
        message="uncertainties could not be estimated: parameter 'd' "
                "does not affect the fit",
        var_names=["a", "b", "d"])
    assert fit_report(result) == """\
[[Fit Statistics]]
    # fitting method   = leastsq
    # function evals   = 40
    # data points      = 30
    # variables        = 3
    chi-square         = 0.5
    reduced chi-square = 0.01851852
    Akaike info crit   = -100
    Bayesian info crit = -95
    status             = degenerate (success=False)
    message            = uncertainties could not be estimated: parameter 'd' does not affect the fit
##  Warning: uncertainties could not be estimated:
    b: at initial value
    b: (at max bound)
    d: at initial value
[[Variables]]
    a: 2.003457 +/- None (init = 1)
    b: 1 +/- None (init = 1) (at max bound)
    d: 2 +/- None (init = 2)"""


# --------------------------------------------------------------------------
# reports of real fits
def _line_data():
    rng = np.random.default_rng(99)
    x = np.linspace(0.0, 5.0, 40)
    y = 2.5 * x - 1.2 + rng.normal(scale=0.3, size=x.size)
    return x, y


def line_resid(params, x, y):
    v = params.valuesdict()
    return v["m"] * x + v["b"] - y + 0.0 * v["k"]


@pytest.fixture(scope="module")
def line_result():
    x, y = _line_data()
    params = Parameters()
    params.add("m", value=1.0, min=-10)
    params.add("b", value=0.0)
    params.add("k", value=3.0, vary=False)
    params.add("c", expr="2*b")
    result = minimize(line_resid, params, args=(x, y))
    assert result.success and result.errorbars
    return result


def test_fit_report_sections_of_a_fit(line_result):
    result = line_result
    text = fit_report(result)
    lines = text.splitlines()
    heads = [line for line in lines if line.startswith("[[")]
    assert heads == ["[[Fit Statistics]]", "[[Variables]]",
                     "[[Correlations]] (unreported correlations are < 0.100)"]
    assert lines[0] == "[[Fit Statistics]]"
    assert "    # fitting method   = leastsq" in lines
    assert f"    # function evals   = {result.nfev}" in lines
    assert f"    # data points      = {result.ndata}" in lines
    assert f"    # variables        = {result.nvarys}" in lines
    assert f"    chi-square         = {result.chisqr:.7g}" in lines
    assert f"    reduced chi-square = {result.redchi:.7g}" in lines
    assert f"    Akaike info crit   = {result.aic:.7g}" in lines
    assert f"    Bayesian info crit = {result.bic:.7g}" in lines
    assert "    status             = converged (success=True)" in lines
    assert f"    message            = {result.message}" in lines
    assert "Warning" not in text

    p = result.params
    m, m_err = format_value_error(p["m"].value, p["m"].stderr)
    b, b_err = format_value_error(p["b"].value, p["b"].stderr)
    c, c_err = format_value_error(p["c"].value, p["c"].stderr)
    pct = lambda n: abs(p[n].stderr / p[n].value) * 100  # noqa: E731
    assert f"    m: {m} +/- {m_err} ({pct('m'):.2f}%) (init = 1)" in lines
    assert f"    b: {b} +/- {b_err} ({pct('b'):.2f}%) (init = 0)" in lines
    assert "    k: 3 (fixed)" in lines
    assert f"    c: {c} +/- {c_err} ({pct('c'):.2f}%) == '2*b'" in lines
    assert f"    C(m, b) = {p['m'].correl['b']:+.4f}" in lines
    assert lines[-1] == f"    C(m, b) = {p['m'].correl['b']:+.4f}"
    # this data set: values rounded to two digits of the error
    assert m == "2.523" and m_err == "0.028"


def test_fit_report_bound_note_of_a_fit():
    x, y = _line_data()
    params = Parameters()
    params.add("m", value=1.0, max=2.0)
    params.add("b", value=0.0)
    params.add("k", value=0.0, vary=False)
    with pytest.warns(ParameterAtBoundWarning, match="'m'"):
        result = minimize(line_resid, params, args=(x, y))
    line = [ln for ln in fit_report(result).splitlines()
            if ln.startswith("    m:")][0]
    assert line.endswith("(init = 1) (at max bound)")
    assert line.startswith("    m: 2.000 +/- ")


def test_fit_report_no_errorbars_of_a_fit():
    x = np.linspace(0, 4, 30)
    data = 3.0 * np.exp(-x) + 0.01 * np.cos(7 * x)

    def resid(params, x, data):
        return (params["a"].value + params["b"].value) * np.exp(-x) - data

    params = Parameters()
    params.add("a", value=1.0)
    params.add("b", value=1.0)
    result = minimize(resid, params, args=(x, data))
    assert not result.errorbars
    text = fit_report(result)
    assert "##  Warning: uncertainties could not be estimated:" in text
    assert "+/- None" in text
    assert "[[Correlations]]" not in text
    assert "uncertainties could not be estimated" in text.split(
        "[[Variables]]")[0]


def test_report_fit_prints_the_report(line_result, capsys):
    report_fit(line_result)
    assert capsys.readouterr().out == fit_report(line_result) + "\n"
    report_fit(line_result, min_correl=0.95, show_correl=True)
    assert capsys.readouterr().out == \
        fit_report(line_result, min_correl=0.95) + "\n"
    report_fit(line_result.params)
    assert capsys.readouterr().out == fit_report(line_result.params) + "\n"


def test_report_errors_alias(line_result, capsys):
    report_errors(line_result)
    assert capsys.readouterr().out == fit_report(line_result) + "\n"
    assert report_errors is report_fit


# --------------------------------------------------------------------------
# pretty_print
def test_pretty_print_golden_without_expr(capsys):
    params = golden_params()
    params.pretty_print(columns=("value", "min", "max", "stderr", "vary"))
    assert capsys.readouterr().out == """\
Name     Value      Min      Max   Stderr     Vary
amp      13.01     -inf      inf   0.0123     True
cen  0.0001235     -inf      inf  1.2e-06     True
wid          2      0.5        2     0.05     True
bg        0.25        0      inf   0.0314     True
off     -2.718     -inf      inf     None    False
big  1.301e+09     -inf      inf 1.23e+06    False
"""


def test_pretty_print_default_columns_aligned(capsys):
    params = golden_params()
    params["amp"].brute_step = 0.5
    params.pretty_print()
    out = capsys.readouterr().out
    lines = out.splitlines()
    assert len(lines) == 1 + len(params)
    head = lines[0].split()
    assert head == ["Name", "Value", "Min", "Max", "Stderr", "Vary",
                    "Expression", "Brute_step"], lines[0]
    rows = {line.split()[0]: line for line in lines[1:]}
    assert rows["big"].split()[6] == "amp*1e8"
    assert rows["amp"].split()[-1] == "0.5"
    # the Brute_step column is right-aligned at the same place in every row
    # (a row with an expression must not shift it)
    assert len({len(line) for line in lines[1:]}) == 1, out


def test_pretty_print_options(capsys):
    params = golden_params()
    params.pretty_print(oneline=True)
    assert capsys.readouterr().out == repr(params) + "\n"
    params.pretty_print(columns=("value",), precision=6, colwidth=10)
    out = capsys.readouterr().out.splitlines()
    assert out[0] == "Name       Value"
    assert out[1] == "amp      13.0123"
    assert params.pretty_repr(columns=("value",), precision=6, colwidth=10) \
        == "\n".join(out)


# --------------------------------------------------------------------------
# show_candidates
def _exact_line_brute(**opts):
    x = np.arange(5.0)
    y = 2.0 * x - 1.0
    params = Parameters()
    params.add("m", value=1.0, min=0.0, max=4.0)
    params.add("b", value=0.0, min=-2.0, max=2.0)
    return minimize(lambda p, x, y: p["m"].value * x + p["b"].value - y,
                    params, method="brute", args=(x, y), Ns=5, **opts)


def test_show_candidates_golden():
    result = _exact_line_brute()
    assert result.method == "brute"
    assert result.params["m"].value == 2.0
    assert result.params["b"].value == -1.0
    assert result.show_candidates(4) == """\
Candidate #1: chi-square=0  m=2, b=-1
Candidate #2: chi-square=5  m=2, b=-2
Candidate #3: chi-square=5  m=2, b=0
Candidate #4: chi-square=10  m=1, b=1"""


def test_show_candidates_all_and_keep():
    result = _exact_line_brute(keep=7)
    lines = result.show_candidates().splitlines()
    assert len(lines) == 7
    assert [ln.split(":")[0] for ln in lines] == \
        [f"Candidate #{i}" for i in range(1, 8)]
    chis = [float(ln.split("chi-square=")[1].split()[0]) for ln in lines]
    assert chis == sorted(chis)
    assert chis[0] == result.brute_fval == result.chisqr == 0.0
    full = _exact_line_brute()
    assert len(full.show_candidates().splitlines()) == 25   # whole 5x5 grid


def test_show_candidates_not_brute(line_result):
    assert line_result.show_candidates() == "no candidates (not a brute fit)"
