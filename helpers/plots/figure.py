"""One way to make a figure, shared by every plotting helper (all notebooks).

Plotting helpers build a bare ``matplotlib.figure.Figure`` (not a pyplot figure) and return it.
Nothing is kept in pyplot's global list, so a slider redrawing fifty times leaks nothing and a
returned figure is shown once, not twice. Inside IPython, a Figure is displayed as the PNG of
``figure_png``: rendered at the figure's own size (no "tight" bounding box, which would draw it
twice), or, for a figure a slider reuses, only its moving parts redrawn (``helpers.plots.live``).
"""

from __future__ import annotations

from .canvas import TextCacheCanvas
from .live import live_png

__all__ = ["FIG_DPI", "STATIC_DPI", "new_figure", "figure_png"]

FIG_DPI = 80  # small PNGs keep slider redraws fast; the figures stay readable at this size
STATIC_DPI = 110  # a figure drawn once (no slider redraws it) can afford crisper pixels


def figure_png(fig, *, dpi=None):
    """The PNG bytes a notebook shows for ``fig`` (what the slider benchmark times, too).

    A figure reused by a slider is drawn at ``FIG_DPI`` (its own dpi), by blitting; any other
    figure is drawn whole at ``dpi`` (default ``STATIC_DPI``).
    """
    png = live_png(fig)
    if png is not None:  # a figure reused by a slider: only its moving parts are drawn
        return png
    import io

    buf = io.BytesIO()
    fig.savefig(buf, format="png", dpi=STATIC_DPI if dpi is None else dpi)
    return buf.getvalue()


def _show_figures_as_png():
    """Register the PNG display of ``Figure`` with the running IPython shell, if any."""
    try:
        from IPython import get_ipython
    except ImportError:
        return
    shell = get_ipython()
    if shell is None:
        return
    from matplotlib.figure import Figure

    shell.display_formatter.formatters["image/png"].for_type(Figure, figure_png)


def new_figure(ncols=1, nrows=1, *, width=4.2, height=3.2, **subplot_kw):
    """A ``(fig, axes)`` pair: ``ncols * nrows`` panels of ``width x height`` inches each."""
    from matplotlib.figure import Figure

    _show_figures_as_png()
    w, h = width * ncols, height * nrows
    fig = Figure(figsize=(w, h), dpi=FIG_DPI)
    TextCacheCanvas(fig)  # text drawn from cached masks (helpers.plots.canvas)
    # Fixed margins in inches instead of a layout engine: constrained layout measures every
    # label on each draw and would triple the time of a slider redraw.
    left, right, bottom, top, gap_x, gap_y = 0.62, 0.15, 0.48, 0.32, 0.8, 0.6
    axes = fig.subplots(nrows, ncols, squeeze=True, gridspec_kw=dict(
        left=left / w, right=1 - right / w, bottom=bottom / h, top=1 - top / h,
        wspace=gap_x / ((w - left - right - gap_x * (ncols - 1)) / ncols),
        hspace=gap_y / ((h - bottom - top - gap_y * (nrows - 1)) / nrows)), **subplot_kw)
    return fig, axes
