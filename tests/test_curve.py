"""The model on a fine grid (issue 19): curve.csv's grid, values, standard
error (= eval_uncertainty on the grid, = the analytic propagation) and
components; models of several x variables have none."""
import csv
import json
from pathlib import Path

import numpy as np
import pytest

from fitcli import eval_uncertainty
from fitcli.curve import (CURVE_POINTS, LOG_SPAN, MAX_CURVE_POINTS,
                          component_names, curve_grid)
from fitcli.model import ExpressionModel
from fitcli.outdir import MANIFEST
from fitcli.run import run_spec
from fitcli.spec import load_spec, load_spec_text

ROOT = Path(__file__).resolve().parent.parent
SPECS = ROOT / "specs"


def read_table(path):
    with open(path, newline="") as fh:
        rows = list(csv.reader(fh))
    return rows[0], np.array([[float(c) for c in r] for r in rows[1:]])


def gaussian(x, amp, cen, wid):
    return amp / (wid * np.sqrt(2 * np.pi)) * np.exp(-(x - cen) ** 2
                                                     / (2 * wid ** 2))


# ------------------------------------------------------------------ the grid
def test_grid_even_points_and_ends():
    g = curve_grid(-1.5, 2.5, 10)
    assert len(g) == CURVE_POINTS
    assert (g[0], g[-1]) == (-1.5, 2.5)
    np.testing.assert_allclose(np.diff(g), 4.0 / (CURVE_POINTS - 1),
                               rtol=1e-9)


def test_grid_twice_the_data_points_at_most_the_limit():
    assert len(curve_grid(-1.0, 1.0, 3000)) == 6000
    assert len(curve_grid(-1.0, 1.0, 10 ** 6)) == MAX_CURVE_POINTS


def test_grid_over_decades_merges_geometric_points():
    g = curve_grid(0.01, 100.0, 5)
    even = np.linspace(0.01, 100.0, CURVE_POINTS)
    geo = np.geomspace(0.01, 100.0, CURVE_POINTS)
    np.testing.assert_array_equal(g, np.union1d(even, geo))
    assert np.all(np.diff(g) > 0)
    # the first decade is resolved (an even grid has one point in it)
    assert np.sum(g < 0.1) > 100
    # below the span factor, or touching zero: even points only
    assert len(curve_grid(1.0, LOG_SPAN * 0.99)) == CURVE_POINTS
    assert len(curve_grid(0.0, 100.0)) == CURVE_POINTS


def test_grid_of_one_x_value_and_bad_ranges():
    np.testing.assert_array_equal(curve_grid(3.0, 3.0), [3.0])
    for lo, hi in ((1.0, 0.0), (0.0, np.inf), (np.nan, 1.0)):
        with pytest.raises(ValueError, match="finite range"):
            curve_grid(lo, hi)


def test_component_names_are_terms_unless_taken():
    assert component_names(["gaussian(x, a, c, w)", "b * x"]) == [
        "gaussian(x, a, c, w)", "b * x"]
    assert component_names(["x", "a", "a", "model"]) == [
        "x [1]", "a", "a [3]", "model [4]"]


# ------------------------------------------------------------- quickstart
@pytest.fixture(scope="module")
def quickstart(tmp_path_factory):
    out = tmp_path_factory.mktemp("qs")
    outcome = run_spec(load_spec(SPECS / "quickstart.yaml"), out_dir=out,
                       confidence=False)
    return outcome, out


def test_curve_csv_columns_and_grid(quickstart):
    outcome, out = quickstart
    header, table = read_table(out / "curve.csv")
    assert header == ["x", "model", "model_stderr",
                      "gaussian(x, amp1, cen1, wid1)",
                      "gaussian(x, amp2, cen2, wid2)", "slope * x", "offset"]
    x = table[:, 0]
    # the fitted data's range (data.range: [2.0, 8.5]), evenly
    np.testing.assert_array_equal(x, np.linspace(2.0, 8.5, CURVE_POINTS))
    assert (out / "curve.csv").read_bytes() == outcome.curve.csv()


