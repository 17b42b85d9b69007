"""Running a notebook twice gives identical checked outputs.

nbval compares one fresh run with the committed outputs; this compares two runs, each in a fresh
kernel, with each other, so state that leaks between runs (caches, unseeded randomness that
happened to match the committed run) is caught too. "Checked outputs" are what nbval checks: every
output of every cell except those marked ``# NBVAL_IGNORE_OUTPUT`` (live widgets), after the masks
of ``tests/nbval_sanitize.cfg``. Figures are compared too, as PNG bytes (nbval does not compare
them).

The two runs are, when this session made them, strict nbval's run (in the notebook's folder) and
the browser test's (JupyterLab's Run All, on a temporary copy): ``tests/notebook_runs.py`` keeps
them and ``tests/conftest.py`` runs this file after the notebooks. For each run missing (``make
test-py`` has no nbval run; without Chromium there is no browser run) the test runs the notebook
itself, in a fresh kernel in the notebook's folder. Leaks through files are checked directly:
nbval's run must not leave a new file in the notebook's folder (when this test makes both runs,
the second runs where the first wrote).

``DETERMINISM_NOTEBOOKS`` takes a comma-separated list of two-digit prefixes (``01,03``) to pick
some, or ``all`` (the default).
"""

import configparser
import copy
import hashlib
import os
import re
from pathlib import Path

import nbformat
import pytest
from nbval.plugin import coalesce_streams
from notebook_runner import bounded_client, describe_cell
from notebook_runs import files_written_by_nbval, recorded_runs
from project import notebook_paths

ROOT = Path(__file__).resolve().parent.parent
NOTEBOOKS = ROOT / "notebooks"
DEFAULT = ("01", "02", "03", "04", "05", "06", "07")


def _selected():
    choice = os.environ.get("DETERMINISM_NOTEBOOKS", ",".join(DEFAULT))
    paths = notebook_paths(".ipynb")
    if choice.strip() == "all":
        return paths
    wanted = {c.strip() for c in choice.split(",") if c.strip()}
    return [p for p in paths if p.name[:2] in wanted]


def _masks():
    cfg = configparser.ConfigParser()
    cfg.read(ROOT / "tests" / "nbval_sanitize.cfg")
    return [(re.compile(cfg[s]["regex"]), cfg[s]["replace"]) for s in cfg.sections()]


MASKS = _masks()


def _sanitize(text):
    for regex, replace in MASKS:
        text = regex.sub(replace, text)
    return text


def _checked_outputs(cells):
    """[(code cell index, [output summaries])] for the code cells nbval checks, sanitized;
    ``cells`` is [(source, outputs)] for each code cell in order."""
    result = []
    for i, (source, outputs) in enumerate(cells):
        if "NBVAL_IGNORE_OUTPUT" in source:
            continue
        outs = []
        # nbval's own stream handling: chunks of one stream joined (the kernel splits prints by
        # timing) and progress-bar redraws collapsed at each carriage return
        for o in coalesce_streams(copy.deepcopy(outputs)):
            if o.output_type == "stream":
                outs.append((o.name, o.text))
            elif o.output_type == "error":
                outs.append(("error", o.ename, o.evalue))
            else:
                for mime, data in sorted(o.get("data", {}).items()):
                    if mime == "application/vnd.jupyter.widget-view+json":
                        continue
                    if mime.startswith("image/"):
                        outs.append((mime, hashlib.sha256(str(data).encode()).hexdigest()))
                    else:
                        text = data if isinstance(data, str) else "".join(data)
                        outs.append((mime, _sanitize(text)))
        outs = [(o[0], _sanitize(o[1])) if o[0] in ("stdout", "stderr") else o for o in outs]
        result.append((i, outs))
    return result


def _code_cells(nb):
    return [(c.source, c.outputs) for c in nb.cells if c.cell_type == "code"]


def _run(path):
    nb = nbformat.read(path, as_version=4)
    bounded_client(nb, path.name, NOTEBOOKS).execute()
    return _code_cells(nb)


@pytest.mark.parametrize("ipynb", _selected(), ids=lambda p: p.name)
def test_two_runs_give_identical_checked_outputs(ipynb):
    runs = list(recorded_runs(ipynb).items())[:2]
    while len(runs) < 2:
        runs.append((f"this test's own run {len(runs) + 1}", _run(ipynb)))
    (first_kind, first), (second_kind, second) = runs
    which = f"{first_kind} and {second_kind}"
    sources = [source for source, _ in second]
    assert [source for source, _ in first] == sources, (
        f"{ipynb.name}: {which} ran different code (was the notebook changed during the session?)")
    a_outs, b_outs = _checked_outputs(first), _checked_outputs(second)
    assert len(a_outs) == len(b_outs)
    for (i, a), (_, b) in zip(a_outs, b_outs):
        cell = describe_cell(ipynb.name, i, sources[i]).replace(", cell ", ", code cell ", 1)
        assert a == b, f"{cell} differs between {which}"
    written = files_written_by_nbval(ipynb)
    assert not written, f"{ipynb.name}: strict nbval's run left new files in its folder: {written}"
    print(f"{ipynb.name}: {len(a_outs)} checked cells identical in {which}")
