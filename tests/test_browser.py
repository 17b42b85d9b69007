"""The notebooks as users meet them: JupyterLab in a real (headless) Chromium.

For every ``notebooks/NN_*.ipynb``, and for one Chinese notebook
(``notebooks/zh/01_generative_models.ipynb``: the zh twins share the English code, so one stands
for all), this test opens the notebook in JupyterLab, clears the stored outputs, runs all cells
from the Run menu, waits for the kernel to go idle, saves, and checks that no cell failed and
every widget rendered (the saved run is also one of the two runs the determinism test
compares, ``tests/notebook_runs.py``). Then it moves each ``sigma`` and ``c`` slider with the
keyboard (End, or Home at the end of the range), as a reader would, and checks that the figure
next to the slider is redrawn: the ``<img>`` source changes and the pixels differ. In the Chinese
notebook it also checks that the Chinese heading is drawn with real glyphs
(``_assert_cjk_glyphs``).

The server listens on 127.0.0.1 on a free port with a random token, serves a temporary copy of
the notebooks (nothing in the repository is written) and is shut down after the module, also
when a test fails. Screenshots go to ``screenshots/`` (git-ignored); ``screenshots/NN_*.png`` is
the first slider panel of each notebook, which ``make screenshots`` copies to
``docs/screenshots/`` for the README. The Chinese notebook's are ``screenshots/zh_NN_*``, a
name that ``make screenshots`` does not copy.

Chromium is Debian's ``/usr/bin/chromium`` (``CHROMIUM=/path`` overrides); Playwright never
downloads a browser here. Without Chromium the test skips, unless ``REQUIRE_BROWSER_TEST=1``
(set by ``.ci/run``), which turns the skip into a failure.
"""

from __future__ import annotations

import io
import json
import os
import shutil
import time
from pathlib import Path

import nbformat
import pytest
from jupyterlab_browser import (CHROMIUM, CHROMIUM_ARGS, KERNEL_IDLE_JS, NB, OPEN_S,
                                WIDGET_FAILURE_TEXT, Lab, menu, port_open, prompts,
                                wait_for_run_all)
from notebook_runs import record
from project import NOTEBOOKS as NOTEBOOK_DIR
from project import notebook_paths

ROOT = Path(__file__).resolve().parent.parent
NOTEBOOKS = notebook_paths(".ipynb")
# One Chinese twin (tools/zh.py): the same code and widgets, its Markdown in Chinese.
ZH_NOTEBOOK = NOTEBOOK_DIR / "zh" / "01_generative_models.ipynb"
SHOTS = ROOT / "screenshots"
README_SHOTS = ROOT / "docs" / "screenshots"
REQUIRED = os.environ.get("REQUIRE_BROWSER_TEST", "") not in ("", "0")
SLIDER_NAMES = ("sigma", "c", "t", "w")  # the sliders the notebooks' stories turn on (t: 05's chain, w: 07's guidance)
README_SHOT_MAX_BYTES = 150_000
REDRAW_S = 60


def _missing(reason):
    if REQUIRED:
        pytest.fail(f"{reason} (REQUIRE_BROWSER_TEST is set, so this is a failure)", pytrace=False)
    pytest.skip(f"{reason}: browser test skipped")


# --------------------------------------------------------------------------------------------
# JupyterLab server and browser (tools/jupyterlab_browser.py, shared with make bench)
# --------------------------------------------------------------------------------------------

@pytest.fixture(scope="module")
def chromium_path():
    if not (os.path.isfile(CHROMIUM) and os.access(CHROMIUM, os.X_OK)):
        _missing(f"Chromium not found at {CHROMIUM} (Debian: apt-get install chromium; "
                 f"or set CHROMIUM=/path/to/chromium)")
    try:
        import playwright.sync_api  # noqa: F401
    except ImportError:
        _missing("the playwright Python package is not installed (pip install -e '.[test]')")
    return CHROMIUM


@pytest.fixture(scope="module")
def browser(chromium_path):
    from playwright.sync_api import sync_playwright

    pw = sync_playwright().start()
    try:
        b = pw.chromium.launch(executable_path=chromium_path, headless=True, args=CHROMIUM_ARGS)
        try:
            yield b
        finally:
            b.close()
    finally:
        pw.stop()


