"""Regenerate the example data files (seeded: the same bytes every time).

    python examples/make_data.py
"""
import os

import numpy as np

HERE = os.path.join(os.path.dirname(os.path.abspath(__file__)), "data")


def gaussian(x, amp, cen, wid):
    return amp / (wid * np.sqrt(2 * np.pi)) * np.exp(-(x - cen) ** 2 / (2 * wid ** 2))


def lorentzian(x, amp, cen, wid):
    return amp / np.pi * wid / ((x - cen) ** 2 + wid ** 2)


def write(name, header, columns):
    path = os.path.join(HERE, name)
    with open(path, "w", encoding="utf-8", newline="\n") as fh:
        fh.write(",".join(header) + "\n")
        for row in zip(*columns):
            fh.write(",".join(f"{v:.6g}" for v in row) + "\n")


def main():
    os.makedirs(HERE, exist_ok=True)
    rng = np.random.default_rng(20261122)
    # two Gaussian peaks on a linear background
    e = np.linspace(1.0, 9.5, 171)
    truth = gaussian(e, 12.0, 4.3, 0.45) + gaussian(e, 7.0, 6.2, 0.45) + 0.15 * e + 1.0
    err = 0.05 + 0.03 * np.sqrt(truth)
    counts = truth + rng.normal(scale=err)
    write("peaks.csv", ["energy", "counts", "counts_err"], [e, counts, err])
    # damped sine (the classic example)
    t = np.linspace(0, 15, 301)
    y = 5.0 * np.sin(2.0 * t - 0.1) * np.exp(-t * t * 0.025) + rng.normal(scale=0.2, size=t.size)
    write("damped_sine.csv", ["t", "y"], [t, y])
    # mixture of two decays: y = A (f exp(-t/t1) + (1-f) exp(-t/t2))
    t = np.linspace(0.05, 12, 120)
    y = 10.0 * (0.35 * np.exp(-t / 0.8) + 0.65 * np.exp(-t / 4.5)) + rng.normal(scale=0.05, size=t.size)
    write("two_decays.csv", ["time", "signal"], [t, y])
    # a plateau with a step: y = a + h (t > t0) + noise
    t = np.linspace(0, 10, 101)
    y = 1.0 + 0.02 * t + 2.5 * (t > 4.05) + rng.normal(scale=0.05, size=t.size)
    write("step.csv", ["t", "y"], [t, y])
    # two lines whose best unconstrained intercepts sum to more than 10
    u = np.linspace(0, 1, 40)
    y = np.concatenate([6.5 + 2 * u, 5.5 - u]) + rng.normal(scale=0.05, size=2 * u.size)
    group = np.concatenate([np.zeros(u.size), np.ones(u.size)])
    write("two_lines.csv", ["u", "g", "y"], [np.concatenate([u, u]), group, y])
    global_fits()
    plot_gallery()


def global_fits():
    """Data of the global fit examples (specs/shared_lifetime.yaml and
    specs/two_spectrometers.yaml), from their own seed."""
    rng = np.random.default_rng(20261717)
    # decays excited at four wavelengths: one lifetime (2.2), amplitudes
    # and backgrounds of their own
    os.makedirs(os.path.join(HERE, "lifetime"), exist_ok=True)
    t = np.linspace(0.0, 12.0, 81)
    for nm, amp, bg in ((400, 9.0, 0.4), (450, 6.5, 0.3), (500, 4.0, 0.5),
                        (550, 2.5, 0.2)):
        err = 0.05 + 0.02 * np.sqrt(amp)
        y = amp * np.exp(-t / 2.2) + bg + rng.normal(scale=err, size=t.size)
        write(f"lifetime/excite_{nm}nm.csv", ["time", "signal", "error"],
              [t, y, np.full(t.size, err)])
    # one line seen by two spectrometers: a Gaussian line shape in one, a
    # Lorentzian in the other, the same centre (detuning 0.65 GHz)
    x = np.linspace(-6.0, 6.0, 97)
    truth = gaussian(x, 40.0, 0.65, 0.9) + 2.0
    err = 0.1 + 0.05 * np.sqrt(truth)
    write("line_grating.csv", ["detuning", "counts", "counts_err"],
          [x, truth + rng.normal(scale=err), err])
    w = np.linspace(-3.0, 3.5, 66)
    truth = 30.0 / np.pi * 0.4 / ((w - 0.65) ** 2 + 0.4 ** 2) + 2.0
    err = 0.1 + 0.05 * np.sqrt(truth)
    write("line_fabry.csv", ["detuning_ghz", "signal", "signal_err"],
          [w, truth + rng.normal(scale=err), err])


def plot_gallery():
    """Data of the plot gallery (examples/gallery/, docs/plots.md), from
    their own seed."""
    rng = np.random.default_rng(20261919)
    # a sparse decay: 15 counts with Poisson errors on a background
    t = np.linspace(0.2, 6.0, 15)
    truth = 1200.0 * np.exp(-t / 1.3) + 30.0
    counts = rng.poisson(truth).astype(float)
    write("decay15.csv", ["time_ms", "counts", "counts_err"],
          [t, counts, np.sqrt(counts)])
    # a dense spectrum: 1001 points, two Lorentzian lines and a
    # Gaussian band on a sloping background
    e = np.linspace(0.0, 100.0, 1001)
    truth = (lorentzian(e, 40.0, 32.0, 1.5) + lorentzian(e, 25.0, 41.0, 2.0)
             + gaussian(e, 120.0, 70.0, 8.0) + 2.0 - 0.01 * e)
    err = np.full(e.size, 0.15)
    write("spectrum.csv", ["energy", "intensity", "err"],
          [e, truth + rng.normal(scale=err), err])


if __name__ == "__main__":
    main()
