"""Every notebook installed and run the way Colab runs it (run by ``make test-compat``).

Colab has no checkout: a notebook's own first cell installs the project with a regular
``pip install git+<repository>.git`` and everything after it imports the installed package. This
file does the same, offline but for the package index, for every ``notebooks/NN_*.ipynb``:

- a clone of the commit under test (``git clone`` of this checkout's HEAD), whose
  ``git+file://`` URL replaces the repository URL in the first cell: one substitution, the cell
  is otherwise the notebook's own;
- a fresh virtual environment whose own site-packages is empty. Colab's pre-installed libraries
  are this environment's (``.venv-compat``: ipywidgets 7.7, torch, numpy, ...), seen through a
  ``.pth`` line, so torch is reused and nothing is downloaded but the build backend. A plain
  path line does not run ``.pth`` files there, so the editable ``helpers`` of ``.venv-compat``
  stays invisible and the first cell has to install it;
- a working directory outside the repository holding only that notebook's ``.ipynb``;
- the whole notebook run by ``tools/notebook_runner.py`` (every cell under its deadline) with
  a kernel of the fresh environment's Python, and no error.

A second test puts a foreign ``helpers.py`` beside a notebook, as a learner's own file of that
common name would be: the first cell must still install this project and run it.

The file name does not start with ``test_``, so ``make test`` does not collect it.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import sysconfig
import time
import warnings
from pathlib import Path

import pytest

import project  # tools/project.py, on sys.path through conftest.py

ROOT = Path(__file__).resolve().parent.parent
NOTEBOOKS = project.notebook_paths(".ipynb")
INSTALL_TIMEOUT_S = 300   # a fresh venv and the first cell's pip install take about 10 s
# The runner's own per-cell deadline bounds each cell; this bounds the whole process around it.
RUN_TIMEOUT_S = 900

RUN = r"""
import sys
sys.path.insert(0, sys.argv[1])  # tools/, for notebook_runner (it holds no helpers)
import nbformat
from notebook_runner import bounded_client
nb = nbformat.read(sys.argv[2], as_version=4)
# after the notebook's last cell: which helpers did the kernel use?
nb.cells.append(nbformat.v4.new_code_cell('import sys; print(sys.modules["helpers"].__file__)'))
bounded_client(nb, sys.argv[3], sys.argv[4]).execute()
def text(cell):
    return "".join(o.get("text", "") for o in cell.outputs if o.output_type == "stream")
