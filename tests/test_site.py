"""The course website (``make site``, tools/website.py), as a reader meets it: Chromium, offline.

Two kinds of tests:

- Without a build: the kernel-free sliders' grid (``slider_values``, ``choose_grid``), the
  panels found in the kernel's output history (``website.built_panels``), clear errors on bad input,
  and the GitHub Pages workflow, whose commands must be the ones ``make site`` runs.
- On the built site (``build/site``): for every page in both languages, served from 127.0.0.1,
  no console error and no request leaving the site, every image loaded, every formula typeset by
  MathJax (no raw ``$`` or ``\\frac`` left in the text), real CJK glyphs on the Chinese pages, the
  language switch landing on the twin page, every kernel-free slider changing its frame when moved
  by keyboard, no serious or critical axe-core violation, and the page under 5 MB. A last test runs
  notebooks in a kernel and checks that the frames equal the live panel's figures.

``make test-site`` builds the site first and sets ``REQUIRE_SITE_TEST=1``, which turns these
tests on; a missing site, Chromium or axe-core is then a failure. Under ``make test`` only the
first kind runs (the second takes about five minutes and is its own CI stage).
"""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
from pathlib import Path

import pytest

import website
from jupyterlab_browser import CHROMIUM, CHROMIUM_ARGS
from project import NOTEBOOKS, notebook_paths

ROOT = Path(__file__).resolve().parent.parent
REQUIRED = os.environ.get("REQUIRE_SITE_TEST", "") not in ("", "0")
AXE = ROOT / "site" / "node_modules" / "axe-core" / "axe.min.js"
WORKFLOW = ROOT / ".github" / "workflows" / "pages.yml"
STEMS = [p.stem for p in notebook_paths(".ipynb")]
PAGES = [f"{lang}/{stem}.html" for lang in website.LANGS
         for stem in ["index", *STEMS, "search", "genindex"]]
LOAD_S = 60
# Frames against the live panel, every frame: 01 (float and int sliders), 02 (log sliders) and
# 05 (three panels in one notebook).
FRAME_CHECK_NOTEBOOKS = ("01_generative_models", "02_evidence", "05_diffusion")


def _missing(reason):
    if REQUIRED:
        pytest.fail(f"{reason} (REQUIRE_SITE_TEST is set, so this is a failure)", pytrace=False)
    pytest.skip(f"{reason}: site test skipped (make test-site runs it)")


# --------------------------------------------------------------------------------------------
# No build needed
# --------------------------------------------------------------------------------------------

def test_slider_values_follow_the_widgets_steps():
    assert website.slider_values("int", 100, 500, 100) == [100, 200, 300, 400, 500]
    assert website.slider_values("float", -0.2, 0.2, 0.1) == [-0.2, -0.1, 0.0, 0.1, 0.2]
    assert website.slider_values("log", -2, 0, 1) == [0.01, 0.1, 1.0]


@pytest.mark.parametrize("args", [("cubic", 0, 1, 1), ("int", 0, 1, 0), ("float", 1, 0, 0.1),
                                  ("float", 0, 1, float("nan"))])
def test_slider_values_reject_bad_input_clearly(args):
    with pytest.raises(ValueError, match="kind|step"):
        website.slider_values(*args)


def test_grid_keeps_all_combinations_when_small_and_the_start_values_always():
    assert website.choose_grid([[1, 2], [3, 4, 5]], [0, 1], 6) == [[0, 1], [0, 1, 2]]
    grid = website.choose_grid([list(range(61)), list(range(29)), list(range(200))],
                               [30, 8, 19], 150)
    assert grid[1] == [0, 8, 28] and grid[2] == [0, 19, 199]
    assert 30 in grid[0] and len(grid[0]) * 9 <= 150 + 9
    tight = website.choose_grid([list(range(61)), list(range(29))], [30, 8], 8)
    assert tight[1] == [8] and 30 in tight[0]
    with pytest.raises(ValueError, match="start"):
        website.choose_grid([[1, 2]], [0, 1], 4)
    with pytest.raises(ValueError, match="max_frames"):
        website.choose_grid([[1, 2]], [0], 0)


def test_markdown_is_staged_so_that_myst_parses_it_as_jupyterlab_shows_it():
    md = website.markdown_for_sphinx
    # 05 section 4: a formula whose second line starts with "-" is one formula, not a list
    assert md("give\n$$a_{q}\n   - b_{x}$$\n") == "give\n$$a_{q} - b_{x}$$\n"
    # a tagged multi-line formula is not wrapped in split
    staged = md("$$\n\\begin{aligned} a &= b \\\\ c &= d \\end{aligned} \\tag{2.4}\n$$")
    assert "\\begin{equation*}" in staged and "$$" not in staged
    assert md("$$x = 1 \\tag{1}$$") == "$$x = 1 \\tag{1}$$"  # one line: left alone
    # maths inside <summary>, and text right after </details>
    staged = md("<details><summary>On $c$</summary>\ntext\n</details>\n**b**")
    assert '<span class="math notranslate nohighlight">\\(c\\)</span>' in staged
    assert "</summary>\n\ntext" in staged and "</details>\n\n**b**" in staged


