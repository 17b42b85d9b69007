"""From the evidence to the ELBO (eqs. 2.4-2.5). Taught in notebook 03.

log p(x) = ELBO + KL(q(z|x) || p(z|x)) >= ELBO,
ELBO = E_q[log p(x|z)] - KL(q(z|x) || p(z))   (reconstruction - prior matching, eq. 2.5).
"""

from __future__ import annotations

import numpy as np

__all__ = ["gaussian_kl"]


def gaussian_kl(mu, sigma):
    """KL(N(mu, diag sigma^2) || N(0, I)), summed over the last axis (the article's closed form).

    Per dimension: 0.5 * (mu^2 + sigma^2 - 1 - log sigma^2). Accepts numpy arrays or torch
    tensors and returns the same kind (a torch result keeps its gradient).
    """
    if type(mu).__module__.startswith("torch") or type(sigma).__module__.startswith("torch"):
        import torch

        mu, sigma = torch.as_tensor(mu), torch.as_tensor(sigma)
        if not (sigma > 0).all():
            raise ValueError(f"sigma must be > 0, found {sigma[~(sigma > 0)].flatten()[0].item()!r}")
        return 0.5 * (mu**2 + sigma**2 - 1.0 - 2.0 * torch.log(sigma)).sum(-1)
    mu = np.asarray(mu, dtype=np.float64)
    sigma = np.asarray(sigma, dtype=np.float64)
    if not (sigma > 0).all():
        raise ValueError(f"sigma must be > 0, found {sigma[~(sigma > 0)].flat[0]!r}")
    return np.sum(0.5 * (mu**2 + sigma**2 - 1.0 - 2.0 * np.log(sigma)), axis=-1)
