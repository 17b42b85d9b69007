"""The forward chain of a diffusion model: the noise schedule and its closed forms. Notebook 05.

q(x_t | x_{t-1}) = N(sqrt(alpha_t) x_{t-1}, beta_t I), t = 1..T, is the fixed encoder of the
hierarchical VAE of notebook 05 (the article's empty section 3). Its closed forms: q(x_t | x_0)
(jump to any step), q(x_{t-1} | x_t, x_0) (Bayes' rule, the target of every denoising term) and
L_T = KL(q(x_T | x_0) || N(0, I)) (the prior-matching term of eq. 2.5 for the last latent).
Steps t = 1..T; array index t-1 holds step t; data arrays are (n, d).

The one home of the conversions between a noise level alpha_bar and sigma (notebook 06's
continuous levels, x_t / sqrt(alpha_bar) = x_0 + sigma eps): ``sigma_from_alpha_bar``,
``alpha_bar_from_sigma``, and the log-sigma pair that the networks' level features use; and of
the cosine schedule's shape, in steps (``NoiseSchedule.cosine``) and in continuous time
(``cosine_alpha_bar``).
"""

from __future__ import annotations

import math

import numpy as np

from ._checks import (alpha_bar_level, as_float_array, as_rng, count, data_matrix, float_or_array,
                      positive, unit_interval)
from ._deprecated import keyword_only
from .gaussian import kl_per_dim

__all__ = ["NoiseSchedule", "sigma_from_alpha_bar", "alpha_bar_from_sigma",
           "log_sigma_from_alpha_bar", "alpha_bar_from_log_sigma", "x0_from_eps",
           "cosine_alpha_bar"]


def _cosine_f(t, s):
    """f(t) = cos^2(((t + s) / (1 + s)) pi/2), the cosine schedule's shape (Nichol and Dhariwal
    2021); t in [0, 1]."""
    return np.cos((t + s) / (1 + s) * np.pi / 2) ** 2


def cosine_alpha_bar(t, *, s=0.008):
    """The cosine schedule in continuous time: alpha_bar(t) = f(t) / f(0) for t in [0, 1].

    ``NoiseSchedule.cosine(T)`` is the same f at t = 0, 1/T, ..., 1 (its beta_t = 1 - f(t) /
    f(t - 1/T), the last one clipped); notebook 06 integrates the probability-flow ODE along it in
    continuous t. A float for a float, else an array of t's shape.
    """
    if type(t) is float and 0.0 <= t <= 1.0 and type(s) is float and s > 0:
        return float(_cosine_f(t, s) / _cosine_f(0.0, s))   # a checked float: the quick path
    t = unit_interval("t", t)
    s = float(positive("s", s))
    return float_or_array(_cosine_f(t, s) / _cosine_f(0.0, s))


def sigma_from_alpha_bar(alpha_bar):
    """sigma = sqrt((1 - alpha_bar) / alpha_bar), the noise level of x_t / sqrt(alpha_bar) =
    x_0 + sigma eps. alpha_bar: a float or array in (0, 1] (1 gives sigma = 0); returns a float
    for a float, else an array of alpha_bar's shape."""
    ab = alpha_bar_level(alpha_bar)
    # sigma = sqrt((1 - alpha_bar) / alpha_bar)
    return float_or_array(np.sqrt((1.0 - ab) / ab))


def x0_from_eps(x_t, eps_hat, alpha_bar):
    """x0_hat = (x_t - sqrt(1 - alpha_bar) eps_hat) / sqrt(alpha_bar): the clean point that
    x_t = sqrt(alpha_bar) x_0 + sqrt(1 - alpha_bar) eps implies for the predicted noise. DDIM's
    step and the discrete decoder's mean (``helpers.discrete_decoder.predicted_x0``) use it.
    Arrays broadcast; no checks (the callers check their inputs)."""
    return (x_t - np.sqrt(1.0 - alpha_bar) * eps_hat) / np.sqrt(alpha_bar)