first = next(c for c in nb.cells if c.cell_type == "code")
print("FIRST-CELL-OUTPUT " + repr(text(first)))
print("HELPERS-FILE " + text(nb.cells[-1]).strip())
"""


def _clone(tmp_path_factory, *, tagged):
    """A clone of the commit under test, as the ``git+file://`` URL that replaces the real one.

    ``tagged``: the clone carries the release tag of this version (``v`` + helpers' version) on
    its HEAD, as the published repository does once the release is made.
    """
    status = subprocess.run(["git", "-C", str(ROOT), "status", "--porcelain", "--", "helpers",
                             "pyproject.toml"], capture_output=True, text=True, timeout=60)
    if status.stdout.strip():
        warnings.warn("helpers/ or pyproject.toml has uncommitted changes: this test installs "
                      "the committed HEAD, as Colab installs what was pushed")
    dest = tmp_path_factory.mktemp("clone") / "repo"
    subprocess.run(["git", "clone", "--quiet", "--no-hardlinks", "--no-tags", str(ROOT),
                    str(dest)], check=True, timeout=120)
    if tagged:
        subprocess.run(["git", "-C", str(dest), "tag", project.release_tag()], check=True,
                       timeout=60)
    return f"git+{dest.as_uri()}"


@pytest.fixture(scope="session")
def clone(tmp_path_factory):
    return _clone(tmp_path_factory, tagged=True)


def _fresh_env(where):
    """A new venv whose own site-packages is empty; Colab's libraries come from this one's."""
    subprocess.run([sys.executable, "-m", "venv", "--without-pip", str(where)], check=True,
                   timeout=INSTALL_TIMEOUT_S)
    python = where / "bin" / "python"
    purelib = subprocess.run([str(python), "-c", "import sysconfig; "
                              "print(sysconfig.get_paths()['purelib'])"],
                             capture_output=True, text=True, check=True, timeout=60).stdout.strip()
    base = {sysconfig.get_paths()["purelib"], sysconfig.get_paths()["platlib"]}
    (Path(purelib) / "colab_preinstalled.pth").write_text("\n".join(sorted(base)) + "\n")
    own = subprocess.run([str(python), "-c", "import helpers"], cwd=where, capture_output=True,
                         timeout=60)
    assert own.returncode != 0, "the fresh environment can import helpers before any install"
    return python


def _run_the_colab_way(ipynb, clone, tmp_path, extra_files=None):
    workdir = tmp_path / "content"  # Colab's working directory is /content
    workdir.mkdir()
    text = ipynb.read_text()
    real = f"git+{project.repo_url()}.git"
    assert text.count(real) == 1, f"{ipynb.name}: expected the repository URL once, in the set-up cell"
    (workdir / ipynb.name).write_text(text.replace(real, clone))
    for name, content in (extra_files or {}).items():
        (workdir / name).write_text(content)
    python = _fresh_env(tmp_path / "venv")
    env = {k: v for k, v in os.environ.items() if k not in ("PYTHONPATH", "VIRTUAL_ENV")}
    start = time.perf_counter()
    res = subprocess.run([str(python), "-c", RUN, str(ROOT / "tools"), ipynb.name, ipynb.name,
                          str(workdir)], cwd=workdir, env=env, capture_output=True, text=True,
                         timeout=RUN_TIMEOUT_S)
    seconds = time.perf_counter() - start
    assert res.returncode == 0, f"{ipynb.name} failed when run the Colab way:\n{res.stderr[-4000:]}"
    lines = dict(ln.split(" ", 1) for ln in res.stdout.splitlines()
                 if ln.startswith(("FIRST-CELL-OUTPUT ", "HELPERS-FILE ")))
    installed = Path(lines["HELPERS-FILE"]).resolve()
    site = tmp_path / "venv"
    assert site in installed.parents, f"helpers came from {installed}, not the fresh environment"
    print(f"{ipynb.name}: installed and run the Colab way in {seconds:.1f} s")
    return lines


@pytest.mark.parametrize("ipynb", NOTEBOOKS, ids=lambda p: p.stem)
def test_notebook_installs_and_runs_the_colab_way(ipynb, clone, tmp_path):
    lines = _run_the_colab_way(ipynb, clone, tmp_path)
    assert lines["FIRST-CELL-OUTPUT"] == "''", f"the set-up cell printed {lines['FIRST-CELL-OUTPUT']}"


def test_an_unpublished_release_installs_main_and_says_so(tmp_path_factory, tmp_path):
    """A notebook newer than the last release: its tag is missing, so the cell installs main."""
    untagged = _clone(tmp_path_factory, tagged=False)
    lines = _run_the_colab_way(NOTEBOOKS[0], untagged, tmp_path)
    shown = lines["FIRST-CELL-OUTPUT"]
    assert f"release {project.release_tag()} is not published yet" in shown, shown


def test_a_foreign_helpers_beside_the_notebook_does_not_stop_the_install(clone, tmp_path):
    foreign = '"""A learner\'s own helpers module."""\n\ndef greet():\n    return "hello"\n'
    lines = _run_the_colab_way(NOTEBOOKS[0], clone, tmp_path, {"helpers.py": foreign})
    shown = lines["FIRST-CELL-OUTPUT"]
    assert "helpers.py hides this project's helpers: using the installed one" in shown, shown
