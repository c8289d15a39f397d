"""Regression checks (fitcli.regress): the spec's ``expect:`` section on real
fits, comparison of result / summary documents, reading documents, the text
table."""
import copy
import json
import math
from types import SimpleNamespace

import numpy as np
import pytest

from fitcli import Parameters, minimize
from fitcli.errors import DataError, FitcliError
from fitcli.outputs import json_bytes, result_document
from fitcli.regress import (Check, check_expect, compare_documents,
                            expect_document, format_checks, load_document)
from fitcli.spec import (ExpectParam, ExpectSection, ExpectWindow,
                         load_spec_text)


# --------------------------------------------------------------------------
# a small seeded problem: y = amp * exp(-x / tau) + base, sigma 0.02
def _problem():
    rng = np.random.default_rng(7)
    x = np.linspace(0, 10, 41)
    y = 3.0 * np.exp(-x / 2.5) + 0.5 + rng.normal(0, 0.02, x.size)
    return x, y


def _residual(params, x, y):
    v = params.valuesdict()
    return (v["amp"] * np.exp(-x / v["tau"]) + v["base"] - y) / 0.02


def _params():
    p = Parameters()
    p.add("amp", 1)
    p.add("tau", 1, min=0.1)
    p.add("base", 0)
    p.add("fixed", 2.0, vary=False)
    p.add("half", expr="amp / 2")
    return p


@pytest.fixture(scope="module")
def fit():
    x, y = _problem()
    return minimize(_residual, _params(), args=(x, y))


@pytest.fixture(scope="module")
def unconverged():
    x, y = _problem()
    return minimize(_residual, _params(), args=(x, y), max_nfev=3)


def _expect(text):
    """An ExpectSection parsed from YAML (the spec's parameters are those
    of the problem)."""
    spec = load_spec_text(
        "data: {x: [1, 2, 3, 4, 5, 6], y: [1, 2, 3, 4, 5, 6]}\n"
        "model: amp * exp(-x / tau) + base + 0 * fixed + 0 * half\n"
        "parameters: {amp: 1, tau: {value: 1, min: 0.1}, base: 0,\n"
        "             fixed: {value: 2, vary: false}, half: {expr: amp / 2}}\n"
        "expect:\n" + text, source="t.yaml")
    return spec.expect


def _by_what(checks):
    return {c.what: c for c in checks}


# --------------------------------------------------------------------------
# check_expect on real fits
def test_fit_is_as_expected(fit):
    assert fit.success and fit.errorbars
    assert 3.0 < fit.params["amp"].value < 3.02


def test_everything_passes(fit):
    amp = fit.params["amp"].value
    expect = _expect(
        "  converged: true\n  errorbars: true\n"
        "  chisqr: {min: 0, max: 50}\n  redchi: [0.5, 1.0]\n"
        "  params:\n"
        f"    amp: {{value: {amp!r}, rtol: 0.001, stderr_max: 0.02}}\n"
        "    tau: {value: 2.49, atol: 0.01}\n"
        "    base: {min: 0.48, max: 0.5}\n"
        f"    half: {fit.params['half'].value!r}\n"
        "    fixed: {value: 2, rtol: 0}\n")
    checks = check_expect(expect, fit)
    assert all(c.ok for c in checks), format_checks(checks)
    assert [c.what for c in checks] == [
        "converged", "errorbars", "chisqr", "redchi", "params.amp",
        "params.amp.stderr", "params.tau", "params.base", "params.half",
        "params.fixed"]
    got = _by_what(checks)
    assert got["converged"] == Check("converged", "true", "true", True,
                                     "status converged")
    assert got["chisqr"].expected == "[0.0, 50.0]"
    assert got["redchi"].expected == "[0.5, 1.0]"
    assert got["params.tau"].expected == "2.49 ± 0.01 (atol 0.01)"
    assert got["params.base"].expected == "[0.48, 0.5]"
    assert got["params.amp.stderr"].expected == "<= 0.02"
    assert got["params.half"].expected.endswith("(rtol 1e-06)")
    assert got["params.fixed"].expected == "2.0 exact"
    assert expect_document(checks)["passed"] is True


