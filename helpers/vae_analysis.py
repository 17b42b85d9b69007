"""Notebook 04's experiments around the VAE of ``helpers.vae`` (eqs. 2.6-2.8).

- ``reparam_vs_score_function``: why eq. 2.8 samples z = mu + sigma * eps (two gradient
  estimators of one expectation, side by side);
- ``gradient_noise``: how the spread of eq. 2.8's gradient falls with L;
- ``active_units`` and ``c_grid_summary``: posterior collapse as the decoder variance c grows,
  and everything the c slider of notebook 04 draws (``helpers.plots.vae.plot_c_tradeoff``);
- ``fit_per_point_q``: one q per example instead of the encoder, for the amortisation gap.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import torch

from ._checks import (as_float32_tensor, as_float_array, as_rng, as_torch_generator, count,
                      positive_scalar)
from ._deprecated import keyword_only
from ._results import UnpacksAsTuple
from .nets import Adam, torch_threads
from .gaussian import gaussian_kl, gaussian_log_norm, kl_per_dim
from .vae import negative_elbo
from .vae_bounds import negative_elbo_from_q

__all__ = ["GradientEstimates", "reparam_vs_score_function", "GradientNoise", "gradient_noise",
           "ActiveUnits", "active_units", "CGridSummary", "c_grid_summary", "PerPointFit",
           "fit_per_point_q"]


@dataclass(frozen=True)
class GradientEstimates:
    """What ``reparam_vs_score_function`` returns: ``n_draws`` estimates of each kind, same draws.

    ``exact`` = 2 (mu - a); ``mu``, ``sigma`` and ``a`` are the problem's numbers.
    """

    reparam: np.ndarray
    score: np.ndarray
    exact: float
    mu: float
    sigma: float
    a: float


@keyword_only(4, ["rng"])
def reparam_vs_score_function(mu, sigma, a, n_draws, *, rng=None):
    """Two single-sample estimators of d/dmu E_{z ~ N(mu, sigma^2)} (z - a)^2 = 2 (mu - a).

    reparameterised: z = mu + sigma eps, gradient 2 (z - a) (it differentiates through z);
    score function:  (z - a)^2 d/dmu log q(z) = (z - a)^2 (z - mu) / sigma^2 (REINFORCE).
    Both are unbiased; their variances differ a lot.

    Returns
    -------
    GradientEstimates
    """
    mu, a = float(as_float_array("mu", mu)), float(as_float_array("a", a))
    sigma = positive_scalar("sigma", sigma)
    n_draws = count("n_draws", n_draws)
    eps = as_rng(rng).standard_normal(n_draws)
    z = mu + sigma * eps
    return GradientEstimates(reparam=2 * (z - a), score=(z - a) ** 2 * (z - mu) / sigma**2,
                             exact=2 * (mu - a), mu=mu, sigma=sigma, a=a)


@dataclass(frozen=True)
class GradientNoise(UnpacksAsTuple):
    """What ``gradient_noise`` returns: the total variance of the gradient over fresh noise
    (summed over parameters) and the squared norm of its mean."""

    variance: float
    mean_sq_norm: float


@keyword_only(4, ["n_repeats", "rng"])
def gradient_noise(model, x, c, n_samples, *, n_repeats=32, rng=None):
    """Spread of the eq. 2.8 gradient over fresh noise draws, for L = ``n_samples``.

    Computes the gradient of the mean negative ELBO over ``x`` with respect to every parameter,
    ``n_repeats`` times with new eps, and returns the total variance (sum over parameters of the
    variance across repeats) and the squared norm of the mean gradient, as a ``GradientNoise``.
    The variance falls like 1/L because the L draws are independent.
    """
    x = as_float32_tensor("x", x, model.x_dim)
    n_repeats = count("n_repeats", n_repeats, minimum=2)
    gen = as_torch_generator(rng)
    params = [p for p in model.parameters()]
    flags = [p.requires_grad for p in params]
    for p in params:
        p.requires_grad_(True)
    try:
        grads = []
        with torch_threads(1):  # small networks: see helpers.nets.torch_threads
            for _ in range(n_repeats):  # one backward pass per noise draw (batch vectorised)
                loss = negative_elbo(model, x, c, n_samples, rng=gen).mean()
                grads.append(torch.cat([g.flatten() for g in torch.autograd.grad(loss, params)]))
    finally:
        for p, f in zip(params, flags):
            p.requires_grad_(f)
    g = torch.stack(grads).double()
    return GradientNoise(variance=float(g.var(0).sum()), mean_sq_norm=float((g.mean(0) ** 2).sum()))


@dataclass(frozen=True)
class ActiveUnits(UnpacksAsTuple):
    """What ``active_units`` returns: ``n_active`` and ``variance`` = Var_x(mu_phi(x)_j), (z_dim,)."""

    n_active: int
    variance: np.ndarray


@keyword_only(2, ["threshold"])
def active_units(model, x, *, threshold=0.01):
    """Latent units in use: Var_x(mu_phi(x)_j) > ``threshold`` (Burda et al., 2016).

    A collapsed unit has q_phi(z_j | x) = N(0, 1) = p(z_j) for every x: its mean no longer depends
    on x and its KL is 0. Returns an ``ActiveUnits`` (``n_active``, ``variance`` of shape (z_dim,)).
    """
    x = as_float32_tensor("x", x, model.x_dim)
    threshold = positive_scalar("threshold", threshold)
    with torch.no_grad():
        variance = model.encode(x)[0].var(0).double().numpy()
    return ActiveUnits(n_active=int((variance > threshold).sum()), variance=variance)


@dataclass(frozen=True)
class CGridSummary:
    """Everything the c slider draws, for a grid of M trained models (``c_grid_summary``).

    Attributes
    ----------
    c : (M,)
    originals : (n_show, d)
        Held-out digits.
    reconstructions : (M, n_show, d)
        f_theta(mu_phi(x)).
    samples : (M, n_samples_show, d)
        f_theta(z), the same z ~ N(0, I) for every model.
    mse : (M,)
        Per-pixel E_q ||x - f||^2 / d.
    reconstruction : (M,)
        E_q ||x - f||^2 / (2c).
    constant : (M,)
        (d/2) log(2 pi c).
    kl : (M,)
    kl_per_dim, mu_variance : (M, z_dim)
    active : (M,) int
    """

    c: np.ndarray
    originals: np.ndarray
    reconstructions: np.ndarray
    samples: np.ndarray
    mse: np.ndarray
    reconstruction: np.ndarray
    constant: np.ndarray
    kl: np.ndarray
    kl_per_dim: np.ndarray
    mu_variance: np.ndarray
    active: np.ndarray


@keyword_only(3, ["n_show", "n_samples_show", "rng"])
@torch.no_grad()
def c_grid_summary(models, c_values, x, *, n_show=8, n_samples_show=8, rng=None):
    """Everything the c slider draws, computed once for a grid of trained models.

    Scored on the whole of ``x`` with one eps (L = 1) drawn with ``rng`` (an int seed, a
    ``torch.Generator`` or None), as are the prior samples. Returns a ``CGridSummary``.
    """
    c_values = np.asarray([positive_scalar("c", c) for c in np.atleast_1d(c_values)])
    if len(models) != len(c_values):
        raise ValueError(f"models and c_values must have the same length, got {len(models)} "
                         f"and {len(c_values)}")
    x = as_float32_tensor("x", x, models[0].x_dim)
    n_show, n_samples_show = count("n_show", n_show), count("n_samples_show", n_samples_show)
    gen = as_torch_generator(rng)
    d, z_dim = x.shape[1], models[0].z_dim
    eps = torch.randn(1, len(x), z_dim, generator=gen)
    z_prior = torch.randn(n_samples_show, z_dim, generator=gen)
    out = {k: [] for k in ("reconstructions", "samples", "mse", "kl", "kl_per_dim",
                           "mu_variance", "active")}
    for model in models:  # a handful of models, each scored on the whole set at once
        passed = model(x, eps)
        mu_phi, sigma_phi, f = passed.mu_phi, passed.sigma_phi, passed.f
        out["reconstructions"].append(model.decode(mu_phi[:n_show]).numpy())
        out["samples"].append(model.decode(z_prior).numpy())
        out["mse"].append(((x - f) ** 2).mean().item())
        out["kl"].append(gaussian_kl(mu_phi, sigma_phi).mean().item())
        out["kl_per_dim"].append(kl_per_dim(mu_phi, sigma_phi).mean(0).numpy())
        units = active_units(model, x)
        out["mu_variance"].append(units.variance)
        out["active"].append(units.n_active)
    res = {k: np.asarray(v, dtype=np.float64) for k, v in out.items()}
    res["active"] = res["active"].astype(int)
    return CGridSummary(c=c_values, originals=x[:n_show].numpy().astype(np.float64),
                        reconstruction=d * res["mse"] / (2 * c_values),
                        constant=gaussian_log_norm(d, c_values), **res)


@dataclass(frozen=True)
class PerPointFit:
    """What ``fit_per_point_q`` returns, one row per example.

    ``mu``, ``sigma`` (n, z_dim): the fitted q's. ``elbo_encoder``, ``elbo_per_point`` (n,): the ELBO
    (eq. 2.8 with its constant, nats) of the encoder's q and of the fitted q, scored with the
    same eps.
    """

    mu: np.ndarray
    sigma: np.ndarray
    elbo_encoder: np.ndarray
    elbo_per_point: np.ndarray


@keyword_only(3, ["steps", "n_samples", "lr", "n_eval", "rng"])
def fit_per_point_q(model, x, c, *, steps=200, n_samples=8, lr=0.05, n_eval=64, rng=None):
    """Fit a separate q(z | x) = N(mu, diag sigma^2) to each example, the decoder frozen.

    This is notebook 03's per-point q on a neural decoder: no encoder, two free vectors per x.
    Starting from the encoder's (mu_phi(x), sigma_phi(x)), Adam maximises each example's ELBO
    (eq. 2.8, L = ``n_samples``, reparameterised) over (mu, log sigma); the examples do not
    interact, so one summed loss fits them all. Both q's are then scored with the same
    ``n_eval`` eps per example. ``elbo_per_point - elbo_encoder`` estimates the amortisation gap
    (Cremer et al., 2018): what sharing one encoder across all x costs.

    Returns
    -------
    PerPointFit
    """
    x = as_float32_tensor("x", x, model.x_dim)
    c = positive_scalar("c", c)
    steps, n_samples, n_eval = count("steps", steps), count("n_samples", n_samples), count("n_eval", n_eval)
    lr = positive_scalar("lr", lr)
    gen = as_torch_generator(rng)

    def negative_elbo_of(mu, sigma, eps):  # eq. 2.8 per example, q given directly
        return negative_elbo_from_q(x, mu, sigma, model.decode(mu + sigma * eps), c).total

    with torch.no_grad():
        mu_enc, sigma_enc = model.encode(x)
    mu = mu_enc.clone().requires_grad_(True)
    log_sigma = sigma_enc.log().clone().requires_grad_(True)
    opt = Adam([mu, log_sigma], lr=lr)
    with torch_threads(1):  # small networks: see helpers.nets.torch_threads
        for _ in range(steps):
            eps = torch.randn(n_samples, *mu.shape, generator=gen)
            loss = negative_elbo_of(mu, log_sigma.exp(), eps).sum()
            opt.zero_grad()
            loss.backward()
            opt.step()
        with torch.no_grad():
            eps = torch.randn(n_eval, *mu.shape, generator=gen)
            elbo_enc = -negative_elbo_of(mu_enc, sigma_enc, eps)
            elbo_fit = -negative_elbo_of(mu, log_sigma.exp(), eps)
    as_np = lambda t: t.detach().double().numpy()  # noqa: E731
    return PerPointFit(mu=as_np(mu), sigma=as_np(log_sigma.exp()), elbo_encoder=as_np(elbo_enc),
                       elbo_per_point=as_np(elbo_fit))