def alpha_bar_from_sigma(sigma):
    """alpha_bar = 1 / (1 + sigma^2), the inverse of ``sigma_from_alpha_bar``. sigma: a float or
    array >= 0; returns a float for a float, else an array of sigma's shape."""
    s = as_float_array("sigma", sigma)
    if (s < 0).any():
        raise ValueError(f"sigma must be >= 0, got {s[s < 0].flat[0]!r}")
    # alpha_bar = 1 / (1 + sigma^2)
    return float_or_array(1.0 / (1.0 + s**2))


def log_sigma_from_alpha_bar(alpha_bar):
    """log sigma = (log(1 - alpha_bar) - log alpha_bar) / 2, through log1p so that it stays
    exact as alpha_bar -> 1 (where 1 - alpha_bar loses its digits); -inf at alpha_bar = 1.
    A float for a float (through ``math``), else an array."""
    ab = alpha_bar_level(alpha_bar)
    if ab.ndim == 0:
        a = float(ab)
        return -math.inf if a == 1.0 else 0.5 * (math.log1p(-a) - math.log(a))
    with np.errstate(divide="ignore"):  # -inf at alpha_bar = 1, as documented
        return 0.5 * (np.log1p(-ab) - np.log(ab))


def alpha_bar_from_log_sigma(log_sigma):
    """alpha_bar = 1 / (1 + sigma^2) = sigmoid(-2 log sigma), exact at both ends (1 at
    log sigma = -inf, 0 at +inf). For the networks' level features: a torch tensor gives a
    tensor (unchecked: it runs inside training loops), anything else a float or an array."""
    if hasattr(log_sigma, "sigmoid"):  # a torch tensor
        return (-2 * log_sigma).sigmoid()
    v = as_float_array("log_sigma", log_sigma, allow_inf=True)
    # sigmoid(-2 log sigma) = 1 / (1 + exp(2 log sigma))
    with np.errstate(over="ignore"):
        return float_or_array(1.0 / (1.0 + np.exp(2.0 * v)))