def test_converged_and_errorbars_fail(fit, unconverged):
    checks = check_expect(_expect("  converged: false\n  errorbars: false\n"),
                          fit)
    assert [(c.what, c.expected, c.got, c.ok) for c in checks] == [
        ("converged", "false", "true", False),
        ("errorbars", "false", "true", False)]
    checks = check_expect(_expect("  converged: true\n"), unconverged)
    assert checks == [Check("converged", "true", "false", False,
                            "status max_nfev")]


def test_chisqr_and_redchi_windows_fail(fit):
    checks = check_expect(_expect("  chisqr: {max: 20}\n"
                                  "  redchi: {min: 0.9}\n"), fit)
    chisqr, redchi = checks
    assert not chisqr.ok and chisqr.expected == "<= 20.0"
    assert chisqr.detail.startswith("above max by 5.8")
    assert not redchi.ok and redchi.expected == ">= 0.9"
    assert redchi.detail.startswith("below min by 0.22")


def test_parameter_value_outside_tolerance(fit):
    checks = check_expect(_expect(
        "  params:\n    amp: {value: 3.1, rtol: 0.01}\n"
        "    tau: {value: 2.5, atol: 0.005}\n    base: 0.4925\n"), fit)
    amp, tau, base = checks
    assert not amp.ok and amp.expected == "3.1 ± 0.031 (rtol 0.01)"
    assert amp.got == "3.009472771"
    assert amp.detail == "diff -0.0905 (rel -0.0292)"
    assert not tau.ok and tau.detail.startswith("diff -0.00987")
    # a bare number is a value with rtol 1e-6: 0.492597 is not 0.4925
    assert not base.ok and base.expected == "0.4925 ± 4.925e-07 (rtol 1e-06)"


def test_parameter_interval_and_stderr_fail(fit):
    checks = check_expect(_expect(
        "  params:\n    base: {min: 0.5}\n    tau: {max: 2.4}\n"
        "    amp: {stderr_max: 0.001}\n"), fit)
    base, tau, amp = checks
    assert (base.what, base.ok) == ("params.base", False)
    assert base.expected == ">= 0.5"
    assert base.detail.startswith("below min by 0.0074")
    assert (tau.ok, tau.expected) == (False, "<= 2.4")
    assert tau.detail.startswith("above max by 0.09")
    assert (amp.what, amp.ok, amp.expected) == ("params.amp.stderr", False,
                                                "<= 0.001")
    assert amp.got.startswith("0.0098071757")
    assert amp.detail.startswith("above max by 0.0088")


def test_stderr_of_a_constrained_parameter(fit):
    checks = check_expect(_expect("  params:\n    half: {stderr_max: 0.01}\n"),
                          fit)
    assert checks[0].ok and checks[0].what == "params.half.stderr"


def test_no_stderr_fails(unconverged):
    x, y = _problem()
    result = minimize(_residual, _params(), args=(x, y))
    result.params["amp"].stderr = None
    checks = check_expect(ExpectSection(params={
        "amp": ExpectParam(stderr_max=1.0)}), result)
    assert checks == [Check("params.amp.stderr", "<= 1.0", "none", False,
                            "no standard error")]


def test_parameter_missing_from_result(fit):
    expect = ExpectSection(params={
        "nope": ExpectParam(value=1.0, rtol=0.1, atol=0.0),
        "gone": ExpectParam(min=0.0, max=1.0),
        "err": ExpectParam(stderr_max=0.5)})
    checks = check_expect(expect, fit)
    assert [(c.what, c.expected, c.got, c.ok) for c in checks] == [
        ("params.nope", "1.0 ± 0.1 (rtol 0.1)", "missing", False),
        ("params.gone", "[0.0, 1.0]", "missing", False),
        ("params.err", "stderr <= 0.5", "missing", False)]
    assert all(c.detail == "not a parameter of the fit result"
               for c in checks)