def test_curve_csv_model_is_the_best_fit_on_the_grid(quickstart):
    outcome, out = quickstart
    header, table = read_table(out / "curve.csv")
    x, model = table[:, 0], table[:, 1]
    p = {n: v["value"] for n, v in
         json.loads((out / "result.json").read_text())["parameters"].items()}
    exact = (gaussian(x, p["amp1"], p["cen1"], p["wid1"])
             + gaussian(x, p["amp2"], p["cen2"], p["wid2"])
             + p["slope"] * x + p["offset"])
    np.testing.assert_allclose(model, exact, rtol=1e-12, atol=1e-14)
    # the components add up to it, each is its term
    np.testing.assert_allclose(table[:, 3:].sum(axis=1), model, rtol=1e-12,
                               atol=1e-14)
    np.testing.assert_allclose(table[:, 5], p["slope"] * x, rtol=1e-15,
                               atol=0)
    np.testing.assert_array_equal(table[:, 6], np.full(len(x), 1.0))
    # and at the ends of the grid it is fit.csv's model at the ends
    fh, ft = read_table(out / "fit.csv")
    fit = dict(zip(fh, ft.T))
    i, j = np.argmin(fit["x"]), np.argmax(fit["x"])
    np.testing.assert_allclose([model[0], model[-1]],
                               [fit["model"][i], fit["model"][j]],
                               rtol=1e-11)


def test_curve_band_is_eval_uncertainty_on_the_grid(quickstart):
    """Acceptance: the curve's stderr column is eval_uncertainty of the
    model on the grid, and (independently) sqrt(g C g^T) with the analytic
    gradient of the quickstart model."""
    outcome, out = quickstart
    header, table = read_table(out / "curve.csv")
    x, err = table[:, 0], table[:, 2]
    result = outcome.result
    m = ExpressionModel(outcome.spec.model, ["x"],
                        list(outcome.spec.parameters))
    direct = eval_uncertainty(lambda p: m.eval(p.valuesdict(), {"x": x}),
                              result)
    np.testing.assert_allclose(err, direct, rtol=1e-12, atol=0)
    assert np.all(err > 0)
    p = result.params
    names = list(result.var_names)

    def d_gauss(amp, cen, wid):
        g = gaussian(x, amp, cen, wid)
        return {"amp": g / amp, "cen": g * (x - cen) / wid ** 2,
                "wid": g * ((x - cen) ** 2 / wid ** 3 - 1.0 / wid)}
    g1 = d_gauss(p["amp1"].value, p["cen1"].value, p["wid1"].value)
    g2 = d_gauss(p["amp2"].value, p["cen2"].value, p["wid2"].value)
    grad = {"amp1": g1["amp"], "cen1": g1["cen"], "wid1": g1["wid"] + g2["wid"],
            "amp2": g2["amp"], "cen2": g2["cen"], "slope": x}
    G = np.array([grad[n] for n in names])
    exact = np.sqrt(np.einsum("im,ij,jm->m", G, result.covar, G))
    np.testing.assert_allclose(err, exact, rtol=1e-6)


def test_curve_without_errorbars_has_nan_stderr(tmp_path):
    # b does not affect the model (c is fixed at 0): no covariance
    spec = load_spec_text(
        "data: {x: [0, 1, 2, 3], y: [1, 3, 5, 7.5]}\nmodel: a*x + b*c\n"
        "parameters: {a: 1, b: 1, c: {value: 0, vary: false}}\n",
        base_dir=tmp_path)
    outcome = run_spec(spec, out_dir=tmp_path / "o")
    assert not outcome.result.errorbars and outcome.curve.stderr is None
    header, table = read_table(tmp_path / "o" / "curve.csv")
    assert header == ["x", "model", "model_stderr", "a * x", "b * c"]
    assert np.isnan(table[:, 2]).all()
    np.testing.assert_allclose(table[:, 1], table[:, 3], rtol=1e-15, atol=0)


