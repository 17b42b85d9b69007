"""From the evidence to the ELBO (eqs. 2.4-2.5). Taught in notebook 03.

Eq. 2.4 splits the evidence into a bound and a gap,

    log p(x) = ELBO + KL(q(z|x) || p(z|x)) >= ELBO,

and eq. 2.5 splits the bound into two terms,

    ELBO = E_q[log p(x|z)] - KL(q(z|x) || p(z))   (reconstruction - prior matching).

The functions come in three groups, read top to bottom:

1. KL divergences and the Monte-Carlo ELBO (the public contract): ``gaussian_kl``,
   ``elbo_terms``, plus ``gaussian_kl_to`` (the gap of eq. 2.4 against a full-covariance
   posterior) and ``diag_gaussian_log_pdf``.
2. Eq. 2.4 line by line, and the two sub-goals on the exact linear-Gaussian model
   (``helpers.evidence.LinearGaussian``): ``eq24_lines``, ``linear_gaussian_elbo_grads``
   (closed-form gradients, so gradient ascent is fast numpy), ``best_mean_field``, ``fit_q``,
   ``alternate_phi_theta``.
3. Plotting functions for notebook 03 (each returns a bare Figure).
"""

from __future__ import annotations

from typing import NamedTuple

import numpy as np

from ._checks import as_float_array, as_rng, count, positive, positive_scalar

__all__ = ["kl_per_dim", "gaussian_kl", "gaussian_kl_to", "diag_gaussian_log_pdf", "ElboTerms", "elbo_terms",
           "eq24_lines", "linear_gaussian_elbo_grads", "best_mean_field", "fit_q",
           "alternate_phi_theta", "plot_graphical_model", "plot_elbo_gap", "plot_elbo_terms",
           "plot_mean_field", "plot_subgoals"]

_LOG_2PI = np.log(2 * np.pi)


# ---------------------------------------------------------------------------------------------
# 1. KL divergences and the Monte-Carlo ELBO
# ---------------------------------------------------------------------------------------------

def _is_torch(*values):
    return any(type(v).__module__.split(".")[0] == "torch" for v in values)


def kl_per_dim(mu, sigma):
    """0.5 * (mu^2 + sigma^2 - 1 - log sigma^2), one term per latent dimension, unchecked.

    The formula inside ``gaussian_kl``, for callers that already know their inputs are valid
    (a VAE's training step, where sigma_phi > 0 by construction). numpy or torch alike.
    """
    log = np.log if isinstance(sigma, np.ndarray) else type(sigma).log
    return 0.5 * (mu**2 + sigma**2 - 1.0 - 2.0 * log(sigma))