def test_nan_and_none_values_fail():
    par = SimpleNamespace(value=math.nan, stderr=math.nan)
    result = SimpleNamespace(success=False, status="not_finite",
                             errorbars=False, chisqr=math.nan,
                             redchi=math.inf,
                             params={"a": par, "b": SimpleNamespace(
                                 value=None, stderr=None)})
    expect = ExpectSection(
        chisqr=ExpectWindow(0.0, None), redchi=ExpectWindow(None, 10.0),
        params={"a": ExpectParam(value=1.0, rtol=1e9, atol=1e9,
                                 stderr_max=1.0),
                "b": ExpectParam(min=-1e300, max=1e300)})
    checks = check_expect(expect, result)
    assert [(c.what, c.got, c.ok, c.detail) for c in checks] == [
        ("chisqr", "nan", False, "not finite"),
        ("redchi", "inf", False, "not finite"),
        ("params.a", "nan", False, "not finite"),
        ("params.a.stderr", "nan", False, "not finite"),
        ("params.b", "none", False, "no value")]


@pytest.mark.parametrize("got, ok", [(1.5, True), (0.5, True),
                                     (1.5000000001, False),
                                     (0.4999999999, False)])
def test_absolute_tolerance_edge(got, ok):
    result = SimpleNamespace(params={"a": SimpleNamespace(value=got,
                                                          stderr=0.1)})
    expect = ExpectSection(params={"a": ExpectParam(value=1.0, rtol=0.0,
                                                    atol=0.5)})
    assert check_expect(expect, result)[0].ok is ok


@pytest.mark.parametrize("got, ok", [(2.5, True), (-1.5, False),
                                     (2.5000001, False), (1.5, True)])
def test_relative_tolerance_edge(got, ok):
    # tolerance = rtol * |value| = 0.25 * 2 = 0.5 (exact in binary)
    result = SimpleNamespace(params={"a": SimpleNamespace(value=got,
                                                          stderr=0.1)})
    expect = ExpectSection(params={"a": ExpectParam(value=2.0, rtol=0.25,
                                                    atol=0.0)})
    assert check_expect(expect, result)[0].ok is ok


@pytest.mark.parametrize("got, ok", [(0.4, True), (0.5, True),
                                     (0.39999999, False), (0.50000001, False)])
def test_interval_edges_are_included(got, ok):
    result = SimpleNamespace(chisqr=got, params={})
    expect = ExpectSection(chisqr=ExpectWindow(0.4, 0.5))
    assert check_expect(expect, result)[0].ok is ok


def test_default_tolerance_is_rtol_1e_6():
    result = SimpleNamespace(params={
        "a": SimpleNamespace(value=100.00009, stderr=None),
        "b": SimpleNamespace(value=100.00011, stderr=None)})
    expect = _expect("  params: {base: 100}\n")
    want = expect.params["base"]
    assert (want.rtol, want.atol) == (1e-6, 0.0)
    checks = check_expect(ExpectSection(params={"a": want, "b": want}), result)
    assert [c.ok for c in checks] == [True, False]


def test_none_expect_gives_no_checks(fit):
    assert check_expect(None, fit) == []
    assert check_expect(ExpectSection(), fit) == []
    assert expect_document([]) == {"passed": True, "checks": []}


def test_expect_document_is_plain_json(fit):
    checks = check_expect(_expect("  converged: true\n  chisqr: {max: 1}\n"),
                          fit)
    doc = expect_document(checks)
    assert json.loads(json.dumps(doc)) == doc
    assert doc["passed"] is False
    assert doc["checks"][0] == {"what": "converged", "expected": "true",
                                "got": "true", "ok": True,
                                "detail": "status converged"}
    assert list(doc["checks"][1]) == ["what", "expected", "got", "ok",
                                      "detail"]


def test_close_values_are_shown_with_enough_digits():
    a = 1.0000000000001
    result = SimpleNamespace(params={"a": SimpleNamespace(value=a,
                                                          stderr=None)})
    checks = check_expect(ExpectSection(params={
        "a": ExpectParam(value=1.0, rtol=0.0, atol=0.0)}), result)
    assert not checks[0].ok
    assert checks[0].got == repr(a) and checks[0].expected == "1.0 exact"


# --------------------------------------------------------------------------
# compare_documents: result documents
@pytest.fixture(scope="module")
def doc(fit):
    return json.loads(json_bytes(result_document(fit)))


