"""The Chinese edition, ``notebooks/zh/`` (built and checked by ``tools/zh.py``).

A zh notebook is its English twin with the Markdown in Chinese: the same cells in the same order,
every code cell byte-identical in the ``.py`` and in the ``.ipynb``, and the ``.ipynb`` holding
exactly the English outputs and execution counts. That is what lets strict nbval run on the
English notebooks only: the zh ones are never executed, here or in CI. Every zh Markdown cell
must be in Chinese (unless its English cell has no words, e.g. pure math) and up to date with
the English cell it translates (its ``en_sha``).

The tests at the end show that the checks bite: on copies in ``tmp_path``, an English Markdown
edit makes exactly that zh cell stale, and a code edit on either side stops ``build`` with the
notebook, the cell and the differing line. And every relative link of README.md and
README.zh.md must point at a file of the repository.
"""

from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
import sys
import time
from pathlib import Path
from urllib.parse import unquote

import jupytext
import project  # tools/ (tests/conftest.py puts it on the path)
import pytest
import zh

ROOT = Path(__file__).resolve().parent.parent
EN = project.NOTEBOOKS
ZH_PY = zh.zh_paths(".py")
ids = lambda p: p.stem  # noqa: E731


def _rel(path):
    return path.relative_to(ROOT).as_posix()


def _findings(path, found):
    return f"{_rel(path)}:\n" + "\n".join(
        f"  {'notebook' if f.cell is None else f'cell {f.cell}'}: {f.message}" for f in found)


def _json(path):
    return json.loads(path.read_text(encoding="utf-8"))


# ---------------------------------------------------------------------------------------------
# The zh notebooks in the repository
# ---------------------------------------------------------------------------------------------

def test_every_english_notebook_has_a_zh_twin():
    missing = [f"notebooks/zh/{py.stem}{suffix}" for py in project.notebook_paths(".py")
               for suffix in (".py", ".ipynb") if not (zh.zh_dir() / f"{py.stem}{suffix}").exists()]
    assert not missing, (
        f"{len(missing)} zh file(s) missing: {', '.join(missing)}. Translate the English .py's "
        "Markdown into notebooks/zh/NN_topic.py, then `python tools/zh.py stamp NN_topic` "
        "(which also builds the .ipynb)")


def test_every_zh_notebook_has_an_english_twin():
    orphans = [_rel(p) for p in ZH_PY if not (EN / p.name).exists()]
    assert not orphans, f"zh notebooks with no English twin: {orphans}"


@pytest.mark.parametrize("zh_py", ZH_PY, ids=ids)
def test_zh_py_has_the_english_cells_and_code(zh_py):
    found = zh.code_mismatches(jupytext.read(EN / zh_py.name), jupytext.read(zh_py))
    assert not found, _findings(zh_py, found)


@pytest.mark.parametrize("zh_py", ZH_PY, ids=ids)
def test_zh_ipynb_has_the_english_cells_and_code(zh_py):
    ipynb = zh_py.with_suffix(".ipynb")
    assert ipynb.exists(), f"{_rel(ipynb)} is missing: run `make sync`"
    found = zh.code_mismatches(_json(EN / ipynb.name), _json(ipynb))
    assert not found, _findings(ipynb, found) + "\n(run `make sync`)"


@pytest.mark.parametrize("zh_py", ZH_PY, ids=ids)
def test_zh_ipynb_carries_the_english_outputs(zh_py):
    ipynb = zh_py.with_suffix(".ipynb")
    assert ipynb.exists(), f"{_rel(ipynb)} is missing: run `make sync`"
    en, nb = _json(EN / ipynb.name), _json(ipynb)
    found = zh.output_mismatches(en, nb)
    assert not found, _findings(ipynb, found) + "\n(run `make sync` after `make execute`)"
    assert nb["metadata"] == en["metadata"], f"{_rel(ipynb)}: notebook metadata differ"
    assert nb["metadata"]["jupytext"]["formats"] == zh.FORMATS


