"""The Chinese edition: ``notebooks/zh/NN_topic.py``, the twin of each ``notebooks/NN_topic.py``.

A zh notebook has the same cells as its English twin, in the same order: every code cell
byte-identical, every Markdown cell in Chinese. Translators write only the zh ``.py``; this tool
derives the rest and keeps the two editions from drifting apart:

    python tools/zh.py build [NN_topic ...]     # write notebooks/zh/NN_topic.ipynb (make sync)
    python tools/zh.py status                   # stale zh cells, English notebooks with no twin
    python tools/zh.py stamp NN_topic           # "this zh text is up to date with the English"
    python tools/zh.py stamp NN_topic --cell K  # ... for Markdown cell K only

``build`` checks each zh ``.py`` against its English twin (same cells, same types, code cells
byte-identical; a mismatch stops it with the notebook, the cell index and the first differing
line) and writes the zh ``.ipynb`` as the English ``.ipynb`` (outputs, execution counts,
metadata, cell ids) with each Markdown cell's source and metadata taken from the zh ``.py``. The
zh notebooks carry the English outputs without being run; ``tests/test_zh.py`` checks that they
still do, so strict nbval runs on the English notebooks only. The zh ``.ipynb`` is a jupytext
pair of its ``.py`` (``formats: ipynb,py:percent``), so ``jupytext --sync`` works on it too.

Staleness. Each zh Markdown cell records which English text it translates: the key ``en_sha``
in its cell metadata holds the first 12 hex digits of the SHA-256 of the English cell's source
(UTF-8, as jupytext reads it from the English ``.py``). In the ``.py`` it stands on the cell's
marker line, ``# %% [markdown] en_sha="3f2a9c0b1d4e"``. When the English cell changes, its hash
no longer matches and ``status`` lists the zh cell; once the translation is updated,
``stamp`` records the new hash (it rewrites the zh ``.py`` through jupytext and rebuilds the
``.ipynb``).
"""

from __future__ import annotations

import argparse
import copy
import hashlib
import json
import re
import sys
from pathlib import Path
from typing import NamedTuple

sys.path.insert(0, str(Path(__file__).resolve().parent))
from project import NOTEBOOK_GLOB, NOTEBOOKS, ROOT  # noqa: E402

KEY = "en_sha"
HASH_DIGITS = 12
FORMATS = "ipynb,py:percent"
ZH = "zh"  # the zh notebooks' folder, inside the English one


class Finding(NamedTuple):
    """One problem in one cell (``cell`` is None for the notebook as a whole)."""
    cell: int | None
    message: str


def en_sha(source):
    """The short hash that a zh cell records of the English cell it renders."""
    return hashlib.sha256(source.encode("utf-8")).hexdigest()[:HASH_DIGITS]


def zh_dir(en_dir=NOTEBOOKS):
    return Path(en_dir) / ZH


def zh_paths(suffix=".py", en_dir=NOTEBOOKS):
    """Every ``zh/NN_topic<suffix>`` that exists, sorted."""
    return sorted(zh_dir(en_dir).glob(f"{NOTEBOOK_GLOB}{suffix}"))


def en_paths(suffix=".py", en_dir=NOTEBOOKS):
    return sorted(Path(en_dir).glob(f"{NOTEBOOK_GLOB}{suffix}"))


def _source(cell):
    source = cell["source"]
    return "".join(source) if isinstance(source, list) else source


def first_line(source, width=70):
    lines = [ln.strip() for ln in source.splitlines() if ln.strip()]
    line = lines[0] if lines else "<empty cell>"
    return line if len(line) <= width else line[:width - 3] + "..."


def _first_difference(a, b):
    """``(line number, English line, zh line)`` of the first line where ``a`` and ``b`` differ."""
    la, lb = a.split("\n"), b.split("\n")
    for n in range(max(len(la), len(lb))):
        x = la[n] if n < len(la) else "<no line>"
        y = lb[n] if n < len(lb) else "<no line>"
        if x != y:
            return n + 1, x, y
    return None


# ---------------------------------------------------------------------------------------------
# The checks (the tests call these). Notebooks are nbformat nodes or plain JSON dicts.
# ---------------------------------------------------------------------------------------------

