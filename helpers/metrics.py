"""How close are samples to data? Distances between two point clouds (numpy). Notebook 05.

A diffusion model has no cheap exact likelihood for its samples, so notebook 05 and the benchmark
compare a model's samples with held-out data points directly:

* ``wasserstein_1``: the 1-D earth mover's distance, the area between the two quantile functions;
* ``sliced_wasserstein_1``: the mean of ``wasserstein_1`` over random 1-D projections, for d >= 1;
* ``mmd``: the squared maximum mean discrepancy with a Gaussian kernel;
* ``nearest_neighbours`` and ``mean_pairwise_distance``: notebook 07's checks that samples are
  not copies of training digits, and how spread out the samples of one class are.

A notebook scores many samplers against one held-out set. ``prepare_reference`` does the held-out
set's share of the work once (its sorted values, its projections on the sliced directions, its
own kernel sum) and returns a ``Reference``, which the three distances accept as ``b`` in place
of the raw array; the values are the same to the last bit.

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

__all__ = ["Reference", "prepare_reference", "wasserstein_1", "sliced_wasserstein_1", "mmd",
           "NearestNeighbours", "nearest_neighbours", "mean_pairwise_distance"]


def _points(name, x):
    """x as a finite float array of shape (n, d) with n, d >= 1 (a 1-D x is n points in 1-D)."""
    x = as_float_array(name, x)
    if x.ndim == 1:
        x = x[:, None]
    if x.ndim != 2 or x.shape[0] == 0 or x.shape[1] == 0:
        raise ValueError(f"{name} must have shape (n,) or (n, d) with n, d >= 1, got {x.shape}")
    return x


def _pair(a, b):
    a = _points("a", a)
    b = b.points if isinstance(b, Reference) else _points("b", b)
    if a.shape[1] != b.shape[1]:
        raise ValueError(f"b must have the dimension d = {a.shape[1]} of a, got shape {b.shape}")
    return a, b


def _sort_columns(x):
    """Each column of x (n, k) sorted, C-ordered: the rows sorted of x.T are the same values,
    sooner than a sort along axis 0."""
    return np.ascontiguousarray(np.sort(x.T, axis=1).T)


def _w1_columns(a, b, *, b_sorted=False):
    """W1 between the columns of a (n, k) and b (m, k): k 1-D distances at once, shape (k,).

    W1 = int_0^1 |Q_a(u) - Q_b(u)| du, with Q the empirical quantile functions. Q_a is constant
    on each ((i-1)/n, i/n], so on the merged grid of the i/n and j/m both are constant and the
    integral is a finite sum. With n = m it is mean_i |a_(i) - b_(i)|, the sorted values paired.
    ``b_sorted``: each column of b is sorted already (a ``Reference``'s).
    """
    a, b = _sort_columns(a), (b if b_sorted else _sort_columns(b))
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


@dataclass(frozen=True)
class Reference:
    """A held-out sample prepared once for scoring many samples against it: see
    ``prepare_reference``. Pass it as ``b`` to ``wasserstein_1``, ``sliced_wasserstein_1`` or
    ``mmd``; its arrays are read-only.

    Fields: ``points`` (m, d); ``sorted_points``, each column sorted; ``directions`` (d, k), the
    sliced W1's unit directions, and ``sorted_projections`` (m, k), ``points @ directions`` with
    each column sorted (both None when prepared without ``n_projections``); ``bandwidth``, the
    MMD kernel's h, and ``kernel_sum``, sum_{i != j} k(b_i, b_j) at that h (both None without it).
    """

    points: np.ndarray
    sorted_points: np.ndarray
    directions: np.ndarray | None
    sorted_projections: np.ndarray | None
    bandwidth: float | None
    kernel_sum: float | None


def _gaussian_kernel(x, y, h2):
    """k(x_i, y_j) = exp(-|x_i - y_j|^2 / (2 h^2)), the (n, m) table."""
    return np.exp(squared_distances(x, y) / (-2 * h2))


def _directions(n_projections, rng, d):
    """``n_projections`` unit directions u = z / |z|, z ~ N(0, I_d), one per column: (d, k)."""
    z = as_rng(rng).standard_normal((n_projections, d))
    return (z / np.linalg.norm(z, axis=1, keepdims=True)).T


def _read_only(x):
    x.setflags(write=False)
    return x


def prepare_reference(b, *, n_projections=None, rng=None, bandwidth=None):
    """Do a held-out sample's share of ``wasserstein_1``, ``sliced_wasserstein_1`` and ``mmd``
    once, for scoring many samples against it.

    ``wasserstein_1(a, ref)`` equals ``wasserstein_1(a, b)``;
    ``sliced_wasserstein_1(a, ref)`` equals ``sliced_wasserstein_1(a, b, n_projections=k, rng=r)``
    for the ``n_projections`` k and seed r given here (the same directions for every a);
    ``mmd(a, ref)`` equals ``mmd(a, b, bandwidth=h)`` for the ``bandwidth`` h given here, or
    the median heuristic's when none is. The values are identical, not just close.

    Parameters
    ----------
    b : array_like, shape (m, d) (or (m,) for 1-D data)
    n_projections : int or None
        Draw the sliced W1's directions now (None: ``sliced_wasserstein_1`` cannot take this
        reference).
    rng : int, numpy.random.Generator or None
        Draws the directions, as in ``sliced_wasserstein_1``; only with ``n_projections``.
    bandwidth : float > 0 or None
        The MMD kernel's h, whose kernel sum over b is computed now (None: each ``mmd`` call uses
        the median heuristic, which depends on a too).

    Returns
    -------
    Reference
    """
    b = _points("b", b).copy()
    directions = projections = kernel_sum = None
    if n_projections is not None:
        directions = _directions(count("n_projections", n_projections), rng, b.shape[1])
        projections = _read_only(_sort_columns(b @ directions))
        _read_only(directions)  # kept as the transposed view it is: the same products as unprepared
    elif rng is not None:
        raise ValueError(f"rng is only used with n_projections, got rng={rng!r} and "
                         "n_projections=None")
    if bandwidth is not None:
        bandwidth = positive_scalar("bandwidth", bandwidth)
        if len(b) < 2:
            raise ValueError(f"b must hold at least 2 points for the unbiased MMD, got {len(b)}")
        kernel_sum = float(_gaussian_kernel(b, b, bandwidth**2).sum() - len(b))
    return Reference(points=_read_only(b), sorted_points=_read_only(_sort_columns(b)),
                     directions=directions, sorted_projections=projections, bandwidth=bandwidth,
                     kernel_sum=kernel_sum)


def wasserstein_1(a, b):
    """The 1-D Wasserstein-1 (earth mover's) distance between two samples.

    W1(a, b) = int |F_a(x) - F_b(x)| dx = int_0^1 |Q_a(u) - Q_b(u)| du, with F the empirical
    CDFs and Q their inverses (eq. 1.1's quantile function). For equal sizes it is the mean
    absolute difference of the sorted samples. Equal to ``scipy.stats.wasserstein_distance``.

    Parameters
    ----------
    a : array_like, shape (n,) or (n, 1)
    b : array_like, shape (m,) or (m, 1), or a ``Reference`` of it

    Returns
    -------
    float, in the data's units
    """
    a, b_points = _pair(a, b)
    if a.shape[1] != 1:
        raise ValueError(f"a must be 1-D data, shape (n,) or (n, 1), got {a.shape}; "
                         "for d > 1 use sliced_wasserstein_1")
    if isinstance(b, Reference):
        return float(_w1_columns(a, b.sorted_points, b_sorted=True)[0])
    return float(_w1_columns(a, b_points)[0])


@keyword_only(2, ["n_projections", "rng"])
def sliced_wasserstein_1(a, b, *, n_projections=None, rng=None):
    """Sliced Wasserstein-1: the mean over random unit directions u of W1(a u, b u).

    SW1(a, b) = E_u[W1(<a, u>, <b, u>)], u uniform on the unit sphere, estimated with
    ``n_projections`` directions u = z / |z|, z ~ N(0, I_d) (drawn as
    ``rng.standard_normal((n_projections, d))``). Passing the same ``rng`` seed compares every
    model along the same directions. In 1-D it is ``wasserstein_1`` for any directions. A shift of
    every point by s gives |s| E|cos angle(s, u)|, which is 2|s|/pi in 2-D.

    Parameters
    ----------
    a : array_like, shape (n, d) (or (n,) for 1-D data)
    b : array_like, shape (m, d), or a ``Reference`` prepared with ``n_projections``, whose
        directions are then used
    n_projections : int or None
        None: 256, or the reference's.
    rng : int, numpy.random.Generator or None
        Draws the directions; must be None with a ``Reference`` (its directions are drawn).

    Returns
    -------
    float, in the data's units
    """
    a, b_points = _pair(a, b)
    if isinstance(b, Reference):
        if b.directions is None:
            raise ValueError("b must be a Reference prepared with n_projections for the sliced "
                             "W1, got one with n_projections=None")
        k = b.directions.shape[1]
        if n_projections is not None and count("n_projections", n_projections) != k:
            raise ValueError(f"n_projections must be None or b's {k}, got {n_projections!r}")
        if rng is not None:
            raise ValueError(f"rng must be None with a Reference b (its directions are drawn), "
                             f"got {rng!r}")
        return float(np.mean(_w1_columns(a @ b.directions, b.sorted_projections,
                                         b_sorted=True)))
    n_projections = 256 if n_projections is None else count("n_projections", n_projections)
    u = _directions(n_projections, rng, a.shape[1])  # unit directions u_k, one per column
    return float(np.mean(_w1_columns(a @ u, b_points @ u)))


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
    b : array_like, shape (m, d), m >= 2, or a ``Reference`` of it
    bandwidth : float > 0 or None
        h; with a ``Reference`` prepared with a bandwidth, None or that one. None: the
        reference's, else the median heuristic, h = the median distance between two distinct
        points of the pooled sample (of at most 2000 evenly spaced points of it). Its h is the size
        of the whole cloud, so it sees the overall shape but little of fine structure (two moons
        a tenth of h wide); to compare several models against the same data, pass one fixed h,
        or each comparison uses its own kernel.

    Returns
    -------
    float, unitless
    """
    ref = b if isinstance(b, Reference) else None
    a, b = _pair(a, b)
    for name, x in (("a", a), ("b", b)):
        if len(x) < 2:
            raise ValueError(f"{name} must hold at least 2 points for the unbiased MMD, "
                             f"got {len(x)}")
    n, m = len(a), len(b)
    if ref is not None and ref.bandwidth is not None:
        if bandwidth is not None and positive_scalar("bandwidth", bandwidth) != ref.bandwidth:
            raise ValueError(f"bandwidth must be None or b's {ref.bandwidth}, got {bandwidth!r}")
        h2 = ref.bandwidth ** 2
    elif bandwidth is None:
        # median over pairs i < j of the pooled sample (of at most 2000 evenly spaced points of
        # it: the median of 2 million distances is as good as that of 8 million, and 4x cheaper)
        pooled = np.concatenate([a, b])
        pooled = pooled[np.linspace(0, len(pooled) - 1, min(len(pooled), 2000)).astype(int)]
        # the pairs i < j, row by row (a mask selects them faster than index arrays do)
        upper = np.triu(np.ones((len(pooled), len(pooled)), dtype=bool), 1)
        h2 = float(np.median(squared_distances(pooled, pooled)[upper]))
        if h2 <= 0:
            raise ValueError("bandwidth=None needs distinct points: the median distance is 0")
    else:
        h2 = positive_scalar("bandwidth", bandwidth) ** 2
    # U-statistics: sum over i != j (the diagonal k(x_i, x_i) = 1 removed)
    k_bb_sum = (ref.kernel_sum if ref is not None and ref.bandwidth is not None
                else _gaussian_kernel(b, b, h2).sum() - m)
    return float((_gaussian_kernel(a, a, h2).sum() - n) / (n * (n - 1)) + k_bb_sum / (m * (m - 1))
                 - 2 * _gaussian_kernel(a, b, h2).mean())


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
