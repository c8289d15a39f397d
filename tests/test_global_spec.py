"""Global fit specs (shared: and datasets:) through load_spec, run_global
and the command line: names, located errors, outputs, overrides."""
import json
import shutil
from pathlib import Path

import numpy as np
import pytest
from click.testing import CliRunner

from fitcli.cli import main
from fitcli.errors import SpecError
from fitcli.global_fit.run import check_global, run_global
from fitcli.outdir import MANIFEST
from fitcli.spec import apply_overrides, load_spec, load_spec_text

ROOT = Path(__file__).resolve().parent.parent
SPECS = ROOT / "specs"
LIFETIME = SPECS / "shared_lifetime.yaml"
SPECTRO = SPECS / "two_spectrometers.yaml"
ENV = {"NO_COLOR": "1"}


def invoke(args):
    return CliRunner().invoke(main, [str(a) for a in args], env=ENV,
                              prog_name="fitcli")


def _line(x, a, b, noise):
    return a * x + b + noise


@pytest.fixture
def files(tmp_path, monkeypatch):
    """Three small line datasets (and a short one) in tmp_path, which is
    the current directory."""
    rng = np.random.default_rng(7)
    x = np.linspace(0, 4, 9)
    for name, b in (("run-1", 0.5), ("run-2", 1.0), ("run-3", 1.5)):
        y = _line(x, 2.0, b, rng.normal(0, 0.05, x.size))
        rows = "\n".join(f"{u!r},{v!r}" for u, v in zip(x.tolist(),
                                                       y.tolist()))
        (tmp_path / f"{name}.csv").write_text(f"t,y\n{rows}\n")
    (tmp_path / "short.csv").write_text("t,y\n0,1\n1,2\n")
    (tmp_path / "run_1.csv").write_text((tmp_path / "run-1.csv").read_text())
    monkeypatch.chdir(tmp_path)
    return tmp_path


SHARED = """\
data: {file: 'run-*.csv', x: t, y: y, sigma: 0.05}
model: a * x + b
shared: [a]
parameters: {a: 1, b: 0}
"""


def _write(name, text):
    Path(name).write_text(text)
    return name


# ------------------------------------------------------------ CLI errors
@pytest.mark.parametrize("text, line", [
    # a shared name the model does not use
    (SHARED.replace("shared: [a]", "shared: [c]").replace("b: 0}",
                                                          "b: 0, c: 1}"),
     "Error: g.yaml:3:10: shared[0]: shared parameter 'c' is not used by the "
     "model 'a * x + b' (directly or through a constraint)"),
    # two files giving the same dataset name
    (SHARED.replace("'run-*.csv'", "['run-1.csv', 'run_1.csv']"),
     "Error: g.yaml:1:14: data.file: the data files run-1.csv and run_1.csv "
     "both give the dataset name 'run_1': their per-dataset parameters "
     "(<parameter>__run_1) would collide; rename one of the files"),
    # a dataset's own parameter with a shared parameter's name
    ("datasets:\n  - {name: one, data: {file: run-1.csv, x: t, y: y},\n"
     "     model: a * x + b, parameters: {b: 0, a: 1}}\n"
     "parameters: {a: 1}\n",
     "Error: g.yaml:3:43: datasets[0].parameters.a: parameter 'a' of dataset "
     "'one' collides with the top-level (shared) parameter 'a': a name is "
     "either shared or the dataset's own; rename one"),
    # two datasets with one name
    ("datasets:\n  - {name: d, data: {file: run-1.csv, x: t, y: y}, model: a*x}\n"
     "  - {name: d, data: {file: run-2.csv, x: t, y: y}, model: a*x + 1}\n"
     "parameters: {a: 1}\n",
     "Error: g.yaml:3:6: datasets[1].name: dataset name 'd' is used twice "
     "(also by datasets[0]); per-dataset parameters (<name>__d) would "
     "collide"),
    # a dataset with too few points for its own parameters
    (SHARED.replace("'run-*.csv'", "['run-1.csv', 'short.csv']")
     .replace("a * x + b", "a * x + b + c * x**2").replace("b: 0}",
                                                           "b: 0, c: 0}"),
     "Error: g.yaml:1:14: data.file: dataset 'short' (short.csv): only 2 data "
     "points; at least 3 are needed (its 2 own varied parameters + 1)"),
    ("datasets:\n  - {data: {file: run-1.csv, x: t, y: y}, model: a*x + b,\n"
     "     parameters: {b: 0}}\n"
     "  - {data: {file: short.csv, x: t, y: y, range: [0, 0.5]},\n"
     "     model: a * x + c, parameters: {c: 0}}\n"
     "parameters: {a: 1}\n",
     "Error: g.yaml:4:12: datasets[1].data: dataset 'short' (short.csv): only "
     "1 data point (1 outside the range dropped); at least 2 are needed (its "
     "1 own varied parameter + 1)"),
    # a per-dataset name of no dataset
    (SHARED.replace("b: 0}", "b: 0, b__run_9: 1}"),
     "Error: g.yaml:4:26: parameters.b__run_9: 'b__run_9' holds '__', which "
     "names per-dataset parameters (<parameter>__<dataset>), but no dataset "
     "'run_9' (datasets: run_1, run_2, run_3)"),
    # expect names a per-dataset parameter without its dataset
    (SHARED + "expect: {params: {b: 1}}\n",
     "Error: g.yaml:5:22: expect.params.b: 'b' is fitted per dataset: name "
     "one dataset's copy, e.g. b__run_1"),
    # a parameter no model uses
    ("datasets:\n  - {data: {file: run-1.csv, x: t, y: y}, model: a * x}\n"
     "parameters: {a: 1, z: 2}\n",
     "Error: g.yaml:3:20: parameters.z: parameter 'z' is used by neither any "
     "dataset's model nor a constraint; remove it, or fix it with vary: "
     "false"),
    ("datasets:\n  - {data: {file: run-1.csv, x: t, y: y}, model: a * x}\n"
     "data: {file: run-1.csv, x: t, y: y}\nparameters: {a: 1}\n",
     "Error: g.yaml:3:1: data: with datasets, each dataset gives its own "
     "data; move it into the datasets"),
])
def test_cli_errors(files, text, line):
    _write("g.yaml", text)
    result = invoke(["run", "g.yaml", "-o", "out"])
    assert result.exit_code == 2, result.output
    assert result.stdout == ""
    assert result.stderr == line + "\n"
    assert not Path("out").exists()