def code_mismatches(en_nb, zh_nb):
    """Where ``zh_nb`` is not a twin of ``en_nb``: cell count, cell types, code cell sources."""
    en, zh = en_nb["cells"], zh_nb["cells"]
    found = []
    if len(en) != len(zh):
        found.append(Finding(None, f"{len(zh)} cells where the English has {len(en)}"))
    for i, (e, z) in enumerate(zip(en, zh)):
        if e["cell_type"] != z["cell_type"]:
            found.append(Finding(i, f"a {z['cell_type']} cell where the English has a "
                                    f"{e['cell_type']} cell ({first_line(_source(e))})"))
        elif e["cell_type"] == "code" and _source(e) != _source(z):
            n, x, y = _first_difference(_source(e), _source(z))
            found.append(Finding(i, f"code differs from the English at line {n}:\n"
                                    f"    English: {x!r}\n    zh:      {y!r}"))
    return found


def stale_cells(en_nb, zh_nb):
    """zh Markdown cells whose ``en_sha`` is missing or not the English cell's current hash.

    Each finding's message ends with the English cell's first line. Past a structural mismatch
    (see ``code_mismatches``) cells are compared where their types agree."""
    found = []
    for i, (e, z) in enumerate(zip(en_nb["cells"], zh_nb["cells"])):
        if e["cell_type"] == z["cell_type"] == "markdown":
            recorded = z.get("metadata", {}).get(KEY)
            if recorded != en_sha(_source(e)):
                why = f"no {KEY}" if recorded is None else "the English changed"
                found.append(Finding(i, f"{why}; English: {first_line(_source(e))}"))
    return found


def output_mismatches(en_nb, zh_nb):
    """Code cells whose outputs or execution count differ between two ``.ipynb`` notebooks."""
    found = [] if len(en_nb["cells"]) == len(zh_nb["cells"]) else [
        Finding(None, f"{len(zh_nb['cells'])} cells where the English has {len(en_nb['cells'])}")]
    for i, (e, z) in enumerate(zip(en_nb["cells"], zh_nb["cells"])):
        if e["cell_type"] != "code":
            continue
        if z["cell_type"] != "code":
            found.append(Finding(i, "not a code cell"))
        elif e.get("execution_count") != z.get("execution_count"):
            found.append(Finding(i, f"execution_count {z.get('execution_count')} where the "
                                    f"English has {e.get('execution_count')}"))
        elif _plain(e.get("outputs", [])) != _plain(z.get("outputs", [])):
            found.append(Finding(i, "outputs differ from the English"))
    return found


def pair_mismatches(zh_py_nb, zh_ipynb_nb):
    """Markdown cells where the zh ``.ipynb`` no longer holds its ``.py``'s text or ``en_sha``."""
    found = []
    py, ipynb = zh_py_nb["cells"], zh_ipynb_nb["cells"]
    if len(py) != len(ipynb):
        return [Finding(None, f"the .ipynb has {len(ipynb)} cells, the .py {len(py)}")]
    for i, (p, n) in enumerate(zip(py, ipynb)):
        if p["cell_type"] != n["cell_type"] or _source(p) != _source(n):
            found.append(Finding(i, f"differs from the .py: {first_line(_source(p))}"))
        elif p["cell_type"] == "markdown" and (p.get("metadata", {}).get(KEY)
                                              != n.get("metadata", {}).get(KEY)):
            found.append(Finding(i, f"{KEY} differs from the .py"))
    return found


def _plain(obj):
    """JSON-equal form (nbformat nodes are dicts; outputs' text may be a list of lines)."""
    return json.loads(json.dumps(obj, sort_keys=True))


def has_cjk(text):
    return re.search(r"[\u3400-\u4dbf\u4e00-\u9fff\uf900-\ufaff]", text) is not None


def has_prose(text):
    """Whether a Markdown cell has words to translate: Latin letters outside math and code."""
    text = re.sub(r"\$\$.*?\$\$|\$[^$\n]*\$", " ", text, flags=re.DOTALL)  # $$...$$, $...$
    text = re.sub(r"```.*?```|`[^`\n]*`", " ", text, flags=re.DOTALL)       # code
    text = re.sub(r"\]\([^)]*\)|<[^>]*>|https?://\S+", " ", text)             # link targets, tags
    return re.search(r"[A-Za-z]", text) is not None


# ---------------------------------------------------------------------------------------------
# Reading, building, stamping
# ---------------------------------------------------------------------------------------------

def _jupytext():
    import jupytext  # only here: `make readme` and project.py run without the dev environment

    return jupytext


