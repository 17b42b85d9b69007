"""The Agg canvas every figure of the notebooks draws on: text from cached masks, a quick PNG.

Text is most of what a slider redraw costs with matplotlib's Agg renderer: every glyph of every
string is rasterised anew on each draw, a title or an axis's tick labels every time (``make
bench``'s slider section measures what that costs). On this canvas a string is drawn by matplotlib
the first time; met again, it is rasterised once more into a coverage mask kept by what decides its
pixels (string, font, size, angle, dpi), and every later draw blends that mask in one call, in the
text's own colour. A string's origin is rounded to a whole pixel first (matplotlib before 3.11 did
the same), so one mask serves wherever the string lands (before 3.11, wherever an origin of the
same parity lands, see ``_BY_PARITY``); text sits under half a pixel from where 3.11's sub-pixel
placement would put it. Every path (a ``savefig``, the first render of a slider's figure, a blitted
redraw) draws text this way, so they agree pixel for pixel.

``png_bytes`` encodes an RGBA buffer as PNG about twice as fast as Pillow at its fastest level
(no per-row filter search; zlib level 1), for the PNG a slider sends on every move.

Used by ``helpers.plots.figure.new_figure`` (every figure) and ``helpers.plots.live`` (the
sliders of every notebook).
"""

from __future__ import annotations

import math
import struct
import zlib
from collections import OrderedDict

import matplotlib
import numpy as np
from matplotlib import rcParams
from matplotlib.backends.backend_agg import FigureCanvasAgg, RendererAgg

__all__ = ["TextCacheRenderer", "TextCacheCanvas", "png_bytes"]

_MAX_MASKS = 4096  # rasterised strings kept (most are a few hundred bytes)
_MASKS: OrderedDict = OrderedDict()  # key -> (alpha, dx, dy), least recently used first
_SEEN: OrderedDict = OrderedDict()  # strings drawn once, not rasterised yet


def _remember(cache, key, value):
    cache[key] = value
    cache.move_to_end(key)
    if len(cache) > _MAX_MASKS:
        cache.popitem(last=False)


# Before 3.11, matplotlib rounds a string's bitmap position with Python's round(), which sends
# halves to the even neighbour: a mask then fits only origins of the parity it was drawn at.
_BY_PARITY = tuple(int(v) for v in matplotlib.__version__.split(".")[:2]) < (3, 11)


def _font_key(prop):
    return (tuple(prop.get_family()), prop.get_style(), prop.get_variant(), prop.get_weight(),
            prop.get_stretch(), prop.get_size_in_points(), prop.get_file(),
            prop.get_math_fontfamily())


class TextCacheRenderer(RendererAgg):
    """``RendererAgg`` that draws each string from a cached coverage mask at a whole pixel."""

    def draw_text(self, gc, x, y, s, prop, angle, ismath=False, mtext=None):
        if ismath == "TeX" or not s:
            return super().draw_text(gc, x, y, s, prop, angle, ismath, mtext)
        features = mtext.get_fontfeatures() if hasattr(mtext, "get_fontfeatures") else None
        language = mtext.get_language() if hasattr(mtext, "get_language") else None
        key = (s, bool(ismath), _font_key(prop), float(angle) % 360, bool(gc.get_antialiased()),
               float(self.dpi), rcParams["text.hinting"], rcParams["text.hinting_factor"],
               None if features is None else tuple(features), language)
        x, y = round(x), round(y)  # (x, y) in pixels from the top left (Agg flips y)
        if _BY_PARITY:
            key += (x % 2, y % 2)
        mask = _MASKS.get(key)
        if mask is None:
            if key not in _SEEN:  # a string met once (a moving number) is drawn directly
                _remember(_SEEN, key, True)
                return super().draw_text(gc, x, y, s, prop, angle, ismath, mtext)
            mask = self._rasterise(gc, s, prop, angle, ismath, mtext, x % 2, y % 2)
        _remember(_MASKS, key, mask)
        alpha, dx, dy = mask
        if alpha is None:
            return
        # the mask's top-left corner sits at (dx, dy) from the origin; draw_image takes the
        # bottom-left corner, with y up from the bottom
        r, g, b, a = gc.get_rgb()  # the text's colour (its alpha includes a forced alpha)
        if a == 0:
            return
        image = np.empty(alpha.shape + (4,), np.uint8)
        image[..., :3] = [round(255 * v) for v in (r, g, b)]
        image[..., 3] = alpha if a >= 1 else np.round(alpha * a).astype(np.uint8)
        # draw_image takes the image bottom row first
        self.draw_image(gc, x + dx, self.height - (y + dy + alpha.shape[0]), image[::-1])

    def _rasterise(self, gc, s, prop, angle, ismath, mtext, x_odd, y_odd):
        """The string's coverage (alpha of an opaque draw on a transparent canvas) and offset,
        drawn at an origin of the given parity (see ``_BY_PARITY``)."""
        w, h, d = self.get_text_width_height_descent(s, prop, ismath)
        half = 2 * (int(math.ceil(w + h + d)) // 2) + 4  # even; any rotation stays inside
        x0, y0 = half + x_odd, half + y_odd
        scratch = RendererAgg(2 * half + 2, 2 * half + 2, self.dpi)
        gc0 = scratch.new_gc()
        gc0.set_antialiased(gc.get_antialiased())
        gc0.set_foreground((0.0, 0.0, 0.0, 1.0))
        RendererAgg.draw_text(scratch, gc0, x0, y0, s, prop, angle, ismath, mtext)
        gc0.restore()
        a = np.asarray(scratch.buffer_rgba())[..., 3]
        rows, cols = np.flatnonzero(a.any(1)), np.flatnonzero(a.any(0))
        if rows.size == 0:
            return (None, 0, 0)
        alpha = np.ascontiguousarray(a[rows[0]:rows[-1] + 1, cols[0]:cols[-1] + 1])
        return (alpha, int(cols[0]) - x0, int(rows[0]) - y0)


class TextCacheCanvas(FigureCanvasAgg):
    """An Agg canvas whose renderer is a ``TextCacheRenderer``."""

    def get_renderer(self):
        w, h = self.get_width_height(physical=True)
        key = w, h, self.figure.dpi
        if getattr(self, "_lastKey", None) != key:
            self.renderer = TextCacheRenderer(w, h, self.figure.dpi)
            self._lastKey = key
        return self.renderer


def _chunk(tag, data):
    return struct.pack(">I", len(data)) + tag + data + struct.pack(">I", zlib.crc32(tag + data))


def png_bytes(rgba, *, opaque=True):
    """PNG bytes of an (h, w, 4) uint8 image; RGB only when ``opaque`` (smaller, quicker)."""
    rgba = np.asarray(rgba)
    if rgba.ndim != 3 or rgba.shape[2] != 4 or rgba.dtype != np.uint8:
        raise ValueError(f"rgba must be an (h, w, 4) uint8 array, got {rgba.dtype} {rgba.shape}")
    h, w, _ = rgba.shape
    channels = 3 if opaque else 4
    rows = np.empty((h, 1 + w * channels), np.uint8)
    rows[:, 0] = 0  # filter type 0 ("none") on every row
    rows[:, 1:].reshape(h, w, channels)[...] = rgba[..., :channels]
    header = struct.pack(">IIBBBBB", w, h, 8, 2 if opaque else 6, 0, 0, 0)
    return (b"\x89PNG\r\n\x1a\n" + _chunk(b"IHDR", header)
            + _chunk(b"IDAT", zlib.compress(rows, 1)) + _chunk(b"IEND", b""))
