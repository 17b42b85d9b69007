"""The figure of notebook 07's comparison: every model's bits per pixel on the test digits.

The numbers come from ``helpers.bits`` (``mean_and_se``); this module only draws.
"""

from __future__ import annotations

import numpy as np

from ..bits import mean_and_se, paired_difference
from .figure import new_figure

__all__ = ["plot_bits_per_pixel"]


def plot_bits_per_pixel(bits, *, reference=None):
    """Each model's mean bits per pixel with +-2 standard errors, one row per model.

    Parameters
    ----------
    bits : dict
        Row label -> bits per pixel, one value per test digit (``bits_per_pixel``), or a single
        number for a model that scores every digit alike (uniform pixels).
    reference : str, optional
        The label of the row to draw as a vertical line across the figure (the baseline the
        others are compared with).

    Every row is labelled with its value: the trained models' values are one run's, and move by
    a few hundredths between seeds and between CPUs (notebook 07, section 4). With a reference,
    each row of per-digit values is also labelled with its paired difference from it
    (``helpers.bits.paired_difference``): the standard error that decides which is better. A row
    with fewer digits is compared on the reference's first digits, and its label says so.
    """
    labels = list(bits)
    if reference is not None and reference not in bits:
        raise ValueError(f"reference must be one of the rows {labels}, got {reference!r}")
    stats = [mean_and_se(v) if np.ndim(v) else None for v in bits.values()]
    means = np.array([s.mean if s else float(v) for s, v in zip(stats, bits.values())])
    ses = np.array([s.se if s else 0.0 for s in stats])
    fig, ax = new_figure(1, width=6.4, height=0.42 * len(labels) + 1.0)
    y = np.arange(len(labels))[::-1]
    ref = None if reference is None else bits[reference]   # per-digit values, or a number
    for yi, m, se, s, label in zip(y, means, ses, stats, labels):
        colour = "k" if label == reference else "C0"
        ax.errorbar(m, yi, xerr=2 * se, fmt="o", color=colour, ms=4, capsize=3)
        text = f"{m:.3f}" if s is None else f"{s.mean:.3f} (SE {s.se:.3f})"
        if s is not None and label != reference and np.ndim(ref):
            d = paired_difference(bits[label], ref)
            on = "" if d.n == np.size(ref) else f" (on the first {d.n})"
            text += f"\npaired{on}: {d:+.3f}"
        ax.annotate(text, (m + 2 * se, yi), textcoords="offset points", xytext=(6, 0),
                    fontsize=7, color=colour, va="center")
    if reference is not None:
        ax.axvline(means[labels.index(reference)], color="k", lw=1, ls="--")
        ax.set_title("does any model beat the dashed line (the reference row)?", fontsize=9)
    lo, hi = (means - 2 * ses).min(), (means + 2 * ses).max()
    ax.set(xlim=(lo - 0.05 * (hi - lo), hi + 0.25 * (hi - lo)), ylim=(-0.6, len(labels) - 0.4),
           xlabel="bits per pixel of the test digits (lower is better; bars: ±2 SE)")
    ax.set_yticks(y, labels, fontsize=8)
    box, left = ax.get_position(), 2.1 / fig.get_figwidth()    # room for the row labels
    ax.set_position([left, box.y0, 0.97 - left, box.height])
    return fig
