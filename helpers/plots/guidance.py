"""Figures for notebook 07: digit samples as mosaics, the guidance trade-off.

The two slider figures (``plot_sample_mosaic`` for the number of network evaluations,
``plot_guided`` for the guidance weight w) build their frame once per panel through
``helpers.plots.live`` and then only replace the mosaic's pixels and the title. The samplers
are ``helpers.score``'s and the guided eps is ``helpers.guidance``'s; this module only draws.
"""

from __future__ import annotations

import numpy as np

from .._checks import count
from .digits import fit_to_mosaic, show_digits, tile_digits
from .figure import new_figure
from .live import live_figure

__all__ = ["plot_sample_mosaic", "plot_guided", "plot_tradeoff"]


def _mosaic_frame(nrows, ncols, ylabels=None):
    """A blank mosaic of nrows x ncols digits, with its image and title as the moving parts."""
    fig, ax = new_figure(1, width=0.36 * ncols + 0.9, height=0.36 * nrows + 0.6)
    mosaic = tile_digits(np.zeros((nrows * ncols, 64)), ncols)
    image = show_digits(ax, mosaic)
    fit_to_mosaic(fig, ax, mosaic, top=0.5, bottom=0.25)
    # the axes on whole pixels, so that the blitted mosaic's edges match a fresh render's
    w_px, h_px = fig.get_figwidth() * fig.dpi, fig.get_figheight() * fig.dpi
    box = ax.get_position()
    x0, y0, x1, y1 = (round(v * n) for v, n in ((box.x0, w_px), (box.y0, h_px),
                                               (box.x1, w_px), (box.y1, h_px)))
    ax.set_position([x0 / w_px, y0 / h_px, (x1 - x0) / w_px, (y1 - y0) / h_px])
    ax.set(xticks=[])
    ax.tick_params(length=0)  # labels only: rows are named, not measured
    ax.set_xlabel(f"{ncols} samples per row", fontsize=7)
    ax.set_yticks([] if ylabels is None else [9 * i + 3.5 for i in range(nrows)],
                  [] if ylabels is None else ylabels, fontsize=7)
    ax.title.set_fontsize(9)
    return fig, dict(image=image, title=ax.title)


def _images(name, images, shape):
    images = np.clip(np.asarray(images, dtype=np.float64), 0.0, 1.0)
    if images.shape[-1] != 64 or images.reshape(-1, 64).shape[0] != np.prod(shape):
        raise ValueError(f"{name} must hold {np.prod(shape)} images of 64 pixels, got shape "
                         f"{images.shape}")
    return images.reshape(-1, 64)


def plot_sample_mosaic(nfe=8, *, sample, nrows=3, ncols=10):
    """Samples drawn with ``nfe`` network evaluations, ``sample(nfe)`` returning nrows * ncols
    images of 64 pixels in [0, 1] (clipped); the title says how many evaluations."""
    nfe = count("nfe", nfe)
    fig, p = live_figure(plot_sample_mosaic, (nrows, ncols), lambda: _mosaic_frame(nrows, ncols))
    images = _images("sample(nfe)", sample(nfe), (nrows, ncols))
    p["image"].set_data(tile_digits(images, ncols))
    p["title"].set_text(f"probability-flow ODE (Heun)\n{nfe} network evaluation"
                     + ("" if nfe == 1 else "s"))
    return fig


def plot_guided(w=0, *, samples, accuracy, diversity):
    """One row per class of samples guided with weight ``w``, a key of ``samples``
    ({w: images of shape (n_classes, m, 64)}); the title gives that w's classifier accuracy
    and relative diversity ({w: float} each)."""
    if w not in samples:
        raise ValueError(f"w must be one of {sorted(samples)}, got {w!r}")
    n_classes, m = np.shape(samples[w])[:2]
    fig, p = live_figure(plot_guided, (n_classes, m), lambda: _mosaic_frame(
        n_classes, m, [str(c) for c in range(n_classes)]))
    p["image"].set_data(tile_digits(_images("samples[w]", samples[w], (n_classes, m)), m))
    p["title"].set_text(f"guidance w = {w:g}\naccuracy {accuracy[w]:.2f}, diversity "
                        f"{diversity[w]:.2f}")
    return fig


def plot_tradeoff(w, accuracy, diversity, real_accuracy):
    """Fidelity (classifier accuracy on guided samples) and diversity (mean distance within a
    class, relative to real digits) against the guidance weight w."""
    fig, (ax1, ax2) = new_figure(2, width=3.4, height=2.8)
    ax1.plot(w, accuracy, "o-", color="C0", label="guided samples")
    ax1.axhline(real_accuracy, color="0.4", ls=":", label="real held-out digits")
    ax1.set(xlabel="guidance weight w", ylabel="classifier accuracy", ylim=(0, 1.02),
            title="fidelity")
    ax1.legend(fontsize=7, loc="lower right")
    ax2.plot(w, diversity, "s-", color="C1")
    ax2.axhline(1.0, color="0.4", ls=":", label="real digits")
    ax2.set(xlabel="guidance weight w", ylabel="spread within a class / real", title="diversity")
    ax2.legend(fontsize=7, loc="upper right")
    return fig
