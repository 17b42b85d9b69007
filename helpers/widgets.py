"""The thin slider panel that every notebook uses.

A panel is a row of ipywidgets sliders and one output area. Moving a slider calls a plotting
function from ``helpers`` with the sliders' values and shows the figure it returns. The plotting
function does all the work, so a test (or a reader without widgets) calls it directly.
Works with ipywidgets 7.7 (Colab) and 8.
"""

from __future__ import annotations

import math

__all__ = ["float_slider", "log_slider", "int_slider", "slider_panel"]


def float_slider(name, value, lo, hi, step):
    """A labelled ``FloatSlider``; its description is the argument name it feeds."""
    import ipywidgets as w

    return w.FloatSlider(value=value, min=lo, max=hi, step=step, description=name,
                         continuous_update=False, readout_format=".3g")


def log_slider(name, value, lo, hi, *, steps_per_decade=4):
    """A ``FloatLogSlider`` from ``lo`` to ``hi`` (decoder variances ``c`` span decades)."""
    import ipywidgets as w

    return w.FloatLogSlider(value=value, base=10, min=math.log10(lo), max=math.log10(hi),
                            step=1 / steps_per_decade, description=name,
                            continuous_update=False, readout_format=".3g")


def int_slider(name, value, lo, hi, step=1):
    """A labelled ``IntSlider``."""
    import ipywidgets as w

    return w.IntSlider(value=value, min=lo, max=hi, step=step, description=name,
                       continuous_update=False)


def slider_panel(plot_fn, *sliders, **fixed):
    """Sliders above a live figure: ``plot_fn(**slider_values, **fixed)`` redrawn on every change.

    Parameters
    ----------
    plot_fn : callable
        Returns a ``matplotlib.figure.Figure``. Each slider's ``description`` names the keyword
        argument it sets.
    *sliders : ipywidgets value widgets
    **fixed
        Extra keyword arguments passed on every call (data, a trained model, a seed).

    Returns
    -------
    ipywidgets.VBox
        The panel. ``panel.redraw()`` redraws with the current values; ``panel.sliders`` maps
        names to sliders; ``panel.figure(**slider_values)`` is the figure one update shows.

    Notes
    -----
    The calls are made inside ``helpers.plots.live.reusing_frames``: a plot function built on
    ``helpers.plots.live.live_figure`` then returns the panel's one figure, updated in place, and
    its PNG redraws only what moves (see ``helpers/plots/live.py``). Other plot functions are
    unaffected. The PNG is redisplayed in an ``Output`` widget: an ``Image`` widget (one binary
    message per move) was measured slower in JupyterLab, key press to loaded picture (the
    browser section of ``make bench`` measures it), since its picture arrives as a blob the browser loads anew, where a redisplayed PNG is a data URL.
    """
    import ipywidgets as w
    from IPython.display import clear_output, display

    from .plots.live import reusing_frames

    if not callable(plot_fn):
        raise ValueError(f"plot_fn must be callable, got {plot_fn!r}")
    names = [s.description for s in sliders]
    if len(set(names)) != len(names) or not all(names):
        raise ValueError(f"every slider needs its own description, got {names!r}")
    out = w.Output()
    frames = {}  # this panel's reused figures (helpers.plots.live.live_figure)

    def figure(**values):
        with reusing_frames(frames):
            return plot_fn(**values, **fixed)

    def redraw(*_):
        values = {s.description: s.value for s in sliders}
        with out:
            clear_output(wait=True)
            display(figure(**values))

    for s in sliders:
        s.observe(redraw, names="value")
    panel = w.VBox([w.HBox(list(sliders)), out])
    panel.redraw = redraw
    panel.figure = figure
    panel.sliders = dict(zip(names, sliders))
    redraw()
    return panel
