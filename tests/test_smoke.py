"""Smoke test: the quick-start problem fits and reports."""
import numpy as np

from fitcli import Parameters, fit_report, minimize


def test_damped_sine_recovers_truth():
    rng = np.random.default_rng(1)
    x = np.linspace(0, 15, 301)
    data = 5.0 * np.sin(2.0 * x - 0.1) * np.exp(-x * x * 0.025) \
        + rng.normal(scale=0.2, size=x.size)

    def residual(params, x, data):
        v = params.valuesdict()
        return v["amp"] * np.sin(x * v["omega"] + v["shift"]) \
            * np.exp(-x * x * v["decay"]) - data

    params = Parameters()
    params.add("amp", value=10, min=0)
    params.add("decay", value=0.025, vary=False)
    params.add("shift", value=0.0, min=-np.pi / 2, max=np.pi / 2)
    params.add("omega", value=2.2)
    result = minimize(residual, params, args=(x, data))
    assert result.success
    assert abs(result.params["amp"].value - 5.0) < 4 * result.params["amp"].stderr
    assert abs(result.params["omega"].value - 2.0) < 4 * result.params["omega"].stderr
    assert params["amp"].value == 10  # caller's Parameters untouched
    assert "[[Variables]]" in fit_report(result)
