"""The evidence log p(x) and its naive Monte-Carlo estimate (eqs. 2.1-2.3). Taught in notebook 02.

Maximum likelihood (eq. 2.1) in log form (eq. 2.2) needs the evidence log p_theta(x). A latent
model writes it as an expectation over the prior (eq. 2.3):

    p_theta(x) = integral p_theta(x | z) p(z) dz = E_{z ~ p(z)} p_theta(x | z),

which the naive estimator approximates by averaging p_theta(x | z_l) over L prior samples.
``LinearGaussian`` is a latent model whose evidence, posterior and ELBO are all known exactly, so
every estimate in notebooks 02 and 03 can be checked against the truth.
"""

from __future__ import annotations

import numpy as np

from ._checks import as_float_array, as_rng, count, positive_scalar

__all__ = ["log_mean_exp", "LinearGaussian", "naive_mc_log_evidence"]

_LOG_2PI = np.log(2 * np.pi)


def log_mean_exp(a, axis=-1):
    """log(mean(exp(a))) along ``axis``, computed stably.

    Shifting by the maximum before exponentiating keeps it exact for inputs of magnitude 1e6
    (where ``exp`` alone overflows to inf or underflows to 0). ``-inf`` entries (zero
    probability) are allowed; a slice of only ``-inf`` gives ``-inf``.

    Parameters
    ----------
    a : array_like
        Log-values, e.g. log p(x | z_l) for l = 1..L. NaN and +inf raise ``ValueError``.
    axis : int, default -1

    Returns
    -------
    ndarray or float
    """
    a = as_float_array("a", a, allow_inf=True)
    if np.isposinf(a).any():
        raise ValueError("a must not contain +inf")
    if a.ndim == 0 or a.shape[axis] == 0:
        raise ValueError(f"a must have at least one entry along axis {axis}, got shape {a.shape}")
    shift = np.max(a, axis=axis, keepdims=True)
    shift = np.where(np.isfinite(shift), shift, 0.0)
    with np.errstate(divide="ignore"):
        out = np.log(np.mean(np.exp(a - shift), axis=axis)) + np.squeeze(shift, axis=axis)
    return out if out.ndim else float(out)


class LinearGaussian:
    """The linear-Gaussian latent model (probabilistic PCA), solvable in closed form.

    z ~ N(0, I_k),  x | z ~ N(W z + b, c I_d)   =>   x ~ N(b, W W^T + c I_d).

    Parameters
    ----------
    W : array_like, shape (d, k)
        Decoder weights; the decoder mean is f_theta(z) = W z + b.
    b : array_like, shape (d,)
    c : float
        Decoder variance, > 0 (the article's c in eq. 2.6).
    """

    def __init__(self, W, b, c):
        W = as_float_array("W", W)
        b = as_float_array("b", b)
        if W.ndim != 2:
            raise ValueError(f"W must have shape (d, k), got shape {W.shape}")
        if b.shape != (W.shape[0],):
            raise ValueError(f"b must have shape ({W.shape[0]},) to match W {W.shape}, got {b.shape}")
        self.W, self.b, self.c = W, b, positive_scalar("c", c)
        self.d, self.k = W.shape

    def __repr__(self):
        return f"LinearGaussian(d={self.d}, k={self.k}, c={self.c:.3g})"

    def _x(self, x):
        x = as_float_array("x", x)
        if x.shape[-1:] != (self.d,):
            raise ValueError(f"x must have shape (..., {self.d}), got {x.shape}")
        return x

    def _z(self, z, name="z"):
        z = as_float_array(name, z)
        if z.shape[-1:] != (self.k,):
            raise ValueError(f"{name} must have shape (..., {self.k}), got {z.shape}")
        return z

    def sample(self, n, rng=None):
        """Ancestral sampling: z ~ p(z), then x ~ p(x | z). Returns ``(x, z)``, shapes (n, d), (n, k)."""
        n = count("n", n)
        rng = as_rng(rng)
        z = rng.standard_normal((n, self.k))
        x = z @ self.W.T + self.b + np.sqrt(self.c) * rng.standard_normal((n, self.d))
        return x, z

    def log_likelihood(self, x, z):
        """log p(x | z) with every constant: -||x - W z - b||^2 / (2c) - (d/2) log(2 pi c).

        Broadcasts x (..., d) against z (..., k); e.g. x[:, None, :] with z of shape (L, k) gives
        an (n, L) table.
        """
        x, z = self._x(x), self._z(z)
        sq = np.sum((x - (z @ self.W.T + self.b)) ** 2, axis=-1)
        return -0.5 * sq / self.c - 0.5 * self.d * (_LOG_2PI + np.log(self.c))

    def log_evidence(self, x):
        """The exact log p(x) from x ~ N(b, W W^T + c I), shape (...,)."""
        x = self._x(x)
        cov = self.W @ self.W.T + self.c * np.eye(self.d)
        chol = np.linalg.cholesky(cov)
        r = x - self.b
        sol = np.linalg.solve(chol, r.reshape(-1, self.d).T).T.reshape(r.shape)
        log_det = 2.0 * np.sum(np.log(np.diag(chol)))
        return -0.5 * (np.sum(sol**2, axis=-1) + log_det + self.d * _LOG_2PI)

    def posterior(self, x):
        """The exact posterior p(z | x) = N(mean, cov).

        cov = (I + W^T W / c)^-1 (the same for every x) and mean = cov W^T (x - b) / c.
        Returns ``(mean, cov)`` with shapes (..., k) and (k, k).
        """
        x = self._x(x)
        cov = np.linalg.inv(np.eye(self.k) + self.W.T @ self.W / self.c)
        cov = 0.5 * (cov + cov.T)
        mean = (x - self.b) @ self.W @ cov / self.c
        return mean, cov

    def elbo(self, x, q_mean, q_std):
        """The exact ELBO (eq. 2.5) for q(z) = N(q_mean, diag(q_std^2)), in closed form.

        ELBO = E_q[log p(x | z)] - KL(q || p(z)), with
        E_q[log p(x | z)] = -(||x - W m - b||^2 + sum_j (W^T W)_jj s_j^2) / (2c) - (d/2) log(2 pi c).
        """
        from .elbo import gaussian_kl

        x, m = self._x(x), self._z(q_mean, "q_mean")
        s = self._z(as_float_array("q_std", q_std) * np.ones_like(m), "q_std")
        if (s <= 0).any():
            raise ValueError(f"q_std must be > 0, found {s[s <= 0].flat[0]!r}")
        col_sq = np.sum(self.W**2, axis=0)  # (W^T W)_jj
        sq = np.sum((x - (m @ self.W.T + self.b)) ** 2, axis=-1) + np.sum(col_sq * s**2, axis=-1)
        reconstruction = -0.5 * sq / self.c - 0.5 * self.d * (_LOG_2PI + np.log(self.c))
        return reconstruction - gaussian_kl(m, s)


