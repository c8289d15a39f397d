"""Redraw the gallery of docs/plots.md: each spec of this folder is fitted
with ``fitcli run`` and its plots are drawn by ``fitcli plot`` into
docs/gallery/<spec stem>.png (other figures of a spec beside it, under
their own names).  Run from anywhere:

    python examples/gallery/make_gallery.py
"""
import glob
import os
import subprocess
import sys
import tempfile

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(os.path.dirname(HERE))
OUT = os.path.join(ROOT, "docs", "gallery")
FITCLI = [sys.executable, "-m", "fitcli"]


def main():
    os.makedirs(OUT, exist_ok=True)
    with tempfile.TemporaryDirectory() as tmp:
        for spec in sorted(glob.glob(os.path.join(HERE, "*.yaml"))):
            stem = os.path.splitext(os.path.basename(spec))[0]
            result = os.path.join(tmp, stem)
            subprocess.run(FITCLI + ["run", spec, "-q", "-o", result],
                           check=True, cwd=ROOT)
            subprocess.run(FITCLI + ["plot", result, "--format", "png",
                                     "-o", os.path.join(OUT, f"{stem}.png")],
                           check=True, cwd=ROOT)
    # the README's picture: the quick start with its components
    with tempfile.TemporaryDirectory() as tmp:
        subprocess.run(FITCLI + ["run", "specs/quickstart.yaml", "-q",
                                 "--no-confidence", "-o", tmp],
                       check=True, cwd=ROOT)
        subprocess.run(FITCLI + ["plot", tmp, "--components", "-o",
                                 os.path.join("docs", "quickstart.png")],
                       check=True, cwd=ROOT)


if __name__ == "__main__":
    main()
