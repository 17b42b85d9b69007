"""Running a notebook twice in a row gives identical checked outputs.

nbval compares one fresh run with the committed outputs; this runs the same notebook twice in two
fresh kernels, one after the other, and compares the two runs with each other, so state that
leaks between runs (files written, caches, unseeded randomness that happened to match the
committed run) is caught too. "Checked outputs" are what nbval checks: every output of every cell
except those marked ``# NBVAL_IGNORE_OUTPUT`` (live widgets), after the masks of
``tests/nbval_sanitize.cfg``. Figures are compared too, as PNG bytes.

By default every notebook runs twice (about two minutes in all on a quiet machine). ``DETERMINISM_NOTEBOOKS`` takes a
comma-separated list of two-digit prefixes (``01,03``) to pick some, or ``all``.
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
from notebook_runner import bounded_client
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


def _checked_outputs(nb):
    """[(cell index, [output summaries])] for cells nbval checks, sanitized."""
    result = []
    for i, cell in enumerate(nb.cells):
        if cell.cell_type != "code" or "NBVAL_IGNORE_OUTPUT" in cell.source:
            continue
        outs = []
        # nbval's own stream handling: chunks of one stream joined (the kernel splits prints by
        # timing) and progress-bar redraws collapsed at each carriage return
        for o in coalesce_streams(copy.deepcopy(cell.outputs)):
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


def _run(path):
    nb = nbformat.read(path, as_version=4)
    bounded_client(nb, path.name, NOTEBOOKS).execute()
    return _checked_outputs(nb)


@pytest.mark.parametrize("ipynb", _selected(), ids=lambda p: p.name)
def test_two_runs_in_a_row_give_identical_checked_outputs(ipynb):
    first, second = _run(ipynb), _run(ipynb)
    assert len(first) == len(second)
    for (i, a), (_, b) in zip(first, second):
        assert a == b, f"{ipynb.name}: cell {i} differs between two runs in a row"
