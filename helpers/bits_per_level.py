"""Where a diffusion model's bits go: the chained ELBO per noise level and per pixel (notebook 07).

Notebook 05's ELBO (``helpers.diffusion.diffusion_elbo``) is a sum over steps t = 1..T and, inside
each step, over the d pixels, because every term is a Gaussian log-density or KL with a diagonal
covariance. Keeping those two sums apart shows where a model pays:

    -ELBO = sum_j [ L_0,j + sum_{t=2..T} L_{t-1,j} + L_T,j ],

L_0,j = -log N(x_0,j; mu_j(x_1, 1), sigma_1^2), L_{t-1,j} the KL of eq. 2.5's denoising term in
pixel j, L_T,j the prior term. ``elbo_per_level`` returns this (T, d) table, averaged over digits.

To tell the chain's own slack from the network's error, the same chain is driven by the exact
noise prediction E[eps | x_t] of a density we know in closed form: ``PixelHistogram``, the
independent-pixel histogram of ``helpers.bits.independent_pixel_bits``, dequantised (uniform
within each pixel's cell). Its E[eps | x_t] is a sum over the 17 cells of truncated-normal means.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from scipy.special import ndtr

from ._checks import as_float_array, as_rng, data_matrix, model_output, positive_scalar
from ._logsumexp import logsumexp_np
from .bits import LEVELS, independent_pixel_probs
from .diffusion import reverse_mean, reverse_variance
from .gaussian import LOG_2PI, diag_gaussian_log_pdf, isotropic_kl, kl_per_dim, log_normal_mass
from .noise_schedule import NoiseSchedule, sigma_from_alpha_bar

__all__ = ["PixelHistogram", "LevelCosts", "elbo_per_level"]


@dataclass(frozen=True)
class PixelHistogram:
    """Independent pixels, each a categorical over the 17 levels spread uniformly over its cell.

    A pixel with value v sits, in the model's coordinates x' = scale (v + u) / 17 + shift with
    u ~ U[0, 1), uniformly in the cell [lo_v, lo_v + h), h = scale / 17. The density is
    p(x') = prod_j sum_v probs[j, v] U(x'_j; cell v), exactly the dequantised
    ``independent_pixel_bits`` model, so its bits per pixel on dequantised digits equal that
    function's, exactly.

    Attributes
    ----------
    probs : ndarray, shape (d, 17)
        P(pixel j = v), each row summing to 1.
    scale, shift : float
        The map from x in [0, 1) to the model's x' (2 and -1 for notebook 07's diffusion model).
    """

    probs: np.ndarray
    scale: float = 2.0
    shift: float = -1.0

    def __post_init__(self):
        probs = as_float_array("probs", self.probs)
        if probs.ndim != 2 or probs.shape[1] != LEVELS or (probs <= 0).any() \
                or not np.allclose(probs.sum(1), 1.0):
            raise ValueError(f"probs must have shape (d, {LEVELS}), positive rows summing to 1, "
                             f"got shape {probs.shape}")
        positive_scalar("scale", self.scale)
        object.__setattr__(self, "probs", probs)

    @classmethod
    def from_pixels(cls, train_pixels, *, alpha=1.0, scale=2.0, shift=-1.0):
        """The histogram counted on integer pixels (n, d), add-``alpha`` smoothed."""
        return cls(independent_pixel_probs(train_pixels, alpha=alpha), scale, shift)

    @property
    def d(self):
        return self.probs.shape[0]

    def _cells(self):
        h = self.scale / LEVELS
        return self.shift + h * np.arange(LEVELS), h     # left edges (17,), width

    def log_prob(self, x):
        """log p(x') per row, shape (n,): -inf outside the cells."""
        x = data_matrix("x", x)
        lo, h = self._cells()
        v = np.floor((x - self.shift) / h).astype(int)
        inside = (v >= 0) & (v < LEVELS)
        logp = np.log(self.probs[np.arange(self.d), np.clip(v, 0, LEVELS - 1)]) - np.log(h)
        return np.where(inside.all(1), logp.sum(1), -np.inf)

    def eps_at(self, x, alpha_bar):
        """The exact E[eps | x_t = x] at level alpha_bar in (0, 1), shape of x (n, d).

        With x_t = sqrt(alpha_bar) x_0 + sqrt(1 - alpha_bar) eps, write m = x_t / sqrt(alpha_bar)
        and s = sigma = sqrt((1 - alpha_bar) / alpha_bar). Given cell v = [e_v, e_{v+1}), x_0 is
        N(m, s^2) truncated to the cell, with mass Phi(z_{v+1}) - Phi(z_v), z = (e - m) / s, and
        mean m + s (phi(z_v) - phi(z_{v+1})) / mass. Weighting the cells by probs[j, v] times
        their mass (the common 1 / h cancels),

            E[x_0 | x_t] = m + s sum_v probs_v (phi(z_v) - phi(z_{v+1})) / sum_v probs_v mass_v,

        and E[eps | x_t] = (x_t - sqrt(alpha_bar) E[x_0 | x_t]) / sqrt(1 - alpha_bar). The
        masses are differences of normal tails (never of two numbers near 1); where every
        cell's mass underflows (x far outside [shift, shift + scale] for its sigma), the same
        sums are taken in logs.
        """
        x = data_matrix("x", x)
        if x.shape[1] != self.d:
            raise ValueError(f"x must have shape (n, {self.d}), got {x.shape}")
        ab = float(alpha_bar)
        if not 0.0 < ab < 1.0:
            raise ValueError(f"alpha_bar must lie in (0, 1), got {alpha_bar!r}")
        s = float(sigma_from_alpha_bar(ab))
        lo, h = self._cells()
        edges = np.append(lo, lo[-1] + h)                             # (18,)
        m = x / np.sqrt(ab)
        z = (edges - m[..., None]) / s                                # (n, d, 18)
        tail = ndtr(-np.abs(z))                                       # the small side, accurate
        t0, t1, z0, z1 = tail[..., :-1], tail[..., 1:], z[..., :-1], z[..., 1:]
        # Phi(z1) - Phi(z0): both edges above m, both below, or m inside the cell
        mass = np.where(z0 >= 0, t0 - t1, np.where(z1 <= 0, t1 - t0, 1.0 - t0 - t1))
        denominator = np.sum(self.probs * mass, axis=-1)
        # sum_v probs_v (phi(z_v) - phi(z_{v+1})) = sum_k phi(z_k) (probs_k - probs_{k-1})
        steps = np.diff(self.probs, axis=1, prepend=0.0, append=0.0)  # (d, 18)
        numerator = np.sum(np.exp(-0.5 * z**2) * steps, axis=-1) / np.sqrt(2 * np.pi)
        with np.errstate(divide="ignore", invalid="ignore"):
            shift = numerator / denominator
        far = ~(denominator > 1e-250)
        if far.any():
            shift[far] = self._shift_in_logs(z[far], np.nonzero(far)[1])
        mean_x0 = m + s * shift
        return (x - np.sqrt(ab) * mean_x0) / np.sqrt(1.0 - ab)

    def _shift_in_logs(self, z, pixel):
        """(E[x_0 | x_t] - m) / s for rows of edges z (k, 18) of pixels ``pixel`` (k,), in logs."""
        z0, z1 = z[:, :-1], z[:, 1:]
        log_mass = log_normal_mass(z0, z1)
        log_w = np.log(self.probs[pixel]) + log_mass
        log_w -= logsumexp_np(log_w, axis=-1, keepdims=True)
        ratio = (np.exp(-0.5 * z0**2 - 0.5 * LOG_2PI - log_mass)
                 - np.exp(-0.5 * z1**2 - 0.5 * LOG_2PI - log_mass))
        return np.sum(np.exp(log_w) * np.nan_to_num(ratio), axis=-1)

    def eps_model(self, schedule):
        """``eps_at`` at the steps of a ``NoiseSchedule``: (x_t, t) -> E[eps | x_t]."""
        return lambda x_t, t: self.eps_at(x_t, schedule.alpha_bar[t - 1])


@dataclass(frozen=True)
class LevelCosts:
    """The chained ELBO's cost per step and per pixel, averaged over digits (nats).

    Attributes
    ----------
    per_pixel : ndarray, shape (T, d)
        Row 0: L_0 (the decoder's -log N), row t-1: L_{t-1} (the KL at step t), per pixel.
    prior : ndarray, shape (d,)
        L_T per pixel.
    sigma : ndarray, shape (T,)
        The step's noise level sigma_t = sqrt((1 - alpha_bar_t) / alpha_bar_t).
    per_digit : ndarray, shape (n,)
        Each digit's -ELBO, every step, pixel and the prior summed: ``-diffusion_elbo(...).elbo``.
    """

    per_pixel: np.ndarray
    prior: np.ndarray
    sigma: np.ndarray
    per_digit: np.ndarray

    @property
    def total(self):
        """The mean -ELBO per digit, nats: every step, pixel and the prior summed."""
        return float(self.per_pixel.sum() + self.prior.sum())


def elbo_per_level(x0, eps_model, schedule, *, rng=None, reverse_var="posterior"):
    """``diffusion_elbo``'s terms kept apart by step and by pixel, averaged over the rows of x0.

    The same chain and the same random draws as ``helpers.diffusion.diffusion_elbo`` with an equal
    ``rng`` (a fresh x_t ~ q(x_t | x_0) per step, in the same order), so that ``per_pixel.sum(1)``
    is its ``per_step`` averaged over rows and ``per_digit`` its ``-elbo``. Per pixel j and step
    t >= 2, the KL of two normals

        L_{t-1,j} = 0.5 (bt/s2 - 1 - log(bt/s2)) + (mu_tilde_j - mu_j)^2 / (2 s2),

    with bt = beta_tilde_t and s2 = sigma_t^2 (``isotropic_kl`` on one pixel); at t = 1 the
    decoder's -log N(x_0,j; mu_j, s2). ``reverse_var`` is "posterior" or "beta", as there.
    """
    x0 = data_matrix("x0", x0)
    if not callable(eps_model):
        raise ValueError(f"eps_model must be callable (x_t, t) -> eps_hat, got {eps_model!r}")
    if not isinstance(schedule, NoiseSchedule):
        raise ValueError(f"schedule must be a NoiseSchedule, got {schedule!r}")
    sigma2 = reverse_variance(schedule, reverse_var=reverse_var)
    rng = as_rng(rng)
    per_pixel = np.empty((schedule.T, x0.shape[1]))
    per_digit = np.zeros(x0.shape[0])
    for t in range(1, schedule.T + 1):
        x_t, _ = schedule.q_sample_unchecked(x0, t, rng)
        eps_hat = model_output(eps_model(x_t, t), x_t.shape, "eps_model(x_t, t)", f"t={t}")
        mu = reverse_mean(schedule, x_t, t, eps_hat)
        var = sigma2[t - 1]
        # each pixel as a 1-D Gaussian: a trailing axis of length 1
        if t == 1:
            cost = -diag_gaussian_log_pdf(x0[..., None], mu[..., None], np.sqrt(var))
        else:
            mu_tilde, beta_tilde = schedule.q_posterior_unchecked(x0, x_t, t)
            cost = isotropic_kl(mu_tilde[..., None], beta_tilde, mu[..., None], var)
        per_pixel[t - 1] = cost.mean(0)
        per_digit += cost.sum(1)
    ab_T = schedule.alpha_bar[-1]
    prior = kl_per_dim(np.sqrt(ab_T) * x0, np.full(x0.shape, np.sqrt(1.0 - ab_T)))
    return LevelCosts(per_pixel, prior.mean(0), sigma_from_alpha_bar(schedule.alpha_bar),
                      per_digit + prior.sum(1))