@pytest.fixture(scope="module")
def lab(browser, tmp_path_factory):
    server = Lab(tmp_path_factory.mktemp("jupyterlab"))
    try:
        server.wait_ready()
        yield server
    finally:
        server.stop()
        assert server.proc.returncode is not None, "JupyterLab is still running"
        assert not port_open(server.port), f"port {server.port} still open after shut-down"


# --------------------------------------------------------------------------------------------
# Driving JupyterLab
# --------------------------------------------------------------------------------------------

IMAGE_CHANGED_JS = """([panel, before]) => {
  const img = panel.querySelector('.widget-output img');
  return img && img.complete && img.naturalWidth > 0 && img.getAttribute('src') !== before;
}"""


def _pixels(png):
    import matplotlib.image

    return matplotlib.image.imread(io.BytesIO(png), format="png")


def _panel_clip(panel):
    """Bounding box of a slider panel's visible content: its slider row and its figure."""
    boxes = [panel.locator(".widget-hbox").first.bounding_box(),
             panel.locator(".widget-output img").first.bounding_box()]
    inner = panel.locator(".widget-hbox .widget-slider")
    boxes += [inner.nth(i).bounding_box() for i in range(inner.count())]
    boxes = [b for b in boxes if b]
    x0 = min(b["x"] for b in boxes)
    y0 = min(b["y"] for b in boxes)
    x1 = max(b["x"] + b["width"] for b in boxes[1:])  # the hbox itself spans the page
    y1 = max(b["y"] + b["height"] for b in boxes)
    pad = 6
    return {"x": max(x0 - pad, 0), "y": max(y0 - pad, 0),
            "width": x1 - x0 + 2 * pad, "height": y1 - y0 + 2 * pad}


def _label(ipynb):
    """``01_generative_models``, or ``zh_01_generative_models`` for the Chinese twin: the test
    id, the workspace and the screenshots' names (never the English notebook's)."""
    return "_".join(ipynb.relative_to(NOTEBOOK_DIR).with_suffix("").parts)


# Draw each Han character of the element's text on a canvas in the element's own computed font
# and compare the pixels with those of a code point no font has (U+10FFFD, private use).
CJK_GLYPHS_JS = r"""(el) => {
  const font = getComputedStyle(el).font;
  const canvas = document.createElement('canvas');
  canvas.width = 128; canvas.height = 128;
  const ctx = canvas.getContext('2d', {willReadFrequently: true});
  const draw = (s) => {
    ctx.clearRect(0, 0, 128, 128); ctx.font = font; ctx.fillStyle = '#000';
    ctx.fillText(s, 8, 96);
    const d = ctx.getImageData(0, 0, 128, 128).data;
    let ink = 0, sig = 0;
    for (let i = 3; i < d.length; i += 4) {
      if (d[i]) { ink++; sig = (sig * 31 + i * d[i]) % 1000000007; }
    }
    return ink + ':' + sig;
  };
  const han = Array.from(el.textContent).filter(c => /\p{Script=Han}/u.test(c));
  const missing = draw('\u{10FFFD}');
  const shapes = han.map(draw);
  return {font, han: han.join(''), distinct: new Set(shapes).size,
          likeMissing: shapes.filter(s => s === missing).length};
}"""


def _assert_cjk_glyphs(page, name):
    """The notebook's first heading is Chinese and is drawn with real CJK glyphs.

    Without a CJK font (Debian: fonts-noto-cjk), Chromium draws every Han character as the same
    "tofu" box, the glyph of a missing character: on a canvas, in the heading's own font, all of
    them then give identical pixels, equal to those of U+10FFFD, a code point no font has. So we
    require at least two Han characters, each drawn unlike the missing glyph, and at least two
    distinct shapes among them. (``document.fonts.check()`` would not do: it answers true for a
    font that is not installed at all.) Checked to fail with the CJK fonts hidden from
    fontconfig: one shape for all, each like the missing glyph."""
    heading = page.locator(f"{NB} .jp-MarkdownCell .jp-RenderedMarkdown h1").first
    heading.scroll_into_view_if_needed()
    got = heading.evaluate(CJK_GLYPHS_JS)
    assert len(got["han"]) >= 2, (
        f"{name}: its first heading has no Chinese: {heading.inner_text()!r}")
    assert got["likeMissing"] == 0 and got["distinct"] >= 2, (
        f"{name}: the heading's Chinese ({got['han']}) is drawn as missing-glyph boxes in "
        f"{got['font']!r}: {got}. Install a CJK font (apt-get install fonts-noto-cjk)")
    return got


