"""engines: the ways to MINPACK's lmdif (issue 13).

``engines._load_lmdif`` loads scipy's private MINPACK extension by file path
to spare ``fitcli run`` the import of ``scipy.optimize`` (about 0.3 s).  It
is kept only while these tests force every path -- the by-file load, the
already imported module, the public ``scipy.optimize.leastsq`` and the
fallback on a changed private signature -- and find identical fits.
"""
import json
import subprocess
import sys

import numpy as np
import pytest

from fitcli import Parameters, engines, minimize

# A fit in a fresh interpreter; argv[1] picks how lmdif is reached.
SCRIPT = r"""
import json, sys
import numpy as np
mode = sys.argv[1]
if mode == "imported":
    import scipy.optimize  # noqa: F401 - the private module is then found
from fitcli import Parameters, engines, minimize
if mode == "public":
    engines._LMDIF[:] = [None]
rng = np.random.default_rng(3)
x = np.linspace(0, 10, 60)
y = 3.0 * np.exp(-x / 2.5) + 0.5 + rng.normal(scale=0.05, size=x.size)
p = Parameters()
p.add("a", value=1)
p.add("t", value=1, min=0.1)
p.add("c", value=0)
res = minimize(lambda p: p["a"].value * np.exp(-x / p["t"].value)
               + p["c"].value - y, p)
print(json.dumps({
    "scipy_optimize": "scipy.optimize" in sys.modules,
    "lmdif": engines._LMDIF[0] is not None,
    "values": [v.value for v in res.params.values()],
    "stderr": [v.stderr for v in res.params.values()],
    "nfev": res.nfev, "chisqr": res.chisqr, "status": res.status}))
"""


def _fit_in_child(mode):
    out = subprocess.run([sys.executable, "-c", SCRIPT, mode],
                         capture_output=True, text=True, check=True,
                         timeout=120)
    return json.loads(out.stdout)


def test_lmdif_by_file_path_spares_the_scipy_optimize_import():
    got = _fit_in_child("by-file")
    assert got["lmdif"] is True
    assert got["scipy_optimize"] is False


def test_every_path_to_lmdif_gives_the_same_fit():
    fits = {mode: _fit_in_child(mode)
            for mode in ("by-file", "imported", "public")}
    assert fits["public"]["lmdif"] is False and \
        fits["imported"]["lmdif"] is True
    reference = fits["by-file"]
    assert reference["status"] == "converged"
    np.testing.assert_allclose(reference["values"], [3.0, 2.5, 0.5],
                               atol=0.1)      # a fit, not a stuck start
    for mode, got in fits.items():
        # the same MINPACK code on the same numbers: the same fit
        for key in ("values", "stderr", "chisqr"):
            np.testing.assert_allclose(got[key], reference[key], rtol=1e-12,
                                       atol=0, err_msg=f"{mode} {key}")
        assert (got["nfev"], got["status"]) == \
            (reference["nfev"], reference["status"]), mode


def _decay_problem():
    x = np.linspace(0, 4, 40)
    y = 2.0 * np.exp(-1.3 * x) + 0.1 * np.cos(7 * x)

    def residual(v):
        return v[0] * np.exp(-v[1] * x) - y
    return residual, np.array([1.0, 0.5])


@pytest.mark.parametrize("opts", [{}, {"epsfcn": 1e-10, "xtol": 1e-10},
                                  {"diag": [1.0, 2.0], "ftol": 1e-12}])
def test_private_and_public_minpack_calls_agree_exactly(monkeypatch, opts):
    """MINPACK's own output (no linear algebra of fitcli's around it) is
    the same bits by either call."""
    residual, x0 = _decay_problem()
    opts = dict(opts)
    if "diag" in opts:
        opts["diag"] = np.array(opts["diag"])
    assert engines._load_lmdif() is not None
    private = engines._minpack_lm(residual, x0, 100.0, 400, dict(opts))
    monkeypatch.setattr(engines, "_LMDIF", [None])
    public = engines._minpack_lm(residual, x0, 100.0, 400, dict(opts))
    assert np.array_equal(private[0], public[0])
    assert private[2] == public[2] and private[2] in (1, 2, 3, 4)
    assert private[1]["nfev"] == public[1]["nfev"]
    assert np.array_equal(private[1]["fvec"], public[1]["fvec"])


def test_a_changed_private_signature_falls_back_to_leastsq(monkeypatch):
    residual, x0 = _decay_problem()
    public = engines._minpack_lm(residual, x0, 100.0, 400, {})

    def changed(*args):
        raise TypeError("_lmdif() takes 12 positional arguments")
    monkeypatch.setattr(engines, "_LMDIF", [changed])
    fallback = engines._minpack_lm(residual, x0, 100.0, 400, {})
    assert np.array_equal(fallback[0], public[0]) and fallback[2] == public[2]


def test_fits_agree_in_process(monkeypatch):
    x = np.linspace(0, 5, 30)
    y = 1.5 * x ** 2 - 2.0 * x + 0.3

    def fit():
        p = Parameters()
        p.add("a", value=1)
        p.add("b", value=0)
        p.add("c", value=0)
        return minimize(lambda p: p["a"].value * x ** 2 + p["b"].value * x
                        + p["c"].value - y, p)
    private = fit()
    monkeypatch.setattr(engines, "_LMDIF", [None])
    public = fit()
    for name in ("a", "b", "c"):
        assert private.params[name].value == pytest.approx(
            public.params[name].value, rel=1e-12, abs=1e-12)
    assert private.nfev == public.nfev