class NoiseSchedule:
    """The forward chain q(x_t | x_{t-1}) = N(sqrt(alpha_t) x_{t-1}, beta_t I), t = 1..T.

    Parameters
    ----------
    betas : array_like, shape (T,)
        The noise variances beta_t, each in (0, 1).

    Attributes
    ----------
    T : int
    betas, alphas, alpha_bar, beta_tilde : ndarray, shape (T,)
        beta_t, 1 - beta_t, prod_{s <= t} alpha_s, and the variance of q(x_{t-1} | x_t, x_0),
        beta_tilde_t = (1 - alpha_bar_{t-1}) / (1 - alpha_bar_t) beta_t (0 at t = 1).
    """

    def __init__(self, betas):
        betas = as_float_array("betas", betas)
        if betas.ndim != 1 or betas.size == 0:
            raise ValueError(f"betas must have shape (T,) with T >= 1, got {betas.shape}")
        bad = (betas <= 0) | (betas >= 1)
        if bad.any():
            raise ValueError(f"betas must lie in (0, 1), found {betas[bad][0]!r}")
        self.T, self.betas = betas.size, betas
        # alpha_t = 1 - beta_t
        self.alphas = 1.0 - betas
        # alpha_bar_t = prod_{s <= t} alpha_s
        self.alpha_bar = np.cumprod(self.alphas)
        # alpha_bar_{t-1}, with alpha_bar_0 = 1
        ab_prev = np.concatenate([[1.0], self.alpha_bar[:-1]])
        one_minus_ab = 1.0 - self.alpha_bar
        # beta_tilde_t = (1 - alpha_bar_{t-1}) / (1 - alpha_bar_t) beta_t
        self.beta_tilde = (1.0 - ab_prev) / one_minus_ab * betas
        # mu_tilde_t = c0_t x_0 + ct_t x_t, the mean of q(x_{t-1} | x_t, x_0) (Bayes' rule)
        self._c0 = np.sqrt(ab_prev) * betas / one_minus_ab
        self._ct = np.sqrt(self.alphas) * (1.0 - ab_prev) / one_minus_ab
        # at t = 1 the posterior is the point mass at x_0: set it free of rounding
        self.beta_tilde[0], self._c0[0], self._ct[0] = 0.0, 1.0, 0.0

    def __repr__(self):
        return f"NoiseSchedule(T={self.T}, beta_1={self.betas[0]:.3g}, beta_T={self.betas[-1]:.3g})"

    @classmethod
    def linear(cls, T, beta_1=1e-4, beta_T=0.02):
        """DDPM's schedule: beta_t rises linearly from ``beta_1`` to ``beta_T`` over T steps."""
        return cls(np.linspace(beta_1, beta_T, count("T", T)))

    @classmethod
    def cosine(cls, T, s=0.008):
        """The cosine schedule: alpha_bar_t = f(t) / f(0), f(t) = cos^2(((t/T + s)/(1 + s)) pi/2).

        beta_t = 1 - alpha_bar_t / alpha_bar_{t-1} is clipped at 0.999: f(T) = 0 would make
        beta_T = 1, outside (0, 1). So alpha_bar_T = 0.001 alpha_bar_{T-1}, not exactly 0.
        """
        T, s = count("T", T), float(positive("s", s))
        f = _cosine_f(np.arange(T + 1) / T, s)   # t = 0..T
        # beta_t = 1 - f(t) / f(t-1)
        return cls(np.minimum(1.0 - f[1:] / f[:-1], 0.999))

    @keyword_only(2, ("n",))
    def check_step(self, t, *, n=None):
        """t checked: an int, or an int array of shape (n,) when ``n`` is given; each in 1..T."""
        arr = np.asarray(t)
        whole = arr.dtype.kind in "iu" or (arr.dtype.kind == "f" and np.isfinite(arr).all()
                                           and (arr == np.round(arr)).all())
        if not whole or not (arr.ndim == 0 or (n is not None and arr.shape == (n,))):
            shape = "" if n is None else f" or an int array of shape ({n},)"
            got = repr(t) if arr.ndim == 0 else f"an array of shape {arr.shape}, dtype {arr.dtype}"
            raise ValueError(f"t must be an int{shape} in 1..{self.T}, got {got}")
        bad = (arr < 1) | (arr > self.T)
        if bad.any():
            raise ValueError(f"t must lie in 1..{self.T}, got {arr[bad].flat[0]!r}")
        return int(arr) if arr.ndim == 0 else arr.astype(int)

    def _per_row(self, values, t):
        """values[t-1], shaped to broadcast against (n, d): a scalar, or a column (n, 1)."""
        return values[t - 1] if np.ndim(t) == 0 else values[t - 1][:, None]

    def q_sample(self, x0, t, rng=None):
        """x_t ~ q(x_t | x_0) in closed form, sqrt(alpha_bar_t) x_0 + sqrt(1 - alpha_bar_t) eps.

        Parameters
        ----------
        x0 : array_like, shape (n, d)
        t : int, or int array of shape (n,) giving each row its own step; in 1..T
        rng : int, numpy.random.Generator or None

        Returns
        -------
        x_t, eps : ndarray, shape (n, d)
        """
        x0 = data_matrix("x0", x0)
        t = self.check_step(t, n=x0.shape[0])
        return self.q_sample_unchecked(x0, t, as_rng(rng))

    def q_sample_unchecked(self, x0, t, rng):
        """``q_sample`` for inputs already checked: x0 a float array (n, d), t from
        ``check_step``, rng a Generator. For callers that check once at their own public
        boundary and then run the chain (``helpers.diffusion.diffusion_elbo``)."""
        eps = rng.standard_normal(x0.shape)
        return self.noised(x0, t, eps), eps

    def noised(self, x0, t, eps):
        """x_t = sqrt(alpha_bar_t) x_0 + sqrt(1 - alpha_bar_t) eps for noise ``eps`` already drawn
        (the closed form of q(x_t | x_0), the one place it is written). x0 and eps: arrays of
        one shape, (n, d), or any shape when t is one int step in 1..T (a figure's fixed noise, so
        that a t slider moves the same points)."""
        ab = self._per_row(self.alpha_bar, t)
        return np.sqrt(ab) * np.asarray(x0) + np.sqrt(1.0 - ab) * np.asarray(eps)

    def q_posterior(self, x0, x_t, t):
        """q(x_{t-1} | x_t, x_0) = N(mu_tilde_t, beta_tilde_t I), the chain reversed given x_0.

        mu_tilde_t = (sqrt(alpha_bar_{t-1}) beta_t x_0 + sqrt(alpha_t) (1 - alpha_bar_{t-1}) x_t)
                     / (1 - alpha_bar_t); at t = 1 the posterior is the point mass (x_0, 0).

        Parameters
        ----------
        x0, x_t : array_like, shape (n, d)
        t : int or int array of shape (n,)

        Returns
        -------
        mean : ndarray, shape (n, d)
        var : float, or ndarray (n, 1) for an array t; broadcasts against ``mean``
        """
        x0, x_t = data_matrix("x0", x0), data_matrix("x_t", x_t)
        if x_t.shape != x0.shape:
            raise ValueError(f"x_t must have the shape of x0 {x0.shape}, got {x_t.shape}")
        t = self.check_step(t, n=x0.shape[0])
        return self.q_posterior_unchecked(x0, x_t, t)

    def q_posterior_unchecked(self, x0, x_t, t):
        """``q_posterior`` for inputs already checked (as ``q_sample_unchecked``)."""
        # mu_tilde_t = c0_t x_0 + ct_t x_t
        mean = self._per_row(self._c0, t) * x0 + self._per_row(self._ct, t) * x_t
        return mean, self._per_row(self.beta_tilde, t)

    def reverse_step_variance(self, var_x0, t):
        """Var(x_{t-1} | x_t) = beta_tilde_t + c_t^2 Var(x_0 | x_t), the true reverse step's variance.

        The law of total variance over what x_t leaves unknown about x_0: the posterior
        q(x_{t-1} | x_t, x_0) has variance beta_tilde_t and a mean linear in x_0 with weight
        c_t = sqrt(alpha_bar_{t-1}) beta_t / (1 - alpha_bar_t). ``var_x0`` is Var(x_0 | x_t), for
        instance ``GaussianMixture1D.posterior_x0(x_t, t, schedule).var``; t is one int step in
        2..T (at t = 1 the posterior is the point x_0 and this is Var(x_0 | x_1) itself).
        Returns an array of var_x0's shape, never below beta_tilde_t.
        """
        t = self.check_step(t)
        var_x0 = as_float_array("var_x0", var_x0)
        if (var_x0 < 0).any():
            raise ValueError(f"var_x0 must be >= 0, found {float(var_x0[var_x0 < 0].flat[0])!r}")
        return self.beta_tilde[t - 1] + self._c0[t - 1] ** 2 * var_x0

    def prior_kl(self, x0):
        """L_T = KL(q(x_T | x_0) || N(0, I)) per row, summed over d (nats), shape (n,).

        q(x_T | x_0) = N(sqrt(alpha_bar_T) x_0, (1 - alpha_bar_T) I); each dimension contributes
        0.5 (mu^2 + sigma^2 - 1 - log sigma^2), the closed form of eq. 2.5's prior term.
        """
        return self.prior_kl_unchecked(data_matrix("x0", x0))

    def prior_kl_unchecked(self, x0):
        """``prior_kl`` for an x0 already checked (as ``q_sample_unchecked``)."""
        ab_T = self.alpha_bar[-1]
        # mu = sqrt(alpha_bar_T) x_0, sigma = sqrt(1 - alpha_bar_T)
        return kl_per_dim(np.sqrt(ab_T) * x0, np.full(x0.shape, np.sqrt(1.0 - ab_T))).sum(-1)
