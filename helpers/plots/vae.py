"""Figures for notebook 04: training curves, the latent map, gradient estimators, the c slider.

The maths is in ``helpers.vae`` and ``helpers.vae_analysis``; these functions draw what those
return, and need matplotlib only (no torch). Digits are drawn with ``helpers.plots.digits``.
"""

from __future__ import annotations

import numpy as np
from matplotlib.ticker import NullLocator

from .._checks import positive_scalar
from .digits import show_digits, tile_digits
from .figure import new_figure
from .live import live_figure

__all__ = ["plot_training", "plot_latent_map", "plot_gradient_estimators", "plot_c_tradeoff",
           "plot_rate_distortion"]

KL_FLOOR = 0.01  # nats: the c trade-off panel's log axis draws smaller KLs at this value


def plot_training(history, *, labels=None, title="negative ELBO per example (nats)"):
    """Training and held-out negative ELBO against the step, one colour per model."""
    fig, ax = new_figure(width=5.5, height=3.4)
    steps, train = history.step, np.asarray(history.train)
    labels = labels or [f"model {i}" for i in range(train.shape[1])]
    for i, lab in enumerate(labels):
        ax.plot(steps, train[:, i], color=f"C{i}", lw=1, alpha=0.6, label=f"{lab} (train batches)")
        if history.test is not None:
            ax.plot(steps, history.test[:, i], color=f"C{i}", lw=2, label=f"{lab} (held out)")
    ax.set(xlabel="Adam step", ylabel="-ELBO (nats)", title=title)
    ax.legend(fontsize=7)
    return fig


def plot_latent_map(mu, labels, decoded_grid, extent):
    """Left: encoder means mu_phi(x) coloured by digit. Right: f_theta(z) on a grid of z."""
    fig, (ax_map, ax_grid) = new_figure(2, width=4.2, height=4.0)
    sc = ax_map.scatter(mu[:, 0], mu[:, 1], c=labels, cmap="tab10", s=6, vmin=-0.5, vmax=9.5)
    fig.colorbar(sc, ax=ax_map, ticks=range(10), label="digit")
    ax_map.set(xlabel="$\\mu_{\\phi}(x)_1$", ylabel="$\\mu_{\\phi}(x)_2$",
               title="held-out digits in latent space", xlim=extent, ylim=extent)
    n = int(round(np.sqrt(len(decoded_grid))))
    # a one-pixel gap between tiles, so that blank columns inside digits do not read as stripes
    show_digits(ax_grid, tile_digits(decoded_grid, n, pad=1), extent=(*extent, *extent))
    ax_grid.set(xlabel="$z_1$", ylabel="$z_2$", title="$f_{\\theta}(z)$ on a grid of z")
    return fig


def plot_gradient_estimators(est, *, bins=80):
    """Histograms of the single-sample reparameterised and score-function gradient estimates."""
    fig, ax = new_figure(width=5.5, height=3.4)
    r, s = est.reparam, est.score
    lo, hi = np.percentile(s, [1, 99])
    lo, hi = min(lo, r.min()), max(hi, r.max())
    for vals, name, col in ((s, "score function", "C1"), (r, "reparameterised", "C0")):
        ax.hist(vals, bins=bins, range=(lo, hi), density=True, alpha=0.5, color=col,
                label=f"{name}: std {vals.std():.3g}")
    ax.axvline(est.exact, color="k", lw=1.5, label=f"exact gradient {est.exact:.3g}")
    ax.set(xlabel="single-sample estimate of d/d$\\mu$ E$_q$[(z - a)$^2$]", ylabel="density",
           title=f"q = N({est.mu:.3g}, {est.sigma:.3g}$^2$), a = {est.a:.3g}")
    ax.legend(fontsize=7, title="axis cut at the score function's 1st and 99th percentiles",
              title_fontsize=6.5)
    return fig


