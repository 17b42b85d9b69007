"""Figures for notebook 01 (eq. 1.1 and inverse-CDF sampling; maths in ``helpers.sampling``).

Each is a plain function returning a Figure, so a slider and a test call the same code.
"""

from __future__ import annotations

import numpy as np
from scipy import integrate

from .._checks import as_float_array, count, positive
from ..sampling import inverse_cdf_sample, normal_cdf, normal_icdf, normal_pdf
from .figure import new_figure
from .live import live_figure

__all__ = ["plot_inverse_cdf", "plot_tabulated_sampling"]


def _density_stairs(ax, samples, bins, range_, label):
    """A density histogram drawn as one filled outline (one artist, not one bar per bin)."""
    # Normalise by all samples, not only those inside the range: the density stays right (and
    # finite, never 0/0) when part or all of the sample falls outside the plotted window.
    counts, edges = np.histogram(samples, bins=bins, range=range_)
    heights = counts / (len(samples) * np.diff(edges))
    ax.stairs(heights, edges, fill=True, color="C0", alpha=0.45, label=label)


def plot_inverse_cdf(mu=0.0, sigma=1.0, *, n_samples=2000, rng=None, n_arrows=5,
                     x_range=(-6.0, 6.0)):
    """Inverse-transform sampling as a picture, next to the histogram it produces.

    Left: the CDF F of N(mu, sigma^2), with a few u values on the vertical axis carried across to
    F and down to x = F^-1(u). Right: a histogram of ``n_samples`` such draws over eq. 1.1.
    ``x_range`` is both panels' x-axis: a slider panel keeps the default, wide enough for every
    mu and sigma it offers (the axes stay put and the curves move); a single figure can fit it to
    its distribution. In a slider panel the figure is built once and its moving parts updated in
    place (``helpers.plots.live``).
    """
    mu_f = float(as_float_array("mu", mu))
    sigma_f = float(positive("sigma", sigma))
    n_samples = count("n_samples", n_samples)
    n_arrows = count("n_arrows", n_arrows)
    lo, hi = (float(v) for v in as_float_array("x_range", x_range))
    if not lo < hi:
        raise ValueError(f"x_range must be (lo, hi) with lo < hi, got {x_range!r}")
    samples = inverse_cdf_sample(lambda u: normal_icdf(u, mu_f, sigma_f), n_samples, rng)

    xs = np.linspace(lo, hi, 400)
    fig, p = live_figure(plot_inverse_cdf, (), lambda: _inverse_cdf_frame(lo, hi))
    p["cdf"].set_data(xs, normal_cdf(xs, mu_f, sigma_f))
    u = (np.arange(n_arrows) + 0.5) / n_arrows
    x = normal_icdf(u, mu_f, sigma_f)
    nan = np.full(n_arrows, np.nan)  # NaN breaks one line into n_arrows separate paths
    p["arrows"].set_data(np.column_stack([np.full(n_arrows, lo), x, x, nan]).ravel(),
                         np.column_stack([u, u, np.zeros(n_arrows), nan]).ravel())
    inside = (x >= lo) & (x <= hi)
    p["feet"].set_data(x[inside], np.zeros(inside.sum()))
    # an x = F^-1(u) beyond the window: a wedge where its arrow leaves the axis, at height u
    p["off_right"].set_data(np.full((x > hi).sum(), hi), u[x > hi])
    p["off_left"].set_data(np.full((x < lo).sum(), lo), u[x < lo])
    p["legend_map"].get_texts()[3].set_text(f"x beyond the axis: {n_arrows - inside.sum()}")
    # Normalise by all samples, as eq. 1.1 is: the bars then sit on the curve even when part of
    # the sample falls outside the window, and the title says how much does.
    counts, edges = np.histogram(samples, bins=60, range=(lo, hi))
    heights = counts / (n_samples * np.diff(edges))
    p["hist"].set_data(heights, edges)
    pdf = normal_pdf(xs, mu_f, sigma_f)
    p["pdf"].set_data(xs, pdf)
    p["legend"].get_texts()[0].set_text(f"{n_samples} samples")
    outside = 1.0 - counts.sum() / n_samples
    note = f", {100 * outside:.2g}% beyond the axis" if outside > 0 else ""
    p["title"].set_text(f"N({mu_f:.2g}, {sigma_f:.2g}$^2$){note}")
    # the density axis follows the histogram and the curve (as autoscaling would: 5% margin)
    p["title"].axes.set_ylim(0, 1.05 * (max(heights.max(), pdf.max()) or 1.0))
    return fig


def _inverse_cdf_frame(lo, hi):
    """The figure of ``plot_inverse_cdf`` with empty curves (the frame a slider keeps)."""
    fig, (ax_map, ax_hist) = new_figure(2)
    cdf, = ax_map.plot([], [], color="C0", label="CDF F(x)")
    arrows, = ax_map.plot([], [], color="C1", lw=0.9, ls="--", label="u across to F, down")
    feet, = ax_map.plot([], [], "v", color="C1", ms=5, label="x = F$^{-1}$(u)")
    off_right, = ax_map.plot([], [], ">", color="C1", ms=6, clip_on=False,
                             label="x beyond the axis")
    off_left, = ax_map.plot([], [], "<", color="C1", ms=6, clip_on=False)
    ax_map.set(xlim=(lo, hi), ylim=(0, 1.02), xlabel="x", ylabel="u ~ U(0, 1)",
               title="inverse CDF: u maps to x = F$^{-1}$(u)")
    # centre right: past the drops and the starts of the arrows, below F's upper plateau
    legend_map = ax_map.legend(loc="center right", fontsize=7, framealpha=0.9)  # in parts
    hist = ax_hist.stairs([0.0], [lo, hi], fill=True, color="C0", alpha=0.45, label="samples")
    pdf, = ax_hist.plot([], [], color="C3", label="eq. 1.1")
    ax_hist.set(xlim=(lo, hi), xlabel="x", ylabel="density")
    legend = ax_hist.legend(loc="upper left", fontsize=8)
    parts = dict(cdf=cdf, arrows=arrows, feet=feet, off_right=off_right, off_left=off_left,
                 hist=hist, pdf=pdf, legend=legend,
                 legend_map=legend_map,
                 title=ax_hist.title, density_axis=ax_hist.yaxis)
    return fig, parts


def plot_tabulated_sampling(pdf, icdf, lo, hi, samples, *, title="tabulated F$^{-1}$"):
    """A density, its tabulated CDF, and a histogram of samples drawn through that table."""
    fig, (ax_cdf, ax_hist) = new_figure(2)
    ax_cdf.plot(icdf.grid, icdf.cdf, color="C0")
    ax_cdf.set(xlabel="x", ylabel="F(x)", title="CDF from the trapezoid rule")
    xs = np.linspace(lo, hi, 600)
    dens = pdf(xs)
    area = integrate.trapezoid(dens, xs)
    _density_stairs(ax_hist, samples, 80, (lo, hi), label=f"{len(samples)} samples")
    ax_hist.plot(xs, dens / area, color="C3", label="normalised density")
    ax_hist.set(xlabel="x", ylabel="density", title=title)
    ax_hist.legend(fontsize=8)
    return fig
