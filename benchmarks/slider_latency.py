"""Slider update latency, measured inside a kernel that has just run a notebook.

``measure_namespace(globals())`` finds every live ``helpers.widgets.slider_panel`` in the
notebook's namespace (a panel is a cell's displayed result, kept in IPython's ``Out``, or a global
variable). For each slider of each panel it sweeps ``n_updates`` values evenly across the
slider's range (log-evenly for a log slider, whole steps for an int slider), keeping the other
sliders at their current values, and times what one update costs the kernel: the panel's own
``panel.figure(**values)`` (``plot_fn(**values, **fixed)`` as the panel calls it, reusing the
panel's figure when the plot function supports it, see ``helpers.plots.live``) and the PNG
rendering that IPython's inline display applies to the returned figure
(``helpers.plots.figure.figure_png``, the formatter ``new_figure`` registers).

This is where the slider timing lives (notebook 04 once timed its c slider in a cell; the
notebooks now show only what a learner needs).
"""

from __future__ import annotations

import inspect
import time

import numpy as np


def _panels(namespace):
    """Live panels in display order: ``Out`` entries by execution count, then other globals."""
    candidates = []
    out = namespace.get("Out", {})
    for key in sorted(k for k in out if isinstance(k, int)):
        candidates.append(out[key])
    candidates += [v for k, v in namespace.items() if not k.startswith("_")]
    seen, panels = set(), []
    for obj in candidates:
        if id(obj) in seen or not (hasattr(obj, "redraw") and hasattr(obj, "sliders")):
            continue
        seen.add(id(obj))
        panels.append(obj)
    return panels


def _panel_parts(panel):
    """``(plot_fn, fixed, sliders)`` from the closures of ``panel.redraw``/``panel.figure``."""
    free = dict(inspect.getclosurevars(panel.redraw).nonlocals)
    if hasattr(panel, "figure"):  # the panel's update path closes over them
        free.update(inspect.getclosurevars(panel.figure).nonlocals)
    missing = {"plot_fn", "fixed"} - set(free)
    if missing:
        raise RuntimeError(f"slider_panel's redraw no longer closes over {sorted(missing)}; "
                           "update benchmarks/slider_latency.py")
    return free["plot_fn"], dict(free["fixed"]), dict(panel.sliders)


def _panel_figure(panel, plot_fn, fixed):
    """The update path the panel itself takes (``panel.figure``), or a plain call if it has none."""
    figure = getattr(panel, "figure", None)
    if figure is not None:
        return figure
    return lambda **values: plot_fn(**values, **fixed)


def sweep_values(slider, n):
    """``n`` values across a slider's range, as the slider itself would hold them."""
    kind = type(slider).__name__
    if kind == "FloatLogSlider":
        vals = slider.base ** np.linspace(slider.min, slider.max, n)
    else:
        vals = np.linspace(slider.min, slider.max, n)
    if kind in ("IntSlider", "BoundedIntText"):
        step = slider.step or 1
        vals = slider.min + np.round((vals - slider.min) / step) * step
        return [int(v) for v in vals]
    return [float(v) for v in vals]


def measure_panel(plot_fn, fixed, sliders, n_updates=50, figure=None):
    from helpers.plots.figure import figure_png

    if figure is None:
        figure = lambda **values: plot_fn(**values, **fixed)  # noqa: E731

    base = {name: s.value for name, s in sliders.items()}
    rows = []
    for name, slider in sliders.items():
        times, cpu = [], []
        for v in sweep_values(slider, n_updates):
            values = dict(base, **{name: v})
            t0, c0 = time.perf_counter(), time.thread_time()
            fig = figure(**values)
            figure_png(fig)
            times.append(time.perf_counter() - t0)
            cpu.append(time.thread_time() - c0)
            del fig
        t, tc = np.array(times) * 1e3, np.array(cpu) * 1e3
        rows.append({"slider": name, "n": len(t), "p50_ms": float(np.percentile(t, 50)),
                     "p95_ms": float(np.percentile(t, 95)), "max_ms": float(t.max()),
                     "cpu_p50_ms": float(np.percentile(tc, 50)),
                     "cpu_p95_ms": float(np.percentile(tc, 95)),
                     "lo": float(slider.min if type(slider).__name__ != "FloatLogSlider"
                                 else slider.base ** slider.min),
                     "hi": float(slider.max if type(slider).__name__ != "FloatLogSlider"
                                 else slider.base ** slider.max)})
    return rows


def measure_namespace(namespace, n_updates=50):
    """Latency rows for every slider of every live panel in ``namespace``."""
    results = []
    for i, panel in enumerate(_panels(namespace)):
        plot_fn, fixed, sliders = _panel_parts(panel)
        figure = _panel_figure(panel, plot_fn, fixed)
        for row in measure_panel(plot_fn, fixed, sliders, n_updates, figure=figure):
            results.append({"panel": f"{i}:{getattr(plot_fn, '__name__', 'plot')}", **row})
    return results