def test_data_option_refused(files):
    _write("g.yaml", SHARED)
    result = invoke(["run", "g.yaml", "--data", "run-1.csv"])
    assert result.exit_code == 2
    assert result.stdout == ""
    assert result.stderr == ("Error: g.yaml: --data: --data cannot replace "
                             "the data of a global fit (shared: or datasets:)"
                             ": its datasets are part of the fit\n")


def test_check_command(files):
    _write("g.yaml", SHARED)
    result = invoke(["check", "g.yaml"])
    assert result.exit_code == 0, result.stderr
    assert result.stdout == ("g.yaml: ok (global fit: 3 datasets, 9 to 9 "
                             "points, 2 parameters, models finite at the "
                             "initial values)\n")


# ------------------------------------------------------------ runs
def test_cli_run_outputs(files):
    _write("g.yaml", SHARED + "confidence: {params: [a], sigmas: [1]}\n")
    result = invoke(["run", "g.yaml", "-o", "out", "-q"])
    assert result.exit_code == 0, result.stderr
    assert result.stdout == "" and result.stderr == ""
    out = Path("out")
    assert {p.name for p in out.iterdir()} == {
        "report.txt", "result.json", "params.csv", "fit.csv", "datasets.csv",
        "ci.csv", MANIFEST}
    fit = (out / "fit.csv").read_text().splitlines()
    assert fit[0] == "dataset,x,y,sigma,model,residual,model_stderr"
    assert len(fit) == 1 + 27
    assert [r.split(",")[0] for r in fit[1:]] == \
        ["run_1"] * 9 + ["run_2"] * 9 + ["run_3"] * 9
    rows = (out / "datasets.csv").read_text().splitlines()
    assert rows[0] == ("dataset,data,ndata,nomitted,chisqr,nfree,redchi,"
                       "rsquared,pvalue,b,b_stderr")
    assert [r.split(",")[:3] for r in rows[1:]] == [
        ["run_1", "run-1.csv", "9"], ["run_2", "run-2.csv", "9"],
        ["run_3", "run-3.csv", "9"]]
    doc = json.loads((out / "result.json").read_text())
    assert doc["format"] == "fitcli.result"
    assert set(doc["parameters"]) == {"a", "b__run_1", "b__run_2", "b__run_3"}
    g = doc["global"]
    assert g["form"] == "shared" and g["shared"] == ["a"]
    assert [d["name"] for d in g["datasets"]] == ["run_1", "run_2", "run_3"]
    assert g["datasets"][0]["parameters"] == {"b": "b__run_1"}
    assert g["covariance"]["names"] == ["a"]
    assert len(doc["covariance"]) == 4          # 4 varied: written whole
    assert doc["confidence"]["intervals"]["a"][1][0] == 0.0
    b = [doc["parameters"][f"b__run_{i}"]["value"] for i in (1, 2, 3)]
    assert b == pytest.approx([0.5, 1.0, 1.5], abs=0.1)
    # same input, same bytes; compare against itself passes
    first = {p.name: p.read_bytes() for p in out.iterdir()}
    assert invoke(["run", "g.yaml", "-o", "out2", "-q"]).exit_code == 0
    assert {p.name: p.read_bytes() for p in Path("out2").iterdir()} == first
    res = invoke(["compare", "out/result.json", "out2/result.json"])
    assert res.exit_code == 0, res.stdout


def test_expectation_missed_on_a_per_dataset_parameter(files):
    _write("g.yaml", SHARED + "expect: {params: {b__run_2: {value: 5, "
           "atol: 0.1}}}\n")
    result = invoke(["run", "g.yaml", "-o", "out", "-q"])
    assert result.exit_code == 3
    assert "params.b__run_2" in result.stderr