def test_the_panels_are_found_in_the_output_history_in_the_order_they_ran(monkeypatch):
    pytest.importorskip("ipywidgets")
    import types

    import IPython
    import matplotlib.pyplot as plt

    from helpers.widgets import float_slider, slider_panel

    def plot(a, offset):
        fig, ax = plt.subplots()
        ax.plot([0, 1], [offset, a])
        return fig

    first = slider_panel(plot, float_slider("a", 0.5, 0.0, 1.0, 0.1), offset=1.0)
    second = slider_panel(plot, float_slider("a", 0.2, 0.0, 1.0, 0.1), offset=0.0)
    shell = types.SimpleNamespace(user_ns={"Out": {7: second, 2: plot(0.1, 0.0), 3: first,
                                                   5: "text"}})
    monkeypatch.setattr(IPython, "get_ipython", lambda: shell)
    assert website.built_panels() == [first, second]
    plt.close("all")


def test_frames_of_an_unknown_notebook_are_a_clear_error():
    run = subprocess.run([sys.executable, str(ROOT / "tools" / "website.py"), "frames",
                          "99_nothing"], capture_output=True, text=True, timeout=60)
    assert run.returncode != 0 and "99_nothing" in run.stderr, run.stderr


def _make_site_commands():
    """The commands ``make -n site`` would run (as if nothing were installed yet)."""
    run = subprocess.run(["make", "-n", "-B", "site"], cwd=ROOT, capture_output=True, text=True,
                         timeout=60)
    assert run.returncode == 0, run.stderr
    return run.stdout


def test_pages_workflow_runs_what_make_site_runs():
    yaml = pytest.importorskip("yaml")
    flow = yaml.safe_load(WORKFLOW.read_text(encoding="utf-8"))
    steps = [s for job in flow["jobs"].values() for s in job.get("steps", [])]
    runs = [s["run"].strip() for s in steps if "run" in s]
    assert runs == ["make site"], f"the workflow must build with make site alone, not {runs}"
    uploads = [s for s in steps if str(s.get("uses", "")).startswith(
        "actions/upload-pages-artifact")]
    assert len(uploads) == 1
    site_dir = re.search(r"^SITE_DIR\s*:=\s*(\S+)", (ROOT / "Makefile").read_text(), re.M).group(1)
    assert uploads[0]["with"]["path"] == site_dir == website.OUT.relative_to(ROOT).as_posix()
    dry = _make_site_commands()
    assert "tools/website.py build" in dry and "npm ci --prefix site" in dry, dry
    assert '.[lab,docs]' in dry, dry


# --------------------------------------------------------------------------------------------
# The built site, statically
# --------------------------------------------------------------------------------------------

@pytest.fixture(scope="module")
def built():
    if not REQUIRED:  # about five minutes: its own CI stage, not part of make test
        pytest.skip("the built site is tested by make test-site (REQUIRE_SITE_TEST=1)")
    if not (website.OUT / "en" / "index.html").exists():
        _missing(f"{website.OUT.relative_to(ROOT)} is not built (make site)")
    return website.OUT


def test_every_notebook_has_a_page_and_a_download_in_both_languages(built):
    for lang in website.LANGS:
        for stem in STEMS:
            assert (built / lang / f"{stem}.html").exists(), f"{lang}/{stem}.html missing"
            assert (built / lang / "ipynb" / f"{stem}.ipynb").exists()
        assert (built / lang / "search.html").exists()
    for stem in STEMS:
        zh = NOTEBOOKS / "zh" / f"{stem}.ipynb"
        assert (built / "zh" / "ipynb" / zh.name).read_bytes() == zh.read_bytes()


def test_page_and_site_weight(built):
    weights = website.page_weights(built)
    heavy = {p: w for p, w in weights.items() if w >= website.PAGE_LIMIT}
    assert not heavy, f"pages over {website.PAGE_LIMIT / 1e6} MB: {heavy}"
    assert website.site_size(built) < website.SITE_LIMIT


