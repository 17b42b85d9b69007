"""The figures of notebook 07's comparison, in bits per pixel of the test digits.

``plot_bits_per_pixel``: every model's bound; ``plot_cost_per_level``: where a diffusion model's
bits go, by noise level and pixel group (``helpers.bits_per_level``); ``plot_bits_against_seconds``:
bits per pixel as training goes on (``make bench``'s numbers). The numbers come from
``helpers.bits`` and ``helpers.bits_per_level``; this module only draws.
"""

from __future__ import annotations

import numpy as np

from ..bits import LEVELS, mean_and_se, paired_difference
from .figure import new_figure

__all__ = ["plot_bits_per_pixel", "plot_cost_per_level", "plot_bits_against_seconds"]


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
        # labels go right of their point, except near the right edge: there, to its left
        left = m > means.min() + 0.75 * (means.max() - means.min()) and len(labels) > 1
        # a white box keeps the label readable where the dashed reference line crosses it
        ax.annotate(text, (m - 2 * se if left else m + 2 * se, yi), textcoords="offset points",
                    xytext=(-6 if left else 6, 0), fontsize=7, color=colour, va="center",
                    ha="right" if left else "left",
                    bbox=dict(boxstyle="square,pad=0.1", fc="white", ec="none", alpha=0.85))
    if reference is not None:
        ax.axvline(means[labels.index(reference)], color="k", lw=1, ls="--")
        ax.set_title("does any model beat the dashed line (the reference row)?", fontsize=9)
    lo, hi = (means - 2 * ses).min(), (means + 2 * ses).max()
    ax.set(xlim=(lo - 0.05 * (hi - lo), hi + 0.32 * (hi - lo)), ylim=(-0.6, len(labels) - 0.4),
           xlabel="bits per pixel of the test digits (lower is better; bars: ±2 SE)")
    ax.set_yticks(y, labels, fontsize=8)
    # room for the row labels: about 0.06 inch per character at font size 8
    margin = max(2.1, 0.06 * max(len(label) for label in labels) + 0.2)
    box, left = ax.get_position(), margin / fig.get_figwidth()
    ax.set_position([left, box.y0, 0.97 - left, box.height])
    return fig


def _bits(nats):
    """Nats per digit of 64 pixels -> bits per pixel."""
    return np.asarray(nats) / (64 * np.log(2.0))


def plot_cost_per_level(network, reference, groups, *, grey_level=2.0 / LEVELS):
    """Where the network's chain pays more than the chain of an exact noise prediction.

    Parameters
    ----------
    network, reference : LevelCosts
        ``elbo_per_level`` of the trained network, and of the same chain driven by an exact
        E[eps | x_t] (``PixelHistogram``), on the same digits with the same draws.
    groups : dict
        Group label -> boolean mask over the d pixels; the groups should cover every pixel once.
    grey_level : float
        The noise level drawn as a vertical line: one grey level of x' = 2x - 1 is 2/17.

    Left: each chain's cost summed from the cleanest level up to sigma (bits per pixel of the
    whole digit; the decoder's term at the cleanest level is a negative cost). Right: the network's extra cost over the
    reference, the same running sum, split by pixel group; at the right end the curves give
    each group's share of the gap.
    """
    sigma = network.sigma
    if reference.sigma.shape != sigma.shape or not np.allclose(reference.sigma, sigma):
        raise ValueError("network and reference must come from the same schedule")
    masks = {k: np.asarray(v, dtype=bool) for k, v in groups.items()}
    fig, (left, right) = new_figure(2, width=4.0, height=3.2)
    for costs, label, colour in ((reference, "exact histogram eps", "k"),
                                 (network, "trained network", "C0")):
        running = _bits(np.cumsum(costs.per_pixel.sum(1)))
        left.plot(sigma, running, color=colour, label=label)
    gap = network.per_pixel - reference.per_pixel
    right.plot(sigma, _bits(np.cumsum(gap.sum(1))), color="C0", label="all 64 pixels")
    for (name, mask), colour in zip(masks.items(), ("C1", "C2", "C3", "C4")):
        right.plot(sigma, _bits(np.cumsum(gap[:, mask].sum(1))), color=colour, ls="--",
                   label=f"{name} ({mask.sum()} pixels)")
    top = sigma[np.searchsorted(sigma, 30.0)] if sigma[-1] > 30.0 else sigma[-1]
    for ax in (left, right):
        ax.axvline(grey_level, color="0.5", lw=0.8, ls=":")
        ax.set_xscale("log")
        ax.set_xlim(sigma[0] / 1.2, top)   # above sigma = 30 nothing more is paid
        ax.set_xlabel(r"noise level $\sigma_t$ (of $x' = 2x - 1$)")
    left.annotate("one grey level", (grey_level, 0.05), xycoords=("data", "axes fraction"),
                  xytext=(3, 0), textcoords="offset points", fontsize=7, color="0.4")
    left.set(ylabel="cost up to $\\sigma_t$, bits per pixel",
             title="each chain's cost, summed from the cleanest level")
    right.set(ylabel="network minus exact, bits per pixel",
              title="where the network's extra bits are paid")
    left.legend(loc="lower right", fontsize=7, frameon=False)
    right.legend(loc="lower right", fontsize=7, frameon=False)
    for ax in (left, right):
        ax.title.set_fontsize(9)
    return fig


