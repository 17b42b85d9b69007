"""Generative models and inverse-CDF sampling (article section 1, eq. 1.1). Taught in notebook 01.

A generative model is a distribution p(x) that can do two things: draw new samples x ~ p(x) and
evaluate the likelihood p(x) of a given x. For a 1-D distribution with CDF F, inverse-transform
sampling turns uniform noise into samples: u ~ U(0, 1)  =>  x = F^-1(u) ~ p.
"""

from __future__ import annotations

import numpy as np
from scipy import special

from ._checks import as_float_array, as_rng, count, positive

__all__ = [
    "normal_pdf",
    "normal_cdf",
    "normal_icdf",
    "inverse_cdf_sample",
    "tabulated_icdf",
    "plot_inverse_cdf",
    "plot_tabulated_sampling",
]

_LOG_SQRT_2PI = 0.5 * np.log(2 * np.pi)


def _mu_sigma(mu, sigma):
    return as_float_array("mu", mu), positive("sigma", sigma)


def normal_pdf(x, mu=0.0, sigma=1.0):
    """Density of N(mu, sigma^2) at x (eq. 1.1).

    p(x) = 1 / (sigma sqrt(2 pi)) * exp(-(x - mu)^2 / (2 sigma^2))

    Parameters
    ----------
    x : array_like
        Points to evaluate; +-inf give 0.
    mu : array_like, default 0.0
        Mean, broadcast against ``x``.
    sigma : array_like, default 1.0
        Standard deviation, > 0.

    Returns
    -------
    ndarray or float
    """
    x = as_float_array("x", x, allow_inf=True)
    mu, sigma = _mu_sigma(mu, sigma)
    z = (x - mu) / sigma
    return np.exp(-0.5 * z**2 - _LOG_SQRT_2PI) / sigma


def normal_cdf(x, mu=0.0, sigma=1.0):
    """F(x) = P(X <= x) for X ~ N(mu, sigma^2), accurate far into both tails (``scipy.special.ndtr``)."""
    x = as_float_array("x", x, allow_inf=True)
    mu, sigma = _mu_sigma(mu, sigma)
    return special.ndtr((x - mu) / sigma)


def normal_icdf(u, mu=0.0, sigma=1.0):
    """F^-1(u) for N(mu, sigma^2): the map that turns u ~ U(0, 1) into a normal sample.

    Uses ``scipy.special.ndtri``, whose relative error stays below 1e-12 for u in
    [1e-300, 1 - 1e-16]. The textbook form ``sqrt(2) * erfinv(2u - 1)`` loses that accuracy in the
    lower tail, because ``2u - 1`` rounds away the digits of a tiny u (notebook 01 shows it).

    Parameters
    ----------
    u : array_like
        Probabilities in [0, 1]; u = 0 gives -inf and u = 1 gives +inf.
    mu, sigma : array_like
        Mean and standard deviation (> 0).

    Returns
    -------
    ndarray or float
    """
    u = as_float_array("u", u)
    if ((u < 0) | (u > 1)).any():
        bad = u[(u < 0) | (u > 1)].flat[0] if u.ndim else u.item()
        raise ValueError(f"u must lie in [0, 1], got {bad!r}")
    mu, sigma = _mu_sigma(mu, sigma)
    return mu + sigma * special.ndtri(u)


def inverse_cdf_sample(icdf, n, rng=None):
    """Inverse-transform sampling: draw u ~ U(0, 1) n times and return ``icdf(u)``, shape (n,).

    Parameters
    ----------
    icdf : callable
        F^-1, vectorised over a 1-D array of probabilities.
    n : int
        Number of samples, >= 1.
    rng : int, numpy.random.Generator or None
        Seed or generator for u.
    """
    if not callable(icdf):
        raise ValueError(f"icdf must be callable, got {icdf!r}")
    n = count("n", n)
    u = as_rng(rng).random(n)
    x = np.asarray(icdf(u), dtype=np.float64)
    if x.shape != (n,):
        raise ValueError(f"icdf must map an array of shape ({n},) to the same shape, got {x.shape}")
    return x


