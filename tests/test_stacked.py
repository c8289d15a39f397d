"""fitcli run on batches with the batched engine (fitcli.stacked): the
same outputs as single fits (to the engines' agreement), byte-identical
summaries whatever --jobs and the chunk size, fallbacks to the single-fit
path, fit: {batched: false}, --warm-start."""
import csv
import json
import math
import os

import numpy as np
import pytest
from click.testing import CliRunner

import fitcli.batched
from fitcli.cli import main

SPEC = """\
data:
  file: {file}
  x: t
  y: counts
model: amp*exp(-x/tau) + c
parameters:
  amp: {{value: 5, min: 0}}
  tau: {{value: 2, min: 0.05, max: 40}}
  c: 0.2
{extra}"""

NAMES = ("amp", "tau", "c")


def write_decays(folder, n, *, seed=7, npts=80, broken=(), flat=()):
    """n seeded exponential decays d000.csv...; ``broken`` files get text in
    a number, ``flat`` ones a constant signal (the decay is undetermined)."""
    rng = np.random.default_rng(seed)
    folder.mkdir(parents=True, exist_ok=True)
    for i in range(n):
        m = npts + (i % 3) * 7                   # unequal lengths
        t = np.linspace(0, 8, m)
        y = rng.uniform(3, 9) * np.exp(-t / rng.uniform(0.8, 3)) \
            + rng.uniform(0, 0.5) + rng.normal(0, 0.05, m)
        if i in flat:
            y = np.full(m, 1.5)
        rows = ["t,counts"] + [f"{a!r},{b!r}" for a, b in zip(t.tolist(),
                                                            y.tolist())]
        if i in broken:
            rows[4] = "1.0,n/a"
        (folder / f"d{i:03d}.csv").write_text("\n".join(rows) + "\n")


def spec_file(tmp_path, extra="", name="decay.yaml", file="runs/*.csv"):
    path = tmp_path / name
    path.write_text(SPEC.format(file=file, extra=extra))
    return path


def invoke(*args, env=None):
    return CliRunner().invoke(main, [str(a) for a in args], env=env)


def summary(folder):
    with open(folder / "summary.csv", newline="") as fh:
        return {r["dataset"]: r for r in csv.DictReader(fh)}


def all_bytes(folder):
    out = {}
    for root, _, files in os.walk(folder):
        for f in files:
            p = os.path.join(root, f)
            with open(p, "rb") as fh:
                out[os.path.relpath(p, folder)] = fh.read()
    return out


def test_batched_agrees_with_single_fits(tmp_path):
    write_decays(tmp_path / "runs", 12)
    fast = spec_file(tmp_path)
    slow = spec_file(tmp_path, "fit: {batched: false}\n", name="slow.yaml")
    assert invoke("run", fast, "-o", tmp_path / "b", "-q").exit_code == 0
    assert invoke("run", slow, "-o", tmp_path / "s", "-q").exit_code == 0
    b, s = summary(tmp_path / "b"), summary(tmp_path / "s")
    assert set(b) == set(s) and len(b) == 12
    for name in b:
        assert b[name]["status"] == s[name]["status"] == "converged"
        assert "batched Levenberg-Marquardt" in b[name]["message"]
        assert "batched" not in s[name]["message"]
        for col in NAMES:
            got, want = float(b[name][col]), float(s[name][col])
            assert abs(got - want) <= 1e-6 * abs(want)
            got, want = float(b[name][col + "_stderr"]), \
                float(s[name][col + "_stderr"])
            assert abs(got - want) <= 1e-5 * want
        for col in ("chisqr", "redchi", "rsquared"):
            assert float(b[name][col]) == pytest.approx(float(s[name][col]),
                                                        rel=1e-9)
    # every output of a single fit, for every dataset
    for name in b:
        sub = tmp_path / "b" / name
        assert {p.name for p in sub.iterdir()} == \
            {"report.txt", "result.json", "params.csv", "fit.csv",
             "curve.csv"}
        doc = json.loads((sub / "result.json").read_text())
        assert doc["engine"] == {"name": "leastsq", "options": {},
                                 "batched": True}
        single = json.loads((tmp_path / "s" / name / "result.json").read_text())
        assert "batched" not in single["engine"]
        assert doc["fit"]["ndata"] == single["fit"]["ndata"]
        fit_csv = (sub / "fit.csv").read_text().splitlines()
        assert len(fit_csv) == len((tmp_path / "s" / name / "fit.csv")
                                   .read_text().splitlines())
    # and verify re-runs a batched dataset with the batched engine
    res = invoke("verify", tmp_path / "b" / "d004" / "result.json")
    assert res.exit_code == 0, res.output


