"""The course as a static website, in English and Chinese: ``make site``.

    python tools/website.py build     # frames (cached), staging, Sphinx, both languages -> build/site
    python tools/website.py frames    # only the kernel-free sliders' frames (build/site-frames)
    python tools/website.py report    # page count, total size, largest page of build/site
    python tools/website.py screenshots  # docs/site/*.png from the built site (Chromium)

What each step does:

1. **Frames.** For every English notebook, if its cache key (a hash of the notebook's ``.py``, of
   every ``helpers`` source file and of this file) has changed, the notebook is run in a kernel by
   ``tools/notebook_runner.py`` and, in the same kernel, one more cell renders each slider panel it
   displayed (``built_panels``: IPython's output history) over a grid of its sliders' values with
   ``panel.figure(**values)``, the figure a live update shows, encoded as the notebook front end
   receives it (IPython's display formatter) and stored as lossless WebP (same pixels, smaller).
   The grid is chosen per panel (``choose_grid``) to keep each page under ``PAGE_LIMIT``.
   Frames live in ``build/site-frames/<notebook>/`` (git-ignored), never in the repository.
2. **Staging.** Each language's committed ``.ipynb`` (``notebooks/`` and ``notebooks/zh/``) is
   copied to ``build/site-src/<lang>/``; a slider cell's widget output is replaced by the HTML of
   its kernel-free slider. A home page with the course map is written from the READMEs' tables.
3. **Sphinx** (myst-nb, sphinx-book-theme; ``site/conf.py``) renders the stored outputs, executing
   nothing. MathJax 3 comes from npm (``site/package.json``) and is served from each language's
   ``_static/mathjax``: the site loads nothing from elsewhere.

The Colab and Binder links come from ``tools/project.py``, like the README badges.
"""

from __future__ import annotations

import argparse
import base64
import contextlib
import hashlib
import html
import io
import itertools
import json
import math
import os
import re
import shutil
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / "tools"))
import project  # noqa: E402

BUILD = ROOT / "build"
OUT = BUILD / "site"
STAGE = BUILD / "site-src"
FRAMES = BUILD / "site-frames"
SITE_SRC = ROOT / "site"
MATHJAX = SITE_SRC / "node_modules" / "mathjax" / "es5"
LANGS = ("en", "zh")
NOTEBOOK_DIRS = {"en": project.NOTEBOOKS, "zh": project.NOTEBOOKS / "zh"}
README = {"en": ROOT / "README.md", "zh": ROOT / "README.zh.md"}
PAGE_LIMIT = 5_000_000   # bytes a page may load, frames included (issue 30)
SITE_LIMIT = 60_000_000  # the whole site
# What every page loads besides its own HTML, images and frames (theme, MathJax and its fonts),
# measured by tests/test_site.py in Chromium: the frames' share of PAGE_LIMIT is what remains.
SHARED_ASSETS_BYTES = 3_700_000
PAGE_MARGIN_BYTES = 250_000
MAX_FRAMES = 150         # per panel, however small its frames
MIN_MAIN_VALUES = 5      # the main (first) slider gets at least this many values
FRAMES_CELL_TIMEOUT_S = 900
SPHINX_TIMEOUT_S = 600
FRAME_FORMAT = "webp"
FRAME_TOLERANCE = 2      # levels of 255 a frame's pixel may differ from the live figure's (check_frames)

TEXT = {
    "en": {"colab": "Open in Colab", "binder": "Open in Binder", "download": "Download .ipynb",
           "twin_label": "中文", "home": "The course",
           "note": "Kernel-free slider: these frames were drawn by <code>{fn}</code> when the site "
                   "was built, at {values}. The live panel, with every value, runs in JupyterLab "
                   "(<code>make lab</code>), <a href=\"{binder}\">Binder</a> or "
                   "<a href=\"{colab}\">Colab</a>.",
           "alt": "Figure drawn by {fn}", "map_head": "| article section | notebook | what you will see |",
           "intro": "Interactive, tested notebooks that walk through the article *Principles of "
                    "diffusion models*, one notebook per section. This site shows them with their "
                    "committed outputs; its sliders move between frames rendered when the site "
                    "was built. To run a notebook, use the Colab or Binder link at the top of its "
                    "page, or download it."},
    "zh": {"colab": "在 Colab 中打开", "binder": "在 Binder 中打开", "download": "下载 .ipynb",
           "twin_label": "English", "home": "课程",
           "note": "无内核滑块：这些画面由 <code>{fn}</code> 在构建网站时绘制，取值为 {values}。"
                   "能取任意值的实时面板需要在 JupyterLab（<code>make lab</code>）、"
                   "<a href=\"{binder}\">Binder</a> 或 <a href=\"{colab}\">Colab</a> 中运行。",
           "alt": "由 {fn} 绘制的图", "map_head": "| 文章章节 | 笔记本 | 你将看到 |",
           "intro": "交互式、经过测试的笔记本，逐节讲解文章《扩散模型原理》，每节一个笔记本。本网站展示它们"
                    "已提交的输出；网站上的滑块在构建时预先渲染的画面之间切换。要运行笔记本，请使用页面顶部的 "
                    "Colab 或 Binder 链接，或下载它。"},
}


