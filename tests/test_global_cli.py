"""Global fit results on the command line after the run: ``fitcli verify``
re-runs them, ``fitcli plot`` redraws them from the files without fitting,
``fitcli compare`` compares shared and per-dataset parameters and each
dataset's statistics."""
import json
import shutil
from pathlib import Path

import numpy as np
import pytest
from click.testing import CliRunner

from fitcli.cli import main
from fitcli.plot import redraw_figures

ENV = {"NO_COLOR": "1"}

SHARED = """\
title: three lines, one slope
data: {file: 'run-*.csv', x: t, y: y, sigma: 0.05}
model: a * x + b
shared: [a]
parameters: {a: 1, b: 0}
"""

DATASETS = """\
datasets:
  - name: lin
    data: {file: run-1.csv, x: t, y: y, sigma: 0.05}
    model: a * x + b
    parameters: {b: 0}
  - name: quad
    data: {file: run-2.csv, x: t, y: y}
    model: a * x + b + c * x**2
    parameters: {b: 0, c: {value: 0, vary: false}}
parameters: {a: 1}
"""


def invoke(*args):
    return CliRunner().invoke(main, [str(a) for a in args], env=ENV,
                              prog_name="fitcli")


@pytest.fixture
def files(tmp_path, monkeypatch):
    """Three small line datasets in tmp_path, the current directory."""
    rng = np.random.default_rng(11)
    x = np.linspace(0, 4, 9)
    for name, b in (("run-1", 0.5), ("run-2", 1.0), ("run-3", 1.5)):
        y = 2.0 * x + b + rng.normal(0, 0.05, x.size)
        rows = "\n".join(f"{u!r},{v!r}" for u, v in zip(x.tolist(),
                                                       y.tolist()))
        (tmp_path / f"{name}.csv").write_text(f"t,y\n{rows}\n")
    monkeypatch.chdir(tmp_path)
    (tmp_path / "g.yaml").write_text(SHARED)
    (tmp_path / "d.yaml").write_text(DATASETS)
    return tmp_path


def _run(spec, out, *more):
    res = invoke("run", spec, "-o", out, "-q", *more)
    assert (res.exit_code, res.stdout, res.stderr) == (0, "", "")
    return Path(out) / "result.json"


def _no_fit(monkeypatch):
    """Make every minimizer of fitcli fail: what runs now does not fit."""
    import fitcli.global_fit.engine
    import fitcli.global_fit.problem
    import fitcli.minimizer

    def no_fit(*args, **kws):
        raise AssertionError("must not fit")

    monkeypatch.setattr(fitcli.global_fit.problem.GlobalProblem, "minimize",
                        no_fit)
    monkeypatch.setattr(fitcli.global_fit.engine, "solve", no_fit)
    monkeypatch.setattr(fitcli.minimizer.Minimizer, "minimize", no_fit)


# ------------------------------------------------------------------ verify
@pytest.mark.parametrize("spec, engine, n, checks", [
    ("g.yaml", (), 3, 21),                    # block_lm (spec: leastsq)
    ("g.yaml", ("--engine", "least_squares"), 3, 21),
    ("d.yaml", (), 2, 18),
    ("g.yaml", ("--set", "b__run_2.vary=false", "--set", "b__run_2=1.2"), 3,
     21),
])
def test_verify_reruns_a_global_fit(files, spec, engine, n, checks):
    result = _run(spec, "out", *engine)
    res = invoke("verify", result)
    assert res.exit_code == 0, res.output
    assert res.stderr == ""
    assert res.stdout == (f"{result}: verified (spec and data of {n} "
                          f"datasets unchanged, re-run matches in {checks} "
                          "checks, rtol=1e-09)\n")


def test_verify_global_engine_recorded_when_the_spec_names_another(files):
    """A spec whose engine is not the block one, run with --engine leastsq
    (recorded as block_lm): verify re-runs with leastsq."""
    Path("g.yaml").write_text(SHARED + "fit: {engine: least_squares}\n")
    result = _run("g.yaml", "out", "--engine", "leastsq")
    assert json.loads(result.read_text())["engine"]["name"] == "block_lm"
    res = invoke("verify", result)
    assert (res.exit_code, res.stderr) == (0, "")
    assert res.stdout.startswith(f"{result}: verified (")


