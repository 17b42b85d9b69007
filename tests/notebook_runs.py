"""Runs of a notebook that the checks of this pytest session have made, kept for the checks that
need a run of the same notebook too.

Two checks run every notebook anyway: strict nbval (``pytest --nbval``: a fresh kernel in the
notebook's own folder; what each cell printed is compared with the committed outputs) and the
browser test (``tests/test_browser.py``: JupyterLab's Run All in Chromium, on a temporary copy,
saved when done). The determinism test (``tests/test_notebook_determinism.py``) needs two runs of
each notebook and compares them with each other: it takes these two when they were made, and runs
the notebook itself only for a run that is missing (``make test-py`` has no nbval run; without
Chromium there is no browser run). ``tests/conftest.py`` orders it after the notebooks.

A run is ``[(source, outputs)]`` for every code cell in order, outputs as nbformat nodes.
:class:`NbvalRunRecorder` is registered as a plugin by ``tests/conftest.py``: a hook in a conftest
file would only see the items under its own folder, and nbval's items live in ``notebooks/``.
"""

from __future__ import annotations

from pathlib import Path

import nbformat
import pytest

try:
    from nbval.plugin import IPyNbCell
except ImportError:  # nbval is a test dependency; without it there is no nbval run to record
    IPyNbCell = None

# notebook path (resolved) -> {kind: run}, for runs that reached every code cell
_RUNS: dict[Path, dict[str, list]] = {}
# notebook path -> new files in its folder while nbval ran it (names relative to the folder)
_WRITTEN: dict[Path, list[str]] = {}
_PARTIAL: dict[Path, dict[int, tuple[str, list]]] = {}
_BEFORE: dict[Path, set[str]] = {}


def record(path, kind, cells):
    """Keep ``cells`` (``[(source, outputs)]``, every code cell in order, as ``nbformat.read``
    gives them) as the ``kind`` run of the notebook at ``path``."""
    run = [(src, [nbformat.from_dict(o) for o in outputs]) for src, outputs in cells]
    _RUNS.setdefault(Path(path).resolve(), {})[kind] = run


def recorded_runs(path):
    """``{kind: run}`` of the notebook at ``path`` made in this session ({} if none)."""
    return dict(_RUNS.get(Path(path).resolve(), {}))


def files_written_by_nbval(path):
    """Files that appeared in the notebook's folder while nbval ran it (``None``: it did not)."""
    return _WRITTEN.get(Path(path).resolve())


def _files(folder):
    return {str(p.relative_to(folder)) for p in folder.rglob("*")}


class NbvalRunRecorder:
    """Keeps the outputs each nbval cell produced (``IPyNbCell.test_outputs``, streams already
    joined as nbval joins them), and a notebook's run once its last code cell has run; and which
    files appeared in the notebook's folder during that run."""

    @pytest.hookimpl(hookwrapper=True)
    def pytest_runtest_call(self, item):
        nbval_cell = IPyNbCell is not None and isinstance(item, IPyNbCell)
        if nbval_cell:
            path = Path(str(item.parent.fspath)).resolve()
            if item.cell_num == 0:  # a new run of this notebook starts
                _PARTIAL[path] = {}
                _BEFORE[path] = _files(path.parent)
        yield
        if not nbval_cell or path not in _PARTIAL:
            return
        notebook = item.parent
        outputs = getattr(item, "test_outputs", None)
        if outputs is None or getattr(notebook, "timed_out", False):
            del _PARTIAL[path]  # a skipped or timed-out cell: no complete run
            return
        cells = _PARTIAL[path]
        cells[item.cell_num] = (item.cell.source, list(outputs))
        n_code = sum(c.cell_type == "code" for c in notebook.nb.cells)
        if sorted(cells) == list(range(n_code)):
            record(path, "strict nbval's run", [cells[i] for i in range(n_code)])
            _WRITTEN[path] = sorted(_files(path.parent) - _BEFORE.pop(path))
            del _PARTIAL[path]
