"""Re-execute notebooks in place, deterministically, from their percent-format .py pairs.

    python tools/execute_notebooks.py                 # every notebooks/NN_*.py
    python tools/execute_notebooks.py notebooks/01_generative_models.py

For each pair: read the .py (the source of truth for inputs), run it top to bottom in a fresh
kernel from notebooks/, and write the .ipynb with its outputs. Volatile metadata is dropped:
cell timings, widget state and the kernel's language version, so a re-run diff shows only real
changes in outputs.
"""

from __future__ import annotations

import sys
import time
from pathlib import Path

import jupytext
import nbformat

sys.path.insert(0, str(Path(__file__).resolve().parent))
from notebook_runner import bounded_client  # noqa: E402
from project import NOTEBOOKS, notebook_paths  # noqa: E402

KERNEL = "python3"


def clean(nb):
    """Drop metadata that changes from run to run or machine to machine."""
    nb.metadata.pop("widgets", None)
    nb.metadata.get("language_info", {}).pop("version", None)
    nb.metadata["kernelspec"] = {"display_name": "Python 3 (ipykernel)", "language": "python",
                                 "name": KERNEL}
    for i, cell in enumerate(nb.cells):
        cell.id = f"cell-{i:03d}"  # jupytext draws random ids: number them, so diffs stay quiet
        cell.metadata.pop("execution", None)
        cell.metadata.pop("ExecuteTime", None)
    return nb


def execute(py_path):
    py_path = Path(py_path).resolve()
    nb = jupytext.read(py_path)
    nb.metadata.setdefault("jupytext", {})["formats"] = "ipynb,py:percent"
    start = time.perf_counter()
    bounded_client(nb, py_path.with_suffix(".ipynb").name, NOTEBOOKS, kernel_name=KERNEL,
                   record_timing=False).execute()
    elapsed = time.perf_counter() - start
    nb = clean(nb)
    nbformat.validate(nb)
    # Both files from the same notebook, so they carry identical inputs and pairing metadata;
    # the .ipynb is written last, so it is never older than its pair.
    jupytext.write(nb, py_path, fmt="py:percent")
    jupytext.write(nb, py_path.with_suffix(".ipynb"), fmt="ipynb")
    print(f"{py_path.name}: executed in {elapsed:.1f} s")
    return elapsed


def main(argv):
    paths = [Path(p).with_suffix(".py") for p in argv] or notebook_paths(".py")
    if not paths:
        raise SystemExit("no notebooks/NN_*.py found")
    total = sum(execute(p) for p in paths)
    print(f"total: {total:.1f} s")


if __name__ == "__main__":
    main(sys.argv[1:])
