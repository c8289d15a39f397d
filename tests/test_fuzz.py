"""Seeded mutation fuzzing of everything a user types or feeds in: spec
files (YAML and TOML), data files, model expressions and constraint
expressions.  Whatever the input, the only exceptions are fitcli's own
errors, each a single line, and no Python warning escapes (a warning would
be printed beside the one-line error).  Each input gets a time bound.

The seeds are fixed, so a run is reproducible; a failure prints the input.
(This suite found two bugs: SyntaxWarnings of expressions such as
``1if a else 2`` printed on stderr, and ``model: sqrt`` ending as an
internal error.)
"""
import random
import time
import warnings
from pathlib import Path

import numpy as np
import pytest

from fitcli import Parameters
from fitcli.data import DataSpec, load_dataset
from fitcli.errors import FitcliError
from fitcli.model import ExpressionModel
from fitcli.spec import load_spec_text

ROOT = Path(__file__).resolve().parent.parent
SPECS = sorted(p for p in (ROOT / "specs").iterdir()
               if p.suffix in (".yaml", ".toml"))
SECONDS = 2.0

SPEC_TOKENS = ["-1", "0", ".nan", "nan", "inf", "-.inf", "1e999", "[]", "{}",
               "[1, 2]", "{a: 1}", "yes", "no", "~", "null", "''", '""', "x",
               "__import__('os')", "a b", "*", "&a", "*a",
               "!!python/object:os.system", "0x10", "1_0", "1:20", "010",
               "  ", "\t", ":", "-", "#", "'", '"', "\\", "{{", "]]", "=",
               "[[a]]", "true", "false", "1.5", "-0.0", "9" * 400, "é", "\x00",
               "%", "@", "{relative: 0}", "{constant: -1}"]
EXPR_TOKENS = ["a", "b", "x", "1", "2.5", "0", "-", "+", "*", "/", "**", "(",
               ")", ",", "exp", "sqrt", "log", "gaussian", "max", "min", "abs",
               " if ", " else ", " and ", " or ", "not ", "<", ">=", "==", "[",
               "]", "{", "}", ":", ".", "__class__", "lambda", "'s'", "1e308",
               "x[0]", "sum", "pi", "e", "%", "//", "@", "~", "&", "|", "^",
               "<<", ">>", " is ", " in ", "factorial", "atan2", "hypot",
               "lorentzian", "voigt", "step", "9**9**9", "1if", "0x1f"]
DATA_TOKENS = [",", ",,", "\n", "\r\n", '"', "nan", "inf", "-", "1e999", "x",
               "#", " ", "\t", ";", "é", "\ufeff", "0", "-0", "1,2,3,4,5,6"]


def mutate(rng, text, tokens, rounds):
    for _ in range(rounds):
        if not text:
            break
        i = rng.randrange(len(text))
        op = rng.randrange(5)
        if op == 0:
            text = text[:i] + text[i + 1:]
        elif op == 1:
            text = text[:i] + rng.choice(tokens) + text[i:]
        elif op == 2:
            lines = text.splitlines(True)
            lines.insert(rng.randrange(len(lines)), rng.choice(lines))
            text = "".join(lines)
        elif op == 3:
            j = text.find(": ", i)
            if j >= 0:
                end = text.find("\n", j)
                end = len(text) if end < 0 else end
                text = text[:j + 2] + rng.choice(tokens) + text[end:]
        else:
            text = text[:i] + text[i:i + rng.randint(1, 30)] + text[i:]
    return text


def only_fitcli_errors(call, what):
    """Run ``call``; fail unless it returns or raises a one-line FitcliError,
    within the time bound and without a Python warning."""
    start = time.process_time()       # CPU time: unaffected by machine load
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        try:
            call()
        except FitcliError as exc:
            msg = str(exc)
            assert msg.strip() and "\n" not in msg, (what, msg)
    assert time.process_time() - start < SECONDS, what
    leaked = [w for w in caught
              if issubclass(w.category, (SyntaxWarning, DeprecationWarning))]
    assert not leaked, (what, [str(w.message) for w in leaked])