class WebsiteError(RuntimeError):
    """A website build step failed; the message says which and why."""


# --------------------------------------------------------------------------------------------
# Frames: the grid of values (pure functions, unit-tested) and the kernel side
# --------------------------------------------------------------------------------------------

def slider_values(kind, lo, hi, step):
    """Every value a slider can take, in order. ``kind`` is "int", "float" or "log" (for "log",
    ``lo``, ``hi`` and ``step`` are base-10 exponents, as in ``FloatLogSlider``)."""
    if kind not in ("int", "float", "log"):
        raise ValueError(f"kind must be 'int', 'float' or 'log', got {kind!r}")
    if not (step > 0 and math.isfinite(step)) or not (hi >= lo):
        raise ValueError(f"need step > 0 and hi >= lo, got lo={lo!r}, hi={hi!r}, step={step!r}")
    n = int(math.floor((hi - lo) / step + 1e-9)) + 1
    if kind == "int":
        return [int(round(lo + i * step)) for i in range(n)]
    exps = [round(lo + i * step, 12) for i in range(n)]
    return [float(f"{10 ** e:.12g}") for e in exps] if kind == "log" else exps


def _spread(n, k, keep):
    """``k`` indices of ``range(n)`` spread evenly, always with 0, n-1 and ``keep``."""
    if k >= n:
        return list(range(n))
    picked = {round(i * (n - 1) / (k - 1)) for i in range(k)} if k > 1 else {0}
    picked.add(keep)
    return sorted(picked)


