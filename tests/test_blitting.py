"""Slider blitting (``helpers.plots.live``): a blitted frame equals a fresh full render.

For every slider panel of the notebooks (``tests/panels.py``), each slider is swept across its
range and back, the other sliders at their start values. At each position the panel's update
path (the reused figure inside ``reusing_frames``, rendered by ``figure_png``: the cached frame
with the moving parts drawn over it, axes and legends from cached pixels on the way back) is
compared with a new figure of the same arguments drawn whole by ``savefig`` at the slider's
``FIG_DPI`` (a figure no slider reuses is shown at the crisper ``STATIC_DPI``).

Stated tolerance, per pixel and per RGB channel: at most 4/255 anywhere, and more than 2/255 on
at most 0.1 % of the pixels. Why not 0: the frame and the moving parts are composited in two
passes, so where a static and a moving artist overlap (a tick mark over a spine, an axis line
under a curve) the antialiased edges are blended in another order, and a cached sprite is
blended from premultiplied colour, which rounds once more. Both move a pixel by a few units at
most. A wrong frame (a stale curve, a missing legend, a shifted axis) changes whole strokes by
tens or hundreds of units and fails.
"""

import io

import numpy as np
import pytest
from matplotlib.axis import Axis
from matplotlib.legend import Legend
from panels import PANELS, fixed_kwargs, missing, plot_function, resolved, sweep
from PIL import Image

from helpers.plots.figure import FIG_DPI, figure_png
from helpers.plots.live import LiveCanvas, reusing_frames

MAX_DIFF = 4          # out of 255, any pixel and channel
LOOSE_DIFF = 2        # out of 255 ...
LOOSE_FRACTION = 1e-3  # ... exceeded on at most this fraction of the pixels
N_POSITIONS = 5       # per slider, swept up and then back down

CASES = [(nb, fn_name, kind, name, sliders)
         for nb, fn_name, sliders in PANELS for kind, name, *_ in sliders]


def _rgb(png):
    return np.asarray(Image.open(io.BytesIO(png)).convert("RGB")).astype(np.int16)


def test_panels_are_found_and_those_of_notebooks_01_to_04_covered():
    assert PANELS, "no slider_panel calls found in notebooks/*.py"
    assert all(sliders for _, _, sliders in PANELS), "a slider_panel without sliders"
    uncovered = {(nb, fn_name): missing(fn_name, sliders) for nb, fn_name, sliders in PANELS
                 if nb[:2] in ("01", "02", "03", "04") and missing(fn_name, sliders)}
    assert not uncovered, uncovered


@pytest.mark.parametrize("nb, fn_name, kind, name, sliders", CASES,
                         ids=[f"{c[0][:2]}-{c[1]}-{c[3]}" for c in CASES])
def test_blitted_frame_equals_a_fresh_render(nb, fn_name, kind, name, sliders):
    reason = missing(fn_name, sliders)
    if reason:
        pytest.skip(f"{nb}: {reason}")
    sliders = resolved(fn_name, sliders)
    fn = plot_function(fn_name)
    fixed = fixed_kwargs(fn_name)
    base = {n: (int(s) if k == "int_slider" else s) for k, n, s, _, _ in sliders}
    lo, hi = next((lo, hi) for k, n, _, lo, hi in sliders if n == name)
    values = sweep(kind, lo, hi, N_POSITIONS)
    frames = {}
    figures = set()
    for value in values + values[::-1]:
        args = dict(base, **{name: value})
        with reusing_frames(frames):
            fig = fn(**args, **fixed)
            blitted = _rgb(figure_png(fig))
        figures.add(id(fig))
        fresh = _rgb(figure_png(fn(**args, **fixed), dpi=FIG_DPI))  # the slider's dpi
        assert blitted.shape == fresh.shape, f"{name}={value!r}: the blitted figure has another size"
        diff = np.abs(blitted - fresh).max(axis=-1)
        where = f"{nb} {fn_name}({name}={value!r})"
        assert diff.max() <= MAX_DIFF, (
            f"{where}: a pixel differs by {diff.max()}/255 from a fresh render "
            f"(at row, col {np.unravel_index(diff.argmax(), diff.shape)})")
        assert np.mean(diff > LOOSE_DIFF) <= LOOSE_FRACTION, (
            f"{where}: {np.sum(diff > LOOSE_DIFF)} pixels differ by more than {LOOSE_DIFF}/255")
    # the comparison exercised the blitting path: figures reused, sprites drawn from cache
    canvases = list(frames.values())
    assert canvases and all(isinstance(c, LiveCanvas) for c in canvases)
    # every figure shown is one the panel keeps (it may keep more: a layout rendered ahead)
    assert figures <= {id(c.figure) for c in canvases}, "the panel's figure was rebuilt"
    # a panel whose moving parts include an axis or a legend draws them from cached pixels
    # (a mosaic panel moves only its image and title: nothing to cache)
    if any(isinstance(a, (Axis, Legend)) for c in canvases for a in c.moving):
        assert any(c.sprites for c in canvases), "no axis or legend was drawn from cached pixels"
