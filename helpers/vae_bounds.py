"""The VAE's two bounds on log p(x), each written once (torch). Serves notebooks 04 and 07.

- ``negative_elbo_from_q``: eq. 2.8's negative ELBO of one example, from q's parameters and the
  decoder's outputs on z^l = mu_phi + sigma_phi * eps^l,

      -ELBO(x) = -(1/L) sum_l log p_theta(x | z^l) + KL(q_phi(z | x) || N(0, I)),

  the KL in closed form (``helpers.gaussian.kl_per_dim``). ``helpers.vae`` (its loss, its
  training, its held-out scores), ``helpers.vae_analysis`` (a q per example) and
  ``helpers.vae_density`` (a variance per pixel) all call it.
- ``importance_bounds``: the importance-weighted bound of Burda et al. (2016),

      log p(x) >= log (1/k) sum_j p_theta(x | z_j) p(z_j) / q_phi(z_j | x),  z_j ~ q_phi(z | x),

  and, from the same draws, the ELBO (the mean of the log-weights). ``helpers.vae``'s
  ``importance_log_likelihood`` and ``helpers.vae_density``'s ``density_bounds`` call it.

Both are inner steps: they take arrays their public callers have checked.
"""

from __future__ import annotations

from dataclasses import dataclass

import torch

from ._logsumexp import log_mean_exp_torch
from .gaussian import (diag_gaussian_log_likelihood, isotropic_log_likelihood, kl_per_dim,
                       standard_normal_log_pdf)

__all__ = ["NegativeElboTerms", "negative_elbo_from_q", "ImportanceBounds", "importance_bounds"]


@dataclass(frozen=True)
class NegativeElboTerms:
    """Eq. 2.8's negative ELBO per example, in its two parts; ``total`` is their sum.

    ``reconstruction`` = -(1/L) sum_l log p_theta(x | z^l), every constant kept;
    ``kl`` = KL(q_phi(z | x) || N(0, I)). Tensors of shape (n,) (or (n_models, n) for a grid).
    """

    reconstruction: torch.Tensor
    kl: torch.Tensor

    @property
    def total(self):
        """reconstruction + kl, the negative ELBO."""
        return self.reconstruction + self.kl


def negative_elbo_from_q(x, mu_phi, sigma_phi, f, var):
    """Eq. 2.8 per example: reconstruction from the L decoder outputs, KL in closed form.

    Parameters
    ----------
    x : tensor, shape (n, d)
    mu_phi, sigma_phi : tensors, shape (n, z_dim)
        q's parameters (sigma_phi > 0).
    f : tensor, shape (L, n, d)
        f_theta(z^l) for z^l = mu_phi + sigma_phi * eps^l.
    var : float, scalar tensor, or tensor of shape (L, n, d)
        The decoder's variance: c (eq. 2.6, one number; a tensor keeps its gradient), where the
        reconstruction is (1/L) sum_l ||x - f_theta(z^l)||^2 / (2c) + (d/2) log(2 pi c); or
        v_theta(z^l), one variance per pixel (``helpers.vae_density``).

    Returns
    -------
    NegativeElboTerms
    """
    if isinstance(var, torch.Tensor) and var.ndim > 0:  # v_theta(z^l), one per pixel
        reconstruction = -diag_gaussian_log_likelihood(x, f, var).mean(0)
    else:
        sq = ((x - f) ** 2).sum(-1).mean(0)  # (1/L) sum_l ||x - f_theta(z^l)||^2
        reconstruction = -isotropic_log_likelihood(sq, x.shape[-1], var)
    return NegativeElboTerms(reconstruction, kl_per_dim(mu_phi, sigma_phi).sum(-1))


@dataclass(frozen=True)
class ImportanceBounds:
    """Two lower bounds on log p(x) in nats from the same k draws per example (``importance_bounds``).

    ``elbo`` (n,): the mean log-weight, an unbiased estimate of the ELBO. ``iwae`` (n,): the
    importance-weighted bound, >= ``elbo`` for every example. float64 tensors.
    """

    elbo: torch.Tensor
    iwae: torch.Tensor
    k: int


def importance_bounds(log_px_z, mu_phi, sigma_phi, k, *, chunk_size, generator):
    """The ELBO and the IWAE bound with q = N(mu_phi, diag sigma_phi^2) as the proposal.

    Draws z_j = mu_phi + sigma_phi * eps_j (float64), ``chunk_size`` of the k draws at a time, and
    scores log w_j = log p_theta(x | z_j) + log p(z_j) - log q(z_j | x), where
    log q(z_j | x) = log N(eps_j; 0, I) - sum_i log sigma_i. Then ELBO = (1/k) sum_j log w_j and
    IWAE = log (1/k) sum_j w_j (the project's one log-sum-exp, ``helpers._logsumexp``).

    Parameters
    ----------
    log_px_z : callable
        z (m, n, z_dim), float64 -> log p_theta(x | z), float64 of shape (m, n).
    mu_phi, sigma_phi : tensors, shape (n, z_dim)
    k, chunk_size : int
    generator : torch.Generator or None

    Returns
    -------
    ImportanceBounds
    """
    mu64, sigma64 = mu_phi.double(), sigma_phi.double()
    log_det = torch.log(sigma64).sum(-1)  # sum_i log sigma_i
    log_w = []
    for done in range(0, k, chunk_size):
        eps = torch.randn(min(chunk_size, k - done), *mu64.shape, generator=generator,
                          dtype=torch.float64)
        z = mu64 + sigma64 * eps
        log_q = standard_normal_log_pdf(eps) - log_det
        log_w.append(log_px_z(z) + standard_normal_log_pdf(z) - log_q)
    log_w = torch.cat(log_w)
    return ImportanceBounds(elbo=log_w.mean(0), iwae=log_mean_exp_torch(log_w, 0), k=k)