@pytest.mark.parametrize("block", [4])
def test_summary_identical_across_jobs_and_chunks(tmp_path, monkeypatch, block):
    monkeypatch.setattr(fitcli.batched, "BLOCK", block)
    write_decays(tmp_path / "runs", 23, broken=(5,), flat=(9,))
    spec = spec_file(tmp_path)
    outs = []
    for jobs, chunk in ((1, None), (2, None), (2, "4"), (1, "9"), (2, "100")):
        out = tmp_path / f"o{jobs}_{chunk}"
        env = {"FITCLI_BATCH_CHUNK": chunk}
        res = invoke("run", spec, "-o", out, "-q", "--jobs", jobs, env=env)
        assert res.exit_code == 2, res.output      # the broken file
        outs.append(all_bytes(out))
    first = outs[0]
    assert "summary.csv" in first and "d000/result.json" in first
    for other in outs[1:]:
        assert other == first


def test_failures_take_the_single_path(tmp_path):
    write_decays(tmp_path / "runs", 6, broken=(2,), flat=(4,))
    spec = spec_file(tmp_path)
    res = invoke("run", spec, "-o", tmp_path / "o", "-q")
    assert res.exit_code == 2
    rows = summary(tmp_path / "o")
    assert rows["d002"]["status"] == "error"
    assert "n/a" in rows["d002"]["message"] or "number" in rows["d002"]["message"]
    # the flat dataset: refitted by the single engine, whose verdict stands
    assert rows["d004"]["success"] == "false"
    assert "batched" not in rows["d004"]["message"]
    doc = json.loads((tmp_path / "o" / "d004" / "result.json").read_text())
    assert "batched" not in doc["engine"]
    for name in ("d000", "d001", "d003", "d005"):
        assert rows[name]["status"] == "converged"
        assert "batched" in rows[name]["message"]
    # every dataset evaluated to max_nfev=3 fails the batched engine: all
    # of them are the single engine's results
    short = spec_file(tmp_path, "fit: {max_nfev: 3}\n", name="short.yaml")
    res = invoke("run", short, "-o", tmp_path / "m", "-q")
    rows = summary(tmp_path / "m")
    assert res.exit_code == 2
    for name, row in rows.items():
        if name != "d002":
            assert row["status"] == "max_nfev" and row["exit_code"] == "1"


def test_confidence_expect_and_plots_per_dataset(tmp_path):
    write_decays(tmp_path / "runs", 3)
    spec = spec_file(tmp_path, "confidence: {sigmas: [1]}\n"
                     "expect: {converged: true, params: {tau: {min: 0.5, "
                     "max: 5}}}\n")
    res = invoke("run", spec, "-o", tmp_path / "o", "-q")
    assert res.exit_code == 0, res.output
    doc = json.loads((tmp_path / "o" / "d001" / "result.json").read_text())
    assert doc["engine"]["batched"] is True
    assert doc["expect"]["passed"] is True
    ci = doc["confidence"]["intervals"]
    assert set(ci) == set(NAMES)
    tau = doc["parameters"]["tau"]
    lo, hi = ci["tau"][0][1], ci["tau"][-1][1]
    assert lo < tau["value"] < hi
    assert (tmp_path / "o" / "d001" / "ci.csv").exists()


