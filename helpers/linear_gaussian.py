"""The linear-Gaussian latent model, solved exactly. Taught in notebook 02, used again in 03 and 04.

    z ~ N(0, I_k),  x | z ~ N(W z + b, c I_d)   =>   x ~ N(b, W W^T + c I_d)

(probabilistic PCA). Its evidence (eqs. 2.1-2.3), its posterior, and the ELBO of any diagonal q
(eqs. 2.4-2.5) are all known in closed form, so every estimate in notebooks 02 and 03 (and the
VAE with a linear decoder in notebook 04's tests) can be checked against the truth.
"""

from __future__ import annotations

import numpy as np

from ._checks import as_float_array, broadcastable, count, as_rng, positive_scalar
from ._deprecated import renamed_field
from .gaussian import full_gaussian_kl, gaussian_kl, gaussian_log_pdf, isotropic_log_likelihood

__all__ = ["LinearGaussian"]


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

    Attributes ``d`` and ``z_dim`` (= k, the latent dimension; ``GaussianVAE`` uses the same name).
    """

    k = renamed_field("k", "z_dim")

    def __init__(self, W, b, c):
        W = as_float_array("W", W)
        b = as_float_array("b", b)
        if W.ndim != 2:
            raise ValueError(f"W must have shape (d, k), got shape {W.shape}")
        if b.shape != (W.shape[0],):
            raise ValueError(f"b must have shape ({W.shape[0]},) to match W {W.shape}, got {b.shape}")
        self.W, self.b, self.c = W, b, positive_scalar("c", c)
        self.d, self.z_dim = W.shape

    def __repr__(self):
        return f"LinearGaussian(d={self.d}, z_dim={self.z_dim}, c={self.c:.3g})"

    # --- checked inputs: what other helpers call before they use the model ---

    def as_x(self, x, *, name="x"):
        """``x`` as a float array of shape (..., d), or a ``ValueError`` naming it."""
        x = as_float_array(name, x)
        if x.shape[-1:] != (self.d,):
            raise ValueError(f"{name} must have shape (..., {self.d}), got {x.shape}")
        return x

    def as_z(self, z, *, name="z"):
        """``z`` as a float array of shape (..., k), or a ``ValueError`` naming it."""
        z = as_float_array(name, z)
        if z.shape[-1:] != (self.z_dim,):
            raise ValueError(f"{name} must have shape (..., {self.z_dim}), got {z.shape}")
        return z

    def as_q_std(self, q_std, q_mean):
        """q's standard deviations checked against the model and broadcast to the shape of the
        checked ``q_mean`` (``as_z(q_mean, name="q_mean")``), or a ``ValueError``: > 0."""
        s = self.as_z(as_float_array("q_std", q_std) * np.ones_like(q_mean), name="q_std")
        if (s <= 0).any():
            raise ValueError(f"q_std must be > 0, found {s[s <= 0].flat[0]!r}")
        return s

    # --- the model ---

    def sample(self, n, rng=None):
        """Ancestral sampling: z ~ p(z), then x ~ p(x | z). Returns ``(x, z)``, shapes (n, d), (n, k)."""
        n = count("n", n)
        rng = as_rng(rng)
        z = rng.standard_normal((n, self.z_dim))
        x = z @ self.W.T + self.b + np.sqrt(self.c) * rng.standard_normal((n, self.d))
        return x, z

    def log_likelihood(self, x, z):
        """log p(x | z) with every constant: -||x - W z - b||^2 / (2c) - (d/2) log(2 pi c).

        Broadcasts x (..., d) against z (..., k); e.g. x[:, None, :] with z of shape (L, k) gives
        an (n, L) table.
        """
        x, z = self.as_x(x), self.as_z(z)
        broadcastable(x, z, "x", "z")
        sq = np.sum((x - (z @ self.W.T + self.b)) ** 2, axis=-1)
        return isotropic_log_likelihood(sq, self.d, self.c)

    def log_likelihood_of_pool(self, x, z):
        """log p(x | z_l) for one x and many z_l (shape (L, k)), in O(L k) instead of O(L d).

        With r = x - b, ||r - W z||^2 = ||r||^2 - 2 (W^T r) . z + z^T (W^T W) z: the d-dimensional
        work is done once, so a slider can rescore 1e5 samples per redraw. Equal to
        ``log_likelihood(x, z)`` to about 1e-9 nats (rounding; the distance is clipped at 0).
        """
        x, z = self.as_x(x), self.as_z(z)
        if x.ndim != 1 or z.ndim != 2:
            raise ValueError(f"x must have shape ({self.d},) and z shape (L, {self.z_dim}), got "
                             f"{x.shape} and {z.shape}")
        r = x - self.b
        sq = r @ r - 2.0 * z @ (self.W.T @ r) + np.sum((z @ (self.W.T @ self.W)) * z, axis=1)
        return isotropic_log_likelihood(np.maximum(sq, 0.0), self.d, self.c)

    def log_evidence(self, x):
        """The exact log p(x) from x ~ N(b, W W^T + c I), shape (...,)."""
        x = self.as_x(x)
        return gaussian_log_pdf(x, self.b, self.W @ self.W.T + self.c * np.eye(self.d))

    def posterior(self, x):
        """The exact posterior p(z | x) = N(mean, cov).

        cov = (I + W^T W / c)^-1 (the same for every x) and mean = cov W^T (x - b) / c.
        Returns ``(mean, cov)`` with shapes (..., k) and (k, k).
        """
        x = self.as_x(x)
        cov = np.linalg.inv(np.eye(self.z_dim) + self.W.T @ self.W / self.c)
        cov = 0.5 * (cov + cov.T)
        mean = (x - self.b) @ self.W @ cov / self.c
        return mean, cov

    def elbo(self, x, q_mean, q_std):
        """The exact ELBO (eq. 2.5) for q(z) = N(q_mean, diag(q_std^2)), in closed form.

        ELBO = E_q[log p(x | z)] - KL(q || p(z)), with D_j = (W^T W)_jj and
        E_q ||x - W z - b||^2 = ||x - W m - b||^2 + sum_j D_j s_j^2, so that
        E_q[log p(x | z)] = -(||x - W m - b||^2 + sum_j D_j s_j^2) / (2c) - (d/2) log(2 pi c).
        """
        x = self.as_x(x)
        m = self.as_z(q_mean, name="q_mean")
        s = self.as_q_std(q_std, m)
        broadcastable(x, m, "x", "q_mean")
        col_sq = np.sum(self.W**2, axis=0)  # D_j = (W^T W)_jj
        sq = np.sum((x - (m @ self.W.T + self.b)) ** 2, axis=-1) + np.sum(col_sq * s**2, axis=-1)
        return isotropic_log_likelihood(sq, self.d, self.c) - gaussian_kl(m, s)

    # --- how hard the naive estimate of eq. 2.3 is for this model (notebook 02, section 4) ---

    def posterior_kl(self, x):
        """KL(p(z | x) || p(z)), in nats: how far the posterior sits from the prior.

        For N(m, S) against N(0, I): 0.5 (tr S + m^T m - k - log det S). The number of prior
        samples the naive estimate needs grows roughly like exp(KL).
        """
        return full_gaussian_kl(*self.posterior(x))

    def naive_relative_variance(self, x):
        """Var[p(x | z) / p(x)] for z ~ p(z): the relative variance of a one-sample eq. 2.3 estimate.

        With L samples the relative variance of p_hat is this number / L, so L = value / 0.01
        gives a 10 % relative (root-mean-square) error. It equals rho - 1 with
        rho = E_prior[(p(z | x) / p(z))^2], a Gaussian integral: with posterior N(m, S),
        P = S^-1 and A = 2P - I (positive definite here because P >= I),
        log rho = -log det S - 0.5 log det A + 2 m^T P A^-1 P m - m^T P m.
        """
        mean, cov = self.posterior(x)
        prec = np.linalg.inv(cov)
        a = 2.0 * prec - np.eye(self.z_dim)
        _, log_det_s = np.linalg.slogdet(cov)
        _, log_det_a = np.linalg.slogdet(a)
        pm = mean @ prec  # P m (P symmetric)
        quad = 2.0 * np.sum(pm * np.linalg.solve(a, pm[..., None])[..., 0], axis=-1) \
            - np.sum(pm * mean, axis=-1)
        return np.expm1(-log_det_s - 0.5 * log_det_a + quad)
