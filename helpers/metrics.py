"""How close are samples to data? Distances between two point clouds (numpy). Notebook 05.

A diffusion model has no cheap exact likelihood for its samples, so notebook 05 and the benchmark
compare a model's samples with held-out data points directly:

* ``wasserstein_1``: the 1-D earth mover's distance, the area between the two quantile functions;
* ``sliced_wasserstein_1``: the mean of ``wasserstein_1`` over random 1-D projections, for d >= 1;
* ``mmd``: the squared maximum mean discrepancy with a Gaussian kernel;
* ``nearest_neighbours`` and ``mean_pairwise_distance``: notebook 07's checks that samples are
  not copies of training digits, and how spread out the samples of one class are.

Each is 0 for a set compared with itself and is in the data's units (``mmd``: unitless), so two
independent draws of the same data give the *floor*: the value a perfect sampler would get.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from ._checks import as_float_array, as_rng, count, positive_scalar
from ._deprecated import keyword_only
from ._distances import squared_distances
from ._results import UnpacksAsTuple

__all__ = ["wasserstein_1", "sliced_wasserstein_1", "mmd", "NearestNeighbours",
           "nearest_neighbours", "mean_pairwise_distance"]


def _points(name, x):
    """x as a finite float array of shape (n, d) with n, d >= 1 (a 1-D x is n points in 1-D)."""
    x = as_float_array(name, x)
    if x.ndim == 1:
        x = x[:, None]
    if x.ndim != 2 or x.shape[0] == 0 or x.shape[1] == 0:
        raise ValueError(f"{name} must have shape (n,) or (n, d) with n, d >= 1, got {x.shape}")
    return x


def _pair(a, b):
    a, b = _points("a", a), _points("b", b)
    if a.shape[1] != b.shape[1]:
        raise ValueError(f"b must have the dimension d = {a.shape[1]} of a, got shape {b.shape}")
    return a, b


def _w1_columns(a, b):
    """W1 between the columns of a (n, k) and b (m, k): k 1-D distances at once, shape (k,).

    W1 = int_0^1 |Q_a(u) - Q_b(u)| du, with Q the empirical quantile functions. Q_a is constant
    on each ((i-1)/n, i/n], so on the merged grid of the i/n and j/m both are constant and the
    integral is a finite sum. With n = m it is mean_i |a_(i) - b_(i)|, the sorted values paired.
    """
    a, b = np.sort(a, axis=0), np.sort(b, axis=0)
    n, m = len(a), len(b)
    if n == m:
        return np.mean(np.abs(a - b), axis=0)
    # the breakpoints u of both quantile functions, and the width of each interval between them
    u = np.union1d(np.arange(1, n + 1) / n, np.arange(1, m + 1) / m)
    widths = np.diff(u, prepend=0.0)
    mid = u - widths / 2
    # Q_a(u) = a_(i) for u in ((i-1)/n, i/n]: row floor(u n) at an interval's midpoint
    qa = a[np.minimum((mid * n).astype(int), n - 1)]
    qb = b[np.minimum((mid * m).astype(int), m - 1)]
    return widths @ np.abs(qa - qb)


def wasserstein_1(a, b):
    """The 1-D Wasserstein-1 (earth mover's) distance between two samples.

    W1(a, b) = int |F_a(x) - F_b(x)| dx = int_0^1 |Q_a(u) - Q_b(u)| du, with F the empirical
    CDFs and Q their inverses (eq. 1.1's quantile function). For equal sizes it is the mean
    absolute difference of the sorted samples. Equal to ``scipy.stats.wasserstein_distance``.

    Parameters
    ----------
    a : array_like, shape (n,) or (n, 1)
    b : array_like, shape (m,) or (m, 1)

    Returns
    -------
    float, in the data's units
    """
    a, b = _pair(a, b)
    if a.shape[1] != 1:
        raise ValueError(f"a must be 1-D data, shape (n,) or (n, 1), got {a.shape}; "
                         "for d > 1 use sliced_wasserstein_1")
    return float(_w1_columns(a, b)[0])


@keyword_only(2, ["n_projections", "rng"])
def sliced_wasserstein_1(a, b, *, n_projections=256, rng=None):
    """Sliced Wasserstein-1: the mean over random unit directions u of W1(a u, b u).

    SW1(a, b) = E_u[W1(<a, u>, <b, u>)], u uniform on the unit sphere, estimated with
    ``n_projections`` directions u = z / |z|, z ~ N(0, I_d) (drawn as
    ``rng.standard_normal((n_projections, d))``). Passing the same ``rng`` seed compares every
    model along the same directions. In 1-D it is ``wasserstein_1`` for any directions. A shift of
    every point by s gives |s| E|cos angle(s, u)|, which is 2|s|/pi in 2-D.

    Parameters
    ----------
    a : array_like, shape (n, d) (or (n,) for 1-D data)
    b : array_like, shape (m, d)
    n_projections : int, default 256
    rng : int, numpy.random.Generator or None
        Draws the directions.

    Returns
    -------
    float, in the data's units
    """
    a, b = _pair(a, b)
    n_projections = count("n_projections", n_projections)
    z = as_rng(rng).standard_normal((n_projections, a.shape[1]))
    # unit directions u_k, one per column
    u = (z / np.linalg.norm(z, axis=1, keepdims=True)).T
    return float(np.mean(_w1_columns(a @ u, b @ u)))


@keyword_only(2, ["bandwidth"])
def mmd(a, b, *, bandwidth=None):
    """The squared maximum mean discrepancy with a Gaussian kernel, unbiased estimate.

    With k(x, y) = exp(-|x - y|^2 / (2 h^2)),

        MMD^2 = E k(a, a') + E k(b, b') - 2 E k(a, b),

    estimated by the U-statistic (the diagonal i = j left out of the first two means), which is
    unbiased: its mean over draws is the population MMD^2, so it can be slightly negative when the
    two distributions are equal. MMD^2 = 0 exactly when they are equal (the Gaussian kernel is
    characteristic). Memory and time grow as (n + m)^2: a few thousand points each is the scale.

    Parameters
    ----------
    a : array_like, shape (n, d) (or (n,) for 1-D data), n >= 2
    b : array_like, shape (m, d), m >= 2
    bandwidth : float > 0 or None
        h. None: the median heuristic, h = the median distance between two distinct points of the
        pooled sample (of at most 2000 evenly spaced points of it). The heuristic's h is the size
        of the whole cloud, so it sees the overall shape but little of fine structure (two moons
        a tenth of h wide); to compare several models against the same data, pass one fixed h,
        or each comparison uses its own kernel.

    Returns
    -------
    float, unitless
    """
    a, b = _pair(a, b)
    for name, x in (("a", a), ("b", b)):
        if len(x) < 2:
            raise ValueError(f"{name} must hold at least 2 points for the unbiased MMD, "
                             f"got {len(x)}")
    n, m = len(a), len(b)
    if bandwidth is None:
        # median over pairs i < j of the pooled sample (of at most 2000 evenly spaced points of
        # it: the median of 2 million distances is as good as that of 8 million, and 4x cheaper)
        pooled = np.concatenate([a, b])
        pooled = pooled[np.linspace(0, len(pooled) - 1, min(len(pooled), 2000)).astype(int)]
        h2 = float(np.median(squared_distances(pooled, pooled)[np.triu_indices(len(pooled), 1)]))
        if h2 <= 0:
            raise ValueError("bandwidth=None needs distinct points: the median distance is 0")
    else:
        h2 = positive_scalar("bandwidth", bandwidth) ** 2
    k_aa, k_bb, k_ab = (np.exp(squared_distances(x, y) / (-2 * h2)) for x, y in ((a, a), (b, b), (a, b)))
    # U-statistics: sum over i != j (the diagonal k(x_i, x_i) = 1 removed)
    return float((k_aa.sum() - n) / (n * (n - 1)) + (k_bb.sum() - m) / (m * (m - 1))
                 - 2 * k_ab.mean())


@dataclass(frozen=True)
class NearestNeighbours(UnpacksAsTuple):
    """What ``nearest_neighbours`` returns: ``index`` and ``distance``, each of shape (n,)."""

    index: np.ndarray
    distance: np.ndarray


def nearest_neighbours(a, b):
    """For each point of ``a``, the index of its nearest point in ``b`` (Euclidean) and the
    distance to it, as a ``NearestNeighbours``."""
    a, b = _pair(a, b)
    sq = squared_distances(a, b)
    index = np.argmin(sq, axis=1)
    return NearestNeighbours(index=index, distance=np.sqrt(sq[np.arange(len(a)), index]))


def mean_pairwise_distance(x):
    """The mean Euclidean distance over pairs i < j of the points ``x`` (n >= 2): a spread."""
    x = _points("x", x)
    if len(x) < 2:
        raise ValueError(f"x must hold at least 2 points, got {len(x)}")
    return float(np.mean(np.sqrt(squared_distances(x, x)[np.triu_indices(len(x), 1)])))