def test_document_equals_itself(doc, fit):
    checks = compare_documents(doc, copy.deepcopy(doc))
    assert checks and all(c.ok for c in checks)
    whats = [c.what for c in checks]
    assert whats[:4] == ["success", "status", "chisqr", "redchi"]
    for name in fit.params:
        assert f"params.{name}.value" in whats
        assert f"params.{name}.stderr" in whats
    assert not any("nfev" in w for w in whats)
    # the dict from result_document (not via JSON) compares the same
    assert all(c.ok for c in compare_documents(result_document(fit), doc))
    assert format_checks(checks) == ""


def test_nfev_messages_and_versions_are_not_compared(doc):
    other = copy.deepcopy(doc)
    other["fit"]["nfev"] += 10
    other["fit"]["message"] = "something else"
    other["versions"] = {"python": "0.0.0"}
    other["input"] = {"spec": "elsewhere.yaml"}
    assert all(c.ok for c in compare_documents(other, doc))


def test_changed_value_stderr_and_statistics(doc):
    other = copy.deepcopy(doc)
    other["parameters"]["amp"]["value"] *= 1 + 2e-6
    other["parameters"]["tau"]["stderr"] *= 1 + 5e-7
    other["fit"]["chisqr"] *= 1.01
    other["fit"]["redchi"] *= 1 + 1e-7
    checks = _by_what(compare_documents(other, doc))
    assert not checks["params.amp.value"].ok
    assert checks["params.amp.value"].detail.endswith("(rel +2e-06)")
    assert checks["params.tau.stderr"].ok
    assert not checks["chisqr"].ok and checks["redchi"].ok
    # a looser rtol passes all of them
    assert all(c.ok for c in compare_documents(other, doc, rtol=0.02))
    # atol alone
    assert not _by_what(compare_documents(other, doc, rtol=0.0, atol=1e-9))[
        "params.tau.stderr"].ok


def test_param_tol_overrides_rtol_for_that_parameter(doc):
    other = copy.deepcopy(doc)
    other["parameters"]["amp"]["value"] *= 1.001
    other["parameters"]["amp"]["stderr"] *= 1.001
    other["parameters"]["base"]["value"] *= 1.001
    checks = _by_what(compare_documents(other, doc, param_tol={"amp": 0.01}))
    assert checks["params.amp.value"].ok and checks["params.amp.stderr"].ok
    assert "(rtol 0.01)" in checks["params.amp.value"].expected
    assert not checks["params.base.value"].ok


def test_success_and_status_must_be_equal(doc):
    other = copy.deepcopy(doc)
    other["fit"]["success"] = False
    other["fit"]["status"] = "max_nfev"
    checks = _by_what(compare_documents(other, doc))
    assert checks["success"] == Check("success", "true", "false", False)
    assert checks["status"] == Check("status", "converged", "max_nfev", False)


def test_parameters_on_one_side_only(doc):
    other = copy.deepcopy(doc)
    del other["parameters"]["base"]
    other["parameters"]["extra"] = {"value": 1.0, "stderr": None}
    failed = [c for c in compare_documents(other, doc) if not c.ok]
    assert failed == [
        Check("params.base", "present", "missing", False,
              "parameter not in the new document"),
        Check("params.extra", "absent", "present", False,
              "parameter not in the baseline")]


def test_stderr_none_only_equals_none(doc):
    assert doc["parameters"]["fixed"]["stderr"] is None
    other = copy.deepcopy(doc)
    other["parameters"]["fixed"]["stderr"] = 0.0
    checks = _by_what(compare_documents(other, doc))
    assert not checks["params.fixed.stderr"].ok
    assert checks["params.fixed.stderr"].detail == "expected none"
    checks = _by_what(compare_documents(doc, other))
    assert checks["params.fixed.stderr"].detail == "no value"


