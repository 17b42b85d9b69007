"""The Gaussian formulas every notebook uses, each written once. Serves notebooks 02-05.

Every other module imports these instead of writing them again:

- ``LOG_2PI`` and ``gaussian_log_norm(d, c)`` = (d/2) log(2 pi c), the constant of N(., c I_d)
  (eq. 2.7 keeps it, so that values at different c compare);
- ``isotropic_log_likelihood(sq, d, c)`` = log N(x; f, c I_d) from sq = ||x - f||^2 (eq. 2.6's
  decoder, notebooks 02 and 04; with sq = E_q ||x - f||^2 it is eq. 2.5's reconstruction term);
- ``standard_normal_log_pdf``, ``diag_gaussian_log_pdf`` and ``gaussian_log_pdf``: log N(z; .)
  for the prior N(0, I), a diagonal q and a full covariance (the exact posterior, notebook 03);
- ``diag_gaussian_log_likelihood(x, mean, var)``: the same diagonal density from variances,
  unchecked, numpy or torch (a decoder with a variance per pixel, notebook 07);
- ``kl_per_dim`` and ``gaussian_kl``: KL(N(mu, diag sigma^2) || N(0, I)), the article's closed
  form (end of section 2, eqs. 2.5 and 2.8; notebooks 03 and 04), numpy or torch alike;
- ``gaussian_kl_to``: KL against a full-covariance Gaussian, the gap of eq. 2.4 (notebook 03);
- ``full_gaussian_kl``: KL(N(mean, cov) || N(0, I)) for a full covariance, how far the exact
  posterior sits from the prior (notebook 02);
- ``isotropic_kl``: KL between two Gaussians N(m, v I_d), a denoising term of diffusion's ELBO
  (notebook 05);
- ``log_normal_mass(a, b)`` = log(Phi(b) - Phi(a)), N(0, 1)'s mass on an interval: a cell of a
  discretised Gaussian (notebook 07).

Only numpy is imported here; the torch branches use the tensor's own methods.
"""

from __future__ import annotations

import math

import numpy as np

from ._checks import as_float_array, positive

__all__ = ["LOG_2PI", "gaussian_log_norm", "isotropic_log_likelihood", "standard_normal_log_pdf",
           "diag_gaussian_log_pdf", "diag_gaussian_log_likelihood", "gaussian_log_pdf",
           "kl_per_dim", "gaussian_kl", "gaussian_kl_to", "full_gaussian_kl", "isotropic_kl",
           "log_normal_mass"]

LOG_2PI = math.log(2 * math.pi)


def _is_torch(*values):
    return any(type(v).__module__.split(".")[0] == "torch" for v in values)


def _log(value):
    """log for a Python number, a numpy array or a torch tensor (each with its own log)."""
    if _is_torch(value):
        return value.log()
    return math.log(value) if isinstance(value, (int, float)) else np.log(value)


def gaussian_log_norm(d, c):
    """(d/2) log(2 pi c): minus the log normalising constant of N(., c I_d) (eq. 2.7's constant).

    ``c`` may be a float, a numpy array (one value per c, e.g. a grid) or a torch tensor (a learned
    c keeps its gradient). Unchecked: callers validate c > 0.
    """
    return 0.5 * d * (LOG_2PI + _log(c))


def isotropic_log_likelihood(sq, d, c):
    """log N(x; f, c I_d) = -||x - f||^2 / (2c) - (d/2) log(2 pi c), from ``sq`` = ||x - f||^2.

    The decoder likelihood of eq. 2.6 (every constant kept). Because it is linear in ``sq``,
    passing an expected squared distance E_q ||x - f(z)||^2 gives the expected log-likelihood,
    the reconstruction term of eqs. 2.5 and 2.8. numpy or torch alike; unchecked.
    """
    return -sq / (2 * c) - gaussian_log_norm(d, c)


def standard_normal_log_pdf(z):
    """log N(z; 0, I_k) = -||z||^2 / 2 - (k/2) log(2 pi), summed over the last axis (the prior p(z)).

    numpy or torch alike; unchecked.
    """
    k = z.shape[-1]
    return -0.5 * (z**2).sum(-1) - 0.5 * k * LOG_2PI


def diag_gaussian_log_pdf(z, mean, std):
    """log N(z; mean, diag std^2), summed over the last axis (log q(z|x) for a diagonal q)."""
    z, mean, std = as_float_array("z", z), as_float_array("mean", mean), positive("std", std)
    u = (z - mean) / std
    return np.sum(-0.5 * u**2 - np.log(std) - 0.5 * LOG_2PI, axis=-1)


def diag_gaussian_log_likelihood(x, mean, var):
    """log N(x; mean, diag var) = -0.5 sum_i [(x_i - mean_i)^2 / var_i + log(2 pi var_i)].

    Summed over the last axis; ``var`` holds variances (not standard deviations) and broadcasts
    against ``mean``. numpy or torch alike (a tensor keeps its gradient); unchecked: callers
    make var > 0 (``helpers.vae_density``'s decoder, by a softplus plus a floor).
    """
    return -0.5 * ((x - mean) ** 2 / var + _log(2 * math.pi * var)).sum(-1)


