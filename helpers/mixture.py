"""Exact 1-D test data for notebook 05: a Gaussian mixture, which stays a mixture under noise.

Because x_t = sqrt(alpha_bar_t) x_0 + sqrt(1 - alpha_bar_t) eps of a mixture is again a mixture,
its density at every step and the best noise predictor E[eps | x_t] (Tweedie's formula) are known
in closed form: the exact answers that notebook 05 checks the diffusion ELBO and a trained
network against.
"""

from __future__ import annotations

import numpy as np

from ._checks import as_float_array, as_rng, count, positive
from ._logsumexp import logsumexp_np
from .gaussian import diag_gaussian_log_pdf
from .noise_schedule import NoiseSchedule

__all__ = ["GaussianMixture1D"]


class GaussianMixture1D:
    """1-D data p(x_0) = sum_k pi_k N(mu_k, s_k^2): x_t is again a mixture, so all is exact.

    Parameters
    ----------
    weights : array_like, shape (K,)
        pi_k > 0, summing to 1.
    means, stds : array_like, shape (K,)
        mu_k, and s_k > 0.
    """

    def __init__(self, weights, means, stds):
        weights, means = as_float_array("weights", weights), as_float_array("means", means)
        stds = positive("stds", stds)
        if weights.ndim != 1 or weights.size == 0:
            raise ValueError(f"weights must have shape (K,) with K >= 1, got {weights.shape}")
        if (weights <= 0).any():
            raise ValueError(f"weights must be > 0 everywhere, found {weights[weights <= 0][0]!r}")
        if abs(weights.sum() - 1.0) > 1e-9:
            raise ValueError(f"weights must sum to 1, got sum {weights.sum()!r}")
        for name, arr in (("means", means), ("stds", stds)):
            if arr.shape != weights.shape:
                raise ValueError(f"{name} must have the shape {weights.shape} of weights, "
                                 f"got {arr.shape}")
        self.weights, self.means, self.stds = weights, means, stds

    def log_prob(self, x):
        """log p(x) = log sum_k pi_k N(x; mu_k, s_k^2), elementwise for any shape of x."""
        x = as_float_array("x", x)
        # log pi_k + log N(x; mu_k, s_k^2), shape x.shape + (K,) (a size-1 last axis per component)
        log_joint = np.log(self.weights) + diag_gaussian_log_pdf(
            x[..., None, None], self.means[:, None], self.stds[:, None])
        return logsumexp_np(log_joint, axis=-1)

    def sample(self, n, rng=None):
        """n draws, shape (n, 1): component k with probability pi_k, then x ~ N(mu_k, s_k^2)."""
        n = count("n", n)
        rng = as_rng(rng)
        k = rng.choice(self.weights.size, size=n, p=self.weights)
        return (self.means[k] + self.stds[k] * rng.standard_normal(n))[:, None]

    def marginal(self, alpha_bar_t):
        """The law of x_t = sqrt(alpha_bar_t) x_0 + sqrt(1 - alpha_bar_t) eps, a mixture again:

        sum_k pi_k N(sqrt(alpha_bar_t) mu_k, alpha_bar_t s_k^2 + 1 - alpha_bar_t).
        """
        ab = float(as_float_array("alpha_bar_t", alpha_bar_t))
        if not 0.0 < ab <= 1.0:
            raise ValueError(f"alpha_bar_t must lie in (0, 1], got {ab!r}")
        return GaussianMixture1D(self.weights, np.sqrt(ab) * self.means,
                                 np.sqrt(ab * self.stds**2 + 1.0 - ab))

    def _components_given(self, x_t, t, schedule):
        """alpha_bar_t (shaped to broadcast with x_t), x_t, and per component k, on a leading
        axis: m_k = sqrt(alpha_bar_t) mu_k, v_k = alpha_bar_t s_k^2 + 1 - alpha_bar_t, and
        r_k(x_t) = p(k | x_t).

        The components lead, so the sums over k are elementwise sums of K arrays (numpy reduces
        a short last axis about ten times slower, and a sampler calls this at every step).
        """
        if not isinstance(schedule, NoiseSchedule):
            raise ValueError(f"schedule must be a NoiseSchedule, got {schedule!r}")
        x_t = as_float_array("x_t", x_t)
        t = schedule.check_step(t, x_t.shape[0] if x_t.ndim else None)
        ab = schedule.alpha_bar[t - 1]
        ab = np.reshape(ab, np.shape(ab) + (1,) * (x_t.ndim - np.ndim(ab)))
        per_k = (-1,) + (1,) * x_t.ndim
        m = np.sqrt(ab) * self.means.reshape(per_k)
        v = ab * (self.stds**2).reshape(per_k) + 1.0 - ab
        # log pi_k + log N(x; m_k, v_k), up to a constant in k (the 2 pi cancels in r_k)
        log_w = np.log(self.weights).reshape(per_k) - 0.5 * ((x_t - m) ** 2 / v + np.log(v))
        w = np.exp(log_w - np.max(log_w, axis=0))  # the largest is 1: the sum never underflows
        return ab, x_t, m, v, w / np.sum(w, axis=0)

    def eps_star(self, x_t, t, schedule):
        """The exact E[eps | x_t], the best eps_model for this data (Tweedie's formula):

        eps*(x_t, t) = -sqrt(1 - alpha_bar_t) d/dx log q_t(x_t), q_t = ``marginal(alpha_bar_t)``.

        Parameters
        ----------
        x_t : array_like, any shape, e.g. (n, 1); the result has the same shape
        t : int, or int array of shape (n,) giving each row of an (n, ...) x_t its own step
        schedule : NoiseSchedule
        """
        ab, x, m, v, r = self._components_given(x_t, t, schedule)
        # d/dx log q_t(x) = sum_k r_k (m_k - x) / v_k
        score = np.sum(r * (m - x) / v, axis=0)
        # eps* = -sqrt(1 - alpha_bar_t) d/dx log q_t(x)
        return -np.sqrt(1.0 - ab) * score

    def posterior_x0(self, x_t, t, schedule):
        """The exact mean and variance of x_0 given x_t: what x_t leaves unknown about the data.

        Given component k, x_0 | x_t is Gaussian with precision 1/s_k^2 + alpha_bar_t /
        (1 - alpha_bar_t) and mean its variance times (mu_k / s_k^2 + sqrt(alpha_bar_t) x_t /
        (1 - alpha_bar_t)); the components are weighted by r_k(x_t) = p(k | x_t). Var(x_0 | x_t)
        sets the true reverse step's variance (``helpers.diffusion.reverse_variance``).
        Arguments as ``eps_star``; returns (mean, var), each of x_t's shape.
        """
        ab, x, _, _, r = self._components_given(x_t, t, schedule)
        per_k = (-1,) + (1,) * x.ndim
        s2 = (self.stds**2).reshape(per_k)
        var_k = 1.0 / (1.0 / s2 + ab / (1.0 - ab))
        mean_k = var_k * (self.means.reshape(per_k) / s2 + np.sqrt(ab) * x / (1.0 - ab))
        mean = np.sum(r * mean_k, axis=0)
        # law of total variance over the components
        var = np.sum(r * (var_k + (mean_k - mean) ** 2), axis=0)
        return mean, var
