"""The notebooks as users meet them: JupyterLab in a real (headless) Chromium.

For every ``notebooks/NN_*.ipynb`` this test opens the notebook in JupyterLab, clears the stored
outputs, runs all cells from the Run menu, waits for the kernel to go idle, saves, and checks
that no cell failed and every widget rendered. Then it moves each ``sigma`` and ``c`` slider
with the keyboard (End, or Home at the end of the range), as a reader would, and checks that the
figure next to the slider is redrawn: the ``<img>`` source changes and the pixels differ.

The server listens on 127.0.0.1 on a free port with a random token, serves a temporary copy of
the notebooks (nothing in the repository is written) and is shut down after the module, also
when a test fails. Screenshots go to ``screenshots/`` (git-ignored); ``screenshots/NN_*.png`` is
the first slider panel of each notebook, which ``make screenshots`` copies to
``docs/screenshots/`` for the README.

Chromium is Debian's ``/usr/bin/chromium`` (``CHROMIUM=/path`` overrides); Playwright never
downloads a browser here. Without Chromium the test skips, unless ``REQUIRE_BROWSER_TEST=1``
(set by ``.ci/run``), which turns the skip into a failure.
"""

from __future__ import annotations

import io
import json
import os
import re
import shutil
import signal
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request
from pathlib import Path

import pytest
from notebook_runner import CELL_TIMEOUT_S, describe_cell

ROOT = Path(__file__).resolve().parent.parent
NOTEBOOKS = sorted((ROOT / "notebooks").glob("[0-9][0-9]_*.ipynb"))
SHOTS = ROOT / "screenshots"
README_SHOTS = ROOT / "docs" / "screenshots"
CHROMIUM = os.environ.get("CHROMIUM", "/usr/bin/chromium")
REQUIRED = os.environ.get("REQUIRE_BROWSER_TEST", "") not in ("", "0")
CHROMIUM_ARGS = ["--no-sandbox", "--disable-background-networking", "--disable-gpu",
                 "--disable-dev-shm-usage",  # containers often have a 64 MB /dev/shm
                 "--disable-component-update", "--disable-sync", "--no-first-run"]
SLIDER_NAMES = ("sigma", "c", "t")  # the sliders the notebooks' stories turn on (t: 05's chain)
README_SHOT_MAX_BYTES = 150_000

# Generous: two shared cores, and notebooks 02-05 train small models (15-30 s each when alone).
# Running cells share tools/notebook_runner.py's per-cell deadline (CELL_TIMEOUT_S).
SERVER_START_S = 120
OPEN_S = 120
REDRAW_S = 60


def _missing(reason):
    if REQUIRED:
        pytest.fail(f"{reason} (REQUIRE_BROWSER_TEST is set, so this is a failure)", pytrace=False)
    pytest.skip(f"{reason}: browser test skipped")


# --------------------------------------------------------------------------------------------
# JupyterLab server and browser
# --------------------------------------------------------------------------------------------

def _free_port():
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _port_open(port):
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.settimeout(0.5)
        return s.connect_ex(("127.0.0.1", port)) == 0