def resolve(name, en_dir=NOTEBOOKS):
    """``01_generative_models``, ``notebooks/zh/01_generative_models.py`` or its .ipynb -> .py."""
    stem = Path(name).name.removesuffix(".py").removesuffix(".ipynb")
    path = zh_dir(en_dir) / f"{stem}.py"
    if not path.exists():
        raise SystemExit(f"no {_rel(path)}: translate {_rel(Path(en_dir) / (stem + '.py'))} first")
    return path


def _rel(path):
    path = Path(path).resolve()
    return str(path.relative_to(ROOT)) if path.is_relative_to(ROOT) else str(path)


def _check_twins(en_py_nb, zh_py_nb, zh_py):
    problems = code_mismatches(en_py_nb, zh_py_nb)
    if problems:
        raise SystemExit(f"{_rel(zh_py)} is not a twin of the English notebook:\n"
                         + "\n".join(_describe(zh_py.name, f) for f in problems))


def _describe(name, finding):
    where = name if finding.cell is None else f"{name}, cell {finding.cell}"
    return f"  {where}: {finding.message}"


def built_notebook(zh_py, en_dir=NOTEBOOKS):
    """The zh ``.ipynb`` for ``zh_py``: the English ``.ipynb`` with the zh Markdown cells."""
    jupytext = _jupytext()
    en_py = Path(en_dir) / zh_py.name
    en_ipynb = en_py.with_suffix(".ipynb")
    if not en_ipynb.exists():
        raise SystemExit(f"{_rel(zh_py)}: no English twin {_rel(en_ipynb)}")
    zh = jupytext.read(zh_py)
    _check_twins(jupytext.read(en_py), zh, zh_py)
    nb = jupytext.read(en_ipynb)
    if code_mismatches(nb, zh):  # the English .py is checked above: its .ipynb lags behind
        raise SystemExit(f"{_rel(en_ipynb)} differs from {_rel(en_py)}: run `make sync` "
                         "(or `make execute NB=...`) for the English notebook first")
    for cell, zh_cell in zip(nb.cells, zh.cells):
        if cell.cell_type == "markdown":
            cell.source = zh_cell.source
            cell.metadata = copy.deepcopy(zh_cell.metadata)
    nb.metadata.setdefault("jupytext", {})["formats"] = FORMATS
    return nb


def _as_written(text):
    """What ``jupytext.write`` (and so ``jupytext --sync``) puts in a file: a final newline."""
    return text if text.endswith("\n") else text + "\n"


def build(zh_py, en_dir=NOTEBOOKS, quiet=False):
    """Write ``zh_py``'s ``.ipynb``; return True when a file changed.

    The ``.py`` is rewritten too if it is not in jupytext's own layout (same cells, same text;
    only blank lines, the header or a Markdown comment style change), so that a later
    ``jupytext --sync`` of the pair changes nothing. The ``.ipynb`` is written last: it is never
    older than its ``.py``."""
    jupytext = _jupytext()
    zh_py = Path(zh_py)
    nb = built_notebook(zh_py, en_dir)
    changed = False
    py_text = _as_written(jupytext.writes(nb, fmt="py:percent"))
    if py_text != zh_py.read_text(encoding="utf-8"):
        before = jupytext.read(zh_py)
        after = jupytext.reads(py_text, fmt="py:percent")
        if [(c.cell_type, c.source) for c in before.cells] != \
                [(c.cell_type, c.source) for c in after.cells]:  # never expected: jupytext's own
            raise SystemExit(f"{_rel(zh_py)}: rewriting it in jupytext's layout would change "
                             "a cell; left as it is")
        zh_py.write_text(py_text, encoding="utf-8")
        changed = True
        if not quiet:
            print(f"{_rel(zh_py)}: rewritten in jupytext's layout (cells unchanged)")
    ipynb = zh_py.with_suffix(".ipynb")
    text = _as_written(jupytext.writes(nb, fmt="ipynb"))
    if changed or not ipynb.exists() or ipynb.read_text(encoding="utf-8") != text:
        ipynb.write_text(text, encoding="utf-8")
        changed = True
        if not quiet:
            print(f"{_rel(ipynb)}: built from {zh_py.name} and the English outputs")
    return changed