def test_verify_global_reports_a_changed_dataset(files):
    result = _run("g.yaml", "out")
    data = files / "run-2.csv"
    data.write_text(data.read_text() + "# edited\n")
    res = invoke("verify", result)
    assert res.exit_code == 3
    assert res.stderr == ""
    assert res.stdout == (f"{result}: the data {data} changed since the "
                          "result was written (sha256 differs); not "
                          "re-running\n")


def test_verify_global_reports_a_changed_spec(files):
    result = _run("g.yaml", "out")
    Path("g.yaml").write_text(SHARED + "# edited\n")
    res = invoke("verify", result)
    assert res.exit_code == 3
    assert res.stderr == ""
    assert res.stdout == (f"{result}: the spec g.yaml changed since the "
                          "result was written (sha256 differs); not "
                          "re-running\n")


def test_verify_global_reports_a_new_dataset(files):
    result = _run("g.yaml", "out")
    shutil.copy(files / "run-3.csv", files / "run-4.csv")
    res = invoke("verify", result)
    assert res.exit_code == 3
    assert res.stderr == ""
    assert res.stdout == (f"{result}: the datasets changed since the result "
                          "was written (now run_1, run_2, run_3, run_4; "
                          "recorded run_1, run_2, run_3); not re-running\n")


def test_verify_global_rerun_differs(files):
    result = _run("g.yaml", "out")
    doc = json.loads(result.read_text())
    doc["parameters"]["b__run_2"]["value"] = 5.0
    doc["global"]["datasets"][1]["chisqr"] = 1.0
    result.write_text(json.dumps(doc))
    res = invoke("verify", result)
    assert res.exit_code == 3
    assert res.stderr == ""
    lines = res.stdout.splitlines()
    assert lines[0] == f"{result}: the re-run differs (2 of 21 checks):"
    assert lines[1].split() == ["what", "expected", "got", "detail"]
    assert [ln.split()[0] for ln in lines[2:]] == ["params.b__run_2.value",
                                                   "datasets.run_2.chisqr"]


def test_verify_global_result_with_a_single_fit_spec(files):
    result = _run("g.yaml", "out")
    Path("one.yaml").write_text("data: {file: run-1.csv, x: t, y: y}\n"
                                "model: a * x + b\nparameters: {a: 1, b: 0}\n")
    res = invoke("verify", result, "--spec", "one.yaml")
    assert res.exit_code == 3
    assert res.stderr == ""
    assert res.stdout == (f"{result}: the spec one.yaml changed since the "
                          "result was written (sha256 differs); not "
                          "re-running\n")
    # without the recorded hash, the kind of fit tells them apart
    doc = json.loads(result.read_text())
    del doc["input"]["spec_sha256"]
    result.write_text(json.dumps(doc))
    res = invoke("verify", result, "--spec", "one.yaml")
    assert res.exit_code == 2
    assert res.stdout == ""
    assert res.stderr == (f"Error: {result}: input.spec: the result is of a "
                          "global fit, the spec one.yaml of a single fit; "
                          "give the spec of this result with --spec\n")
    # and a single fit's result with a global spec
    single = _run("one.yaml", "one")
    doc = json.loads(single.read_text())
    del doc["input"]["spec_sha256"]
    single.write_text(json.dumps(doc))
    res = invoke("verify", single, "--spec", "g.yaml")
    assert res.exit_code == 2
    assert res.stdout == ""
    assert res.stderr == (f"Error: {single}: input.spec: the result is of a "
                          "single fit, the spec g.yaml of a global fit; "
                          "give the spec of this result with --spec\n")


# ------------------------------------------------------------------ plot
def _best_fit_lines(fig):
    return {line.get_gid()[len("best_fit:"):]: line
            for ax in fig.axes for line in ax.get_lines()
            if (line.get_gid() or "").startswith("best_fit:")}


def _fit_csv(path):
    rows = [r.split(",") for r in Path(path).read_text().splitlines()]
    header, body = rows[0], rows[1:]
    out = {}
    for r in body:
        out.setdefault(r[0], []).append(r)
    return header, out


