import os
import sys
from pathlib import Path

import pytest

# Keep tests off the GUI: matplotlib renders to memory only.
os.environ.setdefault("MPLBACKEND", "Agg")

# tools/notebook_runner.py: the bounded notebook runner that the tests share with tools/ and benchmarks/
sys.path.insert(0, str(Path(__file__).resolve().parent.parent / "tools"))

# The determinism test compares runs that strict nbval and the browser test made in this session
# (tests/notebook_runs.py), so it runs after every notebook.
AFTER_NOTEBOOKS = ("test_notebook_determinism.py",)
# Under `pytest -n 2 --dist loadfile` (make test) the notebooks and the checks that share their
# runs (the browser test, the determinism test) are one unit of work, so that they run in the same
# worker process; every other test file is a unit of its own, as --dist loadfile makes it (its
# module fixtures are computed once).
SHARING_RUNS = ("test_browser.py",) + AFTER_NOTEBOOKS


def pytest_configure(config):
    from notebook_runs import NbvalRunRecorder

    # A plugin, not a conftest hook: conftest hooks of tests/ never see the items of notebooks/.
    if not config.pluginmanager.has_plugin("nbval-run-recorder"):
        config.pluginmanager.register(NbvalRunRecorder(), "nbval-run-recorder")


def pytest_collection_modifyitems(config, items):
    later = [it for it in items if it.path.name in AFTER_NOTEBOOKS]
    if later:
        items[:] = [it for it in items if it.path.name not in AFTER_NOTEBOOKS] + later


@pytest.hookimpl(optionalhook=True)  # xdist's hook: a run without xdist never calls it
def pytest_xdist_make_scheduler(config, log):
    if config.getvalue("dist") != "loadfile":
        return None  # xdist's own scheduler for any other --dist
    from xdist.scheduler import LoadFileScheduling

    class NotebookRunsScheduling(LoadFileScheduling):
        """--dist loadfile, but the notebooks and the checks that share their runs are one unit."""

        def _split_scope(self, nodeid):
            path = nodeid.split("::", 1)[0]
            if path.endswith(".ipynb") or Path(path).name in SHARING_RUNS:
                return "notebook runs"
            return super()._split_scope(nodeid)

    return NotebookRunsScheduling(config, log)