def plot_c_tradeoff(c, summary):
    """The c slider's picture, drawn from ``c_grid_summary`` (nearest trained c; no training).

    Top: held-out digits, their reconstructions f_theta(mu_phi(x)) and samples f_theta(z),
    z ~ N(0, I) (decoder means), all tiles the same size. Bottom left: the two parts of the
    negative ELBO against c (KL and the squared-error term, nats, log axis) and, on a linear
    right axis, the whole -ELBO with its (d/2) log(2 pi c) constant. Bottom right: KL per latent
    unit and the count of active units. Plain-text labels only (no mathtext), and in a slider
    panel the figure is built once and its moving parts updated in place (``helpers.plots.live``).
    """
    c = positive_scalar("c", c)
    grid = summary.c
    i = int(np.argmin(np.abs(np.log(grid) - np.log(c))))
    fig, p = live_figure(plot_c_tradeoff, (), lambda: _c_tradeoff_frame(summary))
    n = len(summary.originals)
    shown = np.concatenate([summary.originals, summary.reconstructions[i]])
    p["reconstructions"].set_data(tile_digits(shown, n))
    p["reconstructions"].axes.set_title(
        f"c = {grid[i]:.3g}: held out (top), reconstructed (bottom)", fontsize=10)
    p["samples"].set_data(tile_digits(summary.samples[i], -(-len(summary.samples[i]) // 2)))
    p["c_line"].set_xdata([np.log10(grid[i])] * 2)
    total = summary.reconstruction[i] + summary.constant[i] + summary.kl[i]
    p["c_line"].axes.set_title(f"-ELBO {total:.3g} = error/2c {summary.reconstruction[i]:.3g} "
                               f"+ constant {summary.constant[i]:.3g} + KL {summary.kl[i]:.3g}",
                               fontsize=9.5)
    for bar, height in zip(p["bars"], summary.kl_per_dim[i]):
        bar.set_height(height)
    p["units_title"].set_text(f"active units: {summary.active[i]} of {len(p['bars'])}")
    return fig


def _c_tradeoff_frame(summary):
    """The figure of ``plot_c_tradeoff`` without its per-c parts (the frame a slider keeps)."""
    grid = summary.c
    n, n_smp = len(summary.originals), len(summary.samples[0])
    shown = np.concatenate([summary.originals, summary.reconstructions[0]])
    mosaics = (tile_digits(shown, n), tile_digits(summary.samples[0], -(-n_smp // 2)))
    # Placed in inches. Top: both mosaics at one scale (the same tile size), filling the width.
    # Bottom: a wide panel for the curves and their -ELBO title, a narrow one for k bars.
    w, left, right, gap_top, gap_bottom = 8.8, 0.7, 0.15, 0.4, 1.3
    top, gap_rows, panel_h, bottom = 0.32, 0.62, 2.45, 0.5
    px = (w - left - right - gap_top) / sum(m.shape[1] for m in mosaics)  # inches per pixel
    img_h = px * mosaics[0].shape[0]
    h = top + img_h + gap_rows + panel_h + bottom
    fig, axes = new_figure(2, 2, width=w / 2, height=h / 2)
    (ax_rec, ax_smp), (ax_split, ax_units) = axes

    def place(ax, x0, y0, width, height):  # inches from the bottom left
        ax.set_position([x0 / w, y0 / h, width / w, height / h])

    rec_w = px * mosaics[0].shape[1]
    place(ax_rec, left, h - top - img_h, rec_w, img_h)
    place(ax_smp, left + rec_w + gap_top, h - top - img_h, px * mosaics[1].shape[1], img_h)
    split_w = 0.64 * (w - left - right - gap_bottom)
    place(ax_split, left, bottom, split_w, panel_h)
    place(ax_units, left + split_w + gap_bottom, bottom, w - right - left - split_w - gap_bottom,
          panel_h)
    for ax, mosaic, title in ((ax_rec, mosaics[0], ""),
                              (ax_smp, mosaics[1], "samples f(z), z ~ N(0, I)")):
        show_digits(ax, mosaic)
        ax.set(xticks=[], yticks=[])
        ax.set_title(title, fontsize=10)
    log_grid = np.log10(grid)
    # the parts span decades, so a log axis; a collapsed model's KL (about 0) sits at the floor
    floor = KL_FLOOR
    ax_split.semilogy(log_grid, summary.reconstruction, "o-", color="C0",
                      label="squared error / 2c")
    ax_split.semilogy(log_grid, np.maximum(summary.kl, floor), "s-", color="C3",
                      label=f"KL(q || p(z)) (< {floor:g} drawn at {floor:g})")
    # decade ticks only: eight decades of minor ticks cost a third of every draw and add no reading
    ax_split.yaxis.set_minor_locator(NullLocator())
    c_line = ax_split.axvline(log_grid[0], color="k", lw=1, ls="--")
    ax_split.set_xticks(log_grid, [f"{v:.2g}" for v in grid])
    ax_split.tick_params(labelsize=9)
    ax_split.set_xlabel("c (log scale)", fontsize=9.5)
    ax_split.set_ylabel("nats per image (log scale)", fontsize=9.5)
    # -ELBO with its constant (d/2) log(2 pi c): the only part comparable across c; it can be
    # negative, so it gets its own linear axis
    ax_total = ax_split.twinx()
    # matplotlib < 3.11 puts a twin in its gridspec slot, not where set_position put ax_split
    ax_total.set_position(ax_split.get_position())
    total = summary.reconstruction + summary.constant + summary.kl
    (total_line,) = ax_total.plot(log_grid, total, "^--", color="k", ms=4,
                                  label="-ELBO with its constant (nats, right axis)")
    ax_total.tick_params(labelsize=9)
    ax_total.set_ylabel("-ELBO (nats per image)", fontsize=9.5)
    # headroom on both axes keeps the upper band free for the legend
    lo_total, hi_total = total.min(), total.max()
    ax_total.set_ylim(lo_total - 0.05 * (hi_total - lo_total), hi_total + 0.7 * (hi_total - lo_total))
    top_value = max(summary.reconstruction.max(), summary.kl.max())
    ax_split.set_ylim(floor / 2, top_value * 1e2)
    handles = ax_split.get_legend_handles_labels()[0] + [total_line]
    legend = ax_split.legend(handles=handles, fontsize=8, loc="upper center")
    k = summary.kl_per_dim.shape[1]
    bars = list(ax_units.bar(np.arange(1, k + 1), summary.kl_per_dim[0], color="C3"))
    ax_units.tick_params(labelsize=9)
    ax_units.set(xticks=np.arange(1, k + 1), ylim=(0, 1.05 * summary.kl_per_dim.max()))
    ax_units.set_xlabel("latent unit j", fontsize=9.5)
    ax_units.set_ylabel("KL of unit j (nats)", fontsize=9.5)
    ax_units.set_title(" ", fontsize=10)
    parts = dict(reconstructions=ax_rec.images[0], rec_title=ax_rec.title,
                 samples=ax_smp.images[0], c_line=c_line, split_title=ax_split.title,
                 legend=legend, bars=bars, units_title=ax_units.title)
    return fig, parts


def plot_rate_distortion(summary):
    """Rate against distortion over a grid of trained VAEs (``c_grid_summary``), one point per c.

    Rate: KL(q_phi(z | x) || p(z)), nats per image, what the code costs. Distortion: the
    per-pixel squared error of the reconstruction. Each c picks one point of the trade-off
    (Alemi et al. 2018): small c buys low error with many nats of KL, large c the reverse.
    """
    fig, ax = new_figure(width=4.6, height=3.2)
    ax.plot(summary.mse, summary.kl, "o-", color="C3")
    # one label per distinct point: collapsed models (KL 0, the same error) share theirs
    labels = {}
    for mse, kl, c in zip(summary.mse, summary.kl, summary.c):
        key = (round(float(mse), 3), round(float(kl), 1))
        labels.setdefault(key, (mse, kl, []))[2].append(f"{c:.2g}")
    for mse, kl, cs in labels.values():
        ax.annotate("c = " + ", ".join(cs), (mse, kl), textcoords="offset points",
                    xytext=(6, 3), fontsize=7)
    ax.set(xlabel="distortion: per-pixel squared error", ylabel="rate: KL (nats per image)",
           title="each c is one point of a trade-off")
    ax.set_xlim(right=ax.get_xlim()[1] + 0.2 * np.ptp(summary.mse))  # room for the labels
    return fig