def tabulated_icdf(pdf, lo, hi, n_grid=4097):
    """F^-1 built numerically for any 1-D density on [lo, hi]; the pdf need not be normalised.

    Tabulates the density on ``n_grid`` points, integrates it with the trapezoid rule into a CDF,
    and inverts that table by linear interpolation. This is how to sample a density that has no
    closed-form inverse CDF, at the price of a table whose size grows like ``n_grid ** dim``.

    Parameters
    ----------
    pdf : callable
        Density (up to a constant), vectorised over a 1-D array; values must be finite and >= 0.
    lo, hi : float
        The interval holding (almost) all the mass, lo < hi.
    n_grid : int, default 4097
        Grid points, >= 2.

    Returns
    -------
    callable
        u -> x, for u in [0, 1] (array or scalar).
    """
    if not callable(pdf):
        raise ValueError(f"pdf must be callable, got {pdf!r}")
    lo = float(as_float_array("lo", lo))
    hi = float(as_float_array("hi", hi))
    if not lo < hi:
        raise ValueError(f"lo must be < hi, got lo={lo!r}, hi={hi!r}")
    n_grid = count("n_grid", n_grid, minimum=2)
    grid = np.linspace(lo, hi, n_grid)
    density = np.asarray(pdf(grid), dtype=np.float64)
    if density.shape != grid.shape:
        raise ValueError(f"pdf must map shape {grid.shape} to the same shape, got {density.shape}")
    if not np.isfinite(density).all() or (density < 0).any():
        raise ValueError("pdf must return finite values >= 0 on [lo, hi]")
    cdf = np.concatenate([[0.0], np.cumsum(0.5 * (density[1:] + density[:-1]) * np.diff(grid))])
    if cdf[-1] <= 0:
        raise ValueError(f"pdf has no mass on [lo, hi] = [{lo!r}, {hi!r}]")
    cdf /= cdf[-1]

    def icdf(u):
        u = as_float_array("u", u)
        if ((u < 0) | (u > 1)).any():
            raise ValueError(f"u must lie in [0, 1], got {u[(u < 0) | (u > 1)].flat[0]!r}"
                             if u.ndim else f"u must lie in [0, 1], got {u.item()!r}")
        return np.interp(u, cdf, grid)

    icdf.grid, icdf.cdf = grid, cdf
    return icdf


# ---------------------------------------------------------------------------------------------
# Figures for notebook 01. Each is a plain function, so a slider and a test call the same code.
# ---------------------------------------------------------------------------------------------

def _density_stairs(ax, samples, bins, range_, label):
    """A density histogram drawn as one filled outline (one artist, not one bar per bin)."""
    # Normalise by all samples, not only those inside the range: the density stays right (and
    # finite, never 0/0) when part or all of the sample falls outside the plotted window.
    counts, edges = np.histogram(samples, bins=bins, range=range_)
    heights = counts / (len(samples) * np.diff(edges))
    ax.stairs(heights, edges, fill=True, color="C0", alpha=0.45, label=label)


