"""Tests of fitcli.plan: a run command resolved before the first fit
(subfolders, data files without fitcli's outputs, output directories that
two specs would share).  The command-line behaviour is in
test_hostile_io.py."""
import os

from fitcli.errors import SpecError
from fitcli.outdir import write_outputs
from fitcli.plan import data_files, plan_specs, subfolders
from fitcli.spec import load_spec

SPEC = "data: {file: DATA, x: x, y: y}\nmodel: a*x + b\nparameters: {a: 1, b: 0}\n"


def _spec(path, data="'runs/*.csv'", extra=""):
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(SPEC.replace("DATA", data) + extra)
    return path


def _runs(folder, n):
    folder.mkdir(parents=True, exist_ok=True)
    for i in range(n):
        (folder / f"r{i}.csv").write_text("x,y\n0,1\n1,3\n2,5\n3,7.1\n")


def test_subfolders_distinct_and_stable(tmp_path):
    paths = [str(tmp_path / p) for p in ("p/spec.yaml", "q/spec.yaml",
                                         "a.yaml", "a.toml", "b.yaml")]
    assert subfolders(paths) == dict(zip(paths, [
        "p_spec_yaml", "q_spec_yaml", "a_yaml", "a_toml", "b"]))
    same = str(tmp_path / "a.yaml")
    assert subfolders([same, same]) == {same: "a"}


def test_data_files_leave_out_outputs_with_a_note(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    _runs(tmp_path / "runs", 2)
    write_outputs(tmp_path / "runs" / "out", {"fit.csv": b"x\n",
                                               "params.csv": b"p\n"})
    spec = load_spec(_spec(tmp_path / "s.yaml", "'runs/**/*.csv'"))
    files, single, notes = data_files(spec)
    assert [os.path.basename(f) for f in files] == ["r0.csv", "r1.csv"]
    assert single is None
    assert notes == ["data.file: skipped 2 files written by fitcli as "
                     "outputs: runs/out/fit.csv, runs/out/params.csv"]
    # a plain --data path is read whatever it is; one file is a single fit
    assert str(data_files(spec, ["runs/out/fit.csv"])[1]) == \
        str(tmp_path / "runs" / "out" / "fit.csv")


def test_plan_specs_keeps_errors_in_order_and_refuses_shared_dirs(tmp_path):
    _runs(tmp_path / "runs", 2)
    a = _spec(tmp_path / "a.yaml", extra="output: {dir: out}\n")
    bad = _spec(tmp_path / "bad.yaml", data="'nothing/*.csv'")
    b = _spec(tmp_path / "b.yaml", data="runs/r0.csv",
              extra="output: {dir: out/r1}\n")
    c = _spec(tmp_path / "c.yaml", extra="output: {dir: other}\n")
    plans = plan_specs([str(a), str(bad), str(b), str(c)], load_spec)
    assert [type(p).__name__ for p in plans] == [
        "SpecPlan", "SpecError", "SpecError", "SpecPlan"]
    assert plans[0].files and plans[0].out == str(tmp_path / "out")
    assert "no file matches" in str(plans[1])
    assert isinstance(plans[2], SpecError)
    assert str(plans[2]).startswith(
        f"{b}:4:10: output.dir: the output directory {tmp_path}/out/r1 is also "
        f"the folder of dataset 'r1' of {a} in this command")
    # with -o every spec has its own subfolder
    plans = plan_specs([str(a), str(b)], load_spec, out_dir=str(tmp_path / "o"))
    assert [p.out for p in plans] == [str(tmp_path / "o" / "a"),
                                      str(tmp_path / "o" / "b")]