def naive_mc_log_evidence(log_likelihood, x, n_samples, latent_dim, rng=None, chunk_size=65_536):
    """Eq. 2.3 in log space: log (1/L) sum_l p(x | z_l) with z_l ~ N(0, I).

    The L prior samples are drawn and scored ``chunk_size`` at a time and combined with a running
    log-sum-exp, so memory stays bounded (about ``chunk_size * n_x`` floats) even for L = 1e7.

    Parameters
    ----------
    log_likelihood : callable
        ``log_likelihood(x, z)`` -> log p(x | z), broadcasting x (n, 1, d) against z (L, k) to
        (n, L), such as ``LinearGaussian.log_likelihood`` or a trained decoder's.
    x : array_like, shape (d,) or (n, d)
    n_samples : int
        L, the number of prior samples (a float like 1e7 is accepted if it is whole).
    latent_dim : int
        k, the dimension of z.
    rng : int, numpy.random.Generator or None
    chunk_size : int
        Samples scored at once.

    Returns
    -------
    float or ndarray of shape (n,)
        The estimate of log p(x). It is biased low: E[log p_hat] <= log p(x) (Jensen), even though
        p_hat itself is unbiased for p(x).
    """
    if not callable(log_likelihood):
        raise ValueError(f"log_likelihood must be callable, got {log_likelihood!r}")
    x = as_float_array("x", x)
    if x.ndim not in (1, 2):
        raise ValueError(f"x must have shape (d,) or (n, d), got {x.shape}")
    n_samples = count("n_samples", n_samples)
    latent_dim = count("latent_dim", latent_dim)
    chunk_size = count("chunk_size", chunk_size)
    rng = as_rng(rng)
    xb = np.atleast_2d(x)[:, None, :]

    total = np.full(xb.shape[0], -np.inf)  # running log sum_l p(x | z_l)
    done = 0
    while done < n_samples:
        m = min(chunk_size, n_samples - done)
        z = rng.standard_normal((m, latent_dim))
        ll = np.asarray(log_likelihood(xb, z), dtype=np.float64)
        if ll.shape != (xb.shape[0], m):
            raise ValueError(f"log_likelihood(x, z) must return shape {(xb.shape[0], m)}, "
                             f"got {ll.shape}")
        total = np.logaddexp(total, log_mean_exp(ll, axis=-1) + np.log(m))
        done += m
    out = total - np.log(n_samples)
    return float(out[0]) if x.ndim == 1 else out