@pytest.mark.parametrize("zh_py", ZH_PY, ids=ids)
def test_zh_ipynb_holds_the_text_of_its_py(zh_py):
    ipynb = zh_py.with_suffix(".ipynb")
    assert ipynb.exists(), f"{_rel(ipynb)} is missing: run `make sync`"
    found = zh.pair_mismatches(jupytext.read(zh_py), jupytext.read(ipynb))
    assert not found, _findings(ipynb, found) + f"\n({_rel(ipynb)} is older: run `make sync`)"


@pytest.mark.parametrize("zh_py", ZH_PY, ids=ids)
def test_no_zh_markdown_cell_is_stale(zh_py):
    found = zh.stale_cells(jupytext.read(EN / zh_py.name), jupytext.read(zh_py))
    assert not found, _findings(zh_py, found) + (
        f"\nUpdate these cells to the English text, then `python tools/zh.py stamp "
        f"{zh_py.stem} --cell K` for each (or without --cell for all)")


@pytest.mark.parametrize("zh_py", ZH_PY, ids=ids)
def test_every_zh_markdown_cell_is_in_chinese(zh_py):
    en, nb = jupytext.read(EN / zh_py.name), jupytext.read(zh_py)
    untranslated = [zh.Finding(i, zh.first_line(z.source)) for i, (e, z) in
                    enumerate(zip(en.cells, nb.cells)) if e.cell_type == z.cell_type == "markdown"
                    and zh.has_prose(e.source) and not zh.has_cjk(z.source)]
    assert not untranslated, "Markdown cells with no Chinese in " + _findings(zh_py, untranslated)


def test_the_prose_and_cjk_checks():
    assert zh.has_cjk("## 1. 生成模型做两件事") and not zh.has_cjk("## 1. A generative model")
    assert not zh.has_prose("$$x = F^{-1}(u), \\quad u \\sim U(0, 1)$$")
    assert not zh.has_prose("`log_mean_exp(x)` $= 1.5$ [](notebooks/02_evidence.ipynb)")
    assert zh.has_prose("The point $x = 1$ is the most likely")


# ---------------------------------------------------------------------------------------------
# The checks bite: copies in tmp_path, edited
# ---------------------------------------------------------------------------------------------

NAME = "01_generative_models"


@pytest.fixture
def twin(tmp_path):
    """An English notebook and its zh twin, copied to tmp_path/notebooks, stamped and built.

    The zh twin is the repository's when it is a twin; otherwise one is made from the English
    text (each Markdown cell prefixed with Chinese), so these tests do not wait for translators."""
    en_dir = tmp_path / "notebooks"
    (en_dir / zh.ZH).mkdir(parents=True)
    for suffix in (".py", ".ipynb"):
        shutil.copy2(EN / f"{NAME}{suffix}", en_dir / f"{NAME}{suffix}")
    zh_py = en_dir / zh.ZH / f"{NAME}.py"
    real = zh.zh_dir() / f"{NAME}.py"
    en_nb = jupytext.read(en_dir / f"{NAME}.py")
    if real.exists() and not zh.code_mismatches(en_nb, jupytext.read(real)):
        shutil.copy2(real, zh_py)
    else:
        for cell in en_nb.cells:
            if cell.cell_type == "markdown":
                cell.source = "（中文译文）" + cell.source
        jupytext.write(en_nb, zh_py, fmt="py:percent")
    zh.stamp(zh_py, en_dir=en_dir, quiet=True)
    return en_dir, zh_py


def _markdown(nb):
    return [i for i, c in enumerate(nb.cells) if c.cell_type == "markdown"]


