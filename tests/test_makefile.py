"""examples/Makefile: fitting every spec with make, incremental reruns, and
the regression check against examples/baselines.

make runs from the repository root (as documented at the top of the
Makefile) with FITCLI = this interpreter's ``-m fitcli``.  The specs and the
example data are copied into tmp_path (SPECS_DIR, DATA), so touching a spec
never touches the repository, and the results go to tmp_path (RESULTS).
"""
import json
import os
import shlex
import shutil
import subprocess
import sys
import time
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
MAKEFILE = ROOT / "examples" / "Makefile"
BASELINES = ROOT / "examples" / "baselines"

pytestmark = pytest.mark.skipif(shutil.which("make") is None,
                                reason="`make` is not on PATH")


def make(tree, *targets, **variables):
    """Run ``make -f examples/Makefile TARGETS`` from the repository root
    with the tree's variables (overridden by ``variables``)."""
    env = dict(os.environ)
    for name in ("MAKEFLAGS", "MFLAGS", "MAKELEVEL", "MAKEFILES"):
        env.pop(name, None)
    settings = dict(tree["vars"], **variables)
    argv = (["make", "--no-print-directory", "-f", str(MAKEFILE)]
            + list(targets) + [f"{k}={v}" for k, v in settings.items()])
    return subprocess.run(argv, cwd=ROOT, env=env, capture_output=True,
                          text=True, timeout=120)


def results_of(tree):
    return {stem: tree["results"] / stem / "result.json"
            for stem in tree["stems"]}


def mtimes(tree):
    return {stem: p.stat().st_mtime_ns for stem, p in results_of(tree).items()}


@pytest.fixture(scope="module")
def tree(tmp_path_factory):
    """Copies of specs/*.yaml and examples/data, fitted once with make."""
    tmp = tmp_path_factory.mktemp("make")
    specs = tmp / "specs"
    specs.mkdir()
    stems = []
    for spec in sorted((ROOT / "specs").glob("*.yaml")):
        shutil.copy2(spec, specs / spec.name)
        stems.append(spec.stem)
    # The specs name their data as ../examples/data/... (relative to the
    # spec file), so the copies find the copied data.
    shutil.copytree(ROOT / "examples" / "data", tmp / "examples" / "data",
                    ignore=shutil.ignore_patterns("__pycache__"))
    data = sorted((tmp / "examples" / "data").glob("*.csv"))
    tree = {
        "tmp": tmp,
        "specs": specs,
        "stems": stems,
        "results": tmp / "results",
        "vars": {
            "FITCLI": f"{shlex.quote(sys.executable)} -m fitcli",
            "SPECS_DIR": str(specs),
            "RESULTS": str(tmp / "results"),
            "DATA": " ".join(str(p) for p in data),
        },
    }
    proc = make(tree)
    tree["first"] = proc
    return tree


def test_make_fits_every_spec(tree):
    proc = tree["first"]
    assert proc.returncode == 0, proc.stderr
    assert tree["stems"], "no specs/*.yaml found"
    for stem, path in results_of(tree).items():
        assert path.is_file(), f"no result.json for {stem}"
        doc = json.loads(path.read_text())
        assert doc["fit"]["success"] is True, stem
        # every other output file of the run is there too
        for name in ("report.txt", "params.csv", "fit.csv"):
            assert (path.parent / name).is_file(), (stem, name)


def test_check_passes_against_committed_baselines(tree):
    for stem in tree["stems"]:
        assert (BASELINES / stem / "result.json").is_file(), \
            f"examples/baselines/{stem}/result.json is missing"
    proc = make(tree, "check")
    assert proc.returncode == 0, proc.stdout + proc.stderr


def test_second_make_does_nothing(tree):
    before = mtimes(tree)
    proc = make(tree)
    assert proc.returncode == 0, proc.stderr
    assert "Nothing to be done" in proc.stdout, proc.stdout
    assert "fitcli run" not in proc.stdout
    assert mtimes(tree) == before


def test_touching_one_spec_reruns_only_that_one(tree):
    stem = tree["stems"][0]
    before = mtimes(tree)
    spec = tree["specs"] / f"{stem}.yaml"
    later = time.time() + 5          # clearly newer than every result
    os.utime(spec, (later, later))
    proc = make(tree)
    assert proc.returncode == 0, proc.stderr
    runs = [line for line in proc.stdout.splitlines() if " run " in line]
    assert len(runs) == 1 and f"{stem}.yaml" in runs[0], proc.stdout
    after = mtimes(tree)
    assert after[stem] > before[stem]
    assert {k: v for k, v in after.items() if k != stem} == \
        {k: v for k, v in before.items() if k != stem}
    # and the spec is older than its new result again: nothing to do
    os.utime(spec, (later - 10, later - 10))
    assert "Nothing to be done" in make(tree).stdout


def test_check_fails_when_a_baseline_differs(tree):
    altered = tree["tmp"] / "baselines"
    if altered.exists():
        shutil.rmtree(altered)
    shutil.copytree(BASELINES, altered)
    stem = "quickstart" if "quickstart" in tree["stems"] else tree["stems"][0]
    path = altered / stem / "result.json"
    doc = json.loads(path.read_text())
    name = next(n for n, p in doc["parameters"].items() if p["vary"])
    doc["parameters"][name]["value"] *= 1.001      # far beyond rtol 1e-6
    path.write_text(json.dumps(doc, indent=2) + "\n")

    proc = make(tree, "check", BASELINES=str(altered))
    assert proc.returncode != 0
    assert f"{stem} differs from its baseline" in proc.stderr, proc.stderr
    # the untouched baselines still pass
    others = [s for s in tree["stems"] if s != stem]
    for s in others:
        assert f"{s} differs" not in proc.stderr
    # within a loose enough tolerance the altered one passes too
    assert make(tree, "check", BASELINES=str(altered),
                RTOL="0.01").returncode == 0


def test_missing_baseline_fails_check(tree):
    empty = tree["tmp"] / "no-baselines"
    empty.mkdir(exist_ok=True)
    proc = make(tree, "check", BASELINES=str(empty))
    assert proc.returncode != 0
    assert "no baseline" in proc.stderr


def test_not_converged_spec_fails_and_is_retried(tmp_path, tree):
    """exit code 1 (not converged) fails the build, and result.json is
    removed (.DELETE_ON_ERROR) so that the next make fits it again."""
    specs = tmp_path / "specs"
    specs.mkdir()
    (specs / "slow.yaml").write_text(
        "data:\n"
        "  x: [0, 1, 2, 3, 4, 5, 6, 7]\n"
        "  y: [1.1, 2.9, 5.2, 7.1, 8.8, 11.2, 13.1, 14.8]\n"
        "model: amp * exp(x / tau) + c\n"
        "parameters:\n"
        "  amp: 1\n"
        "  tau: {value: 1, min: 0.01}\n"
        "  c: 0\n"
        "fit:\n"
        "  max_nfev: 2\n")
    results = tmp_path / "results"
    settings = dict(SPECS_DIR=str(specs), RESULTS=str(results))
    proc = make(tree, **settings)
    assert proc.returncode != 0
    assert not (results / "slow" / "result.json").exists()
    assert (results / "slow" / "report.txt").exists()
    again = make(tree, **settings)
    assert again.returncode != 0 and "slow.yaml" in again.stdout

    clean = make(tree, "clean", **settings)
    assert clean.returncode == 0, clean.stderr
    assert not results.exists()