def test_curve_of_a_product_has_no_components(tmp_path):
    (tmp_path / "d.csv").write_text("t,y\n0,2\n1,4.1\n2,5.9\n3,8\n")
    spec = load_spec_text(
        "data: {file: d.csv, x: t, y: y}\nmodel: a*(x + b)\n"
        "parameters: {a: 1, b: 0}\n", base_dir=tmp_path)
    outcome = run_spec(spec, out_dir=tmp_path / "o")
    header, table = read_table(tmp_path / "o" / "curve.csv")
    assert header == ["x", "model", "model_stderr"]
    np.testing.assert_array_equal(table[:, 0], np.linspace(0, 3, CURVE_POINTS))
    p = outcome.result.params
    np.testing.assert_allclose(table[:, 1],
                               p["a"].value * (table[:, 0] + p["b"].value),
                               rtol=1e-12, atol=1e-14)


def test_several_x_variables_write_no_curve(tmp_path):
    outcome = run_spec(load_spec(SPECS / "inequality.yaml"),
                       out_dir=tmp_path)
    assert outcome.curve is None
    assert not (tmp_path / "curve.csv").exists()
    assert (tmp_path / "fit.csv").exists()


def test_no_curve_without_csv_or_plots(tmp_path):
    spec = load_spec_text(
        "data: {x: [0, 1, 2, 3], y: [1, 3, 5, 7.5]}\nmodel: a*x + b\n"
        "parameters: {a: 1, b: 0}\noutput: {csv: false}\n",
        base_dir=tmp_path)
    outcome = run_spec(spec, out_dir=tmp_path / "o")
    assert outcome.curve is None
    assert sorted(p.name for p in (tmp_path / "o").iterdir()) == [
        MANIFEST, "report.txt", "result.json"]


def test_curve_csv_same_bytes_twice(tmp_path):
    spec = load_spec(SPECS / "two_decays.yaml")
    a = run_spec(spec, out_dir=tmp_path / "a", confidence=False)
    b = run_spec(spec, out_dir=tmp_path / "b", confidence=False)
    assert (tmp_path / "a" / "curve.csv").read_bytes() == \
        (tmp_path / "b" / "curve.csv").read_bytes()
    # two decays over 0.05 .. 10: more than a decade, a merged log grid
    assert len(a.curve.x) > CURVE_POINTS
    assert b.curve.components == ()            # a product: no terms


def test_curve_range_extrapolates(tmp_path):
    """output.curve_range: the grid spans [a, b] (here beyond the data, and
    over more than a decade: even and geometric points merged)."""
    (tmp_path / "d.csv").write_text(
        "t,y\n1,8.1\n2,6.6\n3,5.4\n4,4.5\n5,3.7\n6,3.0\n")
    spec = load_spec_text(
        "data: {file: d.csv, x: t, y: y}\nmodel: a*exp(-x/tau)\n"
        "parameters: {a: 10, tau: 5}\noutput: {curve_range: [0.1, 20]}\n",
        base_dir=tmp_path)
    outcome = run_spec(spec, out_dir=tmp_path / "o")
    header, table = read_table(tmp_path / "o" / "curve.csv")
    x, model, err = table[:, 0], table[:, 1], table[:, 2]
    np.testing.assert_array_equal(x, curve_grid(0.1, 20.0, 6))
    assert (x[0], x[-1]) == (0.1, 20.0) and len(x) > CURVE_POINTS
    p = outcome.result.params
    np.testing.assert_allclose(model, p["a"].value * np.exp(
        -x / p["tau"].value), rtol=1e-12)
    # the propagated relative error grows away from the data
    mid = np.argmin(np.abs(x - 3.5))
    assert err[-1] / model[-1] > 3 * err[mid] / model[mid]
