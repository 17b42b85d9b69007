"""The table of squared distances between two point sets, written once (numpy or torch).

Notebook 02's naive decoder needs ||x_i - f_theta(z_l)||^2 for every image and prior sample, and
notebook 05's MMD needs |a_i - b_j|^2 for every pair: the same table, built the same way.
"""

from __future__ import annotations

import numpy as np

__all__ = ["squared_distances"]


def squared_distances(x, y, x_sq=None):
    """The (n, m) table ||x_i - y_j||^2 = ||x_i||^2 - 2 x_i . y_j + ||y_j||^2, numpy or torch.

    One matrix product instead of an (n, m, d) array. ``x_sq`` = ||x_i||^2 when the caller has
    it already. Rounding can leave a tiny negative distance: it is clipped at 0.
    """
    if x_sq is None:
        x_sq = (x**2).sum(1)
    sq = x_sq[:, None] - 2.0 * x @ y.T + (y**2).sum(1)
    return np.maximum(sq, 0.0) if isinstance(sq, np.ndarray) else sq.clamp_min(0.0)