def test_non_finite_values_as_json_strings(fit):
    doc = result_document(fit)
    doc["parameters"]["amp"]["value"] = math.nan
    doc["parameters"]["tau"]["value"] = math.inf
    doc["fit"]["chisqr"] = math.nan
    doc = json.loads(json_bytes(doc))
    assert doc["parameters"]["amp"]["value"] == "nan"
    assert doc["parameters"]["tau"]["value"] == "inf"
    assert all(c.ok for c in compare_documents(doc, copy.deepcopy(doc)))
    # NaN / inf written as JSON floats (not by fitcli) read the same
    floats = copy.deepcopy(doc)
    floats["parameters"]["amp"]["value"] = math.nan
    floats["parameters"]["tau"]["value"] = math.inf
    floats["fit"]["chisqr"] = math.nan
    assert all(c.ok for c in compare_documents(floats, doc))
    other = copy.deepcopy(doc)
    other["parameters"]["amp"]["value"] = 3.0
    other["parameters"]["tau"]["value"] = "-inf"
    other["fit"]["chisqr"] = 1.0
    checks = _by_what(compare_documents(other, doc, rtol=1e300))
    assert not checks["params.amp.value"].ok
    assert checks["params.amp.value"].detail == "expected nan"
    assert not checks["params.tau.value"].ok
    assert checks["params.tau.value"].expected == "inf"
    assert not checks["chisqr"].ok
    checks = _by_what(compare_documents(doc, other, rtol=1e300))
    assert checks["params.amp.value"].detail == "not finite"


# --------------------------------------------------------------------------
# compare_documents: summaries
def _row(name, amp=1.0, amp_err=0.1, chisqr=10.0, success=True,
         status="converged", exit_code=0):
    return {"dataset": name, "data": f"{name}.csv", "success": success,
            "status": status, "exit_code": exit_code, "chisqr": chisqr,
            "redchi": None if chisqr is None else chisqr / 10, "nfev": 17,
            "params": {"amp": {"value": amp, "stderr": amp_err},
                       "cen": {"value": 5.0, "stderr": 0.01}},
            "message": "fine"}


def _summary(*rows):
    return {"format": "fitcli.summary", "version": 1,
            "datasets": list(rows)}


def test_summaries_equal():
    base = _summary(_row("run001"), _row("run002", amp=2.0))
    checks = compare_documents(copy.deepcopy(base), base)
    assert all(c.ok for c in checks)
    assert [c.what for c in checks[:9]] == [
        "run001: success", "run001: status", "run001: exit_code",
        "run001: chisqr", "run001: redchi", "run001: params.amp.value",
        "run001: params.amp.stderr", "run001: params.cen.value",
        "run001: params.cen.stderr"]


def test_summary_rows_matched_by_dataset_name_not_order():
    base = _summary(_row("run001"), _row("run002", amp=2.0))
    got = _summary(_row("run002", amp=2.0), _row("run001"))
    assert all(c.ok for c in compare_documents(got, base))


def test_summary_differences():
    base = _summary(_row("run001"), _row("run002", amp=2.0), _row("run003"))
    failed_row = _row("run002", amp=None, amp_err=None, chisqr=None,
                      success=False, status="error", exit_code=2)
    failed_row["redchi"] = None
    got = _summary(_row("run001", amp=1.1, chisqr=10.000001), failed_row,
                   _row("run004"))
    failed = [c for c in compare_documents(got, base) if not c.ok]
    assert [c.what for c in failed] == [
        "run001: params.amp.value",
        "run002: success", "run002: status", "run002: exit_code",
        "run002: chisqr", "run002: redchi", "run002: params.amp.value",
        "run002: params.amp.stderr",
        "run003: dataset", "run004: dataset"]
    assert failed[-2] == Check("run003: dataset", "present", "missing", False,
                               "dataset not in the new summary")
    assert failed[-1] == Check("run004: dataset", "absent", "present", False,
                               "dataset not in the baseline")
    assert failed[4].got == "none" and failed[4].detail == "no value"


def test_summary_nan_and_param_tol():
    base = _summary(_row("a", amp="nan"), _row("b", amp=1.0))
    got = _summary(_row("a", amp=math.nan), _row("b", amp=1.05))
    checks = _by_what(compare_documents(got, base, param_tol={"amp": 0.1}))
    assert checks["a: params.amp.value"].ok
    assert checks["b: params.amp.value"].ok
    assert not _by_what(compare_documents(got, base))["b: params.amp.value"].ok