class Lab:
    """A JupyterLab server on 127.0.0.1 serving a temporary copy of the notebooks."""

    def __init__(self, workdir: Path):
        import secrets

        self.workdir = workdir
        self.root = workdir / "notebooks"
        self.root.mkdir()
        for nb in NOTEBOOKS:
            shutil.copy2(nb, self.root / nb.name)
        config = workdir / "config"
        settings = config / "lab" / "user-settings" / "@jupyterlab"
        self._write(config / "labconfig" / "page_config.json",  # no "news?" pop-up
                    {"disabledExtensions": {"@jupyterlab/apputils-extension:announcements": True}})
        # Render every cell (no virtual scrolling) so the test sees them all; never autosave.
        self._write(settings / "notebook-extension" / "tracker.jupyterlab-settings",
                    {"windowingMode": "none"})
        self._write(settings / "docmanager-extension" / "plugin.jupyterlab-settings",
                    {"autosave": False})
        self.port = _free_port()
        self.token = secrets.token_hex(24)
        self.url = f"http://127.0.0.1:{self.port}"
        env = dict(os.environ, JUPYTER_CONFIG_DIR=str(config),
                   JUPYTER_RUNTIME_DIR=str(workdir / "runtime"))
        env.pop("MPLBACKEND", None)  # the kernel should see what a user's kernel sees
        cmd = [sys.executable, "-m", "jupyterlab", "--no-browser", "--ip=127.0.0.1",
               f"--port={self.port}", "--port-retries=0",
               f"--IdentityProvider.token={self.token}",
               f"--ServerApp.root_dir={self.root}",
               "--LabApp.extension_manager=readonly",
               f"--LabApp.user_settings_dir={config / 'lab' / 'user-settings'}",
               f"--LabApp.workspaces_dir={workdir / 'workspaces'}"]
        if hasattr(os, "geteuid") and os.geteuid() == 0:
            cmd.append("--allow-root")
        self.log_path = workdir / "jupyterlab.log"
        self._log = open(self.log_path, "wb")
        self.proc = subprocess.Popen(cmd, cwd=self.root, env=env, stdout=self._log,
                                     stderr=subprocess.STDOUT, start_new_session=True)

    @staticmethod
    def _write(path, obj):
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(json.dumps(obj))

    def log_tail(self, n=40):
        text = self.log_path.read_text(errors="replace").splitlines()
        return "\n".join(text[-n:])

    def api(self, path, method="GET"):
        req = urllib.request.Request(self.url + path, method=method,
                                     headers={"Authorization": f"token {self.token}"})
        with urllib.request.urlopen(req, timeout=10) as r:
            body = r.read()
        return json.loads(body) if body else None

    def wait_ready(self):
        deadline = time.monotonic() + SERVER_START_S
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                raise RuntimeError(f"JupyterLab exited with {self.proc.returncode}:\n"
                                   f"{self.log_tail()}")
            try:
                self.api("/api/status")
                return
            except (urllib.error.URLError, ConnectionError, OSError):
                time.sleep(0.5)
        raise RuntimeError(f"JupyterLab did not answer within {SERVER_START_S} s:\n"
                           f"{self.log_tail()}")

    def shut_down_kernels(self):
        for session in self.api("/api/sessions"):
            self.api(f"/api/sessions/{session['id']}", method="DELETE")

    def stop(self):
        """Shut the server (and its kernels) down; escalate to signals if it does not go."""
        try:
            if self.proc.poll() is None:
                try:
                    self.api("/api/shutdown", method="POST")
                except Exception:  # noqa: BLE001 - fall through to signals
                    pass
                try:
                    self.proc.wait(timeout=30)
                except subprocess.TimeoutExpired:
                    pass
            for sig in (signal.SIGTERM, signal.SIGKILL):
                if self.proc.poll() is not None:
                    break
                os.killpg(self.proc.pid, sig)  # the group this test started, nothing else
                try:
                    self.proc.wait(timeout=15)
                except subprocess.TimeoutExpired:
                    pass
        finally:
            self._log.close()


@pytest.fixture(scope="module")
def chromium_path():
    if not (os.path.isfile(CHROMIUM) and os.access(CHROMIUM, os.X_OK)):
        _missing(f"Chromium not found at {CHROMIUM} (Debian: apt-get install chromium; "
                 f"or set CHROMIUM=/path/to/chromium)")
    try:
        import playwright.sync_api  # noqa: F401
    except ImportError:
        _missing("the playwright Python package is not installed (pip install -e '.[dev]')")
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
        assert not _port_open(server.port), f"port {server.port} still open after shut-down"


# --------------------------------------------------------------------------------------------
# Driving JupyterLab
# --------------------------------------------------------------------------------------------

def _menu(page, menu, item):
    page.locator(".lm-MenuBar-itemLabel").filter(has_text=re.compile(rf"^{menu}$")).click()
    page.locator(".lm-Menu-itemLabel").filter(has_text=re.compile(rf"^{item}$")).click()


NB = ".jp-NotebookPanel:not(.lm-mod-hidden)"  # the notebook on show
KERNEL_IDLE_JS = """() => Array.from(document.querySelectorAll('.jp-StatusBar-TextItem'))
    .some(e => /\\| Idle$/.test(e.textContent.trim()))"""

# Done when the run has started (first code cell numbered), nothing is queued or running ([*])
# and the notebook's kernel indicator says idle. A failing cell stops Run All: later cells stay
# unnumbered, which the test reports.
RUN_FINISHED_JS = """() => {
  const prompts = Array.from(document.querySelectorAll(
      '%s .jp-CodeCell .jp-InputPrompt'));
  const ind = document.querySelector('%s .jp-Notebook-ExecutionIndicator');
  return prompts.length > 0 && /\\[\\d+\\]/.test(prompts[0].textContent)
      && !prompts.some(p => p.textContent.includes('*'))
      && ind && ind.dataset.status === 'idle';
}""" % (NB, NB)