def test_set_per_dataset_parameter(files):
    spec = load_spec("g.yaml" if Path(_write("g.yaml", SHARED)) else "")
    over = apply_overrides(spec, ["b__run_2=0.9", "b__run_3.vary=false",
                                  "a.min=0"])
    outcome = run_global(over, write=False)
    p = outcome.result.params
    assert p["b__run_2"].init_value == 0.9
    assert not p["b__run_3"].vary and p["b__run_3"].value == 0.0
    assert p["a"].min == 0
    assert "b__run_3" not in outcome.result.var_names
    with pytest.raises(SpecError, match="unknown parameter 'b__run_9'"):
        apply_overrides(spec, ["b__run_9=1"])


def test_tie_across_datasets(files):
    """A per-dataset parameter tied to another dataset's by expr."""
    _write("g.yaml", SHARED.replace("b: 0}", "b: 0, b__run_3: {expr: "
                                    "'b__run_1 + 1'}}"))
    outcome = run_global(load_spec("g.yaml"), write=False)
    p = outcome.result.params
    assert p["b__run_3"].value == pytest.approx(p["b__run_1"].value + 1,
                                                rel=1e-14)
    assert p["b__run_3"].stderr == pytest.approx(p["b__run_1"].stderr,
                                                 rel=1e-6)
    assert "b__run_1" in outcome.result.engine_globals


def test_datasets_form_inline_and_renamed_expressions():
    text = ("datasets:\n"
            "  - data: {x: [0, 1, 2, 3, 4], y: [1.0, 3.1, 4.9, 7.2, 9.0]}\n"
            "    model: s * x + c\n"
            "    parameters: {c: 0, s: {expr: 2 * k}}\n"
            "  - data: {x: [0, 1, 2, 3], y: [0.1, 1.9, 4.2, 5.9]}\n"
            "    model: 2 * k * x + c\n"
            "    parameters: {c: {expr: c__d1 - 1}}\n"
            "parameters: {k: 1}\n")
    spec = load_spec_text(text)
    assert spec.dataset_names == ("d1", "d2")
    outcome = run_global(spec, write=False)
    res = outcome.result
    assert res.success
    assert res.params["s__d1"].expr == "2 * k"
    assert res.params["c__d2"].value == pytest.approx(
        res.params["c__d1"].value - 1, rel=1e-12)
    assert set(res.var_names) == {"k", "c__d1"}


def test_check_global_and_spec_properties():
    spec = load_spec(LIFETIME)
    assert spec.is_global and spec.shared == ("tau",)
    assert spec.dataset_names == tuple(f"excite_{n}nm"
                                       for n in (400, 450, 500, 550))
    assert list(spec.per_dataset_parameters())[:2] == [
        "amp__excite_400nm", "bg__excite_400nm"]
    runs = check_global(spec).runs
    assert [len(r.dataset.y) for r in runs] == [81] * 4
    assert all(np.isfinite(r.init).all() for r in runs)
    other = load_spec(SPECTRO)
    assert [d.name for d in other.datasets] == ["grating", "fabry"]


@pytest.mark.parametrize("text, key, match", [
    (SHARED.replace("shared: [a]", "shared: [q]"), "shared[0]",
     "unknown parameter 'q'"),
    ("datasets:\n  - {data: {file: 'run-*.csv', x: t, y: y}, model: a*x}\n"
     "parameters: {a: 1}\n", "datasets[0].data.file", "one data file"),
    ("datasets:\n  - {data: {x: [1, 2], y: [1, 2]}, model: a*x,\n"
     "     parameters: {a__b: 1}}\n", "datasets[0].parameters.a__b",
     "holds '__'"),
    ("datasets:\n  - {data: {x: [1, 2], y: [1, 2]}, model: a*x}\n"
     "shared: [a]\nparameters: {a: 1}\n", "shared", "with datasets"),
    ("datasets:\n  - {name: 'a b', data: {x: [1, 2], y: [1, 2]}, "
     "model: a*x}\nparameters: {a: 1}\n", "datasets[0].name",
     "invalid dataset name"),
    (SHARED + "confidence: {params: [b]}\n", "confidence.params[0]",
     "fitted per dataset"),
])
def test_spec_errors(files, text, key, match):
    with pytest.raises(SpecError, match=match) as info:
        load_spec_text(text, base_dir=files)
    assert info.value.key == key
    assert info.value.line is not None


def test_example_spec_plots(tmp_path):
    spec = load_spec(SPECTRO)
    outcome = run_global(spec, out_dir=tmp_path, plot=True)
    assert (tmp_path / "fit.png").read_bytes()[:4] == b"\x89PNG"
    assert (tmp_path / "datasets.png").exists()


def test_example_outputs_copy_is_reproducible(tmp_path):
    shutil.copy(LIFETIME, tmp_path / "x.yaml")
    assert load_spec(LIFETIME).dataset_names[0] == "excite_400nm"