def _cov(name, cov, k):
    cov = as_float_array(name, cov)
    if cov.shape != (k, k):
        raise ValueError(f"{name} must have shape ({k}, {k}), got {cov.shape}")
    if not np.allclose(cov, cov.T, rtol=1e-10, atol=1e-12):
        raise ValueError(f"{name} must be symmetric")
    try:
        chol = np.linalg.cholesky(cov)
    except np.linalg.LinAlgError:
        raise ValueError(f"{name} must be positive definite") from None
    return cov, chol


def gaussian_log_pdf(z, mean, cov):
    """log N(z; mean, cov) for a full covariance, over the last axis of ``z`` (shape (..., k)).

    -0.5 * [(z - mean)^T cov^-1 (z - mean) + log det cov + k log(2 pi)], through the Cholesky
    factor L of cov (cov = L L^T): the quadratic form is ||L^-1 (z - mean)||^2 and
    log det cov = 2 sum_i log L_ii. Used for the exact evidence N(b, W W^T + c I) (notebook 02)
    and the exact posterior p(z|x) (notebook 03).
    """
    z = as_float_array("z", z)
    mean = as_float_array("mean", mean)
    k = z.shape[-1]
    cov, chol = _cov("cov", cov, k)
    r = z - mean
    sol = np.linalg.solve(chol, r.reshape(-1, k).T).T.reshape(r.shape)
    log_det = 2.0 * np.sum(np.log(np.diag(chol)))
    return -0.5 * (np.sum(sol**2, axis=-1) + log_det + k * LOG_2PI)


def kl_per_dim(mu, sigma):
    """0.5 * (mu^2 + sigma^2 - 1 - log sigma^2), one term per latent dimension, unchecked.

    The formula inside ``gaussian_kl``, for callers that already know their inputs are valid
    (a VAE's training step, where sigma_phi > 0 by construction). A torch tensor gives a
    tensor; anything else (numpy arrays and scalars, Python numbers, lists) is computed in numpy.
    """
    tensors = [v for v in (mu, sigma) if type(v).__module__.startswith("torch")]
    if tensors:
        import torch

        sigma = torch.as_tensor(sigma, dtype=tensors[0].dtype)   # a tensor stays itself
        return 0.5 * (mu**2 + sigma**2 - 1.0 - 2.0 * torch.log(sigma))
    mu, sigma = np.asarray(mu, dtype=float), np.asarray(sigma, dtype=float)
    return 0.5 * (mu**2 + sigma**2 - 1.0 - 2.0 * np.log(sigma))


def gaussian_kl(mu, sigma):
    """KL(N(mu, diag sigma^2) || N(0, I)), summed over the last axis: the prior-matching term.

    The article's closed form (end of section 2, used in eq. 2.5 and eq. 2.8), one term per
    latent dimension and summed over dimensions:

        KL = sum_j 0.5 * (mu_j^2 + sigma_j^2 - 1 - log sigma_j^2).

    Taught in notebook 03; used by ``LinearGaussian.elbo`` and by the VAE (notebook 04).

    Parameters
    ----------
    mu : array_like or torch.Tensor, shape (..., k)
        Mean of q, e.g. mu_phi(x).
    sigma : array_like or torch.Tensor, shape (..., k)
        Standard deviation of q (not the variance), > 0. Broadcasts against ``mu``.

    Returns
    -------
    float, ndarray of shape (...,), or torch.Tensor
        A torch tensor (keeping its gradient) if either input is a tensor, else numpy. Scalar
        inputs are treated as one latent dimension.
    """
    if _is_torch(mu, sigma):
        import torch

        ref = mu if isinstance(mu, torch.Tensor) else sigma
        dtype = ref.dtype if ref.dtype.is_floating_point else torch.get_default_dtype()
        mu = torch.as_tensor(mu, dtype=dtype, device=ref.device)
        sigma = torch.as_tensor(sigma, dtype=dtype, device=ref.device)
        try:  # numpy's check: torch.broadcast_shapes imports sympy on first use (0.3 s)
            np.broadcast_shapes(tuple(mu.shape), tuple(sigma.shape))
        except ValueError:
            raise ValueError(f"mu and sigma must broadcast, got shapes {tuple(mu.shape)} and "
                             f"{tuple(sigma.shape)}") from None
        with torch.no_grad():
            if not torch.isfinite(mu).all():
                bad = mu[~torch.isfinite(mu)].flatten()[0].item()
                raise ValueError(f"mu must be finite, found {bad!r}")
            if not (torch.isfinite(sigma) & (sigma > 0)).all():
                bad = sigma[~(torch.isfinite(sigma) & (sigma > 0))].flatten()[0].item()
                raise ValueError(f"sigma must be finite and > 0, found {bad!r}")
        if mu.ndim == 0 and sigma.ndim == 0:
            mu, sigma = mu.reshape(1), sigma.reshape(1)
        return kl_per_dim(mu, sigma).sum(-1)

    mu = as_float_array("mu", mu)
    sigma = positive("sigma", sigma)
    try:
        np.broadcast_shapes(mu.shape, sigma.shape)
    except ValueError:
        raise ValueError(f"mu and sigma must broadcast, got shapes {mu.shape} and "
                         f"{sigma.shape}") from None
    out = kl_per_dim(mu, sigma)
    out = np.sum(out, axis=-1) if out.ndim else out
    return float(out) if np.ndim(out) == 0 else out


