"""Generative models and inverse-CDF sampling (article section 1, eq. 1.1). Taught in notebook 01.

A generative model is a distribution p(x) that can do two things: draw new samples x ~ p(x) and
evaluate the likelihood p(x) of a given x. For a 1-D distribution with CDF F, inverse-transform
sampling turns uniform noise into samples: u ~ U(0, 1)  =>  x = F^-1(u) ~ p.
Notebook 01's figures are ``helpers.plots.sampling``.
"""

from __future__ import annotations

import numpy as np

from ._checks import as_float_array, as_rng, count, positive, unit_interval
from ._deprecated import keyword_only
from .gaussian import LOG_2PI

__all__ = [
    "normal_pdf",
    "normal_cdf",
    "normal_icdf",
    "inverse_cdf_sample",
    "tabulated_icdf",
]

_LOG_SQRT_2PI = 0.5 * LOG_2PI


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
    from scipy import special   # here, not at the top: importing scipy.special takes ~0.3 s

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
    u = unit_interval("u", u)
    from scipy import special

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


@keyword_only(3, ["n_grid"])
def tabulated_icdf(pdf, lo, hi, *, n_grid=4097):
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
        return np.interp(unit_interval("u", u), cdf, grid)

    icdf.grid, icdf.cdf = grid, cdf
    return icdf