def gaussian_kl(mu, sigma):
    """KL(N(mu, diag sigma^2) || N(0, I)), summed over the last axis: the prior-matching term.

    The article's closed form (end of section 2, used in eq. 2.5 and eq. 2.8), one term per
    latent dimension and summed over dimensions:

        KL = sum_j 0.5 * (mu_j^2 + sigma_j^2 - 1 - log sigma_j^2).

    Taught in notebook 03; used by ``LinearGaussian.elbo`` and by the VAE loss (notebook 04).

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
        try:
            torch.broadcast_shapes(mu.shape, sigma.shape)
        except RuntimeError:
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


def diag_gaussian_log_pdf(z, mean, std):
    """log N(z; mean, diag std^2), summed over the last axis (log q(z|x) for a diagonal q)."""
    z, mean, std = as_float_array("z", z), as_float_array("mean", mean), positive("std", std)
    u = (z - mean) / std
    return np.sum(-0.5 * u**2 - np.log(std) - 0.5 * _LOG_2PI, axis=-1)


def _gaussian_log_pdf(z, mean, cov):
    """log N(z; mean, cov) with a full covariance (the exact posterior)."""
    k = cov.shape[0]
    chol = np.linalg.cholesky(cov)
    diff = z - mean
    sol = np.linalg.solve(chol, diff.reshape(-1, k).T).T.reshape(diff.shape)
    return (-0.5 * np.sum(sol**2, axis=-1) - np.sum(np.log(np.diag(chol)))
            - 0.5 * k * _LOG_2PI)


class ElboTerms(NamedTuple):
    """The two terms of eq. 2.5 and their difference, with the Monte-Carlo standard error."""

    elbo: float | np.ndarray
    reconstruction: float | np.ndarray
    prior_matching: float | np.ndarray
    se: float | np.ndarray  # standard error of `reconstruction` (and so of `elbo`)


def elbo_terms(x, q_mean, q_std, log_likelihood, n_samples, rng=None):
    """Monte-Carlo ELBO (eq. 2.5): reconstruction estimated, prior matching in closed form.

    Draws z_l = q_mean + q_std * eps_l with eps_l ~ N(0, I), l = 1..L (the reparameterised
    sample of section 2), and returns

        reconstruction = (1/L) sum_l log p(x | z_l)      (estimates E_q[log p(x|z)])
        prior_matching = KL(q || N(0, I))                 (``gaussian_kl``, exact)
        elbo           = reconstruction - prior_matching.

    Taught in notebook 03; the VAE of notebook 04 uses the same split (eq. 2.8).

    Parameters
    ----------
    x : array_like, shape (d,) or (n, d)
    q_mean, q_std : array_like, shape (k,) or (n, k)
        q(z|x) = N(q_mean, diag q_std^2); q_std > 0.
    log_likelihood : callable
        ``log_likelihood(x, z)`` -> log p(x|z) with every constant, broadcasting x (..., d)
        against z (L, ..., k) to shape (L, ...), e.g. ``LinearGaussian.log_likelihood``.
    n_samples : int
        L, the number of samples of z per x.
    rng : int, numpy.random.Generator or None

    Returns
    -------
    ElboTerms
        Fields ``elbo``, ``reconstruction``, ``prior_matching`` and ``se`` (the standard error
        of the reconstruction estimate, std / sqrt(L)); floats for one x, arrays of shape (n,).
    """
    if not callable(log_likelihood):
        raise ValueError(f"log_likelihood must be callable, got {log_likelihood!r}")
    x = as_float_array("x", x)
    q_mean = as_float_array("q_mean", q_mean)
    q_std = positive("q_std", q_std)
    if x.ndim not in (1, 2):
        raise ValueError(f"x must have shape (d,) or (n, d), got {x.shape}")
    if q_mean.ndim not in (1, 2):
        raise ValueError(f"q_mean must have shape (k,) or (n, k), got {q_mean.shape}")
    try:
        q_shape = np.broadcast_shapes(q_mean.shape, q_std.shape)
        batch = np.broadcast_shapes(x.shape[:-1], q_shape[:-1])
    except ValueError:
        raise ValueError(f"x {x.shape}, q_mean {q_mean.shape} and q_std {q_std.shape} do not "
                         f"match") from None
    n_samples = count("n_samples", n_samples)
    rng = as_rng(rng)

    eps = rng.standard_normal((n_samples,) + batch + q_shape[-1:])
    z = q_mean + q_std * eps  # reparameterisation: z ~ q(z|x)
    ll = np.asarray(log_likelihood(x, z), dtype=np.float64)
    if ll.shape != (n_samples,) + batch:
        raise ValueError(f"log_likelihood(x, z) must return shape {(n_samples,) + batch}, "
                         f"got {ll.shape}")
    if not np.isfinite(ll).all():
        raise ValueError("log_likelihood(x, z) returned non-finite values")
    reconstruction = ll.mean(axis=0)
    se = ll.std(axis=0, ddof=1) / np.sqrt(n_samples) if n_samples > 1 else np.full(batch, np.inf)
    prior_matching = gaussian_kl(q_mean * np.ones(q_shape), q_std * np.ones(q_shape))
    elbo = reconstruction - prior_matching
    if not batch:
        return ElboTerms(float(elbo), float(reconstruction), float(prior_matching), float(se))
    return ElboTerms(elbo, reconstruction, np.broadcast_to(prior_matching, batch).copy(), se)


# ---------------------------------------------------------------------------------------------
# 2. Eq. 2.4 line by line, and the two sub-goals, on the exact linear-Gaussian model
# ---------------------------------------------------------------------------------------------

def _model_x_q(model, x, q_mean, q_std):
    x = model._x(x)
    q_mean = model._z(q_mean, "q_mean")
    q_std = positive("q_std", q_std) * np.ones_like(q_mean)
    return x, q_mean, q_std


def eq24_lines(model, x, q_mean, q_std, n_samples=100_000, rng=None, n_grid=4001):
    """Every line of eq. 2.4 evaluated for one x: Monte Carlo for expectations, exact otherwise.

    Lines (numbered as in the article's derivation, 0 = the left-hand side):

    0. log p(x)                                       exact (``model.log_evidence``)
    1. log p(x) * int q dz                            int q dz by quadrature (per dimension)
    2. int q log p(x) dz                              quadrature
    3. E_q[log p(x)]                                  Monte Carlo
    4. E_q[log p(x,z) / p(z|x)]                       Monte Carlo (Bayes: every sample is log p(x))
    5. E_q[log p(x,z) q / (p(z|x) q)]                 Monte Carlo
    6. E_q[log p(x,z)/q] + E_q[log q/p(z|x)]          Monte Carlo, both terms
    7. ELBO + KL(q || p(z|x))                         ELBO by Monte Carlo, KL exact
    8. ELBO (the bound, <= line 0)                    Monte Carlo

    Taught in notebook 03.

    Parameters
    ----------
    model : helpers.evidence.LinearGaussian
    x : array_like, shape (d,)
        One observation.
    q_mean, q_std : array_like, shape (k,)
        q(z|x) = N(q_mean, diag q_std^2).
    n_samples : int
        L, samples z_l ~ q for the Monte-Carlo lines (shared by all of them).
    rng : int, numpy.random.Generator or None
    n_grid : int
        Trapezoid points per dimension for the quadrature lines.

    Returns
    -------
    list of dict
        One dict per line: ``line``, ``expression``, ``method``, ``value``, ``se`` (0 for an
        exact line), plus for line 6 and 7 the two parts ``parts`` = (first, second).
    """
    x, q_mean, q_std = _model_x_q(model, x, q_mean, q_std)
    if x.ndim != 1 or q_mean.ndim != 1:
        raise ValueError(f"x and q_mean must be single vectors, got shapes {x.shape} and "
                         f"{q_mean.shape}")
    n_samples = count("n_samples", n_samples, minimum=2)
    n_grid = count("n_grid", n_grid, minimum=3)
    rng = as_rng(rng)
    log_px = float(model.log_evidence(x))
    post_mean, post_cov = model.posterior(x)

    # int q dz = prod_j int N(z_j; m_j, s_j^2) dz_j, each on +-12 standard deviations
    u = np.linspace(-12.0, 12.0, n_grid)
    dens = np.exp(-0.5 * u**2) / np.sqrt(2 * np.pi)
    mass_1d = np.sum((dens[1:] + dens[:-1]) * np.diff(u)) / 2  # same for every dimension
    q_mass = mass_1d ** model.k

    z = q_mean + q_std * rng.standard_normal((n_samples, model.k))  # z_l ~ q(z|x)
    log_q = diag_gaussian_log_pdf(z, q_mean, q_std)
    log_joint = model.log_likelihood(x, z) + diag_gaussian_log_pdf(z, 0.0, 1.0)  # log p(x, z)
    log_post = _gaussian_log_pdf(z, post_mean, post_cov)                         # log p(z|x)

    def mc(values):
        values = np.broadcast_to(values, (n_samples,))
        return float(values.mean()), float(values.std(ddof=1) / np.sqrt(n_samples))

    rows = [dict(line=0, expression="log p(x)", method="exact", value=log_px, se=0.0),
            dict(line=1, expression="log p(x) * int q dz", method="quadrature",
                 value=log_px * q_mass, se=0.0),
            dict(line=2, expression="int q log p(x) dz", method="quadrature",
                 value=q_mass * log_px, se=0.0)]
    v, se = mc(np.full(n_samples, log_px))
    rows.append(dict(line=3, expression="E_q[log p(x)]", method="Monte Carlo", value=v, se=se))
    v, se = mc(log_joint - log_post)
    rows.append(dict(line=4, expression="E_q[log p(x,z)/p(z|x)]", method="Monte Carlo",
                     value=v, se=se))
    v, se = mc(log_joint + log_q - log_post - log_q)
    rows.append(dict(line=5, expression="E_q[log p(x,z)q/(p(z|x)q)]", method="Monte Carlo",
                     value=v, se=se))
    elbo_mc, elbo_se = mc(log_joint - log_q)
    kl_mc, kl_se = mc(log_q - log_post)
    rows.append(dict(line=6, expression="E_q[log p(x,z)/q] + E_q[log q/p(z|x)]",
                     method="Monte Carlo", value=elbo_mc + kl_mc,
                     se=mc(log_joint - log_post)[1], parts=(elbo_mc, kl_mc)))
    kl_exact = gaussian_kl_to(q_mean, q_std, post_mean, post_cov)
    rows.append(dict(line=7, expression="ELBO + KL(q || p(z|x))", method="MC + exact KL",
                     value=elbo_mc + kl_exact, se=elbo_se, parts=(elbo_mc, kl_exact)))
    rows.append(dict(line=8, expression="ELBO  (<= line 0)", method="Monte Carlo",
                     value=elbo_mc, se=elbo_se))
    return rows


def linear_gaussian_elbo_grads(model, x, q_mean, q_std):
    """The closed-form ELBO (eq. 2.5) of ``LinearGaussian`` and its gradients.

    For q = N(m, diag s^2), r = x - W m - b and D_j = (W^T W)_jj:

        ELBO = -(||r||^2 + sum_j D_j s_j^2) / (2c) - (d/2) log(2 pi c) - KL(q || N(0, I))
        dELBO/dm = W^T r / c - m
        dELBO/ds = -D s / c - s + 1/s
        dELBO/dW = sum_i (r_i m_i^T - W diag(s_i^2)) / c
        dELBO/db = sum_i r_i / c

    Gradients with respect to q's parameters (phi) are per x; those with respect to the
    decoder (theta = W, b) are summed over the x's. Taught in notebook 03.

    Returns
    -------
    elbo : float or ndarray of shape (n,)
    grads : dict with keys ``q_mean``, ``q_std``, ``W``, ``b``
    """
    x, m, s = _model_x_q(model, x, q_mean, q_std)
    W, b, c = model.W, model.b, model.c
    batch = np.broadcast_shapes(x.shape[:-1], m.shape[:-1], s.shape[:-1])
    x = np.broadcast_to(x, batch + (model.d,))
    m = np.broadcast_to(m, batch + (model.k,))
    s = np.broadcast_to(s, batch + (model.k,))
    r = x - m @ W.T - b                              # residual x - f_theta(m)
    col_sq = np.sum(W**2, axis=0)                    # D_j = (W^T W)_jj
    rec = (-0.5 * (np.sum(r**2, axis=-1) + np.sum(col_sq * s**2, axis=-1)) / c
           - 0.5 * model.d * (_LOG_2PI + np.log(c)))
    elbo = rec - gaussian_kl(m, s)
    r_flat, m_flat = r.reshape(-1, model.d), m.reshape(-1, model.k)
    s2_sum = np.sum(s.reshape(-1, model.k) ** 2, axis=0)
    grads = {"q_mean": r @ W / c - m,
             "q_std": -col_sq * s / c - s + 1.0 / s,
             "W": (r_flat.T @ m_flat - W * s2_sum) / c,
             "b": np.sum(r_flat, axis=0) / c}
    return elbo, grads


def best_mean_field(model, x):
    """The best diagonal q for the linear-Gaussian posterior N(mu, S), in closed form.

    Maximising the ELBO over diagonal q = minimising KL(q || p(z|x)) gives mean = mu and
    1 / s_j^2 = (S^-1)_jj: the precision's diagonal, not S's. The remaining gap (the mean-field
    gap) is 0.5 * (sum_j log (S^-1)_jj - log det S^-1), zero exactly when S is diagonal.

    Returns
    -------
    q_mean : ndarray, shape (..., k)
    q_std : ndarray, shape (k,)
    gap : float, KL(q* || p(z|x)) = log p(x) - ELBO(q*)
    """
    mean, cov = model.posterior(x)
    prec = np.linalg.inv(cov)
    q_std = 1.0 / np.sqrt(np.diag(prec))
    gap = 0.5 * (np.sum(np.log(np.diag(prec))) - np.linalg.slogdet(prec)[1])
    return mean, q_std, float(gap)


def fit_q(model, x, q_mean, q_std, n_steps=300, lr=None, return_path=False):
    """Optimise phi: gradient ascent of the ELBO over q's mean and log standard deviation.

    The evidence does not depend on q, so every step that raises the ELBO closes the gap
    KL(q || p(z|x)) of eq. 2.4 by the same amount. Uses the closed-form gradients of
    ``linear_gaussian_elbo_grads``; the default step is 1 / (largest curvature of the ELBO in
    the mean), 1 / (1 + lambda_max(W^T W) / c), which is always stable.

    Parameters
    ----------
    model : helpers.evidence.LinearGaussian
    x : array_like, shape (d,) or (n, d)
    q_mean, q_std : array_like, shape (k,) or (n, k)
        The starting q.
    n_steps : int
    lr : float or None
    return_path : bool
        Also return q's mean at every step.

    Returns
    -------
    q_mean, q_std : ndarrays
        The final q.
    history : ndarray, shape (n_steps + 1, ...)
        The ELBO at every step (per x).
    path : ndarray, shape (n_steps + 1, ..., k)
        Only with ``return_path``: q's mean at every step.
    """
    x, m, s = _model_x_q(model, x, q_mean, q_std)
    n_steps = count("n_steps", n_steps, minimum=0)
    lam = 1.0 + np.linalg.eigvalsh(model.W.T @ model.W).max() / model.c
    lr = 1.0 / lam if lr is None else positive_scalar("lr", lr)
    m, log_s = m.copy(), np.log(s)
    history, path = [], [m]
    for _ in range(n_steps):
        elbo, g = linear_gaussian_elbo_grads(model, x, m, np.exp(log_s))
        history.append(elbo)
        m = m + lr * g["q_mean"]
        # d ELBO / d log s = s * d ELBO / d s; the curvature in log s near the optimum is ~2
        log_s = log_s + min(lr, 0.25) * np.exp(log_s) * g["q_std"]
        path.append(m)
    history.append(linear_gaussian_elbo_grads(model, x, m, np.exp(log_s))[0])
    if return_path:
        return m, np.exp(log_s), np.array(history), np.array(path)
    return m, np.exp(log_s), np.array(history)


def alternate_phi_theta(model, x, n_rounds=6, q_steps=100, theta_steps=25, lr_theta=None):
    """The article's two sub-goals in turn: optimise phi (close the gap), then theta (raise p(x)).

    Each round runs ``q_steps`` of ``fit_q`` (one q per data point; theta fixed, so log p(x) stays
    flat and the ELBO climbs to it), then ``theta_steps`` of gradient ascent on the decoder W, b
    with q fixed (the mean ELBO climbs and the exact evidence rises). The decoder variance c stays
    fixed. This is variational EM; for k = 1 (or any diagonal posterior) it is exact EM, whose
    evidence never decreases.

    Parameters
    ----------
    model : helpers.evidence.LinearGaussian
        The starting decoder.
    x : array_like, shape (n, d)
        The data set.
    n_rounds, q_steps, theta_steps : int
    lr_theta : float or None
        Step on W and b for the mean ELBO per point; default 0.5 c / (1 + max z-second moment).

    Returns
    -------
    dict
        ``evidence`` and ``elbo`` (mean over the data, one entry per step), ``phase`` ("phi" or
        "theta" for the step that led there; the first entry is "start"), and ``model`` (the
        final LinearGaussian).
    """
    from .evidence import LinearGaussian

    x = model._x(x)
    if x.ndim != 2:
        raise ValueError(f"x must have shape (n, d), got {x.shape}")
    n_rounds = count("n_rounds", n_rounds)
    q_steps = count("q_steps", q_steps)
    theta_steps = count("theta_steps", theta_steps)
    n = x.shape[0]
    m, s = np.zeros((n, model.k)), np.ones((n, model.k))  # q starts at the prior
    evidence, elbo, phase = [], [], []

    def record(mdl, m, s, tag):
        evidence.append(float(np.mean(mdl.log_evidence(x))))
        elbo.append(float(np.mean(linear_gaussian_elbo_grads(mdl, x, m, s)[0])))
        phase.append(tag)

    record(model, m, s, "start")
    for _ in range(n_rounds):
        m, s, hist = fit_q(model, x, m, s, n_steps=q_steps)
        for h in hist[1:]:
            evidence.append(evidence[-1])
            elbo.append(float(np.mean(h)))
            phase.append("phi")
        second_moment = np.max(np.mean(m**2 + s**2, axis=0))
        lr = 0.5 * model.c / (1.0 + second_moment) if lr_theta is None else \
            positive_scalar("lr_theta", lr_theta)
        for _ in range(theta_steps):
            _, g = linear_gaussian_elbo_grads(model, x, m, s)
            model = LinearGaussian(model.W + lr * g["W"] / n, model.b + lr * g["b"] / n, model.c)
            record(model, m, s, "theta")
    return {"evidence": np.array(evidence), "elbo": np.array(elbo), "phase": np.array(phase),
            "model": model}


# ---------------------------------------------------------------------------------------------
# 3. Plots for notebook 03 (bare Figures, fast enough for sliders)
# ---------------------------------------------------------------------------------------------

def plot_graphical_model():
    """Our drawing of the latent-variable model (replaces the article's borrowed Figure 1).

    z ~ p(z) = N(0, I) generates x through the decoder p_theta(x|z); the encoder q_phi(z|x)
    goes back from x to z and approximates the exact posterior p_theta(z|x).
    """
    from matplotlib.patches import Circle, FancyArrowPatch

    from ._plot import new_figure

    fig, ax = new_figure(width=7.0, height=3.5)
    ax.set_position([0.0, 0.0, 1.0, 1.0])  # a drawing, not a chart: use the whole figure
    ax.set(xlim=(0, 10), ylim=(0, 5), aspect="equal")
    ax.axis("off")
    z_xy, x_xy, r = (2.3, 2.6), (7.7, 2.6), 0.62
    ax.add_patch(Circle(z_xy, r, fc="white", ec="black", lw=1.6))
    ax.add_patch(Circle(x_xy, r, fc="0.8", ec="black", lw=1.6))
    ax.text(*z_xy, "z", ha="center", va="center", fontsize=20, style="italic")
    ax.text(*x_xy, "x", ha="center", va="center", fontsize=20, style="italic")
    ax.text(z_xy[0], z_xy[1] + 1.05, "latent\n$p(z) = N(0, I)$", ha="center", va="bottom",
            fontsize=10)
    ax.text(x_xy[0], x_xy[1] + 1.05, "observed (shaded)", ha="center", va="bottom",
            fontsize=10)

    def arrow(start, end, rad, style, color, label, label_xy):
        ax.add_patch(FancyArrowPatch(start, end, connectionstyle=f"arc3,rad={rad}",
                                     arrowstyle="-|>", mutation_scale=18, lw=1.8,
                                     linestyle=style, color=color))
        ax.text(*label_xy, label, ha="center", va="center", fontsize=10, color=color)

    arrow((z_xy[0] + r, z_xy[1] + 0.15), (x_xy[0] - r, x_xy[1] + 0.15), -0.25, "-", "C0",
          "decoder $p_\\theta(x \\mid z)$\n(generative model, parameters $\\theta$)", (5.0, 4.05))
    arrow((x_xy[0] - r, x_xy[1] - 0.15), (z_xy[0] + r, z_xy[1] - 0.15), -0.25, "--", "C3",
          "encoder $q_\\phi(z \\mid x)$  (parameters $\\phi$)", (5.0, 1.55))
    arrow((x_xy[0] - 0.3, x_xy[1] - r), (z_xy[0] + 0.3, z_xy[1] - r), -0.45, ":", "0.35",
          "exact posterior $p_\\theta(z \\mid x)$: $q_\\phi$ approximates it", (5.0, 0.35))
    return fig


def _q_grid_check_k1(model):
    if model.k != 1:
        raise ValueError(f"this plot needs a model with k = 1 latent dimension, got k = {model.k}")


def plot_elbo_gap(mu=0.0, sigma=1.0, *, model, x, mu_lim=(-3.0, 3.0), sigma_lim=(0.02, 2.0)):
    """Eq. 2.4 as a picture, for a k = 1 model and one x, with q = N(mu, sigma^2).

    Left: log p(x) (flat in q), the ELBO as a function of q's mean at the current sigma, and the
    gap between them, which is KL(q || p(z|x)); the current q is marked. Right: the density of q
    over the exact posterior p(z|x). Closed forms only, and in a slider panel the figure is built
    once and its moving parts updated in place (``helpers._plot.live_figure``).
    """
    from ._plot import live_figure

    _q_grid_check_k1(model)
    mu = float(as_float_array("mu", mu))
    sigma = positive_scalar("sigma", sigma)
    x = model._x(x)
    log_px = float(model.log_evidence(x))
    post_mean, post_cov = model.posterior(x)
    pm, ps = float(post_mean[0]), float(np.sqrt(post_cov[0, 0]))

    mus = np.linspace(*mu_lim, 241)
    elbo_curve = model.elbo(x, mus[:, None], np.full((mus.size, 1), sigma))
    elbo_now = float(model.elbo(x, [mu], [sigma]))
    gap = log_px - elbo_now
    zs = np.linspace(*mu_lim, 600)
    post = np.exp(-0.5 * ((zs - pm) / ps) ** 2) / (ps * np.sqrt(2 * np.pi))
    q = np.exp(-0.5 * ((zs - mu) / sigma) ** 2) / (sigma * np.sqrt(2 * np.pi))

    fig, p = live_figure(plot_elbo_gap, (), _elbo_gap_frame)
    ax_b, ax_q = fig.axes
    p["log_px"].set_ydata([log_px, log_px])
    p["elbo"].set_data(mus, elbo_curve)
    p["gap_fill"].set_data(mus, elbo_curve, log_px)
    p["gap_bar"].set_data([mu, mu], [elbo_now, log_px])
    p["q_mark"].set_data([mu], [elbo_now])
    p["legend_b"].get_texts()[1].set_text(f"ELBO, q's sigma = {sigma:.2g}")
    ax_b.set(xlim=mu_lim, ylim=(log_px - 12.0, log_px + 1.0),
             title=f"ELBO {elbo_now:.3g}, gap {gap:.3g}")
    p["post"].set_data(zs, post, 0)
    p["q"].set_data(zs, q)
    ax_q.set(xlim=mu_lim, ylim=(0, 1.15 * max(post.max(), min(q.max(), 3 * post.max()))),
             title=f"q = N({mu:.2g}, {sigma:.2g}$^2$), posterior N({pm:.2g}, {ps:.2g}$^2$)")
    return fig


def _elbo_gap_frame():
    """The figure of ``plot_elbo_gap`` with empty curves (the frame a slider keeps)."""
    from ._plot import new_figure

    fig, (ax_b, ax_q) = new_figure(2)
    log_px = ax_b.axhline(0.0, color="black", lw=1.6, label="log p(x) (does not depend on q)")
    elbo, = ax_b.plot([], [], color="C0", label="ELBO")
    gap_fill = ax_b.fill_between([0.0, 0.0], 0.0, 0.0, color="C3", alpha=0.15,
                                 label="gap = KL(q || p(z|x))")
    gap_bar, = ax_b.plot([], [], color="C3", lw=2.5)
    q_mark, = ax_b.plot([], [], "o", color="C0")
    ax_b.set(xlabel="q's mean  mu", ylabel="nats")
    legend_b = ax_b.legend(loc="lower center", fontsize=7, framealpha=0.9)
    post = ax_q.fill_between([0.0, 0.0], 0.0, color="0.6", alpha=0.5, label="exact posterior p(z|x)")
    q, = ax_q.plot([], [], color="C3", label="q(z|x)")
    ax_q.set(xlabel="z", ylabel="density")
    legend_q = ax_q.legend(loc="upper left", fontsize=8)
    parts = dict(log_px=log_px, elbo=elbo, gap_fill=gap_fill, gap_bar=gap_bar, q_mark=q_mark,
                 legend_b=legend_b, title_b=ax_b.title, post=post, q=q, legend_q=legend_q,
                 title_q=ax_q.title, density_axis=ax_q.yaxis)
    return fig, parts


def plot_elbo_terms(model, x, mu_lim=(-3.0, 3.0), sigma_lim=(0.02, 2.0)):
    """Eq. 2.5: reconstruction and prior matching as q changes (k = 1 model, one x).

    Left: moving q's mean at the posterior's sigma. Right: moving q's sigma at the posterior
    mean (log scale). The ELBO is the reconstruction minus the prior matching; its maximum is
    the posterior.
    """
    from ._plot import new_figure

    _q_grid_check_k1(model)
    x = model._x(x)
    post_mean, post_cov = model.posterior(x)
    pm, ps = float(post_mean[0]), float(np.sqrt(post_cov[0, 0]))
    log_px = float(model.log_evidence(x))

    def terms(m, s):
        elbo = model.elbo(x, m[:, None], s[:, None])
        kl = gaussian_kl(m[:, None], s[:, None])
        return elbo + kl, kl, elbo

    fig, axes = new_figure(2)
    grids = [(np.linspace(*mu_lim, 241), None), (None, np.geomspace(*sigma_lim, 241))]
    for ax, (mus, sigmas) in zip(axes, grids):
        m = mus if mus is not None else np.full(sigmas.size, pm)
        s = sigmas if sigmas is not None else np.full(mus.size, ps)
        rec, kl, elbo = terms(m, s)
        t = m if mus is not None else s
        ax.plot(t, rec, color="C0", label="reconstruction E_q[log p(x|z)]")
        ax.plot(t, -kl, color="C2", label="- prior matching  -KL(q || p(z))")
        ax.plot(t, elbo, color="black", lw=2, label="ELBO = sum")
        ax.axhline(log_px, color="black", ls=":", lw=1, label="log p(x)")
        ax.axvline(pm if mus is not None else ps, color="0.5", ls="--", lw=1)
        ax.set(ylim=(log_px - 10.0, max(float(rec.max()), float(-kl.min()), log_px) + 1.0),
               ylabel="nats")
    axes[0].set(xlabel="q's mean  mu  (sigma at the posterior's)",
                title="moving the mean")
    axes[1].set(xscale="log", xlabel="q's sigma  (mean at the posterior's)",
                title="moving sigma")
    axes[1].legend(loc="lower left", fontsize=7)
    return fig


def plot_mean_field(model, x, q_mean, q_std, path=None, title=None):
    """A k = 2 posterior's contours with q's contours over them (and a gradient-ascent path)."""
    from ._plot import new_figure

    if model.k != 2:
        raise ValueError(f"this plot needs a model with k = 2, got k = {model.k}")
    x = model._x(x)
    q_mean, q_std = as_float_array("q_mean", q_mean), positive("q_std", q_std)
    mean, cov = model.posterior(x)
    half = 3.5 * np.sqrt(np.max(np.diag(cov)))
    g1 = np.linspace(mean[0] - half, mean[0] + half, 161)
    g2 = np.linspace(mean[1] - half, mean[1] + half, 161)
    zz = np.stack(np.meshgrid(g1, g2), axis=-1)
    log_post = _gaussian_log_pdf(zz, mean, cov)
    log_q = diag_gaussian_log_pdf(zz, q_mean, q_std)
    levels = np.array([-4.5, -2.0, -0.5])  # 3, 2 and 1 standard-deviation ellipses
    fig, ax = new_figure(width=4.4, height=4.0)
    ax.contourf(g1, g2, log_post - log_post.max(), levels=np.r_[levels, 0.01], cmap="Greys",
                alpha=0.6)
    ax.contour(g1, g2, log_q - log_q.max(), levels=levels, colors="C3", linewidths=1.4,
               linestyles="solid")
    if path is not None:
        path = np.asarray(path)
        ax.plot(path[:, 0], path[:, 1], ".-", color="C0", ms=3, lw=1, label="gradient ascent on q's mean")
        ax.legend(loc="lower right", fontsize=8)
    ax.plot(*mean, "k+", ms=10)
    ax.set(aspect="equal", xlabel="$z_1$", ylabel="$z_2$",
           title=title or "grey: exact posterior, red: diagonal q")
    return fig


def plot_subgoals(history):
    """The two sub-goals over alternating phi and theta steps (from ``alternate_phi_theta``)."""
    from ._plot import new_figure

    ev, el, phase = history["evidence"], history["elbo"], history["phase"]
    steps = np.arange(ev.size)
    fig, (ax, ax_gap) = new_figure(2, width=4.6)
    for a in (ax, ax_gap):
        start = None
        for i in range(1, steps.size + 1):
            is_theta = i < steps.size and phase[i] == "theta"
            if is_theta and start is None:
                start = i - 1
            if not is_theta and start is not None:
                a.axvspan(start, i - 1, color="C1", alpha=0.12, lw=0)
                start = None
    ax.plot(steps, ev, color="black", lw=2, label="exact log p(x) (mean over data)")
    ax.plot(steps, el, color="C0", label="ELBO (mean over data)")
    lo = el[min(5, el.size - 1)]
    ax.set(ylim=(lo, ev.max() + 0.1 * (ev.max() - lo)), xlabel="step",
           ylabel="nats per data point", title="white: phi steps, orange: theta steps")
    ax.legend(loc="lower right", fontsize=8)
    ax_gap.semilogy(steps, np.maximum(ev - el, 1e-12), color="C3")
    ax_gap.set(xlabel="step", ylabel="gap = log p(x) - ELBO (nats)",
               title="phi steps close the gap, theta steps reopen it")
    return fig
