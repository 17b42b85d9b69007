"""The 8x8 digits as pictures: one mosaic for notebooks 02 and 04.

``tile_digits`` lays images out on a grid; ``show_digits`` draws a mosaic in the digits' grey
scale (dark = ink). Every digit picture in the notebooks is made from these two.
"""

from __future__ import annotations

import numpy as np

from .figure import new_figure

__all__ = ["tile_digits", "show_digits", "fit_to_mosaic", "plot_digits", "plot_digit_rows"]


def tile_digits(images, ncols, *, side=8, pad=1, fill=np.nan, border=0):
    """(n, side * side) images -> one array, ``ncols`` per row, ``pad`` pixels between tiles.

    Gaps and the ``border`` around the whole mosaic hold ``fill``: NaN shows the figure's
    background, 0 shows white paper.
    """
    images = np.asarray(images, dtype=np.float64).reshape(-1, side, side)
    nrows = -(-len(images) // ncols)
    step = side + pad
    out = np.full((nrows * step - pad + 2 * border, ncols * step - pad + 2 * border), fill)
    for i, img in enumerate(images):  # a few dozen tiles: a loop over pictures, not examples
        top, left = (border + j * step for j in divmod(i, ncols))
        out[top:top + side, left:left + side] = img
    return out


def show_digits(ax, mosaic, **imshow_kw):
    """Draw a mosaic from ``tile_digits`` on ``ax``: grey scale over [0, 1], one pixel per pixel."""
    return ax.imshow(mosaic, cmap="gray_r", vmin=0, vmax=1, interpolation="nearest", **imshow_kw)


def fit_to_mosaic(fig, ax, mosaic, *, top=0.32, bottom=0.08):
    """Set the figure's height so the axes hold the mosaic exactly: no blank band below it.

    ``new_figure`` keeps room for an x label at the bottom; a mosaic has none, and its equal
    aspect would otherwise leave the rest of the height empty.
    """
    w_in, box = fig.get_figwidth(), ax.get_position()
    ax_w = box.width * w_in
    ax_h = ax_w * mosaic.shape[0] / mosaic.shape[1]
    h = ax_h + top + bottom
    fig.set_figheight(h)
    ax.set_position([box.x0, bottom / h, box.width, ax_h / h])


def plot_digits(rows, *, row_labels=None, title="digits", ncols=None):
    """Rows of 8x8 digits in one picture, e.g. ``plot_digits([x[:10], reconstructions])``.

    Each entry of ``rows`` starts a new row of the picture (wrapping after ``ncols`` images).
    Notebook 04.
    """
    rows = [np.asarray(r, dtype=np.float64).reshape(-1, 64) for r in rows]
    ncols = ncols or max(len(r) for r in rows)
    fig, ax = new_figure(width=0.42 * ncols + 0.8, height=0.42 * sum(-(-len(r) // ncols)
                                                                       for r in rows) + 0.6)
    padded = []
    for r in rows:
        extra = (-len(r)) % ncols
        padded.append(np.concatenate([r, np.full((extra, 64), np.nan)]) if extra else r)
    mosaic = tile_digits(np.concatenate(padded), ncols)
    show_digits(ax, mosaic)
    fit_to_mosaic(fig, ax, mosaic)
    ax.set(title=title, xticks=[], yticks=[])
    if row_labels is not None:
        starts = np.cumsum([0] + [len(p) // ncols for p in padded[:-1]])
        ax.set_yticks(starts * 9 + 3.5, row_labels, fontsize=8)
    return fig


def plot_digit_rows(rows, titles, *, side=8, ncols=12):
    """Rows of images, one row per entry of ``rows`` (each (n, side * side)), on white paper.

    The first ``ncols`` images of each row, clipped to [0, 1]. Notebook 02 (data and decoder
    samples).
    """
    fig, ax = new_figure(1, width=6.0, height=0.6 * len(rows) + 0.5)
    imgs = [np.clip(np.asarray(r, dtype=float)[:ncols], 0, 1) for r in rows]
    per_row = len(imgs[0])
    mosaic = tile_digits(np.concatenate(imgs), per_row, side=side, pad=2, fill=0.0, border=1)
    show_digits(ax, mosaic)
    fit_to_mosaic(fig, ax, mosaic)
    ax.set_yticks([(side + 2) * (i + 0.5) - 0.5 for i in range(len(rows))], titles, fontsize=8)
    ax.set_xticks([])
    ax.set_title(r"dark = ink; decoder rows show $f_\theta(z)$ for $z \sim N(0, I)$", fontsize=9)
    return fig