def gaussian_kl_to(q_mean, q_std, mean, cov):
    """KL(N(q_mean, diag q_std^2) || N(mean, cov)) for a full covariance: the gap of eq. 2.4.

    With p(z|x) = N(mean, cov) the exact posterior, this is the term that separates the ELBO
    from the evidence in eq. 2.4. Closed form (k = latent dimension, S = cov, D = diag q_std^2):

        0.5 * [tr(S^-1 D) + (mean - q_mean)^T S^-1 (mean - q_mean) - k + log det S - log det D].

    Taught in notebook 03. With ``mean = 0, cov = I`` it equals ``gaussian_kl``.

    Parameters
    ----------
    q_mean, q_std : array_like, shape (..., k)
        q's mean and standard deviations (> 0).
    mean : array_like, shape (..., k)
    cov : array_like, shape (k, k), symmetric positive definite

    Returns
    -------
    float or ndarray of shape (...,)
    """
    q_mean = as_float_array("q_mean", q_mean)
    q_std = positive("q_std", q_std)
    mean = as_float_array("mean", mean)
    if q_mean.ndim == 0 or mean.ndim == 0:
        raise ValueError(f"q_mean and mean must have shape (..., k), got {q_mean.shape} and "
                         f"{mean.shape}")
    k = q_mean.shape[-1]
    if q_std.shape[-1:] not in ((k,), (1,), ()) or mean.shape[-1] != k:
        raise ValueError(f"q_std and mean must end in k = {k}, got {q_std.shape} and {mean.shape}")
    cov, chol = _cov("cov", cov, k)
    prec = np.linalg.inv(cov)
    s2 = q_std**2 * np.ones(k)
    diff = mean - q_mean
    trace = np.sum(np.diag(prec) * s2, axis=-1)
    maha = np.einsum("...i,ij,...j->...", diff, prec, diff)
    log_det_s = 2.0 * np.sum(np.log(np.diag(chol)))
    out = 0.5 * (trace + maha - k + log_det_s - np.sum(np.log(s2), axis=-1))
    return float(out) if np.ndim(out) == 0 else out


def full_gaussian_kl(mean, cov):
    """KL(N(mean, cov) || N(0, I_k)) = 0.5 (tr cov + ||mean||^2 - k - log det cov).

    ``mean`` of shape (..., k), one ``cov`` of shape (k, k) for all of them. Unchecked (callers
    pass an exact posterior, ``LinearGaussian.posterior``). With a diagonal cov it equals
    ``gaussian_kl(mean, sqrt(diag cov))``. Taught in notebook 02.
    """
    k = cov.shape[-1]
    _, log_det = np.linalg.slogdet(cov)
    return 0.5 * (np.trace(cov) + np.sum(mean**2, axis=-1) - k - log_det)


def isotropic_kl(mean_q, var_q, mean_p, var_p):
    """KL(N(mean_q, var_q I_d) || N(mean_p, var_p I_d)) per row, summed over the last axis (d).

        KL = (d/2) (var_q / var_p - 1 - log(var_q / var_p)) + ||mean_q - mean_p||^2 / (2 var_p).

    With equal variances only the squared distance of the means is left: eq. 2.7's
    ||x - f||^2 / (2c), the same shape. Unchecked (notebook 05's ELBO calls it on checked arrays,
    once per step); ``var_q`` and ``var_p`` are scalars or broadcast against the rows, var_p > 0.
    """
    d = np.shape(mean_q)[-1]
    ratio = var_q / var_p
    return (0.5 * d * (ratio - 1.0 - np.log(ratio))
            + np.sum((mean_q - mean_p) ** 2, axis=-1) / (2.0 * var_p))


def log_normal_mass(a, b):
    """log(Phi(b) - Phi(a)) for a <= b, elementwise: the log of N(0, 1)'s mass on [a, b].

    Accurate in both tails: where a > 0 the interval is reflected to [-b, -a], so that the
    difference is always taken between the two small lower tails, in logs (scipy's log_ndtr).
    a may be -inf and b +inf. Unchecked (numpy arrays in, numpy out): a cell of the discretised
    Gaussian decoder and of the histogram's exact denoiser (notebook 07).
    """
    from scipy.special import log_ndtr

    a, b = np.asarray(a, dtype=float), np.asarray(b, dtype=float)
    flip = a > 0
    lo, hi = np.where(flip, -b, a), np.where(flip, -a, b)
    log_hi, log_lo = log_ndtr(hi), log_ndtr(lo)
    with np.errstate(divide="ignore"):
        return log_hi + np.log1p(-np.exp(np.minimum(log_lo - log_hi, 0.0)))