@pytest.mark.parametrize("spec, names", [
    ("g.yaml", ["run_1", "run_2", "run_3"]),
    ("d.yaml", ["lin", "quad"]),
])
def test_plot_redraws_a_global_result_without_fitting(files, monkeypatch,
                                                      spec, names):
    _run(spec, "live", "--plot")
    _run(spec, "out")
    _no_fit(monkeypatch)
    res = invoke("plot", "out")
    assert res.exit_code == 0, res.output
    assert res.stdout == ""
    assert res.stderr == (f"wrote {Path('out', 'fit.png')}\n"
                          f"wrote {Path('out', 'datasets.png')}\n")
    # the figures the run drew, drawn again from its files
    for name in ("fit.png", "datasets.png"):
        assert Path("out", name).read_bytes() == \
            Path("live", name).read_bytes()
    # each panel's best-fit line is fit.csv's model, in x order
    folder, figures, fmt, notes = redraw_figures("out/result.json")
    assert (folder, fmt, notes) == ("out", "png", [])
    lines = _best_fit_lines(figures["fit.png"])
    assert list(lines) == names
    header, table = _fit_csv("out/fit.csv")
    assert list(table) == names
    for name in names:
        x = np.array([float(r[header.index("x")]) for r in table[name]])
        model = np.array([float(r[header.index("model")])
                          for r in table[name]])
        order = np.argsort(x, kind="stable")
        np.testing.assert_allclose(lines[name].get_xdata(), x[order],
                                   rtol=1e-15, atol=0)
        np.testing.assert_allclose(lines[name].get_ydata(), model[order],
                                   rtol=1e-15, atol=0)


def test_plot_many_datasets_and_several_variables(files, monkeypatch):
    """More datasets than panels (the title says so) and a dataset with two
    variables (drawn against the point index): the same figures again."""
    x = np.linspace(0, 2, 4)
    for i in range(38):
        rows = "\n".join(f"{u!r},{1.0 - u!r},{1.5 * u + 0.1 * i + 0.01 * k!r}"
                         for k, u in enumerate(x.tolist()))
        Path(f"m{i:02d}.csv").write_text(f"t,s,y\n{rows}\n")
    Path("m.yaml").write_text(
        "data: {file: 'm*.csv', x: [t, s], y: y, sigma: 0.1}\n"
        "model: a * t + b - 0 * s\nshared: [a]\n"
        "parameters: {a: 1, b: 0}\n")
    _run("m.yaml", "live", "--plot")
    _run("m.yaml", "out")
    _no_fit(monkeypatch)
    res = invoke("plot", "out")
    assert (res.exit_code, res.stdout) == (0, ""), res.output
    for name in ("fit.png", "datasets.png"):
        assert Path("out", name).read_bytes() == \
            Path("live", name).read_bytes()
    folder, figures, fmt, notes = redraw_figures("out")
    fig = figures["fit.png"]
    assert fig._suptitle.get_text().startswith(
        "global fit (first 36 of 38 datasets)\na = ")
    lines = _best_fit_lines(fig)
    assert len(lines) == 36
    np.testing.assert_allclose(lines["m00"].get_xdata(), [0, 1, 2, 3],
                               rtol=0, atol=0)


def test_plot_global_options_and_missing_spec(files, monkeypatch):
    _run("g.yaml", "out")
    Path("g.yaml").unlink()
    _no_fit(monkeypatch)
    res = invoke("plot", "out/result.json", "-o", "grid.svg")
    assert res.exit_code == 0, res.output
    assert res.stdout == ""
    assert res.stderr == (
        "note: spec 'g.yaml' not found from here: default plot settings\n"
        "wrote ./datasets.svg\nwrote grid.svg\n")
    assert Path("grid.svg").read_text().startswith("<?xml")


def test_plot_global_fit_csv_errors(files):
    _run("g.yaml", "out")
    fit = Path("out", "fit.csv")
    text = fit.read_text()
    lines = text.splitlines()
    fit.write_text("\n".join(lines[:3] + [lines[3].replace(",", ",zz", 1)]
                             + lines[4:]) + "\n")
    res = invoke("plot", "out")
    assert res.exit_code == 2
    assert res.stdout == ""
    assert res.stderr == (f"Error: {fit}:4: column 'x': 'zz1.0' is not a "
                          "number\n")
    fit.write_text("\n".join(line for line in lines
                             if not line.startswith("run_3,")) + "\n")
    res = invoke("plot", "out")
    assert res.exit_code == 2
    assert res.stdout == ""
    assert res.stderr == (f"Error: {fit}: no rows of dataset 'run_3' (a "
                          "dataset of result.json beside it); the plot is "
                          "redrawn from the fit.csv of the same run\n")
    fit.write_text("x,y,model\n1,2,3\n")
    res = invoke("plot", "out")
    assert res.exit_code == 2
    assert res.stdout == ""
    assert res.stderr == (f"Error: {fit}:1: not the fit.csv of a fitcli "
                          "global fit (expected the columns dataset, x..., "
                          "y, [sigma,] model, residual, model_stderr)\n")


