"""Diffusion as a chain of latents: the ELBO of eqs. 2.4-2.5 extended to T steps. Notebook 05.

Notebook 05 fills the article's empty section 3. Where the VAE has one latent and a learned
encoder, diffusion has T latents x_1..x_T and a fixed encoder, the forward chain
q(x_t | x_{t-1}) = N(sqrt(alpha_t) x_{t-1}, beta_t I). Eq. 2.4 still gives log p(x_0) >= ELBO,
and eq. 2.5's split becomes reconstruction - denoising - prior matching:

    ELBO = E_q[log p(x_0 | x_1)]                                                   (-L_0)
           - sum_{t=2..T} E_q[KL(q(x_{t-1} | x_t, x_0) || p(x_{t-1} | x_t))]       (L_{t-1})
           - KL(q(x_T | x_0) || N(0, I))                                           (L_T)

Steps t = 1..T; array index t-1 holds step t; data arrays are (n, d). An ``eps_model`` is any
callable ``(x_t, t) -> eps_hat`` on x_t of shape (n, d) and an int t in 1..T, returning (n, d).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from scipy.special import logsumexp

from ._checks import as_float_array, as_rng, count, positive
from .elbo import diag_gaussian_log_pdf, kl_per_dim

__all__ = ["NoiseSchedule", "GaussianMixture1D", "DiffusionElbo", "diffusion_elbo",
           "reverse_mean", "ddpm_sample", "ddim_sample", "timesteps"]


def _data(name, x):
    """x as a finite float array of shape (n, d) with n, d >= 1."""
    x = as_float_array(name, x)
    if x.ndim != 2 or x.shape[0] == 0 or x.shape[1] == 0:
        raise ValueError(f"{name} must have shape (n, d) with n, d >= 1, got {x.shape}")
    return x


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
        # f(t) = cos^2(((t/T + s) / (1 + s)) pi/2), t = 0..T
        f = np.cos((np.arange(T + 1) / T + s) / (1 + s) * np.pi / 2) ** 2
        # beta_t = 1 - f(t) / f(t-1)
        return cls(np.minimum(1.0 - f[1:] / f[:-1], 0.999))

    def _step(self, t, n=None):
        """t as an int, or as an int array of shape (n,) when ``n`` is given; each in 1..T."""
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
        x0 = _data("x0", x0)
        t = self._step(t, x0.shape[0])
        eps = as_rng(rng).standard_normal(x0.shape)
        ab = self._per_row(self.alpha_bar, t)
        # x_t = sqrt(alpha_bar_t) x_0 + sqrt(1 - alpha_bar_t) eps
        return np.sqrt(ab) * x0 + np.sqrt(1.0 - ab) * eps, eps

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
        x0, x_t = _data("x0", x0), _data("x_t", x_t)
        if x_t.shape != x0.shape:
            raise ValueError(f"x_t must have the shape of x0 {x0.shape}, got {x_t.shape}")
        t = self._step(t, x0.shape[0])
        # mu_tilde_t = c0_t x_0 + ct_t x_t
        mean = self._per_row(self._c0, t) * x0 + self._per_row(self._ct, t) * x_t
        return mean, self._per_row(self.beta_tilde, t)

    def prior_kl(self, x0):
        """L_T = KL(q(x_T | x_0) || N(0, I)) per row, summed over d (nats), shape (n,).

        q(x_T | x_0) = N(sqrt(alpha_bar_T) x_0, (1 - alpha_bar_T) I); each dimension contributes
        0.5 (mu^2 + sigma^2 - 1 - log sigma^2), the closed form of eq. 2.5's prior term.
        """
        x0 = _data("x0", x0)
        ab_T = self.alpha_bar[-1]
        # mu = sqrt(alpha_bar_T) x_0, sigma = sqrt(1 - alpha_bar_T)
        return kl_per_dim(np.sqrt(ab_T) * x0, np.full(x0.shape, np.sqrt(1.0 - ab_T))).sum(-1)


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
        return logsumexp(log_joint, axis=-1)

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

    def eps_star(self, x_t, t, schedule):
        """The exact E[eps | x_t], the best eps_model for this data (Tweedie's formula):

        eps*(x_t, t) = -sqrt(1 - alpha_bar_t) d/dx log q_t(x_t), q_t = ``marginal(alpha_bar_t)``.

        Parameters
        ----------
        x_t : array_like, any shape, e.g. (n, 1); the result has the same shape
        t : int, or int array of shape (n,) giving each row of an (n, ...) x_t its own step
        schedule : NoiseSchedule
        """
        if not isinstance(schedule, NoiseSchedule):
            raise ValueError(f"schedule must be a NoiseSchedule, got {schedule!r}")
        x_t = as_float_array("x_t", x_t)
        t = schedule._step(t, x_t.shape[0] if x_t.ndim else None)
        ab = schedule.alpha_bar[t - 1]
        ab = np.reshape(ab, np.shape(ab) + (1,) * (x_t.ndim - np.ndim(ab)) + (1,))
        x = x_t[..., None]
        # m_k = sqrt(alpha_bar_t) mu_k, v_k = alpha_bar_t s_k^2 + 1 - alpha_bar_t
        m, v = np.sqrt(ab) * self.means, ab * self.stds**2 + 1.0 - ab
        # log r_k(x) = log pi_k + log N(x; m_k, v_k) - log q_t(x)  (the 2 pi cancels)
        log_r = np.log(self.weights) - 0.5 * ((x - m) ** 2 / v + np.log(v))
        log_r -= logsumexp(log_r, axis=-1, keepdims=True)
        # d/dx log q_t(x) = sum_k r_k (m_k - x) / v_k
        score = np.sum(np.exp(log_r) * (m - x) / v, axis=-1)
        # eps* = -sqrt(1 - alpha_bar_t) d/dx log q_t(x)
        return -np.sqrt(1.0 - ab[..., 0]) * score


def _check_model(eps_model, schedule):
    if not callable(eps_model):
        raise ValueError(f"eps_model must be callable (x_t, t) -> eps_hat, got {eps_model!r}")
    if not isinstance(schedule, NoiseSchedule):
        raise ValueError(f"schedule must be a NoiseSchedule, got {schedule!r}")


def _eps_hat(eps_model, x_t, t):
    """eps_model(x_t, t), checked to be finite with the shape (n, d) of x_t."""
    out = np.asarray(eps_model(x_t, t), dtype=np.float64)
    if out.shape != x_t.shape:
        raise ValueError(f"eps_model(x_t, t) must return shape {x_t.shape}, got {out.shape} "
                         f"at t={t}")
    if not np.isfinite(out).all():
        raise ValueError(f"eps_model(x_t, t) returned non-finite values at t={t}")
    return out


def reverse_mean(schedule, x_t, t, eps_hat):
    """The mean of p(x_{t-1} | x_t) in the eps-parametrisation (Ho et al. 2020, eq. 11):

        mu(x_t, t) = (x_t - beta_t / sqrt(1 - alpha_bar_t) eps_hat) / sqrt(alpha_t).

    It is q(x_{t-1} | x_t, x_0)'s mean with x_0 replaced by the x_0 that x_t and eps_hat imply,
    so with eps_hat equal to the true noise it equals that posterior mean exactly.
    Inputs are not checked: the samplers and the ELBO call it on checked arrays.
    """
    beta, alpha, ab = schedule.betas[t - 1], schedule.alphas[t - 1], schedule.alpha_bar[t - 1]
    return (x_t - beta / np.sqrt(1.0 - ab) * eps_hat) / np.sqrt(alpha)


@dataclass(frozen=True)
class DiffusionElbo:
    """What ``diffusion_elbo`` returns: the terms of the chained eq. 2.5, in nats per row.

    Attributes
    ----------
    elbo, reconstruction, denoising, prior : ndarray, shape (n,)
        elbo = reconstruction - denoising - prior.
    per_step : ndarray, shape (T, n)
        Each step's loss term, for a bar chart over t: row 0 holds L_0 = -reconstruction, and row
        t-1 (t >= 2) holds L_{t-1} = KL(q(x_{t-1} | x_t, x_0) || p(x_{t-1} | x_t)). So
        per_step[1:].sum(0) == denoising and per_step.sum(0) + prior == -elbo.
    """

    elbo: np.ndarray
    reconstruction: np.ndarray
    denoising: np.ndarray
    prior: np.ndarray
    per_step: np.ndarray


def diffusion_elbo(x0, eps_model, schedule, rng=None):
    """One-sample-per-step Monte-Carlo ELBO of the T-step chain (eqs. 2.4-2.5 for x_1..x_T).

    The model: p(x_T) = N(0, I), p(x_{t-1} | x_t) = N(mu(x_t, t), beta_tilde_t I) for t >= 2,
    p(x_0 | x_1) = N(mu(x_1, 1), beta_1 I), with
    mu(x_t, t) = (x_t - beta_t / sqrt(1 - alpha_bar_t) eps_model(x_t, t)) / sqrt(alpha_t). Then

        reconstruction = log N(x_0; mu(x_1, 1), beta_1 I),
        denoising      = sum_{t=2..T} ||mu_tilde_t(x_t, x_0) - mu(x_t, t)||^2 / (2 beta_tilde_t),
        prior          = KL(q(x_T | x_0) || N(0, I))   (exact),

    the denoising KLs being between Gaussians of equal variance. Each x_t is a fresh draw from
    q(x_t | x_0), independent across t, so each term is unbiased and E[elbo] <= log p(x_0)
    (eq. 2.4). eps_model is called once per step on the whole batch (T calls).

    Parameters
    ----------
    x0 : array_like, shape (n, d)
    eps_model : callable, e.g. ``lambda x, t: mixture.eps_star(x, t, schedule)``
    schedule : NoiseSchedule
    rng : int, numpy.random.Generator or None

    Returns
    -------
    DiffusionElbo
    """
    x0 = _data("x0", x0)
    _check_model(eps_model, schedule)
    rng = as_rng(rng)
    per_step = np.empty((schedule.T, x0.shape[0]))
    for t in range(1, schedule.T + 1):
        # x_t ~ q(x_t | x_0), drawn afresh for every t
        x_t, _ = schedule.q_sample(x0, t, rng)
        # mu(x_t, t), the mean of p(x_{t-1} | x_t)
        mu = reverse_mean(schedule, x_t, t, _eps_hat(eps_model, x_t, t))
        if t == 1:
            # L_0 = -log N(x_0; mu(x_1, 1), beta_1 I)
            per_step[0] = -diag_gaussian_log_pdf(x0, mu, np.sqrt(schedule.betas[0]))
        else:
            mu_tilde, beta_tilde = schedule.q_posterior(x0, x_t, t)
            # L_{t-1} = ||mu_tilde_t - mu||^2 / (2 beta_tilde_t)
            per_step[t - 1] = np.sum((mu_tilde - mu) ** 2, axis=-1) / (2.0 * beta_tilde)
    reconstruction, denoising = -per_step[0], per_step[1:].sum(0)
    prior = schedule.prior_kl(x0)
    return DiffusionElbo(reconstruction - denoising - prior, reconstruction, denoising, prior,
                         per_step)


def _start(eps_model, schedule, n, d, rng):
    """Checks shared by the samplers, and x_T ~ p(x_T) = N(0, I) of shape (n, d)."""
    _check_model(eps_model, schedule)
    n, d = count("n", n), count("d", d)
    rng = as_rng(rng)
    return rng, rng.standard_normal((n, d))


def timesteps(schedule, steps):
    """``steps`` timesteps spread evenly over 1..T, descending from T: np.linspace(1, T, steps)
    rounded ([T] if steps = 1). The samplers' ``steps`` argument uses these."""
    steps = count("steps", steps)
    if steps > schedule.T:
        raise ValueError(f"steps must lie in 1..{schedule.T}, got {steps!r}")
    # unique: a spacing (T-1)/(steps-1) >= 1 keeps rounded timesteps distinct
    taus = [schedule.T] if steps == 1 else np.round(np.linspace(1, schedule.T, steps)).astype(int)
    return np.unique(taus)[::-1]


def ddpm_sample(eps_model, schedule, n, d=1, rng=None, *, steps=None, return_trajectory=False):
    """Ancestral sampling through the model of ``diffusion_elbo``, from x_T ~ N(0, I):

    x_{t-1} = mu(x_t, t) + sqrt(beta_tilde_t) z, z ~ N(0, I), for t = T..2; x_0 = mu(x_1, 1).

    With ``steps`` < T it walks only ``timesteps(schedule, steps)``: the chain through those
    timesteps is itself a diffusion with alpha_bar taken at them, so the same update runs with
    beta_i = 1 - alpha_bar_{tau_i} / alpha_bar_{tau_{i-1}} (Nichol & Dhariwal 2021, sec. 4).

    Parameters
    ----------
    eps_model : callable ``(x_t, t) -> eps_hat``
    schedule : NoiseSchedule
    n, d : int
        Number and dimension of the samples.
    rng : int, numpy.random.Generator or None
    steps : int in 1..T, optional
        Number of denoising steps (default: all T).
    return_trajectory : bool, default False
        Also return the states, shape (steps + 1, n, d): trajectory[i] is the state after i
        steps, x_T first and x_0 last.

    Returns
    -------
    ndarray of shape (n, d), or ``(samples, trajectory)``
    """
    rng, x = _start(eps_model, schedule, n, d, rng)
    taus = np.arange(schedule.T, 0, -1) if steps is None else timesteps(schedule, steps)
    # the walk's own schedule: alpha_bar at tau_1 < tau_2 < ..., beta_i from their ratios
    ab = schedule.alpha_bar[taus[::-1] - 1]
    walk = schedule if steps is None else NoiseSchedule(1.0 - ab / np.append(1.0, ab[:-1]))
    trajectory = [x]
    for i, tau in zip(range(walk.T, 0, -1), taus):
        # mu(x_t, t), with the network asked at its own timestep tau
        x = reverse_mean(walk, x, i, _eps_hat(eps_model, x, int(tau)))
        if i > 1:
            # x_{t-1} = mu(x_t, t) + sqrt(beta_tilde_t) z
            x = x + np.sqrt(walk.beta_tilde[i - 1]) * rng.standard_normal(x.shape)
        if return_trajectory:
            trajectory.append(x)
    return (x, np.stack(trajectory)) if return_trajectory else x


def ddim_sample(eps_model, schedule, n, steps, d=1, rng=None, *, return_trajectory=False):
    """Deterministic DDIM (eta = 0) on ``steps`` timesteps tau spread evenly over 1..T.

    The timesteps are ``timesteps(schedule, steps)``. From x_T ~ N(0, I),
    each step predicts x_0 and moves to the next timestep down, tau', along the same noise:

        x0_hat = (x_tau - sqrt(1 - alpha_bar_tau) eps_hat) / sqrt(alpha_bar_tau),
        x_tau' = sqrt(alpha_bar_tau') x0_hat + sqrt(1 - alpha_bar_tau') eps_hat;

    the last step returns x0_hat. Only x_T is random, so equal ``rng`` gives equal output.

    Parameters
    ----------
    As ``ddpm_sample``, plus ``steps`` (int in 1..T): the number of timesteps and eps_model
    calls. The trajectory has shape (steps + 1, n, d): x_T, x at each timestep down, x_0 last.
    """
    rng, x = _start(eps_model, schedule, n, d, rng)
    taus = timesteps(schedule, steps)
    # alpha_bar_tau' of the next timestep down; after the last, alpha_bar_0 = 1 lands on x0_hat
    ab_next = np.append(schedule.alpha_bar[taus[1:] - 1], 1.0)
    trajectory = [x]
    for tau, ab_n in zip(taus, ab_next):
        eps_hat = _eps_hat(eps_model, x, int(tau))
        ab = schedule.alpha_bar[tau - 1]
        # x0_hat = (x_tau - sqrt(1 - alpha_bar_tau) eps_hat) / sqrt(alpha_bar_tau)
        x0_hat = (x - np.sqrt(1.0 - ab) * eps_hat) / np.sqrt(ab)
        # x_tau' = sqrt(alpha_bar_tau') x0_hat + sqrt(1 - alpha_bar_tau') eps_hat
        x = np.sqrt(ab_n) * x0_hat + np.sqrt(1.0 - ab_n) * eps_hat
        if return_trajectory:
            trajectory.append(x)
    return (x, np.stack(trajectory)) if return_trajectory else x