def plot_bits_against_seconds(runs, *, histogram, joint=None, best=None):
    """Test bits per pixel against training seconds, one line per model's bound.

    Parameters
    ----------
    runs : dict
        Line label -> (seconds, bits per pixel), two sequences of equal length.
    histogram : float
        The independent-pixel histogram's bits per pixel, drawn as a horizontal line.
    joint : (str, float), optional
        A joint baseline's label and bits per pixel, drawn as a second horizontal line.
    best : (str, seconds, bits), optional
        A point to ring and label (the VAE stopped at its best).
    """
    fig, ax = new_figure(1, width=6.0, height=3.4)
    colours = ("C0", "C0", "C1", "C1")
    styles = ("-", "--", "-", "--")
    values = [histogram]
    for (label, (sec, bits)), colour, ls in zip(runs.items(), colours, styles):
        if len(sec) != len(bits):
            raise ValueError(f"runs[{label!r}] must hold two sequences of equal length")
        ax.plot(sec, bits, ls, marker="o", ms=3, color=colour, label=label)
        values.extend(bits)
    ax.axhline(histogram, color="k", lw=1, ls=":")
    # the lines' labels sit under them at the left, where the shortest runs are: the longest
    # runs, at the right, are the points a reader compares with these lines
    ax.annotate(f"independent-pixel histogram {histogram:.3f}", (0.0, histogram),
                xycoords=("axes fraction", "data"), xytext=(4, -9), textcoords="offset points",
                ha="left", fontsize=7)
    if joint is not None:
        ax.axhline(joint[1], color="0.4", lw=1, ls="-.")
        ax.annotate(f"{joint[0]} {joint[1]:.3f}", (0.0, joint[1]), xycoords=("axes fraction", "data"),
                    xytext=(4, -9), textcoords="offset points", ha="left", fontsize=7, color="0.3")
        values.append(joint[1])
    if best is not None:
        ax.plot(best[1], best[2], "o", ms=11, mfc="none", color="C0")
        ax.annotate(best[0], (best[1], best[2]), xytext=(10, -3), textcoords="offset points",
                    fontsize=7, color="C0", ha="left", va="top")
    ax.set_xscale("log")
    lo, hi = min(values), max(values)
    ax.set(ylim=(lo - 0.08 * (hi - lo), hi + 0.08 * (hi - lo)),
           xlabel="training wall time, seconds (one thread; log scale)",
           ylabel="test bits per pixel")
    ax.set_title("longer training: the VAE overfits, diffusion keeps improving", fontsize=9)
    ax.legend(loc="upper right", fontsize=7, frameon=False)
    return fig