# --------------------------------------------------------------------------
# compare_documents: errors
def test_result_and_summary_cannot_be_compared(doc):
    with pytest.raises(FitcliError) as info:
        compare_documents(doc, _summary(_row("a")))
    msg = str(info.value)
    assert "\n" not in msg
    assert msg.startswith("cannot compare a result (result.json) with a "
                          "batch summary (summary.json)")
    with pytest.raises(FitcliError, match="cannot compare a batch summary"):
        compare_documents(_summary(_row("a")), doc)


@pytest.mark.parametrize("bad, phrase", [
    ([], "got: not a fitcli result or summary: expected a JSON object, got "
         "a list"),
    ({"a": 1}, "got: not a fitcli result or summary (no 'format' key)"),
    ({"format": "fitcli.other", "version": 1},
     "got: not a fitcli result or summary (format 'fitcli.other'); expected "
     "format 'fitcli.result' or 'fitcli.summary'"),
    ({"format": "fitcli.result", "version": 2},
     "got: unsupported fitcli.result version 2; this fitcli reads version 1"),
    ({"format": "fitcli.result", "version": 1},
     "got: fit: required key is missing"),
    ({"format": "fitcli.result", "version": 1, "fit": []},
     "got: fit: expected a JSON object, got a list"),
    ({"format": "fitcli.summary", "version": 1, "datasets": {}},
     "got: datasets: expected a list, got a JSON object"),
    (_summary(_row("a"), _row("a")),
     "got: datasets[1].dataset: dataset 'a' appears twice"),
    (_summary({**_row("a"), "chisqr": "abc"}),
     "got: datasets[0].chisqr: expected a number, got text 'abc'"),
    (_summary({**_row("a"), "success": "yes"}),
     "got: datasets[0].success: expected true or false, got text 'yes'"),
    (_summary({**_row("a"), "dataset": 3}),
     "got: datasets[0].dataset: expected a dataset name, got the number 3"),
    (_summary({**_row("a"), "params": {"amp": {"stderr": 1}}}),
     "got: datasets[0].params.amp.value: required key is missing"),
])
def test_malformed_documents(bad, phrase):
    with pytest.raises(FitcliError) as info:
        compare_documents(bad, _summary(_row("a")))
    assert str(info.value) == phrase or str(info.value).startswith(phrase)
    assert "\n" not in str(info.value)


def test_baseline_is_named_in_errors():
    with pytest.raises(FitcliError, match="^baseline: not a fitcli result"):
        compare_documents(_summary(_row("a")), {"format": 1})


@pytest.mark.parametrize("kws, phrase", [
    ({"rtol": -1}, "rtol must be a finite number >= 0, got -1"),
    ({"atol": math.nan}, "atol must be a finite number >= 0, got nan"),
    ({"rtol": "1"}, "rtol must be a finite number >= 0, got '1'"),
    ({"param_tol": {"amp": -0.1}},
     "param_tol['amp'] must be a finite number >= 0"),
    ({"param_tol": {"ampp": 0.1}},
     "param_tol: 'ampp' is not a parameter of either document (parameters: "
     "amp, cen)"),
])
def test_bad_tolerances(kws, phrase):
    with pytest.raises(FitcliError) as info:
        compare_documents(_summary(_row("a")), _summary(_row("a")), **kws)
    assert str(info.value).startswith(phrase)


# --------------------------------------------------------------------------
# load_document
def test_load_result_and_summary(tmp_path, doc):
    path = tmp_path / "result.json"
    path.write_bytes(json_bytes(doc))
    assert load_document(path) == doc
    assert load_document(str(path)) == doc
    spath = tmp_path / "summary.json"
    spath.write_bytes(json_bytes(_summary(_row("a"))))
    assert load_document(spath)["datasets"][0]["dataset"] == "a"


def _load_error(path):
    with pytest.raises(DataError) as info:
        load_document(path)
    exc = info.value
    assert "\n" not in str(exc) and exc.file == str(path)
    return exc


def test_load_missing_file_and_directory(tmp_path):
    exc = _load_error(tmp_path / "nope.json")
    assert exc.message == "cannot read: No such file or directory"
    assert str(exc) == f"{tmp_path / 'nope.json'}: cannot read: No such " \
        "file or directory"
    # a directory: the result.json or summary.json in it (issue 14)
    assert _load_error(tmp_path).message == (
        "no result.json or summary.json in this folder (a fitcli output "
        "directory holds one)")