def test_stamped_twin_is_current_and_its_hashes_round_trip(twin):
    en_dir, zh_py = twin
    lines, summary = zh.report(en_dir)
    assert lines == [], lines
    assert "1 of 1 English notebooks have a zh twin; 0 stale" in summary
    en = jupytext.read(en_dir / zh_py.name)
    text = zh_py.read_text(encoding="utf-8")
    for i in _markdown(en):  # on the marker line of the .py, read back by jupytext
        sha = zh.en_sha(en.cells[i].source)
        assert re.fullmatch(r"[0-9a-f]{12}", sha)
        assert f'# %% [markdown] {zh.KEY}="{sha}"' in text
        assert jupytext.read(zh_py).cells[i].metadata[zh.KEY] == sha
        assert _json(zh_py.with_suffix(".ipynb"))["cells"][i]["metadata"][zh.KEY] == sha


def test_an_english_markdown_edit_makes_that_zh_cell_stale(twin):
    en_dir, zh_py = twin
    en_py = en_dir / zh_py.name
    en = jupytext.read(en_py)
    k = _markdown(en)[2]
    en.cells[k].source += "\n\nA sentence added to the English."
    jupytext.write(en, en_py, fmt="py:percent")

    stale = zh.stale_cells(jupytext.read(en_py), jupytext.read(zh_py))
    assert [f.cell for f in stale] == [k]
    assert zh.first_line(en.cells[k].source) in stale[0].message
    lines, summary = zh.report(en_dir)
    assert [ln for ln in lines if ln.startswith(f"{zh.ZH}/{NAME}, cell {k}: stale")], lines
    assert len(lines) == 1 and "1 stale Markdown cell(s) in 1 notebook(s)" in summary

    zh.stamp(zh_py, cell=k, en_dir=en_dir, quiet=True)  # the translator caught up
    assert zh.stale_cells(jupytext.read(en_py), jupytext.read(zh_py)) == []


@pytest.mark.parametrize("side", ["zh", "English"])
def test_a_code_edit_on_either_side_is_caught(twin, side):
    en_dir, zh_py = twin
    path = zh_py if side == "zh" else en_dir / zh_py.name
    nb = jupytext.read(path)
    k = [i for i, c in enumerate(nb.cells) if c.cell_type == "code"][2]
    lines = nb.cells[k].source.split("\n")
    lines[1] += "  # edited"
    nb.cells[k].source = "\n".join(lines)
    jupytext.write(nb, path, fmt="py:percent")

    found = zh.code_mismatches(jupytext.read(en_dir / zh_py.name), jupytext.read(zh_py))
    assert [f.cell for f in found] == [k] and "at line 2" in found[0].message
    with pytest.raises(SystemExit) as stop:
        zh.build(zh_py, en_dir, quiet=True)
    message = str(stop.value)
    assert f"{NAME}.py, cell {k}" in message and "# edited" in message, message


def test_a_missing_or_extra_cell_is_caught(twin):
    en_dir, zh_py = twin
    nb = jupytext.read(zh_py)
    del nb.cells[3]
    jupytext.write(nb, zh_py, fmt="py:percent")
    found = zh.code_mismatches(jupytext.read(en_dir / zh_py.name), jupytext.read(zh_py))
    assert found and found[0].cell is None and "cells where the English has" in found[0].message
    with pytest.raises(SystemExit):
        zh.build(zh_py, en_dir, quiet=True)


def test_jupytext_sync_leaves_a_built_pair_alone(twin):
    """After build, `jupytext --sync` of the zh .py changes neither file (not a byte), whichever
    of the two is newer."""
    en_dir, zh_py = twin
    ipynb = zh_py.with_suffix(".ipynb")
    py_text, nb_text = zh_py.read_text(encoding="utf-8"), ipynb.read_text(encoding="utf-8")
    nb = json.loads(nb_text)
    for newer in (ipynb, zh_py):
        later = time.time() + 2
        os.utime(newer, (later, later))
        res = subprocess.run([sys.executable, "-m", "jupytext", "--sync", str(zh_py)],
                             capture_output=True, text=True, timeout=120)
        assert res.returncode == 0, res.stderr[-2000:]
        assert zh_py.read_text(encoding="utf-8") == py_text, f"sync ({newer.suffix} newer) changed the .py"
        after = _json(ipynb)
        assert zh.output_mismatches(nb, after) == [], f"sync ({newer.suffix} newer) lost outputs"
        assert ipynb.read_text(encoding="utf-8") == nb_text, f"sync ({newer.suffix} newer) changed the .ipynb"
        assert [c["source"] for c in after["cells"]] == [c["source"] for c in nb["cells"]]
        assert zh.output_mismatches(_json(en_dir / ipynb.name), after) == []


