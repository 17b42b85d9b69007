"""JupyterLab in headless Chromium, as the browser test and the latency benchmark both drive it.

``tests/test_browser.py`` (does every notebook run in JupyterLab, does every slider redraw?) and
``benchmarks/browser_latency.py`` (how long from key press to new picture?) start the same
server and drive the same pages; this module is what they share:

- ``Lab``: a JupyterLab server on 127.0.0.1, on a free port, with a random token, serving a
  temporary copy of the notebooks (the Chinese ones in ``zh/``, as in the repository), with
  every wait bounded and a ``stop`` that always ends it;
- ``CHROMIUM`` and ``CHROMIUM_ARGS``: Debian's Chromium (Playwright never downloads a browser
  here) and the flags this machine's closed network needs;
- ``menu``, ``prompts``, ``wait_for_run_all`` and the selectors and scripts they use.
"""

from __future__ import annotations

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

from notebook_runner import CELL_TIMEOUT_S, NotebookRunError, describe_cell
from project import NOTEBOOKS, notebook_paths

CHROMIUM = os.environ.get("CHROMIUM", "/usr/bin/chromium")
CHROMIUM_ARGS = ["--no-sandbox", "--disable-background-networking", "--disable-gpu",
                 "--disable-dev-shm-usage",  # containers often have a 64 MB /dev/shm
                 "--disable-component-update", "--disable-sync", "--no-first-run"]
# Generous: two shared cores, and notebooks 02-05 train small models (15-30 s each when alone).
# Running cells share tools/notebook_runner.py's per-cell deadline (CELL_TIMEOUT_S).
SERVER_START_S = 120
OPEN_S = 120


def free_port():
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def port_open(port):
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
        for nb in notebook_paths(".ipynb") + notebook_paths(".ipynb", NOTEBOOKS / "zh"):
            target = self.root / nb.relative_to(NOTEBOOKS)  # notebooks/zh/x -> root/zh/x
            target.parent.mkdir(exist_ok=True)
            shutil.copy2(nb, target)
        config = workdir / "config"
        settings = config / "lab" / "user-settings" / "@jupyterlab"
        self._write(config / "labconfig" / "page_config.json",  # no "news?" pop-up
                    {"disabledExtensions": {"@jupyterlab/apputils-extension:announcements": True}})
        # Render every cell (no virtual scrolling) so the test sees them all; never autosave.
        self._write(settings / "notebook-extension" / "tracker.jupyterlab-settings",
                    {"windowingMode": "none"})
        self._write(settings / "docmanager-extension" / "plugin.jupyterlab-settings",
                    {"autosave": False})
        self.port = free_port()
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


def menu(page, name, item):
    """Click ``item`` in JupyterLab's menu ``name`` (e.g. "Run", "Run All Cells")."""
    page.locator(".lm-MenuBar-itemLabel").filter(has_text=re.compile(rf"^{name}$")).click()
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


def prompts(page):
    return page.eval_on_selector_all(f"{NB} .jp-CodeCell .jp-InputPrompt",
                                     "els => els.map(e => e.textContent.trim())")


FIRST_RUNNING_JS = """() => Array.from(document.querySelectorAll(
    '%s .jp-CodeCell .jp-InputPrompt')).findIndex(p => p.textContent.includes('*'))""" % NB


def wait_for_run_all(page, name, cells):
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
                raise NotebookRunError(f"{name}: Run All made no progress for {CELL_TIMEOUT_S} s "
                                       "with no cell running (kernel not idle?)")
            index, cell = code[running]
            raise NotebookRunError(f"{describe_cell(name, index, cell['source'])}: still running "
                                   f"after {CELL_TIMEOUT_S} s in JupyterLab (cell timeout)")
        page.wait_for_timeout(250)
