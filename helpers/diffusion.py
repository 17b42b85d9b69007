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

from ._checks import as_rng, count, data_matrix, model_output
from ._deprecated import keyword_only
from ._results import retired_flag
from .gaussian import diag_gaussian_log_pdf, isotropic_kl
from .mixture import GaussianMixture1D  # noqa: F401 - part of this module's API (API.md)
from .noise_schedule import NoiseSchedule, x0_from_eps

__all__ = ["NoiseSchedule", "GaussianMixture1D", "DiffusionElbo", "diffusion_elbo",
           "reverse_mean", "reverse_variance", "ddpm_sample", "ddim_sample", "timesteps",
           "Trajectory", "ddpm_trajectory", "ddim_trajectory"]


def _check_model(eps_model, schedule):
    if not callable(eps_model):
        raise ValueError(f"eps_model must be callable (x_t, t) -> eps_hat, got {eps_model!r}")
    if not isinstance(schedule, NoiseSchedule):
        raise ValueError(f"schedule must be a NoiseSchedule, got {schedule!r}")


REVERSE_VARIANCES = ("posterior", "beta")


@keyword_only(1, ("reverse_var",))
def reverse_variance(schedule, *, reverse_var="posterior"):
    """sigma_t^2 of p(x_{t-1} | x_t) = N(mu(x_t, t), sigma_t^2 I) for t = 1..T, shape (T,).

    Ho et al. (2020, sec. 3.2) try two fixed choices, both exact in a limit:

    - ``"posterior"``: sigma_t^2 = beta_tilde_t, the variance of q(x_{t-1} | x_t, x_0). Right
      when x_t fixes x_0 (data that are one point): then the true reverse step is that posterior.
    - ``"beta"``: sigma_t^2 = beta_t, the forward step's own variance. Right for data spread out
      enough that x_0 is uncertain given x_t; it is also the noise of the reverse-time SDE.

    The true reverse step has variance Var(x_{t-1} | x_t) = beta_tilde_t + c_t^2 Var(x_0 | x_t),
    c_t = sqrt(alpha_bar_{t-1}) beta_t / (1 - alpha_bar_t) being x_0's coefficient in the
    posterior mean (``NoiseSchedule.reverse_step_variance``): never below beta_tilde_t, and for
    notebook 05's mixture within a few percent of beta_t on average; ``diffusion_elbo`` takes it
    per x_t as a callable. Nichol & Dhariwal (2021) learn it. Row 0 (t = 1) is beta_1
    for both: p(x_0 | x_1) = N(mu(x_1, 1), beta_1 I), the decoder of the reconstruction term.
    """
    if callable(reverse_var):
        raise ValueError(f"reverse_var must be one of {REVERSE_VARIANCES} here (a variance per "
                         f"x_t, a callable, is taken only by diffusion_elbo), got {reverse_var!r}")
    if reverse_var == "posterior":
        var = schedule.beta_tilde.copy()
    elif reverse_var == "beta":
        var = schedule.betas.copy()
    else:
        raise ValueError(f"reverse_var must be one of {REVERSE_VARIANCES}, got {reverse_var!r}")
    var[0] = schedule.betas[0]
    return var


def _eps_hat(eps_model, x_t, t):
    """eps_model(x_t, t), checked to be finite with the shape (n, d) of x_t."""
    return model_output(eps_model(x_t, t), x_t.shape, "eps_model(x_t, t)", f"t={t}")


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