def plot_inverse_cdf(mu=0.0, sigma=1.0, n_samples=2000, rng=0, n_arrows=5):
    """Inverse-transform sampling as a picture, next to the histogram it produces.

    Left: the CDF F of N(mu, sigma^2), with a few u values on the vertical axis carried across to
    F and down to x = F^-1(u). Right: a histogram of ``n_samples`` such draws over eq. 1.1.
    In a slider panel the figure is built once and its moving parts updated in place
    (``helpers._plot.live_figure``).
    """
    from ._plot import live_figure

    mu_f = float(as_float_array("mu", mu))
    sigma_f = float(positive("sigma", sigma))
    n_samples = count("n_samples", n_samples)
    n_arrows = count("n_arrows", n_arrows)
    samples = inverse_cdf_sample(lambda u: normal_icdf(u, mu_f, sigma_f), n_samples, rng)

    xs = np.linspace(-6.0, 6.0, 400)  # fixed axes, so moving a slider moves the curves, not the frame
    fig, p = live_figure(plot_inverse_cdf, (), _inverse_cdf_frame)
    p["cdf"].set_data(xs, normal_cdf(xs, mu_f, sigma_f))
    u = (np.arange(n_arrows) + 0.5) / n_arrows
    x = normal_icdf(u, mu_f, sigma_f)
    nan = np.full(n_arrows, np.nan)  # NaN breaks one line into n_arrows separate paths
    p["arrows"].set_data(np.column_stack([np.full(n_arrows, -6.0), x, x, nan]).ravel(),
                         np.column_stack([u, u, np.zeros(n_arrows), nan]).ravel())
    p["feet"].set_data(x, np.zeros(n_arrows))
    counts, edges = np.histogram(samples, bins=60, range=(-6, 6))
    heights = counts / max(counts.sum(), 1) / np.diff(edges)  # density=True, and 0 if none inside
    p["hist"].set_data(heights, edges)
    pdf = normal_pdf(xs, mu_f, sigma_f)
    p["pdf"].set_data(xs, pdf)
    p["legend"].get_texts()[0].set_text(f"{n_samples} samples")
    p["title"].set_text(f"N({mu_f:.2g}, {sigma_f:.2g}$^2$)")
    # the density axis follows the histogram and the curve (as autoscaling would: 5% margin)
    p["title"].axes.set_ylim(0, 1.05 * (max(heights.max(), pdf.max()) or 1.0))
    return fig


def _inverse_cdf_frame():
    """The figure of ``plot_inverse_cdf`` with empty curves (the frame a slider keeps)."""
    from ._plot import new_figure

    fig, (ax_map, ax_hist) = new_figure(2)
    cdf, = ax_map.plot([], [], color="C0", label="F(x)")
    arrows, = ax_map.plot([], [], color="C1", lw=0.9, ls="--")
    feet, = ax_map.plot([], [], "v", color="C1", ms=5)
    ax_map.set(xlim=(-6, 6), ylim=(0, 1.02), xlabel="x = F$^{-1}$(u)", ylabel="u ~ U(0, 1)",
               title="u on the axis, F, then x")
    hist = ax_hist.stairs([0.0], [-6.0, 6.0], fill=True, color="C0", alpha=0.45, label="samples")
    pdf, = ax_hist.plot([], [], color="C3", label="eq. 1.1")
    ax_hist.set(xlim=(-6, 6), xlabel="x", ylabel="density")
    legend = ax_hist.legend(loc="upper left", fontsize=8)
    parts = dict(cdf=cdf, arrows=arrows, feet=feet, hist=hist, pdf=pdf, legend=legend,
                 title=ax_hist.title, density_axis=ax_hist.yaxis)
    return fig, parts


def plot_tabulated_sampling(pdf, icdf, lo, hi, samples, title="tabulated F$^{-1}$"):
    """A density, its tabulated CDF, and a histogram of samples drawn through that table."""
    from ._plot import new_figure

    fig, (ax_cdf, ax_hist) = new_figure(2)
    ax_cdf.plot(icdf.grid, icdf.cdf, color="C0")
    ax_cdf.set(xlabel="x", ylabel="F(x)", title="CDF from the trapezoid rule")
    xs = np.linspace(lo, hi, 600)
    dens = pdf(xs)
    area = np.trapezoid(dens, xs) if hasattr(np, "trapezoid") else np.trapz(dens, xs)
    _density_stairs(ax_hist, samples, 80, (lo, hi), label=f"{len(samples)} samples")
    ax_hist.plot(xs, dens / area, color="C3", label="normalised density")
    ax_hist.set(xlabel="x", ylabel="density", title=title)
    ax_hist.legend(fontsize=8)
    return fig
