"""Each notebook in a fresh kernel: wall time, the kernel's peak memory, and slider latency.

For every ``notebooks/NN_*.ipynb`` (found by pattern, so new notebooks join automatically):

1. start a fresh ``python3`` kernel in ``notebooks/`` (as ``tools/execute_notebooks.py`` does)
   and time the kernel start and the code cells, run top to bottom;
2. read the kernel process's peak resident memory (``VmHWM``, the high-water mark of its RSS)
   straight after the last cell, before anything else runs in it;
3. in the same kernel, run ``slider_latency.measure_namespace`` on the notebook's live state: it
   finds every ``slider_panel`` the notebook displayed and times 50 redraws per slider.

The notebook's own cells are run unchanged: nothing is injected before or between them.
"""

from __future__ import annotations

import ast
import json
import time
from pathlib import Path

import sys

import nbformat

ROOT = Path(__file__).resolve().parent.parent
NOTEBOOKS = ROOT / "notebooks"
BENCH = Path(__file__).resolve().parent
sys.path.insert(0, str(ROOT / "tools"))
from notebook_runner import bounded_client  # noqa: E402
from project import notebook_paths  # noqa: E402, F401 - the one notebook glob

MARKER = "BENCH-SLIDER-JSON:"


def count_slider_panels(nb):
    """How many ``slider_panel(...)`` calls the notebook's code cells make (parsed, not run)."""
    n = 0
    for cell in nb.cells:
        if cell.cell_type != "code":
            continue
        try:
            tree = ast.parse(cell.source)
        except SyntaxError:  # IPython magics; such a cell holds no panel in this project
            continue
        for node in ast.walk(tree):
            if isinstance(node, ast.Call):
                f = node.func
                name = f.id if isinstance(f, ast.Name) else getattr(f, "attr", None)
                n += name == "slider_panel"
    return n


def _vm_hwm_bytes(pid):
    """Peak resident set size of a process (Linux ``VmHWM``), in bytes."""
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmHWM:"):
            return int(line.split()[1]) * 1024
    raise RuntimeError(f"no VmHWM for pid {pid}")


def _kernel_tree_peak_bytes(pid):
    """VmHWM of the kernel plus any child processes it left running (normally none)."""
    total = _vm_hwm_bytes(pid)
    try:
        import psutil

        for child in psutil.Process(pid).children(recursive=True):
            try:
                total += _vm_hwm_bytes(child.pid)
            except (OSError, RuntimeError):
                pass
    except ImportError:
        pass
    return total


def _cpu_seconds(pid):
    """User + system CPU seconds the kernel has used so far (all its threads), or None."""
    try:
        import psutil

        t = psutil.Process(pid).cpu_times()
        return t.user + t.system
    except (ImportError, OSError):
        return None


def _latency_cell(n_updates):
    src = (f"import sys as _s, json as _j\n_s.path.insert(0, {str(BENCH)!r})\n"
           f"import slider_latency as _sl\n"
           f"print({MARKER!r} + _j.dumps(_sl.measure_namespace(globals(), n_updates={n_updates})))")
    return nbformat.v4.new_code_cell(src)


def run_notebook(path, n_updates=50, measure_sliders=True):
    """Run one notebook in a fresh kernel; return its timings, peak memory and slider latencies."""
    path = Path(path)
    nb = nbformat.read(path, as_version=4)
    client = bounded_client(nb, path.name, NOTEBOOKS, record_timing=False)
    client.reset_execution_trackers()
    t0 = time.perf_counter()
    with client.setup_kernel():
        t_kernel = time.perf_counter() - t0
        pid = client.km.provisioner.process.pid
        t1 = time.perf_counter()
        for index, cell in enumerate(nb.cells):
            client.execute_cell(cell, index)
        t_cells = time.perf_counter() - t1
        peak = _kernel_tree_peak_bytes(pid)
        cpu = _cpu_seconds(pid)
        sliders = []
        if measure_sliders:
            cell = _latency_cell(n_updates)
            nb.cells.append(cell)
            client.execute_cell(cell, len(nb.cells) - 1)
            text = "".join(o.get("text", "") for o in cell.outputs if o.output_type == "stream")
            line = next(l for l in text.splitlines() if l.startswith(MARKER))
            sliders = json.loads(line[len(MARKER):])
            expected = count_slider_panels(nbformat.read(path, as_version=4))
            found = len({s["panel"] for s in sliders})
            if found != expected:
                raise RuntimeError(f"{path.name}: its cells call slider_panel {expected} times but "
                                   f"{found} live panels were found; a panel must be a cell's "
                                   "result or a global variable")
    return {"notebook": path.name, "kernel_start_s": t_kernel, "cells_s": t_cells,
            "time_s": t_kernel + t_cells, "kernel_cpu_s": cpu, "peak_rss_bytes": peak, "sliders": sliders}


def fastest_of(runs):
    """One row per notebook from several runs of each (``run_notebook``'s rows, in any order).

    The row is the fastest run's (times, CPU), with every run's wall time in ``runs_s``, the
    highest peak memory of all runs, and the sliders of the run that measured them. Why the
    fastest: on a shared (virtual) machine other tenants slow a run down by chance, never speed
    it up, so the fastest of a few fresh-kernel runs is the best estimate of the time on a quiet
    machine; ``runs_s`` keeps the others in view.
    """
    rows = {}
    for r in runs:
        rows.setdefault(r["notebook"], []).append(r)
    out = []
    for name, group in rows.items():
        best = dict(min(group, key=lambda r: r["time_s"]))
        best["runs_s"] = [r["time_s"] for r in group]
        best["peak_rss_bytes"] = max(r["peak_rss_bytes"] for r in group)
        best["sliders"] = next((r["sliders"] for r in group if r["sliders"]), [])
        out.append(best)
    return out
