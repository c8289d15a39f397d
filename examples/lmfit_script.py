"""A typical lmfit 1.x script, run unchanged by fitcli: only the import line
differs (``import fitcli as lmfit`` instead of ``import lmfit``).

It fits a damped sine wave with bounds and a constraint expression, with
Levenberg-Marquardt and with Nelder-Mead, prints both reports, then
computes and prints the confidence intervals.  ``tests/test_lmfit_script.py``
runs it and compares its numbers with those lmfit 1.3.4 gives for the same
script.

Run: ``python examples/lmfit_script.py``
"""
import numpy as np

import fitcli as lmfit   # the only change from the lmfit script

# ---- data: a damped sine wave with noise ---------------------------------
np.random.seed(7)
x = np.linspace(0, 15, 301)
data = (5.0 * np.sin(2.0 * x - 0.1) * np.exp(-x * x * 0.025)
        + np.random.normal(size=x.size, scale=0.2))


# ---- the residual: parameters used as numbers, as lmfit allows -----------
def fcn2min(params, x, data):
    """model decaying sine wave, subtract data"""
    amp = params['amp']
    shift = params['shift']
    omega = params['omega']
    decay = params['decay']
    model = amp * np.sin(x * omega + shift) * np.exp(-x * x * decay)
    return model - data


# ---- parameters: bounds and a constraint expression ----------------------
params = lmfit.Parameters()
params.add('amp', value=10, min=0)
params.add('decay', value=0.1)
params.add('shift', value=0.0, min=-np.pi / 2., max=np.pi / 2.)
params.add('omega', value=3.0)
params.add('period', expr='2*pi/omega')

# ---- two methods ---------------------------------------------------------
result = lmfit.minimize(fcn2min, params, args=(x, data))
lmfit.report_fit(result)

result_nelder = lmfit.minimize(fcn2min, params, method='nelder',
                               args=(x, data))
lmfit.report_fit(result_nelder)

# ---- confidence intervals ------------------------------------------------
mini = lmfit.Minimizer(fcn2min, params, fcn_args=(x, data))
result_ci = mini.minimize()
ci = lmfit.conf_interval(mini, result_ci, sigmas=[1, 2])
lmfit.report_ci(ci)
