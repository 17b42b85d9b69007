"""``helpers.plots.canvas``: cached text that looks like matplotlib's own, and a PNG writer.

Text: every string is compared, drawn through the canvas (first sight: matplotlib draws it; second:
rasterised into a mask; later: from the mask), with matplotlib's own ``RendererAgg.draw_text`` at
the whole-pixel origin the canvas rounds to, on an opaque background. Stated tolerance: 1/255 per
channel, the rounding of the mask's alpha times the text's alpha; a misplaced, flipped or
mis-coloured mask differs by tens or hundreds.
"""

import io

import numpy as np
import pytest
from matplotlib.backends.backend_agg import RendererAgg
from matplotlib.font_manager import FontProperties
from PIL import Image

from helpers.plots import canvas
from helpers.plots.canvas import TextCacheRenderer, png_bytes

STRINGS = [("L = 1000: error -0.12, ESS 100", 0, False), ("density", 90, False),
           (r"N(0.1, 2$^2$), $\bar\alpha_t$ = $\frac{1}{2}$", 0, True), ("\u22122.5", 0, False),
           ("tilted", 30, False)]


def _white(renderer):
    np.asarray(renderer.buffer_rgba())[:] = 255
    return renderer


def _draw(renderer, x, y, s, angle, ismath, colour=(0.8, 0.1, 0.1), alpha=0.7, size=10):
    gc = renderer.new_gc()
    gc.set_foreground(colour)
    gc.set_alpha(alpha)
    renderer.draw_text(gc, x, y, s, FontProperties(size=size), angle, ismath=ismath)
    gc.restore()
    return np.asarray(renderer.buffer_rgba()).astype(int)


@pytest.mark.parametrize("s, angle, ismath", STRINGS, ids=[s[:8] for s, _, _ in STRINGS])
def test_cached_text_matches_matplotlib_at_the_rounded_origin(monkeypatch, s, angle, ismath):
    monkeypatch.setattr(canvas, "_MASKS", type(canvas._MASKS)())
    monkeypatch.setattr(canvas, "_SEEN", type(canvas._SEEN)())
    # drawn by matplotlib, rasterised, then from the mask (twice)
    for x, y in [(50, 100), (50.3, 100.7), (80.5, 60.49), (50.3, 100.7), (51.2, 99.4), (51, 99)]:
        ours = _draw(_white(TextCacheRenderer(400, 200, 80)), x, y, s, angle, ismath)
        theirs = _draw(_white(RendererAgg(400, 200, 80)), round(x), round(y), s, angle, ismath)
        assert (theirs < 255).any(), "nothing drawn"
        diff = np.abs(ours - theirs).max()
        assert diff <= 1, f"{s!r} at ({x}, {y}): a pixel differs by {diff}/255"


def test_a_string_is_rasterised_once_and_then_drawn_from_its_mask(monkeypatch):
    monkeypatch.setattr(canvas, "_MASKS", type(canvas._MASKS)())
    monkeypatch.setattr(canvas, "_SEEN", type(canvas._SEEN)())
    calls = []
    original = RendererAgg.draw_text
    monkeypatch.setattr(RendererAgg, "draw_text",
                        lambda self, *a, **k: calls.append(1) or original(self, *a, **k))
    r = TextCacheRenderer(300, 100, 80)
    counts = []
    for _ in range(4):
        before = len(calls)
        TextCacheRenderer.draw_text(r, r.new_gc(), 20.4, 50.6, "ESS 1065", FontProperties(), 0)
        counts.append(len(calls) - before)
    assert counts == [1, 1, 0, 0]  # matplotlib draws, then rasterises once; then the mask


def test_the_mask_cache_is_bounded(monkeypatch):
    monkeypatch.setattr(canvas, "_MAX_MASKS", 5)
    monkeypatch.setattr(canvas, "_MASKS", type(canvas._MASKS)())
    monkeypatch.setattr(canvas, "_SEEN", type(canvas._SEEN)())
    r = TextCacheRenderer(200, 100, 80)
    for i in range(12):
        for _ in range(2):
            r.draw_text(r.new_gc(), 10, 50, f"s{i}", FontProperties(), 0)
    assert len(canvas._MASKS) == 5 and len(canvas._SEEN) <= 5
    assert [key[0] for key in canvas._MASKS] == [f"s{i}" for i in range(7, 12)]  # the latest


def test_figures_draw_on_the_text_cache_canvas():
    from helpers.plots.figure import figure_png, new_figure

    fig, ax = new_figure()
    ax.set_title("a title")
    assert isinstance(fig.canvas.get_renderer(), TextCacheRenderer)
    assert figure_png(fig).startswith(b"\x89PNG")


@pytest.mark.parametrize("opaque", [True, False])
def test_png_bytes_round_trips_exactly(opaque):
    rgba = np.random.default_rng(0).integers(0, 256, (37, 53, 4), dtype=np.uint8)
    if opaque:
        rgba[..., 3] = 255
    back = np.asarray(Image.open(io.BytesIO(png_bytes(rgba, opaque=opaque))))
    np.testing.assert_array_equal(back, rgba[..., :3] if opaque else rgba)


@pytest.mark.parametrize("bad", [np.zeros((4, 4, 3), np.uint8), np.zeros((4, 4, 4)),
                                 np.zeros((4, 4), np.uint8)])
def test_png_bytes_names_a_bad_image(bad):
    with pytest.raises(ValueError, match="rgba"):
        png_bytes(bad)