def test_launch_links_are_the_readme_badges(built):
    readme = (ROOT / "README.md").read_text(encoding="utf-8")
    for stem in STEMS:
        page = (built / "en" / f"{stem}.html").read_text(encoding="utf-8")
        colab = re.search(r'class="launch-colab" href="([^"]+)"', page).group(1)
        binder = re.search(r'class="launch-binder" href="([^"]+)"', page).group(1)
        assert f"({colab})" in readme and f"({binder.replace('&amp;', '&')})" in readme


# --------------------------------------------------------------------------------------------
# The built site in Chromium
# --------------------------------------------------------------------------------------------

@pytest.fixture(scope="module")
def server(built):
    with website.serve(built) as url:
        yield url


@pytest.fixture(scope="module")
def browser():
    if not (os.path.isfile(CHROMIUM) and os.access(CHROMIUM, os.X_OK)):
        _missing(f"Chromium not found at {CHROMIUM} (apt-get install chromium)")
    try:
        from playwright.sync_api import sync_playwright
    except ImportError:
        _missing("the playwright Python package is not installed (pip install -e '.[test]')")
    if not AXE.exists():
        _missing(f"axe-core is not installed at {AXE.relative_to(ROOT)} (npm ci --prefix site)")
    pw = sync_playwright().start()
    try:
        b = pw.chromium.launch(executable_path=CHROMIUM, headless=True, args=CHROMIUM_ARGS,
                               timeout=LOAD_S * 1000)
        yield b
        b.close()
    finally:
        pw.stop()


def _open(browser, server, path):
    """Open ``path``; return (page, problems list, bytes loaded list) with every request watched."""
    context = browser.new_context(viewport={"width": 1280, "height": 900})
    context.set_default_timeout(LOAD_S * 1000)
    problems, loaded = [], []

    def route(r):
        if r.request.url.startswith(server):
            r.continue_()
        else:
            problems.append(f"request leaving the site: {r.request.url}")
            r.abort()

    context.route("**/*", route)
    page = context.new_page()
    page.on("console", lambda m: m.type == "error" and problems.append(f"console: {m.text}"))
    page.on("pageerror", lambda e: problems.append(f"page error: {e}"))
    page.on("requestfailed", lambda r: r.url.startswith(server) and problems.append(
        f"failed: {r.url} ({r.failure})"))
    page.on("response", lambda r: r.status >= 400 and problems.append(f"{r.status}: {r.url}"))
    page.goto(f"{server}/{path}", wait_until="load")
    if page.locator("script[src*='mathjax']").count():  # pages with maths only
        page.wait_for_function("() => window.MathJax && MathJax.startup && "
                               "MathJax.startup.promise", timeout=LOAD_S * 1000)
        page.evaluate("() => MathJax.startup.promise")
    return context, page, problems


MATH_JS = """() => {
  const math = Array.from(document.querySelectorAll('.math'));
  const raw = math.filter(m => !m.querySelector('mjx-container'));
  return {count: math.length, raw: raw.slice(0, 5).map(m => m.textContent.slice(0, 80)),
          errors: document.querySelectorAll('mjx-merror').length};
}"""
VISIBLE_TEXT_JS = """() => {
  const clone = (document.querySelector('article') || document.querySelector('main')).cloneNode(true);
  clone.querySelectorAll('pre, code, script, style, mjx-container, .highlight, .output')
       .forEach(e => e.remove());
  return clone.textContent;
}"""
IMAGES_JS = """async () => {
  const imgs = Array.from(document.images);
  imgs.forEach(i => { i.loading = 'eager'; });
  await Promise.all(imgs.map(i => i.complete ? null : i.decode().catch(() => null)));
  return imgs.filter(i => !(i.complete && i.naturalWidth > 0)).map(i => i.src);
}"""
WEIGHT_JS = """() => {
  const nav = performance.getEntriesByType('navigation')[0];
  return performance.getEntriesByType('resource').reduce((s, r) => s + r.decodedBodySize,
                                                          nav ? nav.decodedBodySize : 0);
}"""
FRAME_JS = """(panel) => new Promise(r => requestAnimationFrame(() => {
  const img = panel.querySelector('img.kf-frame');
  r({src: img.getAttribute('src'), complete: img.complete && img.naturalWidth > 0,
     frame: panel.dataset.frame});
}))"""


