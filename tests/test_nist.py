"""NIST StRD nonlinear regression: 27 problems x 2 starting points.

Bar for fitcli's default engine (plain ``minimize(residual, params,
args=(x, y))``):

* ``result.success`` is True;
* every parameter agrees with NIST's certified value to LRE >= 6
  (six significant digits);
* every standard error agrees with NIST's certified standard deviation to
  LRE >= 4.  NIST's certified standard deviations come from the covariance
  scaled by the residual variance, i.e. fitcli's default ``scale_covar=True``;
* the residual sum of squares agrees with the certified one to LRE >= 6.

LRE = -log10(|q - c| / |c|), see ``nist_strd.lre``.  No case is skipped or
marked xfail: a case that misses the bar fails.
"""
import pytest

from nist_strd import NAMES, case_lres, fit_case, load

PARAM_LRE = 6.0
STDERR_LRE = 4.0
RSS_LRE = 6.0

# Lanczos1 is generated from an exact model (y rounded to 13 digits): its
# certified residual sum of squares (1.43e-25) and its certified standard
# deviations (~1e-10, proportional to sqrt(RSS)) are round-off, not
# properties of the problem.  Evaluating the model at the certified values
# in double precision already gives RSS ~4e-21, so neither the RSS nor the
# standard errors can be reproduced to any digit; only its parameter values
# are checked (they are well determined).
ROUNDOFF_CASES = {"Lanczos1"}

# the 27 problems by name (not by globbing the data folder, so that a
# missing .dat file fails its cases instead of dropping them)
CASES = [(name, start) for name in NAMES for start in (1, 2)]
IDS = [f"{name}-start{start}" for name, start in CASES]


@pytest.mark.parametrize("name, start", CASES, ids=IDS)
def test_nist_strd(name, start):
    prob = load(name)
    result = fit_case(name, start)
    p_lre, e_lre, rss_lre = case_lres(name, result)

    problems = []
    if not result.success:
        problems.append(f"success is False (status {result.status!r}: "
                        f"{result.message})")
    for pname, cert, got, q in zip(prob.param_names, prob.certified.tolist(),
                                   p_lre, (result.params[n].value
                                           for n in prob.param_names)):
        if got < PARAM_LRE:
            problems.append(f"{pname} = {q!r}, certified {cert!r}: "
                            f"LRE {got:.2f} < {PARAM_LRE}")
    if name not in ROUNDOFF_CASES:
        for pname, cert, got in zip(prob.param_names, prob.certified_stderr.tolist(),
                                    e_lre):
            q = result.params[pname].stderr
            if got < STDERR_LRE:
                problems.append(f"stderr({pname}) = {q!r}, certified "
                                f"{cert!r}: LRE {got:.2f} < {STDERR_LRE}")
        if rss_lre < RSS_LRE:
            problems.append(f"RSS = {result.chisqr!r}, certified "
                            f"{prob.rss!r}: LRE {rss_lre:.2f} < {RSS_LRE}")
    assert not problems, (f"{name} start {start} (nfev={result.nfev}):\n  "
                          + "\n  ".join(problems))
