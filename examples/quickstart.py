"""Quick start: fit a damped sine with a bounded, a fixed and free parameters."""
import numpy as np

from fitcli import Parameters, minimize, report_fit

rng = np.random.default_rng(20261122)
x = np.linspace(0, 15, 301)
data = 5.0 * np.sin(2.0 * x - 0.1) * np.exp(-x * x * 0.025) \
    + rng.normal(scale=0.2, size=x.size)


def residual(params, x, data=None):
    v = params.valuesdict()
    model = v["amp"] * np.sin(x * v["omega"] + v["shift"]) * np.exp(-x * x * v["decay"])
    return model if data is None else model - data


params = Parameters()
params.add("amp", value=10, min=0)
params.add("decay", value=0.025, vary=False)
params.add("shift", value=0.0, min=-np.pi / 2, max=np.pi / 2)
params.add("omega", value=2.2)

result = minimize(residual, params, args=(x,), kws={"data": data})
report_fit(result)