WIDGET_FAILURE_TEXT = ("Error displaying widget", "Loading widget...", "Failed to load model",
                       "Error rendering", "Could not create view")

IMAGE_CHANGED_JS = """([panel, before]) => {
  const img = panel.querySelector('.widget-output img');
  return img && img.complete && img.naturalWidth > 0 && img.getAttribute('src') !== before;
}"""


def _prompts(page):
    return page.eval_on_selector_all(f"{NB} .jp-CodeCell .jp-InputPrompt",
                                     "els => els.map(e => e.textContent.trim())")


FIRST_RUNNING_JS = """() => Array.from(document.querySelectorAll(
    '%s .jp-CodeCell .jp-InputPrompt')).findIndex(p => p.textContent.includes('*'))""" % NB


def _wait_for_run_all(page, name, cells):
    """Wait until Run All has finished; no cell may run longer than CELL_TIMEOUT_S.

    A cell that overruns fails the test with the notebook, the cell index and its first line, as
    every other notebook runner in this project does (tools/notebook_runner.py).
    """
    code = [(i, c) for i, c in enumerate(cells) if c["cell_type"] == "code"]
    running, since = None, time.monotonic()
    while not page.evaluate(RUN_FINISHED_JS):
        now = page.evaluate(FIRST_RUNNING_JS)
        if now != running:
            running, since = now, time.monotonic()
        elif time.monotonic() - since > CELL_TIMEOUT_S:
            if running is None or running < 0:
                pytest.fail(f"{name}: Run All made no progress for {CELL_TIMEOUT_S} s "
                            "with no cell running (kernel not idle?)")
            index, cell = code[running]
            pytest.fail(f"{describe_cell(name, index, cell['source'])}: still running after "
                        f"{CELL_TIMEOUT_S} s in JupyterLab (cell timeout)")
        page.wait_for_timeout(250)


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


def _sliders(page, name):
    """Every rendered slider whose description is exactly ``name``."""
    return page.locator(f"{NB} .widget-slider").filter(
        has=page.locator(f"xpath=./label[normalize-space(.)='{name}']"))


@pytest.mark.parametrize("ipynb", NOTEBOOKS, ids=lambda p: p.stem)
def test_notebook_runs_in_jupyterlab_and_its_sliders_redraw(lab, browser, ipynb):
    shots = SHOTS / ipynb.stem
    shutil.rmtree(shots, ignore_errors=True)
    shots.mkdir(parents=True)
    stored = json.loads(ipynb.read_text())
    n_cells = len(stored["cells"])
    context = browser.new_context(viewport={"width": 1400, "height": 1000})
    page = context.new_page()
    page_errors = []
    page.on("pageerror", lambda e: page_errors.append(str(e)))
    t0 = time.monotonic()
    try:
        # A fresh workspace per notebook, so no tab of an earlier notebook is restored.
        page.goto(f"{lab.url}/lab/workspaces/{ipynb.stem}/tree/{ipynb.name}"
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

        _menu(page, "Edit", "Clear Outputs of All Cells")
        assert all(p in ("[ ]:", "[ ]") for p in _prompts(page)), _prompts(page)
        _menu(page, "Run", "Run All Cells")
        _wait_for_run_all(page, ipynb.name, stored["cells"])
        page.wait_for_timeout(500)  # let late display messages and widget views land
        _wait_for_run_all(page, ipynb.name, stored["cells"])
        run_s = time.monotonic() - t0
        page.screenshot(path=str(shots / "after-run-all.png"))

        # What the browser holds, saved to the temporary copy: no error, every cell ran.
        _menu(page, "File", "Save Notebook")
        page.wait_for_function("() => !document.querySelector('.jp-mod-dirty')",
                               timeout=30_000)
        saved = json.loads((lab.root / ipynb.name).read_text())
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
            page.screenshot(path=str(SHOTS / f"{ipynb.stem}.png"), clip=_panel_clip(first))

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
        print(f"{ipynb.name}: opened and ran in {run_s:.1f} s; moved {'; '.join(moved)}")
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