def diffusion_elbo(x0, eps_model, schedule, rng=None, *, reverse_var="posterior"):
    """One-sample-per-step Monte-Carlo ELBO of the T-step chain (eqs. 2.4-2.5 for x_1..x_T).

    The model: p(x_T) = N(0, I), p(x_{t-1} | x_t) = N(mu(x_t, t), sigma_t^2 I) for t >= 2,
    p(x_0 | x_1) = N(mu(x_1, 1), beta_1 I), with
    mu(x_t, t) = (x_t - beta_t / sqrt(1 - alpha_bar_t) eps_model(x_t, t)) / sqrt(alpha_t) and
    sigma_t^2 = beta_tilde_t (``reverse_var="posterior"``), beta_t (``"beta"``; see
    ``reverse_variance``) or a variance per x_t (a callable). Then

        reconstruction = log N(x_0; mu(x_1, 1), beta_1 I),
        denoising      = sum_{t=2..T} KL(N(mu_tilde_t, beta_tilde_t I) || N(mu(x_t, t), sigma_t^2 I)),
        prior          = KL(q(x_T | x_0) || N(0, I))   (exact),

    each KL in closed form (``helpers.gaussian.isotropic_kl``); with sigma_t^2 = beta_tilde_t it
    is ||mu_tilde_t - mu||^2 / (2 beta_tilde_t). Each x_t is a fresh draw from
    q(x_t | x_0), independent across t, so each term is unbiased and E[elbo] <= log p(x_0)
    (eq. 2.4). eps_model is called once per step on the whole batch (T calls).

    Parameters
    ----------
    x0 : array_like, shape (n, d)
    eps_model : callable, e.g. ``lambda x, t: mixture.eps_star(x, t, schedule)``
    schedule : NoiseSchedule
    rng : int, numpy.random.Generator or None
    reverse_var : {"posterior", "beta"} or callable
        The reverse steps' variance sigma_t^2: beta_tilde_t (default) or beta_t; or a callable
        ``(x_t, t) -> sigma_t^2`` giving each row its own variance, shape (n,) or (n, 1), at
        every step, the decoder's (t = 1) included: for instance the true one,
        ``schedule.reverse_step_variance(mixture.posterior_x0(x_t, t, schedule).var, t)``.

    Returns
    -------
    DiffusionElbo
    """
    x0 = data_matrix("x0", x0)
    _check_model(eps_model, schedule)
    per_row = reverse_var if callable(reverse_var) else None
    sigma2 = None if per_row else reverse_variance(schedule, reverse_var=reverse_var)
    rng = as_rng(rng)
    per_step = np.empty((schedule.T, x0.shape[0]))
    for t in range(1, schedule.T + 1):
        # x_t ~ q(x_t | x_0), drawn afresh for every t (x0 was checked once, above)
        x_t, _ = schedule.q_sample_unchecked(x0, t, rng)
        # mu(x_t, t), the mean of p(x_{t-1} | x_t)
        mu = reverse_mean(schedule, x_t, t, _eps_hat(eps_model, x_t, t))
        # sigma_t^2: one number, or one per row, shape (n,)
        var = sigma2[t - 1] if per_row is None else _row_variance(per_row, x_t, t)
        if t == 1:
            # L_0 = -log N(x_0; mu(x_1, 1), sigma_1^2 I)
            std = np.sqrt(var)
            per_step[0] = -diag_gaussian_log_pdf(x0, mu, std if per_row is None else std[:, None])
        else:
            mu_tilde, beta_tilde = schedule.q_posterior_unchecked(x0, x_t, t)
            # L_{t-1} = KL(N(mu_tilde_t, beta_tilde_t I) || N(mu, sigma_t^2 I))
            per_step[t - 1] = isotropic_kl(mu_tilde, beta_tilde, mu, var)
    reconstruction, denoising = -per_step[0], per_step[1:].sum(0)
    prior = schedule.prior_kl_unchecked(x0)
    return DiffusionElbo(reconstruction - denoising - prior, reconstruction, denoising, prior,
                         per_step)


def _row_variance(reverse_var, x_t, t):
    """``reverse_var(x_t, t)`` checked: one variance per row, finite and > 0, shape (n,)."""
    n, where = x_t.shape[0], f"reverse_var(x_t, t) at t={t}"
    try:
        var = np.asarray(reverse_var(x_t, t), dtype=np.float64)
    except (TypeError, ValueError):
        raise ValueError(f"{where} must return numbers, one variance per row") from None
    if var.shape == (n, 1):
        var = var[:, 0]
    if var.shape != (n,):
        raise ValueError(f"{where} must return shape ({n},) or ({n}, 1), got {var.shape}")
    bad = ~(np.isfinite(var) & (var > 0))
    if bad.any():
        raise ValueError(f"{where} must be finite and > 0, found {float(var[bad][0])!r}")
    return var


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


@dataclass(frozen=True)
class Trajectory:
    """What ``ddpm_trajectory`` and ``ddim_trajectory`` return: a sampler's walk.

    Attributes
    ----------
    samples : ndarray, shape (n, d)
        The output, the sampler's own (equal to ``states[-1]``).
    states : ndarray, shape (steps + 1, n, d)
        states[i] is the state after i steps: x_T first, x_0 last.
    """

    samples: np.ndarray
    states: np.ndarray


def _stacked(walk):
    """A sampler's states, from a generator of them, as a ``Trajectory``."""
    states = np.stack(list(walk))
    return Trajectory(states[-1], states)


def _last(walk):
    """The last state of a generator of them, keeping no other."""
    for x in walk:
        pass
    return x


def _trajectory_flag(trajectory_fn):
    """A sampler's ``return_trajectory`` (helpers 0.2) is ``trajectory_fn`` now; for one release
    ``return_trajectory=True`` still returns its (samples, states) pair, with a warning."""
    def old_result(*args, **kwargs):
        walk = trajectory_fn(*args, **kwargs)
        return walk.samples, walk.states

    name = trajectory_fn.__name__.replace("trajectory", "sample")
    return retired_flag("return_trajectory", f"{name}(..., return_trajectory=True) is now "
                        f"{trajectory_fn.__name__}(...): its .samples and .states", old_result)


def _ddpm_walk(eps_model, schedule, n, steps, d, rng, reverse_var):
    """The states of ``ddpm_sample``, x_T first, one by one."""
    rng, x = _start(eps_model, schedule, n, d, rng)
    taus = np.arange(schedule.T, 0, -1) if steps is None else timesteps(schedule, steps)
    # the walk's own schedule: alpha_bar at tau_1 < tau_2 < ..., beta_i from their ratios
    ab = schedule.alpha_bar[taus[::-1] - 1]
    walk = schedule if steps is None else NoiseSchedule(1.0 - ab / np.append(1.0, ab[:-1]))
    sigma = np.sqrt(reverse_variance(walk, reverse_var=reverse_var))
    yield x
    for i, tau in zip(range(walk.T, 0, -1), taus):
        # mu(x_t, t), with the network asked at its own timestep tau
        x = reverse_mean(walk, x, i, _eps_hat(eps_model, x, int(tau)))
        if i > 1:
            # x_{t-1} = mu(x_t, t) + sigma_t z
            x = x + sigma[i - 1] * rng.standard_normal(x.shape)
        yield x