def _sliders(page, name):
    """Every rendered slider whose description is exactly ``name``."""
    return page.locator(f"{NB} .widget-slider").filter(
        has=page.locator(f"xpath=./label[normalize-space(.)='{name}']"))


@pytest.mark.parametrize("ipynb", NOTEBOOKS + [ZH_NOTEBOOK], ids=_label)
def test_notebook_runs_in_jupyterlab_and_its_sliders_redraw(lab, browser, ipynb):
    assert ipynb.exists(), f"{ipynb.relative_to(ROOT)} is missing: run `make sync`"
    label, rel = _label(ipynb), ipynb.relative_to(NOTEBOOK_DIR).as_posix()
    shots = SHOTS / label
    shutil.rmtree(shots, ignore_errors=True)
    shots.mkdir(parents=True)
    stored = json.loads(ipynb.read_text(encoding="utf-8"))
    n_cells = len(stored["cells"])
    context = browser.new_context(viewport={"width": 1400, "height": 1000})
    page = context.new_page()
    page_errors = []
    page.on("pageerror", lambda e: page_errors.append(str(e)))
    t0 = time.monotonic()
    try:
        # A fresh workspace per notebook, so no tab of an earlier notebook is restored.
        page.goto(f"{lab.url}/lab/workspaces/{label}/tree/{rel}"
                  f"?reset&token={lab.token}",
                  timeout=OPEN_S * 1000)
        page.wait_for_function(
            f"() => document.querySelectorAll('{NB} .jp-Cell').length === {n_cells}",
            timeout=OPEN_S * 1000)
        page.wait_for_function(KERNEL_IDLE_JS, timeout=OPEN_S * 1000)

        # JupyterLab 4 + ipywidgets 8 render widgets through the bundled jupyterlab_widgets.
        config = json.loads(page.inner_text("#jupyter-config-data"))
        federated = {e["name"] for e in config.get("federated_extensions", [])}
        assert "@jupyter-widgets/jupyterlab-manager" in federated, federated

        menu(page, "Edit", "Clear Outputs of All Cells")
        assert all(p in ("[ ]:", "[ ]") for p in prompts(page)), prompts(page)
        menu(page, "Run", "Run All Cells")
        wait_for_run_all(page, ipynb.name, stored["cells"])
        page.wait_for_timeout(500)  # let late display messages and widget views land
        wait_for_run_all(page, ipynb.name, stored["cells"])
        run_s = time.monotonic() - t0
        page.screenshot(path=str(shots / "after-run-all.png"))

        # What the browser holds, saved to the temporary copy: no error, every cell ran.
        menu(page, "File", "Save Notebook")
        page.wait_for_function("() => !document.querySelector('.jp-mod-dirty')",
                               timeout=30_000)
        saved = json.loads((lab.root / rel).read_text(encoding="utf-8"))
        # The determinism test compares this run with strict nbval's (tests/notebook_runs.py).
        record(ipynb, "the browser test's run",
               [(c.source, c.outputs) for c in nbformat.read(lab.root / rel, as_version=4).cells
                if c.cell_type == "code"])
        code = [c for c in saved["cells"]
                if c["cell_type"] == "code" and "".join(c["source"]).strip()]
        errors = [(i, o.get("ename"), o.get("evalue")) for i, c in enumerate(code)
                  for o in c["outputs"] if o["output_type"] == "error"]
        assert not errors, f"{ipynb.name}: error outputs in JupyterLab: {errors}"
        unrun = [i for i, c in enumerate(code) if c["execution_count"] is None]
        assert not unrun, f"{ipynb.name}: code cells {unrun} did not run"
        n_widget_outputs = sum("application/vnd.jupyter.widget-view+json" in o.get("data", {})
                               for c in code for o in c["outputs"])

        text = page.inner_text(f"{NB} .jp-Notebook")
        bad = [t for t in WIDGET_FAILURE_TEXT if t in text]
        assert not bad, f"{ipynb.name}: widget failed to render: {bad}"
        panels = page.locator(f"{NB} .jp-OutputArea-output > .widget-vbox")
        assert panels.count() == n_widget_outputs, (
            f"{ipynb.name}: {n_widget_outputs} widget outputs but {panels.count()} rendered panels")

        # The README picture: the first slider panel as it first appears.
        if panels.count():
            first = panels.first
            first.scroll_into_view_if_needed()
            page.screenshot(path=str(SHOTS / f"{label}.png"), clip=_panel_clip(first))
        glyphs = _assert_cjk_glyphs(page, rel) if ipynb == ZH_NOTEBOOK else None

        moved = []
        for name in SLIDER_NAMES:
            sliders = _sliders(page, name)
            for k in range(sliders.count()):
                slider = sliders.nth(k)
                panel = slider.locator("xpath=ancestor::div[contains(@class,'widget-vbox')][1]")
                img = panel.locator(".widget-output img").first
                slider.scroll_into_view_if_needed()
                handle = slider.locator(".noUi-handle").first
                value0 = handle.get_attribute("aria-valuenow")
                src0 = img.get_attribute("src")
                before = img.screenshot(path=str(shots / f"{name}{k}-before.png"))
                at_max = float(value0) >= float(handle.get_attribute("aria-valuemax"))
                handle.focus()
                t_move = time.monotonic()
                handle.press("Home" if at_max else "End")
                page.wait_for_function(IMAGE_CHANGED_JS, arg=[panel.element_handle(), src0],
                                       timeout=REDRAW_S * 1000, polling=100)
                redraw_s = time.monotonic() - t_move
                value1 = handle.get_attribute("aria-valuenow")
                after = img.screenshot(path=str(shots / f"{name}{k}-after.png"))
                panel.screenshot(path=str(shots / f"{name}{k}-panel-after.png"))
                assert value1 != value0, f"{ipynb.name}: slider {name} did not move"
                a, b = _pixels(before), _pixels(after)
                changed = a.shape != b.shape or bool((abs(a - b) > 1e-6).any())
                assert changed, f"{ipynb.name}: moving {name} {value0} -> {value1} left the plot as it was"
                moved.append(f"{name}[{k}] {value0}->{value1} in {redraw_s:.2f} s")
        assert moved, (f"{ipynb.name}: no slider named any of {SLIDER_NAMES} rendered "
                       f"({panels.count()} panels)")
        assert not page_errors, f"{ipynb.name}: JavaScript errors: {page_errors}"
        print(f"{rel}: opened and ran in {run_s:.1f} s; moved {'; '.join(moved)}"
              + (f"; {len(glyphs['han'])} Chinese characters drawn in {glyphs['distinct']} shapes"
                 if glyphs else ""))
    except Exception:
        page.screenshot(path=str(shots / "failure.png"))
        raise
    finally:
        context.close()
        try:
            lab.shut_down_kernels()
        except Exception:  # noqa: BLE001 - the module teardown stops the server anyway
            pass


# --------------------------------------------------------------------------------------------
# The README pictures (no browser needed)
# --------------------------------------------------------------------------------------------

@pytest.mark.parametrize("ipynb", NOTEBOOKS, ids=lambda p: p.stem)
def test_readme_shows_a_small_screenshot_of_each_notebook(ipynb):
    png = README_SHOTS / f"{ipynb.stem}.png"
    assert png.exists(), f"{png.relative_to(ROOT)} is missing: run `make screenshots`"
    size = png.stat().st_size
    assert size < README_SHOT_MAX_BYTES, f"{png.name} is {size} bytes"
    assert f"docs/screenshots/{png.name}" in (ROOT / "README.md").read_text(), (
        f"README.md does not show docs/screenshots/{png.name}")
