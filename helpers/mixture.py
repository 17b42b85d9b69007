"""Exact 1-D test data for notebooks 05 and 06: a Gaussian mixture that stays a mixture under noise.

Because x_t = sqrt(alpha_bar_t) x_0 + sqrt(1 - alpha_bar_t) eps of a mixture is again a mixture,
its density at every noise level and its score, hence the best noise predictor E[eps | x_t]
(Tweedie's formula), are known in closed form: the exact answers that notebook 05 checks the
diffusion ELBO and a trained network against, and that notebook 06 (``helpers.score``) feeds to
Langevin dynamics and the probability-flow ODE. Notebook 05 asks at a step t of a
``NoiseSchedule`` (``eps_star``), notebook 06 at a continuous level alpha_bar in (0, 1]
(``score``, ``eps_at``); both go through the same formula.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from ._checks import alpha_bar_level, as_float_array, as_rng, count, float_or_array, positive
from ._logsumexp import logsumexp_np
from .gaussian import diag_gaussian_log_pdf, isotropic_log_likelihood
from ._results import UnpacksAsTuple
from .noise_schedule import NoiseSchedule, alpha_bar_from_sigma

__all__ = ["GaussianMixture1D", "PosteriorX0"]


@dataclass(frozen=True)
class PosteriorX0(UnpacksAsTuple):
    """What ``GaussianMixture1D.posterior_x0`` returns: E[x_0 | x_t] and Var(x_0 | x_t), each of
    x_t's shape."""

    mean: np.ndarray
    var: np.ndarray


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

    def mode_shares(self, x=None):
        """The share of the points x (any shape) nearest to each component's mean, shape (K,):
        how a sampler spread its mass over the modes. Without x, the exact shares of the
        mixture itself (the mass of each nearest-mean region), the values to compare with:
        they differ from ``weights`` where components overlap."""
        order = np.argsort(self.means)
        cuts = (self.means[order][1:] + self.means[order][:-1]) / 2  # region boundaries
        if x is None:
            from scipy import special   # here, not at the top: scipy.special takes ~0.3 s to import

            edges = np.concatenate([[-np.inf], cuts, [np.inf]])
            z = (edges[None, :] - self.means[:, None]) / self.stds[:, None]
            mass = self.weights[:, None] * np.diff(special.ndtr(z), axis=1)  # (component, region)
            shares = mass.sum(axis=0)
        else:
            x = np.ravel(as_float_array("x", x))
            if x.size == 0:
                raise ValueError("x must hold at least one point")
            shares = np.bincount(np.searchsorted(cuts, x), minlength=self.means.size) / x.size
        out = np.empty_like(shares)
        out[order] = shares  # back to the components' own order
        return out

    def marginal(self, alpha_bar_t):
        """The law of x_t = sqrt(alpha_bar_t) x_0 + sqrt(1 - alpha_bar_t) eps, a mixture again:

        sum_k pi_k N(sqrt(alpha_bar_t) mu_k, alpha_bar_t s_k^2 + 1 - alpha_bar_t).
        """
        ab = alpha_bar_level(alpha_bar_t, name="alpha_bar_t")
        if ab.ndim != 0:
            raise ValueError(f"alpha_bar_t must be a float, got an array of shape {ab.shape}")
        ab = float(ab)
        return GaussianMixture1D(self.weights, np.sqrt(ab) * self.means,
                                 np.sqrt(ab * self.stds**2 + 1.0 - ab))

    def log_prob_xbar(self, xbar, sigma):
        """log p(xbar), xbar = x_0 + sigma eps = x_t / sqrt(alpha_bar): the density of the
        probability-flow ODE's variable at the level sigma (notebook 06), elementwise, any shape:

            log p(xbar) = log sqrt(alpha_bar) + log q(sqrt(alpha_bar) xbar),

        q = ``marginal(alpha_bar)`` and alpha_bar = 1 / (1 + sigma^2). sigma: a float >= 0.
        """
        ab = alpha_bar_from_sigma(sigma)
        if not isinstance(ab, float):
            raise ValueError(f"sigma must be a float, got {sigma!r}")
        xbar = as_float_array("xbar", xbar)
        # the change of variables x = sqrt(alpha_bar) xbar
        return np.log(np.sqrt(ab)) + self.marginal(ab).log_prob(np.sqrt(ab) * xbar)

    def _components(self, x, ab):
        """Per component k, on a leading axis, at the level alpha_bar = ``ab`` (broadcasting
        with x): x - m_k with m_k = sqrt(alpha_bar) mu_k, v_k = alpha_bar s_k^2 + 1 - alpha_bar,
        and r_k(x) = p(k | x_t = x). No checks: the public methods check x and alpha_bar.

        The components lead, so the sums over k are elementwise sums of K arrays (numpy reduces
        a short last axis about ten times slower), and the big arrays are updated in place: a
        sampler or an ODE solver calls this at every step.
        """
        per_k = (-1,) + (1,) * max(x.ndim, np.ndim(ab))
        v = ab * (self.stds**2).reshape(per_k) + 1.0 - ab
        diff = x - np.sqrt(ab) * self.means.reshape(per_k)
        # log pi_k + log N(x; m_k, v_k)
        log_w = isotropic_log_likelihood(diff * diff, 1, v)
        log_w += np.log(self.weights).reshape(per_k)
        log_w -= np.max(log_w, axis=0)  # the largest weight is 1: the sum never underflows
        r = np.exp(log_w, out=log_w)
        r *= 1.0 / np.sum(r, axis=0)
        return diff, v, r

    def _at_level(self, x, alpha_bar):
        """x and alpha_bar as float arrays, alpha_bar checked to lie in (0, 1] and to
        broadcast with x."""
        x = as_float_array("x", x)
        ab = alpha_bar_level(alpha_bar, like=x)
        return x, float_or_array(ab)

    def _at_step(self, x_t, t, schedule):
        """x_t as a float array and alpha_bar_t, shaped to broadcast with it (a column for a
        per-row t)."""
        if not isinstance(schedule, NoiseSchedule):
            raise ValueError(f"schedule must be a NoiseSchedule, got {schedule!r}")
        x_t = as_float_array("x_t", x_t)
        t = schedule.check_step(t, n=x_t.shape[0] if x_t.ndim else None)
        ab = schedule.alpha_bar[t - 1]
        return x_t, np.reshape(ab, np.shape(ab) + (1,) * (x_t.ndim - np.ndim(ab)))

    def score(self, x, alpha_bar):
        """The exact score d/dx log q(x) of x_t at the continuous level ``alpha_bar``, where
        q = ``marginal(alpha_bar)`` = sum_k pi_k N(m_k, v_k) (notebook 06):

            d/dx log q(x) = sum_k r_k(x) (m_k - x) / v_k,   r_k(x) = p(k | x_t = x).

        ``alpha_bar = 1`` gives the data's own score.

        Parameters
        ----------
        x : array_like, any shape; the result has the shape of x (broadcast with alpha_bar)
        alpha_bar : float in (0, 1], or an array of such levels broadcasting with x

        Returns
        -------
        ndarray
        """
        return self._score(*self._at_level(x, alpha_bar))

    def _score(self, x, ab):
        """``score`` on checked x and alpha_bar."""
        diff, v, r = self._components(x, ab)
        # d/dx log q(x) = sum_k r_k (m_k - x) / v_k
        diff *= r
        diff *= -1.0 / v
        return np.sum(diff, axis=0)

    def eps_at(self, x, alpha_bar):
        """The exact E[eps | x_t = x] at the continuous level ``alpha_bar`` (Tweedie's formula):

            eps*(x) = -sqrt(1 - alpha_bar) d/dx log q(x),   q = ``marginal(alpha_bar)``.

        The best possible eps_fn ``(x, alpha_bar) -> eps_hat`` of ``helpers.score`` (notebook
        06); 0 at alpha_bar = 1. Arguments and result as ``score``.
        """
        x, ab = self._at_level(x, alpha_bar)
        # eps* = -sqrt(1 - alpha_bar) d/dx log q(x)
        return -np.sqrt(1.0 - ab) * self._score(x, ab)

    def eps_star(self, x_t, t, schedule):
        """The exact E[eps | x_t], the best eps_model for this data: ``eps_at`` at alpha_bar_t,

        eps*(x_t, t) = -sqrt(1 - alpha_bar_t) d/dx log q_t(x_t), q_t = ``marginal(alpha_bar_t)``.

        Parameters
        ----------
        x_t : array_like, any shape, e.g. (n, 1); the result has the same shape
        t : int, or int array of shape (n,) giving each row of an (n, ...) x_t its own step
        schedule : NoiseSchedule
        """
        x, ab = self._at_step(x_t, t, schedule)
        return self.eps_at(x, ab)

    def posterior_x0(self, x_t, t, schedule):
        """The exact mean and variance of x_0 given x_t: what x_t leaves unknown about the data.

        Given component k, x_0 | x_t is Gaussian with precision 1/s_k^2 + alpha_bar_t /
        (1 - alpha_bar_t) and mean its variance times (mu_k / s_k^2 + sqrt(alpha_bar_t) x_t /
        (1 - alpha_bar_t)); the components are weighted by r_k(x_t) = p(k | x_t). Var(x_0 | x_t)
        sets the true reverse step's variance (``helpers.diffusion.reverse_variance``).
        Arguments as ``eps_star``; returns a ``PosteriorX0`` (``.mean``, ``.var``).
        """
        x, ab = self._at_step(x_t, t, schedule)
        r = self._components(x, ab)[2]
        per_k = (-1,) + (1,) * x.ndim
        s2 = (self.stds**2).reshape(per_k)
        var_k = 1.0 / (1.0 / s2 + ab / (1.0 - ab))
        mean_k = var_k * (self.means.reshape(per_k) / s2 + np.sqrt(ab) * x / (1.0 - ab))
        mean = np.sum(r * mean_k, axis=0)
        # law of total variance over the components
        var = np.sum(r * (var_k + (mean_k - mean) ** 2), axis=0)
        return PosteriorX0(mean, var)