@pytest.mark.parametrize("seed", [1, 2, 3])
def test_mutated_specs(seed):
    rng = random.Random(seed)
    seeds = [(p.read_text(), p.suffix.lstrip(".")) for p in SPECS]
    for _ in range(700):
        text, fmt = rng.choice(seeds)
        text = mutate(rng, text, SPEC_TOKENS, rng.randint(1, 3))
        only_fitcli_errors(
            lambda: load_spec_text(text, fmt, f"fuzz.{fmt}",
                                   base_dir=ROOT / "specs"), text)


def test_mutated_spec_bytes(tmp_path):
    """Byte-level damage (any byte value, a stray byte-order mark) through
    ``load_spec``: decoding and the YAML reader fail cleanly too."""
    from fitcli.spec import load_spec

    rng = random.Random(5)
    seeds = [(p.read_bytes(), p.suffix) for p in SPECS]
    for _ in range(600):
        raw, suffix = rng.choice(seeds)
        raw = bytearray(raw)
        for _ in range(rng.randint(1, 6)):
            raw[rng.randrange(len(raw))] = rng.randrange(256)
        if rng.random() < 0.1:
            raw = bytearray(b"\xff\xfe") + raw
        path = tmp_path / f"s{suffix}"
        path.write_bytes(bytes(raw))
        only_fitcli_errors(lambda: load_spec(path), bytes(raw[:200]))


@pytest.mark.parametrize("seed", [1, 2])
def test_mutated_data_files(seed, tmp_path):
    rng = random.Random(seed)
    seeds = [p.read_text() for p in sorted((ROOT / "examples" / "data")
                                           .glob("*.csv"))]
    path = tmp_path / "d.csv"
    for _ in range(400):
        lines = rng.choice(seeds).splitlines(True)[:rng.randint(2, 30)]
        text = mutate(rng, "".join(lines), DATA_TOKENS, rng.randint(1, 4))
        path.write_text(text, encoding="utf-8")
        header = [c for c in (text.splitlines() or ["a"])[0].split(",") if c]
        cols = header + [0, 1, 2]
        kws = {"file": str(path), "x": rng.choice(cols), "y": rng.choice(cols),
               "nan_policy": rng.choice(["raise", "omit", "propagate"])}
        roll = rng.random()
        if roll < 0.3:
            kws["sigma"] = rng.choice(cols + [0.5])
            if rng.random() < 0.5:
                kws["sigma_x"] = rng.choice(cols + [0.1])
        elif roll < 0.4:
            kws["weights"] = rng.choice(cols + [1.0])
        if rng.random() < 0.2:
            kws["range"] = [rng.uniform(-5, 5), rng.uniform(5, 20)]
        only_fitcli_errors(lambda: load_dataset(DataSpec(**kws)),
                           (text[:200], kws))


@pytest.mark.parametrize("seed", [1, 2])
def test_random_model_expressions(seed):
    rng = random.Random(seed)
    x = np.linspace(0.0, 5.0, 20)
    for _ in range(3000):
        text = "".join(rng.choice(EXPR_TOKENS)
                       for _ in range(rng.randint(1, 12)))

        def fit_once():
            model = ExpressionModel(text, ["x"], ["a", "b"])
            params = Parameters()
            params.add("a", value=rng.uniform(-3, 3))
            params.add("b", value=rng.uniform(-3, 3))
            with np.errstate(all="ignore"):
                model.residual_function({"x": x}, np.ones_like(x))(params)
        only_fitcli_errors(fit_once, text)


@pytest.mark.parametrize("seed", [1, 2])
def test_random_constraint_expressions(seed):
    rng = random.Random(seed)
    tokens = [t.replace("x", "c") for t in EXPR_TOKENS] + ["d", "True", "None"]
    for _ in range(1500):
        exprs = {name: "".join(rng.choice(tokens)
                               for _ in range(rng.randint(1, 10)))
                 for name in ("c", "d") if rng.random() < 0.8}

        def resolve():
            params = Parameters()
            params.add("a", value=rng.uniform(-3, 3))
            params.add("b", value=rng.uniform(-3, 3), min=-5, max=5)
            for name in ("c", "d"):
                if name in exprs:
                    params.add(name, expr=exprs[name])
                else:
                    params.add(name, value=1.0)
            params.update_constraints()
            again = Parameters()
            again.loads(params.dumps())
            again.update_constraints()
        only_fitcli_errors(resolve, exprs)