def ddpm_trajectory(eps_model, schedule, n, *, steps=None, d=1, rng=None,
                    reverse_var="posterior"):
    """``ddpm_sample`` with every state kept: a ``Trajectory`` whose ``states`` has shape
    (steps + 1, n, d) (T + 1 without ``steps``), x_T first and x_0 (``samples``) last. Equal
    arguments give ``ddpm_sample``'s numbers."""
    return _stacked(_ddpm_walk(eps_model, schedule, n, steps, d, rng, reverse_var))


def _ddim_walk(eps_model, schedule, n, steps, d, rng):
    """The states of ``ddim_sample``, x_T first, one by one."""
    rng, x = _start(eps_model, schedule, n, d, rng)
    taus = timesteps(schedule, steps)
    # alpha_bar_tau' of the next timestep down; after the last, alpha_bar_0 = 1 lands on x0_hat
    ab_next = np.append(schedule.alpha_bar[taus[1:] - 1], 1.0)
    yield x
    for tau, ab_n in zip(taus, ab_next):
        eps_hat = _eps_hat(eps_model, x, int(tau))
        ab = schedule.alpha_bar[tau - 1]
        x0_hat = x0_from_eps(x, eps_hat, ab)
        # x_tau' = sqrt(alpha_bar_tau') x0_hat + sqrt(1 - alpha_bar_tau') eps_hat
        x = np.sqrt(ab_n) * x0_hat + np.sqrt(1.0 - ab_n) * eps_hat
        yield x


def ddim_trajectory(eps_model, schedule, n, *, steps, d=1, rng=None):
    """``ddim_sample`` with every state kept: a ``Trajectory`` whose ``states`` has shape
    (steps + 1, n, d), x_T first, then x at each timestep down, x0_hat (``samples``) last."""
    return _stacked(_ddim_walk(eps_model, schedule, n, steps, d, rng))


@keyword_only(3, ("d", "rng"))
@_trajectory_flag(ddpm_trajectory)
def ddpm_sample(eps_model, schedule, n, *, steps=None, d=1, rng=None, reverse_var="posterior"):
    """Ancestral sampling through the model of ``diffusion_elbo``, from x_T ~ N(0, I):

    x_{t-1} = mu(x_t, t) + sigma_t z, z ~ N(0, I), for t = T..2; x_0 = mu(x_1, 1), with
    sigma_t^2 = beta_tilde_t or beta_t as ``reverse_var`` says (``reverse_variance``).

    With ``steps`` < T it walks only ``timesteps(schedule, steps)``: the chain through those
    timesteps is itself a diffusion with alpha_bar taken at them, so the same update runs with
    beta_i = 1 - alpha_bar_{tau_i} / alpha_bar_{tau_{i-1}} (Nichol & Dhariwal 2021, sec. 4).
    ``ddpm_trajectory`` keeps every state.

    Parameters
    ----------
    eps_model : callable ``(x_t, t) -> eps_hat``
    schedule : NoiseSchedule
    n : int
        Number of samples.
    steps : int in 1..T, optional
        Number of denoising steps (default: all T).
    d : int
        Dimension of the samples.
    rng : int, numpy.random.Generator or None
    reverse_var : {"posterior", "beta"}
        sigma_t^2 = beta_tilde_t (default) or beta_t, of the walk's own schedule.

    Returns
    -------
    ndarray, shape (n, d)
    """
    return _last(_ddpm_walk(eps_model, schedule, n, steps, d, rng, reverse_var))


@keyword_only(3, ("steps", "d", "rng"))
@_trajectory_flag(ddim_trajectory)
def ddim_sample(eps_model, schedule, n, *, steps, d=1, rng=None):
    """Deterministic DDIM (eta = 0) on ``steps`` timesteps tau spread evenly over 1..T.

    The timesteps are ``timesteps(schedule, steps)``. From x_T ~ N(0, I),
    each step predicts x_0 and moves to the next timestep down, tau', along the same noise:

        x0_hat = (x_tau - sqrt(1 - alpha_bar_tau) eps_hat) / sqrt(alpha_bar_tau),
        x_tau' = sqrt(alpha_bar_tau') x0_hat + sqrt(1 - alpha_bar_tau') eps_hat;

    the last step returns x0_hat. Only x_T is random, so equal ``rng`` gives equal output.
    ``ddim_trajectory`` keeps every state.

    Parameters
    ----------
    As ``ddpm_sample``, plus ``steps`` (int in 1..T): the number of timesteps and eps_model
    calls.

    Returns
    -------
    ndarray, shape (n, d)
    """
    return _last(_ddim_walk(eps_model, schedule, n, steps, d, rng))
