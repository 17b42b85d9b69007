"""One way to make a figure, shared by every plotting helper.

Plotting helpers build a bare ``matplotlib.figure.Figure`` (not a pyplot figure) and return it.
Nothing is kept in pyplot's global list, so a slider redrawing fifty times leaks nothing and a
returned figure is shown once, not twice. Inside IPython, a Figure is displayed as a PNG
rendered at the figure's own size (no "tight" bounding box, which would draw it twice).
"""

from __future__ import annotations

FIG_DPI = 80  # small PNGs keep slider redraws fast; the figures stay readable at this size


def _figure_png(fig):
    live = getattr(fig, "_live", None)
    if live is not None:  # a figure reused by a slider: only its moving parts are drawn
        return live.png()
    import io

    buf = io.BytesIO()
    fig.savefig(buf, format="png", dpi=FIG_DPI)
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

    shell.display_formatter.formatters["image/png"].for_type(Figure, _figure_png)


def new_figure(ncols=1, nrows=1, *, width=4.2, height=3.2, **subplot_kw):
    """A ``(fig, axes)`` pair: ``ncols * nrows`` panels of ``width x height`` inches each."""
    from matplotlib.figure import Figure

    _show_figures_as_png()
    w, h = width * ncols, height * nrows
    fig = Figure(figsize=(w, h), dpi=FIG_DPI)
    # Fixed margins in inches instead of a layout engine: constrained layout measures every
    # label on each draw and would triple the time of a slider redraw.
    left, right, bottom, top, gap_x, gap_y = 0.62, 0.15, 0.48, 0.32, 0.8, 0.6
    axes = fig.subplots(nrows, ncols, squeeze=True, gridspec_kw=dict(
        left=left / w, right=1 - right / w, bottom=bottom / h, top=1 - top / h,
        wspace=gap_x / ((w - left - right - gap_x * (ncols - 1)) / ncols),
        hspace=gap_y / ((h - bottom - top - gap_y * (nrows - 1)) / nrows)), **subplot_kw)
    return fig, axes


# ---------------------------------------------------------------------------------------------
# Slider redraws by blitting. Drawing a whole figure with Agg costs 100-150 ms on a slow core,
# almost all of it axes, ticks and text that a slider never changes. A plot function that opts in
# builds its figure with ``live_figure(owner, key, build)``: ``build()`` makes the figure with its
# static parts and returns ``(fig, parts)``, a dict of the artists the function then updates in
# place (lines, collections, titles, legends, and any Axis whose limits follow the data).
#
# Called directly (a test, a notebook cell), ``live_figure`` builds a new figure every time, and
# ``fig.savefig`` draws it like any figure (``parts`` are marked animated, which only live
# canvases skip). Inside a slider update (``slider_panel`` wraps the call in ``reusing_frames``),
# the figure for ``(owner, key)`` is built once per panel and reused: its PNG is the cached render
# of everything else (the "frame") with only ``parts`` drawn over it, then encoded by PIL at a
# low compression level. Moving parts are drawn above the frame in their z-order, so a plot
# function keeps the data of a panel that moves (and its legend) in ``parts``.
# ---------------------------------------------------------------------------------------------

_REUSE = None  # the frame cache of the slider update in progress, else None


class reusing_frames:  # noqa: N801 - used as a context manager, like a function
    """Within this block, ``live_figure`` reuses the figures held in ``cache`` (a dict)."""

    def __init__(self, cache):
        self.cache = cache

    def __enter__(self):
        global _REUSE
        self._prev, _REUSE = _REUSE, self.cache
        return self.cache

    def __exit__(self, *exc):
        global _REUSE
        _REUSE = self._prev


def _flat(value):
    if isinstance(value, (list, tuple)):
        for v in value:
            yield from _flat(v)
    elif value is not None:
        yield value