def test_load_invalid_json_has_line_and_column(tmp_path):
    path = tmp_path / "bad.json"
    path.write_text('{\n  "format": "fitcli.result",\n  "version": 1,,\n}\n')
    exc = _load_error(path)
    assert (exc.line, exc.column) == (3, 16)
    assert str(exc) == f"{path}:3:16: not valid JSON: Expecting property " \
        "name enclosed in double quotes"


def test_load_not_utf8(tmp_path):
    path = tmp_path / "bin.json"
    path.write_bytes(b'{\n"a": "\xff"}')
    exc = _load_error(path)
    assert exc.line == 2 and exc.message.startswith("not UTF-8 text (byte "
                                                    "0xff)")


@pytest.mark.parametrize("content, phrase", [
    ('[1, 2]', "not a fitcli result or summary: expected a JSON object, got "
               "a list"),
    ('{"format": "something"}', "not a fitcli result or summary (format "
                                "'something')"),
    ('{"format": "fitcli.summary", "version": 1, "datasets": [{"dataset": '
     '"a"}]}', "datasets[0].success: required key is missing"),
])
def test_load_not_a_fitcli_document(tmp_path, content, phrase):
    path = tmp_path / "doc.json"
    path.write_text(content)
    assert _load_error(path).message.startswith(phrase)


# --------------------------------------------------------------------------
# format_checks
def test_format_checks_table():
    checks = [Check("chisqr", "[0.0, 150.0]", "128.2", True),
              Check("params.amp1", "11.94 ± 0.1194 (rtol 0.01)", "12.5",
                    False, "diff +0.56 (rel +0.0469)"),
              Check("converged", "true", "false", False, "status max_nfev")]
    text = format_checks(checks)
    assert text.splitlines() == [
        "what         expected                    got    detail",
        "params.amp1  11.94 ± 0.1194 (rtol 0.01)  12.5   diff +0.56 (rel "
        "+0.0469)",
        "converged    true                        false  status max_nfev"]
    full = format_checks(checks, only_failed=False).splitlines()
    assert len(full) == 4
    assert full[1].startswith("ok    chisqr ")
    assert full[2].startswith("FAIL  params.amp1 ")
    assert all(line == line.rstrip() for line in full)
    assert not text.endswith("\n")


def test_format_checks_nothing_to_show():
    assert format_checks([]) == ""
    assert format_checks([Check("a", "1", "1", True)]) == ""
    assert format_checks([Check("a", "1", "1", True)], only_failed=False) \
        .splitlines()[1].split() == ["ok", "a", "1", "1"]


def _doc_of(y, x):
    from fitcli import Parameters, minimize
    from fitcli.outputs import result_document

    p = Parameters()
    p.add("a", value=1.0)
    p.add("b", value=0.0)
    res = minimize(lambda q: (q["a"].value * x + q["b"].value - y) / 0.1, p,
                   scale_covar=False)
    return json.loads(json.dumps(result_document(res)))


def test_values_compared_in_standard_errors():
    """sigmas=0.01: a refit of the same data passes; moving one point by
    2 sigma is caught, and the detail gives the offset in sigma."""
    import numpy as np

    rng = np.random.default_rng(21)
    x = np.linspace(0.0, 10.0, 100)
    y = 2.0 * x + 1.0 + rng.normal(0.0, 0.1, x.size)
    base = _doc_of(y, x)
    same = compare_documents(_doc_of(y.copy(), x), base, sigmas=0.01)
    assert all(c.ok for c in same)
    moved = y.copy()
    moved[10] += 0.2
    checks = compare_documents(_doc_of(moved, x), base, sigmas=0.01)
    values = {c.what: c for c in checks if c.what.endswith(".value")}
    assert not values["params.b.value"].ok
    assert "sigma" in values["params.b.value"].expected
    off = float(values["params.b.value"].detail.split("off by ")[1].split()[0])
    assert 0.05 < abs(off) < 1.0