def stamp(zh_py, cell=None, en_dir=NOTEBOOKS, quiet=False):
    """Record the English cells' current hashes in ``zh_py`` (every Markdown cell, or ``cell``),
    then rebuild its ``.ipynb``. Returns the indices stamped."""
    jupytext = _jupytext()
    zh_py = Path(zh_py)
    en = jupytext.read(Path(en_dir) / zh_py.name)
    zh = jupytext.read(zh_py)
    _check_twins(en, zh, zh_py)
    markdown = [i for i, c in enumerate(en.cells) if c.cell_type == "markdown"]
    if cell is not None and cell not in markdown:
        raise SystemExit(f"{_rel(zh_py)}: cell {cell} is no Markdown cell "
                         f"(the Markdown cells are {markdown})")
    stamped = markdown if cell is None else [cell]
    for i in stamped:
        zh.cells[i].metadata[KEY] = en_sha(en.cells[i].source)
    jupytext.write(zh, zh_py, fmt="py:percent")
    if not quiet:
        print(f"{_rel(zh_py)}: stamped {len(stamped)} Markdown cell(s) with the English hashes")
    build(zh_py, en_dir, quiet=quiet)
    return stamped


# ---------------------------------------------------------------------------------------------
# status
# ---------------------------------------------------------------------------------------------

def report(en_dir=NOTEBOOKS):
    """``(lines, summary)``: every stale zh cell, structural mismatch, unbuilt zh .ipynb and
    English notebook without a zh twin; ``summary`` is the one closing line."""
    jupytext = _jupytext()
    lines, n_stale, stale_nbs = [], 0, 0
    twins = zh_paths(".py", en_dir)
    for zh_py in twins:
        en_py = Path(en_dir) / zh_py.name
        name = f"{ZH}/{zh_py.stem}"
        if not en_py.exists():
            lines.append(f"{name}: no English twin {en_py.name}")
            continue
        en, zh = jupytext.read(en_py), jupytext.read(zh_py)
        for f in code_mismatches(en, zh):
            lines.append(_describe(name, f).strip() + "  (not a twin: fix before `make sync`)")
        stale = stale_cells(en, zh)
        n_stale += len(stale)
        stale_nbs += bool(stale)
        lines += [f"{name}, cell {f.cell}: stale ({f.message})" for f in stale]
        ipynb = zh_py.with_suffix(".ipynb")
        if not ipynb.exists():
            lines.append(f"{name}: no .ipynb yet: run `make sync`")
        elif pair_mismatches(zh, jupytext.read(ipynb)):
            lines.append(f"{name}: the .ipynb does not hold its .py's text: run `make sync`")
    have = {p.name for p in twins}
    missing = [p.stem for p in en_paths(".py", en_dir) if p.name not in have]
    lines += [f"{m}: no zh twin ({ZH}/{m}.py)" for m in missing]
    n_en = len(en_paths(".py", en_dir))
    summary = (f"zh status: {n_en - len(missing)} of {n_en} English notebooks have a zh twin; "
               f"{n_stale} stale Markdown cell(s) in {stale_nbs} notebook(s)"
               + (f"; no twin yet: {', '.join(missing)}" if missing else ""))
    return lines, summary


def main(argv=None):
    parser = argparse.ArgumentParser(
        prog="tools/zh.py", description=__doc__.split("\n\n``build")[0],
        formatter_class=argparse.RawDescriptionHelpFormatter)
    sub = parser.add_subparsers(dest="command", required=True)
    b = sub.add_parser("build", help="write notebooks/zh/*.ipynb from the zh .py and the "
                                     "English outputs")
    b.add_argument("notebooks", nargs="*", help="NN_topic or a path (default: every zh twin)")
    sub.add_parser("status", help="stale zh Markdown cells and English notebooks with no twin")
    s = sub.add_parser("stamp", help="record that a zh notebook is up to date with the English")
    s.add_argument("notebook", help="NN_topic or a path")
    s.add_argument("--cell", type=int, help="stamp only this (Markdown) cell index")
    args = parser.parse_args(argv)

    if args.command == "build":
        paths = [resolve(n) for n in args.notebooks] or zh_paths(".py")
        changed = sum(build(p) for p in paths)
        print(f"zh build: {len(paths)} notebook(s), {changed} updated")
    elif args.command == "stamp":
        stamp(resolve(args.notebook), cell=args.cell)
    else:
        lines, summary = report()
        print("\n".join(lines + [summary]))


if __name__ == "__main__":
    main()