def choose_grid(all_values, starts, max_frames):
    """The values to pre-render for each slider of a panel (lists of indices into ``all_values``).

    All combinations when they fit in ``max_frames``. Otherwise the first (main) slider densely
    and each other one at its start value and its two ends (or only its start, if the main slider
    would then get fewer than ``MIN_MAIN_VALUES`` values). ``starts[i]`` is the index of slider i's
    start value; it is always in the grid, so the page opens on the notebook's own picture.
    """
    if len(all_values) != len(starts) or not all_values:
        raise ValueError(f"need one start per slider, got {len(all_values)} sliders and {starts!r}")
    if max_frames < 1:
        raise ValueError(f"max_frames must be >= 1, got {max_frames!r}")
    sizes = [len(v) for v in all_values]
    if math.prod(sizes) <= max_frames:
        return [list(range(n)) for n in sizes]
    others = [sorted({0, n - 1, s}) for n, s in zip(sizes[1:], starts[1:])]
    if max_frames // max(1, math.prod(len(o) for o in others)) < MIN_MAIN_VALUES:
        others = [[s] for s in starts[1:]]
    main = max(1, max_frames // max(1, math.prod(len(o) for o in others)))
    return [_spread(sizes[0], main, starts[0])] + others


def _widget_values(slider):
    """(kind, every value, index of its current value) of an ipywidgets slider."""
    name = type(slider).__name__
    if "Log" in name:
        kind, lo, hi = "log", slider.min, slider.max
    elif "Int" in name:
        kind, lo, hi = "int", slider.min, slider.max
    else:
        kind, lo, hi = "float", slider.min, slider.max
    values = slider_values(kind, lo, hi, slider.step)
    start = min(range(len(values)), key=lambda i: abs(values[i] - slider.value))
    return kind, values, start


def _label(value):
    return str(value) if isinstance(value, int) else f"{value:.3g}"


def _figure_png(fig):
    """The PNG a live panel shows for ``fig``: what IPython's display formatter sends."""
    from IPython import get_ipython

    data = get_ipython().display_formatter.format(fig)[0]
    png = data.get("image/png")
    if png is None:
        raise WebsiteError(f"the plot function returned {type(fig).__name__}, which has no PNG")
    return base64.b64decode(png) if isinstance(png, str) else png


def _to_frame(png):
    from PIL import Image

    buf = io.BytesIO()
    Image.open(io.BytesIO(png)).save(buf, FRAME_FORMAT.upper(), lossless=True, quality=100,
                                     method=4)
    return buf.getvalue()


def built_panels():
    """Kernel side: the slider panels the notebook displayed, in the order its cells ran.

    Every ``slider_panel(...)`` call is the last expression of its cell, so IPython keeps the
    panel in its output history (``Out``, keyed by execution count); a panel is an output with
    ``.sliders`` and a callable ``.figure``. (No registry in ``helpers``: the notebook's own
    outputs say what it showed.)
    """
    from IPython import get_ipython

    history = get_ipython().user_ns.get("Out", {})
    return [value for _, value in sorted(history.items())
            if hasattr(value, "sliders") and callable(getattr(value, "figure", None))]


def render_frames(out_dir, frames_budget):
    """Kernel side: render every panel this kernel built into ``out_dir`` (+ ``manifest.json``)."""
    built = built_panels()
    out_dir = Path(out_dir)
    out_dir.mkdir(parents=True, exist_ok=True)
    manifest = {"panels": []}
    per_panel = frames_budget / max(1, len(built))
    for k, panel in enumerate(built):
        names = list(panel.sliders)
        info = [_widget_values(s) for s in panel.sliders.values()]
        starts = [i[2] for i in info]
        first = _to_frame(_figure_png(panel.figure(**{
            n: i[1][i[2]] for n, i in zip(names, info)})))
        max_frames = int(max(2, min(MAX_FRAMES, per_panel // (len(first) * 1.2))))
        grid = choose_grid([i[1] for i in info], starts, max_frames)
        files, total = [], 0
        for flat, combo in enumerate(itertools.product(*grid)):
            values = {n: info[j][1][c] for j, (n, c) in enumerate(zip(names, combo))}
            frame = _to_frame(_figure_png(panel.figure(**values)))
            name = f"p{k}-{flat:03d}.{FRAME_FORMAT}"
            (out_dir / name).write_bytes(frame)
            files.append(name)
            total += len(frame)
        manifest["panels"].append({
            "names": names, "kinds": [i[0] for i in info],
            "grid": [[info[j][1][c] for c in g] for j, g in enumerate(grid)],
            "start": [g.index(s) for g, s in zip(grid, starts)],
            "all_counts": [len(i[1]) for i in info],
            "files": files, "bytes": total})
    (out_dir / "manifest.json").write_text(json.dumps(manifest, indent=1), encoding="utf-8")
    return manifest


def check_frames(out_dir, samples=4, seed=0):
    """Kernel side: move each live panel's sliders to ``samples`` pre-rendered positions (first,
    last, random; ``None``: every frame, in order) and compare the live figure there with the
    stored frame, pixel for pixel.
    Returns a list of mismatches (empty when every frame equals the live panel).

    A pixel may differ by ``FRAME_TOLERANCE`` levels (of 255): the live panel's own picture at
    given values depends a little on the way it got there (a semi-transparent legend blitted over
    a cached background rounds differently, seen in 01), so no frame can match every path exactly.
    """
    import random

    import numpy as np
    from PIL import Image

    built = built_panels()
    manifest = json.loads((Path(out_dir) / "manifest.json").read_text(encoding="utf-8"))
    if len(manifest["panels"]) != len(built):
        return [f"{len(built)} live panels, {len(manifest['panels'])} in the manifest"]
    rnd, problems = random.Random(seed), []
    for k, (panel, entry) in enumerate(zip(built, manifest["panels"])):
        combos = list(itertools.product(*[range(len(g)) for g in entry["grid"]]))
        picks = (range(len(combos)) if samples is None else
                 sorted({0, len(combos) - 1, *rnd.sample(range(len(combos)),
                                                         min(samples, len(combos)))}))
        for flat in picks:
            for name, g, c in zip(entry["names"], entry["grid"], combos[flat]):
                panel.sliders[name].value = g[c]  # the live panel redraws, as on a move
            live = {n: s.value for n, s in panel.sliders.items()}
            want = {n: g[c] for n, g, c in zip(entry["names"], entry["grid"], combos[flat])}
            if any(not math.isclose(live[n], want[n], rel_tol=1e-9) for n in want):
                problems.append(f"panel {k}: the sliders hold {live}, the frame is for {want}")
                continue
            shown = np.asarray(Image.open(io.BytesIO(_figure_png(panel.figure(**live))))
                               .convert("RGBA"))
            frame = np.asarray(Image.open(Path(out_dir) / entry["files"][flat]).convert("RGBA"))
            if shown.shape != frame.shape:
                problems.append(f"panel {k} at {want}: frame {entry['files'][flat]} is "
                                f"{frame.shape}, the live figure {shown.shape}")
                continue
            worst = int(np.abs(shown.astype(int) - frame).max())
            if worst > FRAME_TOLERANCE:
                problems.append(f"panel {k} at {want}: frame {entry['files'][flat]} differs from "
                                f"the live figure by up to {worst} levels in "
                                f"{int((shown != frame).any(-1).sum())} pixels")
    return problems


# --------------------------------------------------------------------------------------------
# Frames: the host side (run a notebook in a bounded kernel, cached by content)
# --------------------------------------------------------------------------------------------

def cache_key(py_path):
    """A hash of what a notebook's frames depend on: its .py, every helpers source, the code of
    this file that renders frames, and the page budget."""
    import inspect

    h = hashlib.sha256()
    for f in [Path(py_path), *sorted((ROOT / "helpers").rglob("*.py"))]:
        h.update(f.relative_to(ROOT).as_posix().encode())
        h.update(f.read_bytes())
    for fn in (slider_values, _spread, choose_grid, _widget_values, _figure_png, _to_frame,
               built_panels, render_frames, frames_budget, kernel_cells):
        h.update(inspect.getsource(fn).encode())
    h.update(repr((PAGE_LIMIT, SHARED_ASSETS_BYTES, PAGE_MARGIN_BYTES, MAX_FRAMES,
                   MIN_MAIN_VALUES, FRAME_FORMAT)).encode())
    return h.hexdigest()[:16]


def frames_budget(nb_path):
    """Bytes of frames a page may hold: PAGE_LIMIT less the shared assets, its own images, a margin."""
    nb = json.loads(Path(nb_path).read_text(encoding="utf-8"))
    images = sum(len(base64.b64decode("".join(o["data"]["image/png"])))
                 for c in nb["cells"] for o in c.get("outputs", [])
                 if "image/png" in o.get("data", {}))
    return max(300_000, PAGE_LIMIT - SHARED_ASSETS_BYTES - PAGE_MARGIN_BYTES
               - len(json.dumps(nb)) // 2 - images)


def kernel_cells(out_dir, budget=None, check_samples=0):
    """The code a frames run appends to a notebook: render (and optionally check) the frames."""
    lines = [f"import sys; sys.path.insert(0, {str(ROOT / 'tools')!r})",
             "import website as _website"]
    if budget is not None:
        lines.append(f"_website.render_frames({str(out_dir)!r}, {int(budget)})")
    if check_samples:  # a number of frames per panel, or "all"
        n = None if check_samples == "all" else int(check_samples)
        lines.append(f"_problems = _website.check_frames({str(out_dir)!r}, {n!r})")
        lines.append("print('FRAME-CHECK', __import__('json').dumps(_problems))")
    return "\n".join(lines)


def run_in_kernel(nb_path, extra_source):
    """Run the committed notebook ``nb_path`` in a bounded kernel with one cell appended; return
    that cell's printed text. A hang or error names the notebook and the cell."""
    import nbformat
    from notebook_runner import CELL_TIMEOUT_S, bounded_client

    nb = nbformat.read(str(nb_path), as_version=4)
    cell = nbformat.v4.new_code_cell(extra_source)
    cell.metadata["website_frames"] = True
    nb.cells.append(cell)
    client = bounded_client(
        nb, f"{Path(nb_path).name} (website frames)", project.NOTEBOOKS,
        timeout_func=lambda c: (FRAMES_CELL_TIMEOUT_S if c.metadata.get("website_frames")
                                else CELL_TIMEOUT_S))
    client.execute()
    return "".join(o.get("text", "") for o in nb.cells[-1].outputs if o.get("name") == "stdout")


def build_frames(names=None, force=False, log=print):
    """Render the frames of every English notebook (or of ``names``) whose cache key changed."""
    done = {}
    for py in project.notebook_paths(".py"):
        stem = py.stem
        if names and stem not in names:
            continue
        out = FRAMES / stem
        key = cache_key(py)
        stamp = out / "cache-key"
        if not force and stamp.exists() and stamp.read_text() == key and (out / "manifest.json").exists():
            log(f"frames: {stem}: cached ({key})")
            done[stem] = out
            continue
        shutil.rmtree(out, ignore_errors=True)
        t0 = time.perf_counter()
        run_in_kernel(py.with_suffix(".ipynb"),
                      kernel_cells(out, budget=frames_budget(py.with_suffix(".ipynb"))))
        manifest = json.loads((out / "manifest.json").read_text(encoding="utf-8"))
        stamp.write_text(key)
        log(f"frames: {stem}: {sum(len(p['files']) for p in manifest['panels'])} frames of "
            f"{len(manifest['panels'])} panels in {time.perf_counter() - t0:.1f} s")
        done[stem] = out
    if names:
        missing = set(names) - set(done)
        if missing:
            raise WebsiteError(f"no notebook called {sorted(missing)} in notebooks/")
    return done


# --------------------------------------------------------------------------------------------
# Staging: the pages Sphinx renders
# --------------------------------------------------------------------------------------------

def _readme_map(lang):
    """{notebook stem: (article section, what you will see)} from the README of ``lang``."""
    text = README[lang].read_text(encoding="utf-8")
    sections = {}
    for m in re.finditer(r"^\| ([^|]+) \| \[(\d\d_[a-z_]+)\]\([^)]*\) \|", text, re.M):
        sections[m.group(2)] = m.group(1).strip()
    seen = {m.group(1): m.group(2).strip()
            for m in re.finditer(r"^\*\*(\d\d)\*\* · (.+)$", text, re.M)}
    out = {}
    for py in project.notebook_paths(".py"):
        out[py.stem] = (sections.get(py.stem, ""), seen.get(py.stem[:2], ""))
    return out


def _home_page(lang):
    t = TEXT[lang]
    rows = []
    course = _readme_map(lang)
    for nb in project.notebook_paths(".ipynb", NOTEBOOK_DIRS[lang]):
        section, seen = course.get(nb.stem, ("", ""))
        title = project.notebook_title(nb)
        rows.append(f"| {section} | [{title}]({nb.stem}.ipynb) | {seen} |")
    toc = "\n".join(nb.stem for nb in project.notebook_paths(".ipynb", NOTEBOOK_DIRS[lang]))
    heading = project_name(lang)
    return (f"# {heading}\n\n{t['intro']}\n\n{t['map_head']}\n|---|---|---|\n" + "\n".join(rows)
            + f"\n\n```{{toctree}}\n:maxdepth: 1\n:hidden:\n\n{toc}\n```\n")


def project_name(lang):
    return {"en": "Principles of diffusion models: the companion notebooks",
            "zh": "扩散模型原理：配套笔记本"}[lang]


def slider_html(lang, stem, k, entry, base):
    """The kernel-free slider of panel ``k`` of notebook ``stem`` (its frames under ``base``)."""
    t = TEXT[lang]
    pid = f"kf-{stem[:2]}-{k}"
    rows, labels = [], []
    for j, (name, grid, start) in enumerate(zip(entry["names"], entry["grid"], entry["start"])):
        labels.append([_label(v) for v in grid])
        rows.append(
            f'<div class="kf-slider"><label for="{pid}-{j}">{html.escape(name)}</label>'
            f'<input class="kf-range" type="range" id="{pid}-{j}" min="0" max="{len(grid) - 1}" '
            f'step="1" value="{start}" aria-valuetext="{html.escape(name)} = {labels[-1][start]}">'
            f'<output class="kf-readout" for="{pid}-{j}">{labels[-1][start]}</output></div>')
    values = "; ".join(f"<code>{html.escape(n)}</code> ∈ {{{', '.join(lab)}}}"
                       for n, lab in zip(entry["names"], labels))
    fn = entry.get("fn", "the plot function")
    note = t["note"].format(fn=html.escape(fn), values=values,
                            binder=project.binder_url(f"{stem}.ipynb", _folder(lang)),
                            colab=project.colab_url(f"{stem}.ipynb", _folder(lang)))
    start_flat = 0
    for j, s in enumerate(entry["start"]):
        start_flat = start_flat * len(entry["grid"][j]) + s
    data = {"names": entry["names"], "labels": labels, "files": entry["files"], "base": base,
            "alt": t["alt"].format(fn=fn)}
    return (f'<div class="kf-panel" id="{pid}">'
            f'<div class="kf-sliders">{"".join(rows)}</div>'
            f'<img class="kf-frame" src="{base}{entry["files"][start_flat]}" '
            f'alt="{html.escape(t["alt"].format(fn=fn))}">'
            f'<p class="kf-note">{note}</p>'
            f'<script type="application/json" class="kf-data">{json.dumps(data)}</script></div>')


def _folder(lang):
    return NOTEBOOK_DIRS[lang].relative_to(ROOT).as_posix()


def slider_cells(nb):
    """Indices of the code cells that build a slider panel, in order."""
    return [i for i, c in enumerate(nb.cells)
            if c.cell_type == "code" and re.search(r"^slider_panel\(", c.source, re.M)]


DISPLAY_MATH = re.compile(r"\$\$(.+?)\$\$", re.S)
SUMMARY = re.compile(r"<summary>(.*?)</summary>", re.S)
INLINE_MATH = re.compile(r"(?<![\\$])\$([^$\n]+?)\$")


def markdown_for_sphinx(source):
    """A notebook's Markdown as MyST reads it the way JupyterLab shows it. Three differences:

    - a displayed formula with line breaks (``\\``) and a ``\tag``: Sphinx wraps such a formula
      in ``split``, where MathJax refuses ``\tag``; as ``equation*`` it is left whole;
    - a ``$$...$$`` over several lines, one of which starts with ``-`` (or another Markdown
      marker): that line would begin a list and cut the formula in two (05 section 4), so its
      lines are joined (a newline in TeX is a space);
    - maths inside ``<summary>`` (raw HTML, which MyST does not parse): marked up for MathJax;
    - text right after ``</summary>`` or ``</details>``: CommonMark would keep it raw HTML
      (unparsed ``$...$`` and ``**``) until the next blank line, so a blank line is added.
    """
    def display(m):
        body = m.group(1)
        lines = body.splitlines()
        if any(line.lstrip().startswith(("-", "+", "*", ">", "#")) for line in lines[1:]):
            body = " ".join(line.strip() for line in lines)
        if "\\tag" in body and "\\\\" in body:
            return "\n\\begin{equation*}" + body + "\\end{equation*}\n"
        return "$$" + body + "$$"

    def summary(m):
        inner = INLINE_MATH.sub(
            lambda k: f'<span class="math notranslate nohighlight">\\({html.escape(k.group(1))}\\)</span>',
            m.group(1))
        return f"<summary>{inner}</summary>"

    source = DISPLAY_MATH.sub(display, source)
    source = SUMMARY.sub(summary, source)
    return re.sub(r"(</summary>|</details>)[ \t]*\n(?=[ \t]*\S)", r"\1\n\n", source)


def stage(lang, frames):
    """Write ``build/site-src/<lang>``: the notebooks with kernel-free sliders, the home page."""
    import nbformat

    src, extra = STAGE / lang, STAGE / f"{lang}-extra"
    for d in (src, extra):
        shutil.rmtree(d, ignore_errors=True)
    src.mkdir(parents=True)
    (extra / "ipynb").mkdir(parents=True)
    pages = {}
    for nb_path in project.notebook_paths(".ipynb", NOTEBOOK_DIRS[lang]):
        nb = nbformat.read(str(nb_path), as_version=4)
        manifest = json.loads((frames[nb_path.stem] / "manifest.json").read_text(encoding="utf-8"))
        cells = slider_cells(nb)
        if len(cells) != len(manifest["panels"]):
            raise WebsiteError(f"{nb_path.relative_to(ROOT)}: {len(cells)} slider cells but the "
                               f"kernel built {len(manifest['panels'])} panels")
        for cell in nb.cells:
            if cell.cell_type == "markdown":
                cell.source = markdown_for_sphinx(cell.source)
        for k, (i, entry) in enumerate(zip(cells, manifest["panels"])):
            m = re.search(r"slider_panel\(\s*([A-Za-z_][A-Za-z_0-9]*)", nb.cells[i].source)
            entry["fn"] = m.group(1) if m else "the plot function"
            nb.cells[i].outputs = [nbformat.v4.new_output(
                "display_data", data={"text/html": slider_html(
                    lang, nb_path.stem, k, entry, f"../frames/{nb_path.stem}/")})]
        nbformat.write(nb, str(src / nb_path.name))
        shutil.copy2(nb_path, extra / "ipynb" / nb_path.name)
        pages[nb_path.stem] = {
            "colab": project.colab_url(nb_path.name, _folder(lang)),
            "binder": project.binder_url(nb_path.name, _folder(lang)),
            "ipynb": f"ipynb/{nb_path.name}"}
    (src / "index.md").write_text(_home_page(lang), encoding="utf-8")
    mathjax_static = STAGE / "mathjax-static"
    twin = "zh" if lang == "en" else "en"
    config = {"lang": lang, "twin_prefix": f"../{twin}/", "twin_lang": twin,
              "twin_label": TEXT[lang]["twin_label"], "text": TEXT[lang], "pages": pages,
              "repository_url": project.repo_url(), "mathjax_static": str(mathjax_static),
              "extra": str(extra)}
    (STAGE / f"{lang}.json").write_text(json.dumps(config, ensure_ascii=False), encoding="utf-8")
    return STAGE / f"{lang}.json"


def stage_mathjax():
    """A trimmed MathJax 3 (its TeX-to-CHTML bundle, fonts and TeX extensions) for _static/."""
    if not (MATHJAX / "tex-chtml.js").exists():
        raise WebsiteError(f"MathJax is not installed at {MATHJAX.relative_to(ROOT)}: run "
                           f"npm ci --prefix site (make site does)")
    dest = STAGE / "mathjax-static" / "mathjax"
    shutil.rmtree(dest.parent, ignore_errors=True)
    dest.mkdir(parents=True)
    shutil.copy2(MATHJAX / "tex-chtml.js", dest / "tex-chtml.js")
    # Not sre/ (4 MB of speech rules, loaded only if a reader turns speech on in MathJax's menu).
    for sub in ("output/chtml/fonts/woff-v2", "input/tex/extensions", "ui", "a11y"):
        if (MATHJAX / sub).exists():
            shutil.copytree(MATHJAX / sub, dest / sub)


def sphinx(lang, stage_json):
    cmd = [sys.executable, "-m", "sphinx", "-b", "html", "-q", "-c", str(SITE_SRC),
           str(STAGE / lang), str(STAGE / "html" / lang)]
    env = {**os.environ, "WEBSITE_STAGE": str(stage_json)}
    try:
        run = subprocess.run(cmd, env=env, timeout=SPHINX_TIMEOUT_S, capture_output=True,
                             text=True)
    except subprocess.TimeoutExpired:
        raise WebsiteError(f"sphinx-build ({lang}) did not finish in {SPHINX_TIMEOUT_S} s") from None
    if run.returncode:
        raise WebsiteError(f"sphinx-build ({lang}) failed:\n{run.stdout}\n{run.stderr}")
    return run.stderr


def build(log=print):
    t0 = time.perf_counter()
    frames = build_frames(log=log)
    stage_mathjax()
    shutil.rmtree(OUT, ignore_errors=True)
    shutil.rmtree(STAGE / "html", ignore_errors=True)  # (myst-nb's jupyter_execute/ stays there)
    OUT.mkdir(parents=True)
    for lang in LANGS:
        warnings = sphinx(lang, stage(lang, frames))
        if warnings.strip():
            log(f"sphinx ({lang}) warnings:\n{warnings}")
        shutil.copytree(STAGE / "html" / lang, OUT / lang,
                        ignore=shutil.ignore_patterns(".buildinfo", ".doctrees"))
    for stem, src in frames.items():
        dest = OUT / "frames" / stem
        dest.mkdir(parents=True)
        for f in src.glob(f"*.{FRAME_FORMAT}"):
            shutil.copy2(f, dest / f.name)
    (OUT / "index.html").write_text(
        '<!DOCTYPE html><html lang="en"><head><meta charset="utf-8"><title>Redirect</title>'
        '<meta http-equiv="refresh" content="0; url=en/index.html"></head><body>'
        '<a href="en/index.html">English</a> · <a href="zh/index.html" lang="zh">中文</a>'
        '</body></html>', encoding="utf-8")
    (OUT / ".nojekyll").write_text("")
    log(f"site: built in {time.perf_counter() - t0:.1f} s")
    log(report())


# --------------------------------------------------------------------------------------------
# Sizes
# --------------------------------------------------------------------------------------------

def page_weights(site=OUT):
    """{page: bytes} for every HTML page: the page, the local files it references (images,
    scripts, styles) and its kernel-free frames. Shared assets count on every page."""
    weights = {}
    for page in sorted(site.glob("*/*.html")):
        text = page.read_text(encoding="utf-8")
        refs = set(re.findall(r'(?:src|href)="([^"#?:]+)', text))
        total = page.stat().st_size
        for ref in refs:
            f = (page.parent / ref).resolve()
            if f.is_file() and f.suffix in (".png", ".jpg", ".svg", ".js", ".css", ".webp"):
                total += f.stat().st_size
        for m in re.finditer(r'<script type="application/json" class="kf-data">(.*?)</script>',
                             text, re.S):
            data = json.loads(m.group(1))
            total += sum((page.parent / (data["base"] + f)).stat().st_size for f in data["files"])
        weights[page.relative_to(site).as_posix()] = total
    return weights


def site_size(site=OUT):
    return sum(f.stat().st_size for f in site.rglob("*") if f.is_file())


def report(site=OUT):
    if not site.exists():
        raise WebsiteError(f"{site.relative_to(ROOT)} does not exist: run make site")
    weights = page_weights(site)
    page, biggest = max(weights.items(), key=lambda kv: kv[1])
    return (f"site: {len(weights)} pages, {site_size(site) / 1e6:.1f} MB in all; largest page "
            f"{page} at {biggest / 1e6:.2f} MB (static estimate)")


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    sub = parser.add_subparsers(dest="command", required=True)
    sub.add_parser("build")
    fr = sub.add_parser("frames")
    fr.add_argument("notebooks", nargs="*", help="notebook stems, e.g. 01_generative_models")
    fr.add_argument("--force", action="store_true")
    sub.add_parser("report")
    sub.add_parser("screenshots")
    args = parser.parse_args(argv)
    try:
        if args.command == "build":
            build()
        elif args.command == "frames":
            build_frames(args.notebooks or None, force=args.force)
        elif args.command == "report":
            print(report())
        elif args.command == "screenshots":
            screenshots()
    except WebsiteError as err:
        raise SystemExit(f"website: {err}") from None


@contextlib.contextmanager
def serve(directory):
    """``directory`` over HTTP on 127.0.0.1, on a free port, from a thread: yields the base URL
    and stops the server on exit (the site test and ``screenshots`` read the built site so)."""
    import http.server
    import threading
    from functools import partial

    class Quiet(http.server.SimpleHTTPRequestHandler):
        def log_message(self, *args):
            pass

    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0),
                                             partial(Quiet, directory=str(directory)))
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_port}"
    finally:
        server.shutdown()
        server.server_close()
        thread.join(timeout=10)


def screenshots():
    """docs/site/: a slider page in English, its Chinese twin, a page with dense maths."""
    from playwright.sync_api import sync_playwright

    from jupyterlab_browser import CHROMIUM, CHROMIUM_ARGS

    if not (OUT / "en" / "index.html").exists():
        raise WebsiteError("build/site is not built: run make site first")
    dest = ROOT / "docs" / "site"
    dest.mkdir(parents=True, exist_ok=True)
    shots = [("en/01_generative_models.html", "#kf-01-0", "en_01_slider.png"),
             ("zh/01_generative_models.html", "#kf-01-0", "zh_01_slider.png"),
             ("en/03_elbo.html", None, "en_03_math.png")]
    with serve(OUT) as base, sync_playwright() as pw:
        browser = pw.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS,
                                     timeout=60_000)
        page = browser.new_page(viewport={"width": 1280, "height": 900})
        page.set_default_timeout(60_000)
        for path, selector, name in shots:
            page.goto(f"{base}/{path}")
            page.wait_for_function("() => window.MathJax && MathJax.startup && "
                                   "MathJax.startup.promise", timeout=60_000)
            page.evaluate("() => MathJax.startup.promise")
            # The slider panel, or the tallest displayed formula, below the sticky header.
            page.evaluate("""(sel) => {
                const el = sel ? document.querySelector(sel) : Array.from(
                    document.querySelectorAll('mjx-container[display="true"]')).sort(
                    (a, b) => b.getBoundingClientRect().height
                              - a.getBoundingClientRect().height)[0];
                el.scrollIntoView({block: 'start'});
                window.scrollBy(0, -90);
            }""", selector)
            page.wait_for_timeout(300)
            page.screenshot(path=str(dest / name))
            print(f"screenshots: docs/site/{name}")
        browser.close()


if __name__ == "__main__":
    main()