class _Live:
    """A reused figure: its moving artists and the rendered frame they are drawn over."""

    def __init__(self, fig, parts):
        from matplotlib.backends.backend_agg import FigureCanvasAgg

        self.fig, self.parts = fig, parts
        FigureCanvasAgg(fig)  # sets fig.canvas: the buffer the frame is kept in
        axes = list(fig.axes)
        order = {id(ax): i for i, ax in enumerate(axes)}
        moving = list(_flat(list(parts.values())))
        # spines sit above the data (zorder 2.5): redraw them over the moving parts of their axes
        with_parts = {id(getattr(a, "axes", None)) for a in moving}
        spines = [sp for ax in axes if id(ax) in with_parts for sp in ax.spines.values()]
        for sp in spines:
            sp.set_animated(True)  # out of the frame, drawn once per update
        moving += spines

        def where(item):
            i, a = item
            ax = getattr(a, "axes", None)
            return (order.get(id(ax), len(axes)), a.get_zorder(), i)

        self.moving = [a for _, a in sorted(enumerate(moving), key=where)]
        self.dynamic_axis = {id(a) for a in moving if a.__class__.__name__.endswith("Axis")}
        self.background, self.limits = None, None
        self.sprites, self.seen, self._scratch = {}, set(), None

    @staticmethod
    def _sprite_key(artist):
        """What an Axis or a fixed-place Legend looks like, or None (draw it every time)."""
        name = artist.__class__.__name__
        if name.endswith("Axis"):
            return ("axis", tuple(artist.get_view_interval()))
        if name == "Legend" and artist._loc not in (0, "best"):
            return ("legend",) + tuple(t.get_text() for t in artist.get_texts())
        return None

    def _draw(self, artist, renderer):
        """Draw ``artist``; axes ticks and legends come from pixels cached by what they show.

        A look seen for the first time is drawn directly; when it recurs, it is drawn once onto a transparent scratch canvas and kept as
        premultiplied colour and 1 - alpha; a hit blends those pixels over the buffer (Agg's
        "over" compositing, so the result matches drawing it directly to within rounding).
        """
        import numpy as np

        key = self._sprite_key(artist)
        if key is None:
            artist.draw(renderer)
            return
        sprite = self.sprites.get((id(artist), key))
        if sprite is None and (id(artist), key) not in self.seen:  # cache only what recurs
            self.seen.add((id(artist), key))
            artist.draw(renderer)
            return
        if sprite is None:
            from matplotlib.backends.backend_agg import RendererAgg

            if self._scratch is None:
                self._scratch = RendererAgg(renderer.width, renderer.height, renderer.dpi)
            scratch = self._scratch
            scratch.clear()
            artist.draw(scratch)
            rgba = np.asarray(scratch.buffer_rgba())
            alpha = rgba[..., 3]
            rows, cols = np.flatnonzero(alpha.any(1)), np.flatnonzero(alpha.any(0))
            if rows.size == 0:
                sprite = (0, 0, None, None)
            else:
                patch = rgba[rows[0]:rows[-1] + 1, cols[0]:cols[-1] + 1].astype(np.float32)
                a = patch[..., 3:] / 255.0
                sprite = (rows[0], cols[0], patch[..., :3] * a, 1.0 - a)
            if len(self.sprites) > 256:
                self.sprites.clear()
                self.seen.clear()
            self.sprites[(id(artist), key)] = sprite
        r0, c0, color, keep = sprite
        if color is None:
            return
        dst = np.asarray(renderer.buffer_rgba())[r0:r0 + color.shape[0], c0:c0 + color.shape[1], :3]
        dst[...] = (color + dst * keep + 0.5).astype(np.uint8)

    def _static_limits(self):
        out = []
        for ax in self.fig.axes:
            for axis, lim in ((ax.xaxis, ax.get_xlim), (ax.yaxis, ax.get_ylim)):
                out.append(None if id(axis) in self.dynamic_axis else tuple(lim()))
        return out

    def png(self):
        import io

        from PIL import Image

        canvas = self.fig.canvas
        limits = self._static_limits()
        if self.background is None or limits != self.limits:  # first draw, or the frame moved
            canvas.draw()  # everything but the animated parts
            self.background, self.limits = canvas.copy_from_bbox(self.fig.bbox), limits
        else:
            canvas.restore_region(self.background)
        renderer = canvas.get_renderer()
        for artist in self.moving:
            if artist.get_visible():
                self._draw(artist, renderer)
        width, height = canvas.get_width_height()
        img = Image.frombuffer("RGBA", (width, height), canvas.buffer_rgba(), "raw", "RGBA", 0, 1)
        buf = io.BytesIO()  # opaque figures: RGB is smaller and faster to encode
        img = img.convert("RGB") if self.fig.get_facecolor()[3] == 1 else img
        img.save(buf, format="png", compress_level=1)
        return buf.getvalue()


def live_figure(owner, key, build):
    """``(fig, parts)`` from ``build()``; reused for the same ``(owner, key)`` in a slider update.

    Parameters
    ----------
    owner : callable
        The plot function (it names the cache entry).
    key : hashable
        What selects a different layout within one panel (e.g. ``k == 1`` or not); arguments
        fixed by the panel never change within it and need not be part of the key.
    build : callable
        ``build() -> (fig, parts)``: a figure from ``new_figure`` with its static content, and a
        dict of the artists (or lists of artists) that the caller sets on every call.

    Every artist in ``parts`` is marked animated. The caller must set all of them on every call
    and may change the limits only of an Axis listed in ``parts``.
    """
    cache = _REUSE
    if cache is not None and (owner, key) in cache:
        live = cache[(owner, key)]
        return live.fig, live.parts
    fig, parts = build()
    for artist in _flat(list(parts.values())):
        artist.set_animated(True)
    if cache is not None:
        live = _Live(fig, parts)
        fig._live = live
        cache[(owner, key)] = live
    return fig, parts