def test_not_batched_when_not_applicable(tmp_path):
    write_decays(tmp_path / "runs", 4)
    cases = {
        "off": "fit: {batched: false}\n",
        "engine": "fit: {engine: nelder}\n",
        "options": "fit: {options: {xtol: 1.0e-9}}\n",
        "loss": "fit: {engine: least_squares, options: {loss: soft_l1}}\n",
        "cond": "",
    }
    for key, extra in cases.items():
        spec = spec_file(tmp_path, extra, name=f"{key}.yaml")
        if key == "cond":
            spec.write_text(spec.read_text().replace(
                "model: amp*exp(-x/tau) + c",
                "model: amp*exp(-x/tau) + (c if c > 0 else 0)"))
        res = invoke("run", spec, "-o", tmp_path / key, "-q")
        assert res.exit_code == 0, (key, res.output)
        for row in summary(tmp_path / key).values():
            assert "batched" not in row["message"], key
    lsq = spec_file(tmp_path, "fit: {engine: least_squares, options: "
                    "{loss: linear}}\n", name="lsq.yaml")
    assert invoke("run", lsq, "-o", tmp_path / "lsq", "-q").exit_code == 0
    for row in summary(tmp_path / "lsq").values():
        assert "batched" in row["message"]
    doc = json.loads((tmp_path / "lsq" / "d000" / "result.json").read_text())
    assert doc["engine"]["name"] == "least_squares"


def test_warm_start_is_a_sequential_chain(tmp_path):
    write_decays(tmp_path / "runs", 4)
    spec = spec_file(tmp_path)
    res = invoke("run", spec, "-o", tmp_path / "w", "-q", "--warm-start")
    assert res.exit_code == 0
    rows = summary(tmp_path / "w")
    for row in rows.values():
        assert "batched" not in row["message"]
    cold = invoke("run", spec, "-o", tmp_path / "c", "-q")
    assert cold.exit_code == 0
    for name, row in summary(tmp_path / "c").items():
        for col in NAMES:
            assert math.isclose(float(row[col]), float(rows[name][col]),
                                rel_tol=1e-6)


def test_spec_key_batched_is_checked(tmp_path):
    write_decays(tmp_path / "runs", 1)
    spec = spec_file(tmp_path, "fit: {batched: maybe}\n")
    res = invoke("run", spec, "-o", tmp_path / "o", "-q")
    assert res.exit_code == 2 and res.stdout == ""
    assert len(res.stderr.splitlines()) == 1
    assert "fit.batched" in res.stderr


def test_setup_pickles_for_spawned_workers(tmp_path):
    import pickle

    from fitcli.spec import load_spec
    from fitcli.stacked import plan

    write_decays(tmp_path / "runs", 2)
    setup = plan(load_spec(spec_file(tmp_path)))
    again = pickle.loads(pickle.dumps(setup))
    assert again.method == "leastsq" and again.bm.analytic
    assert again.bm.var_names == ["amp", "tau", "c"]
    assert plan(load_spec(spec_file(tmp_path, "fit: {batched: false}\n",
                                    name="off.yaml"))) is None


def test_sigma_pvalue_and_weights_match_single_fits(tmp_path):
    write_decays(tmp_path / "runs", 5)
    for key, extra in (("sigma", "  sigma: {constant: 0.05}\n"),
                       ("weights", "  weights: {constant: 20}\n")):
        text = SPEC.format(file="runs/*.csv", extra="")
        text = text.replace("  y: counts\n", "  y: counts\n" + extra)
        fast, slow = tmp_path / f"{key}.yaml", tmp_path / f"{key}_s.yaml"
        fast.write_text(text)
        slow.write_text(text + "fit: {batched: false}\n")
        assert invoke("run", fast, "-o", tmp_path / key, "-q").exit_code == 0
        assert invoke("run", slow, "-o", tmp_path / (key + "s"),
                      "-q").exit_code == 0
        b, s = summary(tmp_path / key), summary(tmp_path / (key + "s"))
        for name, row in b.items():
            assert "batched" in row["message"]
            assert (row["pvalue"] == "") == (key == "weights")
            for col in ("chisqr", "rsquared") + (("pvalue",) if key == "sigma"
                                                 else ()):
                assert float(row[col]) == pytest.approx(float(s[name][col]),
                                                        rel=1e-8)
            for col in NAMES:
                assert float(row[col]) == pytest.approx(float(s[name][col]),
                                                        rel=1e-6)
