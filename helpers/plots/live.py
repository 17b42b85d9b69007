"""Slider redraws by blitting: the engine behind every slider panel (every notebook).

Drawing a whole figure with Agg is slow, and almost all of that time goes to axes, ticks and text
that a slider never changes (``make bench`` measures a slider's redraw). A plot function that opts
in builds its figure with ``live_figure(owner, key, build)``: ``build()`` makes the figure with its
static parts and returns ``(fig, parts)``, a dict of the artists the function then updates in place
(lines, collections, titles, legends, and any Axis whose limits follow the data).

Called directly (a test, a notebook cell), ``live_figure`` builds a new figure every time, and
``savefig`` draws it like any figure (``parts`` are marked animated, which only live canvases
skip). Inside ``reusing_frames(cache)`` (``helpers.widgets.slider_panel`` wraps each update in
it), the figure for ``(owner, key)`` is built once per panel and given a ``LiveCanvas``: its PNG
is the cached render of everything else (the "frame") with only ``parts`` drawn over it, in
their z-order, then encoded by ``helpers.plots.canvas.png_bytes``. Axis ticks and legends come
from pixels cached by what they show, once a look recurs; text, from the canvas's cached masks.

The one interface: ``reusing_frames``, ``live_figure``, ``prepare_figure`` (a layout a slider
may switch to, rendered ahead) and ``live_png`` (which ``helpers.plots.figure.figure_png``
calls). ``tests/test_blitting.py`` checks that a blitted frame equals a fresh full render of the
same arguments for every slider panel.
"""

from __future__ import annotations

import contextvars

import numpy as np
from matplotlib.axis import Axis
from matplotlib.legend import Legend

from .canvas import TextCacheCanvas, TextCacheRenderer, png_bytes

__all__ = ["reusing_frames", "live_figure", "prepare_figure", "live_png", "LiveCanvas"]

# The frame cache of the slider update in progress (a dict), or None outside any update.
_FRAMES = contextvars.ContextVar("helpers.plots.live frames", default=None)
_MAX_SPRITES = 256


class reusing_frames:  # noqa: N801 - used as a context manager, like a function
    """Within this block, ``live_figure`` reuses the figures held in ``cache`` (a dict)."""

    def __init__(self, cache):
        self.cache = cache

    def __enter__(self):
        self._token = _FRAMES.set(self.cache)
        return self.cache

    def __exit__(self, *exc):
        _FRAMES.reset(self._token)


def _flat(value):
    if isinstance(value, (list, tuple)):
        for v in value:
            yield from _flat(v)
    elif value is not None:
        yield value


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
    cache = _FRAMES.get()
    if cache is not None and (owner, key) in cache:
        canvas = cache[(owner, key)]
        return canvas.figure, canvas.parts
    fig, parts = build()
    for artist in _flat(list(parts.values())):
        artist.set_animated(True)
    if cache is not None:
        cache[(owner, key)] = LiveCanvas(fig, parts)
    return fig, parts


def prepare_figure(owner, key, build):
    """In a slider update, build the figure ``live_figure(owner, key, build)`` would return and
    render its frame now, so that the first move that shows it only draws its moving parts
    (e.g. the other layout of a panel whose slider switches layouts). Elsewhere: nothing."""
    if _FRAMES.get() is None:
        return
    fig, _ = live_figure(owner, key, build)
    fig.canvas.draw_frame()


def live_png(fig):
    """The blitted PNG of a figure a slider reuses, or None for any other figure."""
    canvas = getattr(fig, "canvas", None)
    return canvas.png() if isinstance(canvas, LiveCanvas) else None


class LiveCanvas(TextCacheCanvas):
    """An Agg canvas that keeps its rendered frame and redraws only the figure's moving parts."""

    def __init__(self, figure, parts):
        super().__init__(figure)  # becomes figure.canvas: the buffer the frame is kept in
        self.parts = parts
        axes = list(figure.axes)
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
        self.dynamic_axis = {id(a) for a in moving if isinstance(a, Axis)}
        self.background, self.limits = None, None
        self.sprites, self.seen, self._scratch = {}, set(), None

    @staticmethod
    def _sprite_key(artist, renderer):
        """What an Axis or a Legend looks like (and where it is), or None: draw it every time."""
        if isinstance(artist, Axis):
            return ("axis", tuple(artist.get_view_interval()))
        if isinstance(artist, Legend):  # its place, for loc="best" too, and its texts
            return ("legend", tuple(artist.get_window_extent(renderer).bounds),
                    tuple(t.get_text() for t in artist.get_texts()))
        return None

    def _sprite(self, artist, renderer):
        """``artist`` drawn alone on a transparent scratch canvas: (row, col, colour, 1 - alpha).

        The colour is premultiplied by alpha, so blending it over the buffer is Agg's "over"
        compositing, and the result matches drawing it directly to within rounding.
        """
        if self._scratch is None:
            self._scratch = TextCacheRenderer(renderer.width, renderer.height, renderer.dpi)
        scratch = self._scratch
        scratch.clear()
        artist.draw(scratch)
        rgba = np.asarray(scratch.buffer_rgba())
        alpha = rgba[..., 3]
        rows, cols = np.flatnonzero(alpha.any(1)), np.flatnonzero(alpha.any(0))
        if rows.size == 0:
            return (0, 0, None, None)
        patch = rgba[rows[0]:rows[-1] + 1, cols[0]:cols[-1] + 1].astype(np.float32)
        a = patch[..., 3:] / 255.0
        return (rows[0], cols[0], patch[..., :3] * a, 1.0 - a)

    def _draw(self, artist, renderer):
        """Draw ``artist``; axes ticks and legends come from cached pixels once a look recurs."""
        key = self._sprite_key(artist, renderer)
        if key is None:
            artist.draw(renderer)
            return
        key = (id(artist), key)
        sprite = self.sprites.get(key)
        if sprite is None and key not in self.seen:  # cache only what recurs
            self.seen.add(key)
            artist.draw(renderer)
            return
        if sprite is None:
            sprite = self._sprite(artist, renderer)
            if len(self.sprites) > _MAX_SPRITES:
                self.sprites.clear()
                self.seen.clear()
            self.sprites[key] = sprite
        r0, c0, color, keep = sprite
        if color is None:
            return
        dst = np.asarray(renderer.buffer_rgba())[r0:r0 + color.shape[0], c0:c0 + color.shape[1], :3]
        dst[...] = (color + dst * keep + 0.5).astype(np.uint8)

    def _static_limits(self):
        out = []
        for ax in self.figure.axes:
            for axis, lim in ((ax.xaxis, ax.get_xlim), (ax.yaxis, ax.get_ylim)):
                out.append(None if id(axis) in self.dynamic_axis else tuple(lim()))
        return out

    def draw_frame(self):
        """Render and keep the frame (all but the moving parts) if it is missing or has moved;
        True if it was drawn, leaving the canvas holding the bare frame."""
        limits = self._static_limits()
        if self.background is not None and limits == self.limits:
            return False
        self.draw()  # everything but the animated parts
        self.background, self.limits = self.copy_from_bbox(self.figure.bbox), limits
        return True

    def png(self):
        """The figure as PNG bytes: the cached frame, with the moving parts drawn over it."""
        if not self.draw_frame():
            self.restore_region(self.background)
        renderer = self.get_renderer()
        for artist in self.moving:
            if artist.get_visible():
                self._draw(artist, renderer)
        # opaque figures: RGB is smaller and faster to encode
        return png_bytes(np.asarray(self.buffer_rgba()), opaque=self.figure.get_facecolor()[3] == 1)
