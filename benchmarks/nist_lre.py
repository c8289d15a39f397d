"""NIST StRD nonlinear regression: accuracy (LRE) of fitcli on 27 x 2 cases.

Usage::

    python benchmarks/nist_lre.py [--method NAME] [--opt key=value ...]
                                  [--case NAME ...]

``--method`` picks the engine (default: fitcli's default, called exactly as
``minimize(residual, params, args=(x, y))``); each ``--opt key=value`` is
passed to ``minimize`` as an engine option with a float value
(an integer literal such as ``max_nfev=500`` stays an int; ``true``/``false``
give booleans).  LRE = -log10(|q - c| / |c|), capped at
15, 0 when the value is missing or not finite.
"""
import argparse
import sys
import time
import warnings
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / "tests"))
sys.path.insert(0, str(ROOT))

from nist_strd import all_names, case_lres, fit_case  # noqa: E402


def _option(text):
    if "=" not in text:
        raise argparse.ArgumentTypeError(f"expected key=value, got {text!r}")
    key, value = text.split("=", 1)
    low = value.strip().lower()
    if low in ("true", "false"):
        return key.strip(), low == "true"
    try:
        return key.strip(), int(value)      # e.g. max_nfev=500
    except ValueError:
        pass
    try:
        return key.strip(), float(value)
    except ValueError:
        raise argparse.ArgumentTypeError(
            f"option {key!r}: {value!r} is not a number") from None


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--method", default=None, help="engine name")
    ap.add_argument("--opt", action="append", type=_option, default=[],
                    metavar="KEY=VALUE", help="engine option (float value)")
    ap.add_argument("--case", action="append", default=None,
                    help="only this problem (repeatable)")
    args = ap.parse_args(argv)
    options = dict(args.opt)
    names = args.case or all_names()

    print(f"engine: {args.method or 'default'}  options: {options or '{}'}")
    head = (f"{'case':<16} {'success':<7} {'status':<13} {'nfev':>6} "
            f"{'par LRE':>7} {'err LRE':>7} {'RSS LRE':>7}")
    print(head)
    print("-" * len(head))
    rows = []
    t0 = time.perf_counter()
    for name in names:
        for start in (1, 2):
            case = f"{name}-start{start}"
            with warnings.catch_warnings(record=True) as caught:
                warnings.simplefilter("always")
                try:
                    result = fit_case(name, start, method=args.method,
                                      **options)
                except Exception as exc:  # report, keep going
                    print(f"{case:<16} ERROR   {type(exc).__name__}: {exc}")
                    rows.append((case, False, 0.0, 0.0, 0.0))
                    continue
            p_lre, e_lre, r_lre = case_lres(name, result)
            pmin, emin = min(p_lre), min(e_lre)
            note = "  [" + "; ".join(str(w.message)[:60] for w in caught) + "]" \
                if caught else ""
            print(f"{case:<16} {str(result.success):<7} {result.status:<13} "
                  f"{result.nfev:>6} {pmin:>7.2f} {emin:>7.2f} {r_lre:>7.2f}"
                  f"{note}")
            rows.append((case, result.success, pmin, emin, r_lre))
    n = len(rows)
    print("-" * len(head))
    print(f"success:                 {sum(r[1] for r in rows):>3} / {n}")
    print(f"param LRE >= 6:          {sum(r[2] >= 6 for r in rows):>3} / {n}")
    print(f"param LRE >= 4:          {sum(r[2] >= 4 for r in rows):>3} / {n}")
    print(f"stderr LRE >= 4:         {sum(r[3] >= 4 for r in rows):>3} / {n}")
    print(f"RSS LRE >= 6:            {sum(r[4] >= 6 for r in rows):>3} / {n}")
    print(f"time: {time.perf_counter() - t0:.1f} s")
    return 0


if __name__ == "__main__":
    sys.exit(main())