def test_build_writes_nothing_when_the_pair_is_current(twin):
    en_dir, zh_py = twin
    assert zh.build(zh_py, en_dir, quiet=True) is False


# ---------------------------------------------------------------------------------------------
# README.md and README.zh.md
# ---------------------------------------------------------------------------------------------

LINK = re.compile(r"\]\(\s*<?([^)\s>]+)>?(?:\s+\"[^\"]*\")?\s*\)"  # [text](target "title")
                  r"|<img\b[^>]*?\bsrc=[\"']([^\"']+)[\"']", re.IGNORECASE)
READMES = ["README.md", "README.zh.md"]


def relative_links(text):
    """Every relative link target: Markdown links and images, and <img src>; no URLs, mailto or
    pure #anchors."""
    targets = [a or b for a, b in LINK.findall(text)]
    return [t for t in targets if not re.match(r"(https?:|mailto:|#)", t, re.IGNORECASE)]


@pytest.mark.parametrize("readme", READMES)
def test_every_relative_link_of_the_readme_points_at_a_file(readme):
    links = relative_links((ROOT / readme).read_text(encoding="utf-8"))
    assert links, f"{readme}: no relative link found (is the pattern still right?)"
    broken = [t for t in links if not (ROOT / unquote(t.split("#", 1)[0])).exists()]
    assert not broken, f"{readme}: relative links to nothing: {broken}"


def test_the_link_checker_sees_links_and_skips_urls():
    text = ('[a](notebooks/zh/01_x.ipynb) ![b](docs/a%20b.png "t") <img alt="c" src="docs/c.png">'
            " [d](https://x.org/y) [e](mailto:a@b.c) [f](#layout) [g](README.md#tests)")
    assert relative_links(text) == ["notebooks/zh/01_x.ipynb", "docs/a%20b.png", "docs/c.png",
                                    "README.md#tests"]


def test_the_readmes_link_to_each_other():
    head = (ROOT / "README.md").read_text(encoding="utf-8").split("\n## ", 1)[0]
    assert "中文版: [README.zh.md](README.zh.md)" in head
    head_zh = (ROOT / "README.zh.md").read_text(encoding="utf-8").split("\n## ", 1)[0]
    assert "English: [README.md](README.md)" in head_zh


def _rendered_text(markdown):
    """A markdown cell as CommonMark renders it, as plain text (math and code left out)."""
    from markdown_it import MarkdownIt

    src = re.sub(r"\$\$.*?\$\$", "MATH", markdown, flags=re.S)
    src = re.sub(r"\$[^$\n]+\$", "MATH", src)
    html = MarkdownIt("commonmark").render(src)
    html = re.sub(r"<code>.*?</code>", "", html, flags=re.S)
    return re.sub(r"<[^>]+>", "", html)


@pytest.mark.parametrize("path", sorted(ROOT.glob("notebooks/*.ipynb")) +
                         sorted(ROOT.glob("notebooks/zh/*.ipynb")), ids=_rel)
def test_every_bold_marker_renders(path):
    """A closing ** right after Chinese punctuation and before a letter (。**它) is not a closing
    marker in CommonMark, nor in JupyterLab: the stars show, or the bold runs on. So is a
    </details> line followed at once by text: the text joins the HTML block, stars and all."""
    left = [(i, text[max(0, m.start() - 25):m.end() + 25])
            for i, cell in enumerate(_json(path)["cells"]) if cell["cell_type"] == "markdown"
            for text in [_rendered_text("".join(cell["source"]))]
            for m in re.finditer(r"\*\*", text)]
    assert left == [], f"{_rel(path)}: '**' left in the rendered text (cell, context): {left}"