@pytest.mark.parametrize("path", PAGES)
def test_page_in_chromium(browser, server, path):
    from test_browser import CJK_GLYPHS_JS

    context, page, problems = _open(browser, server, path)
    try:
        missing = page.evaluate(IMAGES_JS)
        assert not missing, f"{path}: images not loaded: {missing}"

        math = page.evaluate(MATH_JS)
        assert not math["raw"] and not math["errors"], f"{path}: untypeset maths {math}"
        if path.split("/")[1] not in ("index.html", "search.html", "genindex.html"):
            assert math["count"] > 0, f"{path}: no formula found to typeset"
        text = page.evaluate(VISIBLE_TEXT_JS)
        for raw in ("$", "\\frac", "\\(", "\\["):
            at = text.find(raw)
            assert at < 0, f"{path}: raw {raw!r} in the visible text: ...{text[at - 60:at + 60]}..."

        lang, name = path.split("/")
        if lang == "zh":
            # the page's heading, or on genindex (whose heading Sphinx leaves in English) a link
            got = page.locator("main h1, nav a").filter(
                has_text=re.compile("[\u4e00-\u9fff]{2}")).first.evaluate(CJK_GLYPHS_JS)
            assert len(got["han"]) >= 2 and got["likeMissing"] == 0 and got["distinct"] >= 2, (
                f"{path}: the heading's Chinese is drawn as missing-glyph boxes: {got}")

        for panel in page.locator(".kf-panel").all():
            panel.scroll_into_view_if_needed()
            for slider in panel.locator("input.kf-range").all():
                if slider.get_attribute("max") == "0":
                    continue
                before = panel.evaluate(FRAME_JS)
                slider.focus()
                key = "Home" if slider.input_value() == slider.get_attribute("max") else "End"
                page.keyboard.press(key)
                after = panel.evaluate(FRAME_JS)  # one animation frame after the key press
                assert after["src"] != before["src"] and after["complete"], (
                    f"{path}: slider {slider.get_attribute('id')} did not swap its frame within "
                    f"one animation frame: {before} -> {after}")
                page.keyboard.press("ArrowLeft" if key == "End" else "ArrowRight")
                assert panel.evaluate(FRAME_JS)["src"] != after["src"]
                # and the mouse: a click at the track's far left end picks the first value
                box = slider.bounding_box()
                if slider.input_value() != "0":
                    before = panel.evaluate(FRAME_JS)
                    page.mouse.click(box["x"] + 2, box["y"] + box["height"] / 2)
                    assert slider.input_value() == "0", f"{path}: a click did not move the slider"
                    assert panel.evaluate(FRAME_JS)["src"] != before["src"]

        weight = page.evaluate(WEIGHT_JS)
        assert weight < website.PAGE_LIMIT, f"{path} loads {weight / 1e6:.2f} MB"

        page.add_script_tag(path=str(AXE))
        violations = page.evaluate("""async () => (await axe.run(document, {resultTypes:
            ['violations']})).violations.filter(v => ['serious', 'critical'].includes(v.impact))
            .map(v => ({id: v.id, impact: v.impact, help: v.help,
                        nodes: v.nodes.slice(0, 3).map(n => n.target.join(' '))}))""")
        assert not violations, f"{path}: axe-core: {json.dumps(violations, indent=1)}"

        twin = ("zh" if lang == "en" else "en") + "/" + name
        page.locator("a.lang-switch").first.click()
        page.wait_for_load_state("load")
        assert page.url == f"{server}/{twin}", f"{path}: the language switch led to {page.url}"
        assert not problems, f"{path}: " + "\n".join(problems)
    finally:
        context.close()


# --------------------------------------------------------------------------------------------
# Frames against the live panel, in a kernel
# --------------------------------------------------------------------------------------------

@pytest.mark.parametrize("stem", FRAME_CHECK_NOTEBOOKS)
def test_frames_equal_the_live_panel(built, stem):
    frames = website.FRAMES / stem
    if not (frames / "manifest.json").exists():
        _missing(f"no frames for {stem} (make site)")
    for f in frames.glob("*.webp"):  # the site serves the cached frames unchanged
        assert (built / "frames" / stem / f.name).read_bytes() == f.read_bytes()
    out = website.run_in_kernel(NOTEBOOKS / f"{stem}.ipynb",
                                website.kernel_cells(frames, check_samples="all"))
    assert "FRAME-CHECK" in out, f"{stem}: the check printed nothing: {out!r}"
    problems = json.loads(out.split("FRAME-CHECK", 1)[1])
    assert not problems, f"{stem}: " + "\n".join(problems)


@pytest.mark.parametrize("lang, word", [("en", "ELBO"), ("zh", "ELBO")])
def test_search_finds_the_notebooks(browser, server, lang, word):
    context, page, problems = _open(browser, server, f"{lang}/search.html?q={word}")
    try:
        page.wait_for_function(
            "() => document.querySelectorAll('#search-results li').length > 0",
            timeout=LOAD_S * 1000)
        hits = page.locator("#search-results li a").evaluate_all("as => as.map(a => a.href)")
        assert any("03_elbo.html" in h for h in hits), f"{lang}: search for {word}: {hits}"
        assert not problems, "\n".join(problems)
    finally:
        context.close()