# ------------------------------------------------------------------ compare
def _pair(files):
    """Two copies of one global result, with the numbers compared below set
    to round values in both."""
    result = _run("g.yaml", "a")
    doc = json.loads(result.read_text())
    for name in ("a", "b__run_1", "b__run_2", "b__run_3"):
        doc["parameters"][name].update(value=1.0, stderr=0.1)
    for d in doc["global"]["datasets"]:
        d.update(chisqr=10.0, redchi=2.0)
    return doc, json.loads(json.dumps(doc))


def _write(doc, name):
    Path(name).write_text(json.dumps(doc))
    return name


def test_compare_global_results_names_each_difference(files):
    base, got = _pair(files)
    res = invoke("compare", _write(got, "got.json"),
                 _write(base, "base.json"))
    assert (res.exit_code, res.stderr) == (0, "")
    assert res.stdout == ("got.json matches base.json (21 checks, "
                          "rtol=1e-06, atol=0)\n")
    got["parameters"]["a"]["value"] = 1.5                     # shared
    got["parameters"]["b__run_2"]["stderr"] = 0.2             # local
    got["global"]["datasets"][2]["chisqr"] = 12.0             # statistics
    got["global"]["datasets"][0]["ndata"] = 8
    res = invoke("compare", _write(got, "got.json"), "base.json")
    assert res.exit_code == 3
    assert res.stderr == ""
    lines = res.stdout.splitlines()
    assert lines[0] == "got.json differs from base.json (4 of 21 checks):"
    assert [ln.split()[:3] for ln in lines[2:]] == [
        ["params.a.value", "1", "±"],
        ["params.b__run_2.stderr", "0.1", "±"],
        ["datasets.run_1.ndata", "9", "8"],
        ["datasets.run_3.chisqr", "10", "±"]]


def test_compare_global_dataset_missing_and_single_fit(files):
    base, got = _pair(files)
    got["global"]["datasets"].pop(1)
    res = invoke("compare", _write(got, "got.json"),
                 _write(base, "base.json"))
    assert res.exit_code == 3
    assert res.stderr == ""
    assert res.stdout.splitlines()[2].split() == [
        "datasets.run_2", "present", "missing", "dataset", "not", "in",
        "the", "new", "document"]
    del got["global"]
    res = invoke("compare", _write(got, "got.json"), "base.json")
    assert res.exit_code == 3
    assert res.stdout.splitlines()[-1].split() == [
        "global", "global", "fit", "single", "fit", "a", "global", "fit",
        "compared", "with", "a", "single", "fit"]


def test_compare_global_malformed_section(files):
    base, _ = _pair(files)
    base["global"]["datasets"][0]["chisqr"] = "ten"
    res = invoke("compare", _write(base, "bad.json"), "a/result.json")
    assert res.exit_code == 2
    assert res.stdout == ""
    assert res.stderr == ("Error: bad.json: global.datasets[0].chisqr: "
                          "expected a number, got text 'ten'\n")


def test_global_confidence_map_drawn_and_redrawn(files, monkeypatch):
    """A confidence map of two shared/local parameters of a global fit:
    drawn by the run (ci2d_<x>_<y>.png) and again from its files, the same
    bytes."""
    Path("m.yaml").write_text(SHARED + "confidence:\n  params: [a]\n"
                              "  maps: [{x: a, y: b__run_1, nx: 5, ny: 5}]\n")
    _run("m.yaml", "live", "--plot")
    assert Path("live", "ci2d_a_b__run_1.png").stat().st_size > 1000
    _run("m.yaml", "out")
    assert not Path("out", "ci2d_a_b__run_1.png").exists()
    _no_fit(monkeypatch)
    res = invoke("plot", "out")
    assert res.exit_code == 0, res.output
    assert f"wrote {Path('out', 'ci2d_a_b__run_1.png')}\n" in res.stderr
    for name in ("fit.png", "datasets.png", "ci2d_a_b__run_1.png"):
        assert Path("out", name).read_bytes() == \
            Path("live", name).read_bytes(), name
