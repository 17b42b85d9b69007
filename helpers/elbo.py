"""From the evidence to the ELBO (eqs. 2.4-2.5). Taught in notebook 03.

Eq. 2.4 splits the evidence into a bound and a gap,

    log p(x) = ELBO + KL(q(z|x) || p(z|x)) >= ELBO,

and eq. 2.5 splits the bound into two terms,

    ELBO = E_q[log p(x|z)] - KL(q(z|x) || p(z))   (reconstruction - prior matching).

Read top to bottom:

1. ``elbo_terms``: the Monte-Carlo ELBO of eq. 2.5 for any likelihood. Its KL is
   ``gaussian_kl``, which lives with the other Gaussian formulas in ``helpers.gaussian`` and is
   re-exported here (with ``kl_per_dim``, ``gaussian_kl_to`` and ``diag_gaussian_log_pdf``),
   where notebook 03 teaches it.
2. Eq. 2.4 line by line, and the two sub-goals, on the exact linear-Gaussian model
   (``helpers.linear_gaussian.LinearGaussian``): ``eq24_lines``, ``linear_gaussian_elbo_grads``
   (closed-form gradients, so gradient ascent is fast numpy), ``best_mean_field``, ``fit_q``,
   ``alternate_phi_theta``.

Notebook 03's figures are ``helpers.plots.elbo``.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from ._checks import as_float_array, as_rng, count, positive, positive_scalar
from ._deprecated import renamed_arguments
from .gaussian import (diag_gaussian_log_pdf, gaussian_kl, gaussian_kl_to, gaussian_log_pdf,
                       kl_per_dim)
from .linear_gaussian import LinearGaussian
from .sampling import normal_pdf

__all__ = ["kl_per_dim", "gaussian_kl", "gaussian_kl_to", "diag_gaussian_log_pdf", "ElboTerms",
           "elbo_terms", "Eq24Line", "eq24_lines", "ElboGradients", "linear_gaussian_elbo_grads",
           "best_mean_field", "fit_q", "SubgoalHistory", "alternate_phi_theta"]


# ---------------------------------------------------------------------------------------------
# 1. The Monte-Carlo ELBO (eq. 2.5)
# ---------------------------------------------------------------------------------------------

@dataclass(frozen=True)
class ElboTerms:
    """The two terms of eq. 2.5 and their difference, with the Monte-Carlo standard error.

    Floats for one x, arrays of shape (n,) for n of them; ``se`` is the standard error of
    ``reconstruction`` (and so of ``elbo``).
    """

    elbo: float | np.ndarray
    reconstruction: float | np.ndarray
    prior_matching: float | np.ndarray
    se: float | np.ndarray


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
        return ElboTerms(elbo=float(elbo), reconstruction=float(reconstruction),
                         prior_matching=float(prior_matching), se=float(se))
    return ElboTerms(elbo=elbo, reconstruction=reconstruction,
                     prior_matching=np.broadcast_to(prior_matching, batch).copy(), se=se)


# ---------------------------------------------------------------------------------------------
# 2. Eq. 2.4 line by line, and the two sub-goals, on the exact linear-Gaussian model
# ---------------------------------------------------------------------------------------------

@dataclass(frozen=True)
class Eq24Line:
    """One line of eq. 2.4, evaluated: see ``eq24_lines``."""

    line: int
    expression: str
    method: str
    value: float
    se: float
    parts: tuple | None = None


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
    model : helpers.linear_gaussian.LinearGaussian
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
    list of Eq24Line
        One per line: ``line``, ``expression``, ``method``, ``value``, ``se`` (0 for an exact
        line), and for lines 6 and 7 the two parts ``parts`` = (first, second).
    """
    x = model.as_x(x)
    q_mean, q_std = model.as_q(q_mean, q_std)
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
    dens = normal_pdf(u)  # N(u; 0, 1), eq. 1.1
    mass_1d = np.sum((dens[1:] + dens[:-1]) * np.diff(u)) / 2  # same for every dimension
    q_mass = mass_1d ** model.k

    z = q_mean + q_std * rng.standard_normal((n_samples, model.k))  # z_l ~ q(z|x)
    log_q = diag_gaussian_log_pdf(z, q_mean, q_std)
    log_joint = model.log_likelihood(x, z) + diag_gaussian_log_pdf(z, 0.0, 1.0)  # log p(x, z)
    log_post = gaussian_log_pdf(z, post_mean, post_cov)                          # log p(z|x)

    def mc(values):
        values = np.broadcast_to(values, (n_samples,))
        return float(values.mean()), float(values.std(ddof=1) / np.sqrt(n_samples))

    rows = [Eq24Line(line=0, expression="log p(x)", method="exact", value=log_px, se=0.0),
            Eq24Line(line=1, expression="log p(x) * int q dz", method="quadrature",
                     value=log_px * q_mass, se=0.0),
            Eq24Line(line=2, expression="int q log p(x) dz", method="quadrature",
                     value=q_mass * log_px, se=0.0)]
    v, se = mc(np.full(n_samples, log_px))
    rows.append(Eq24Line(line=3, expression="E_q[log p(x)]", method="Monte Carlo", value=v, se=se))
    v, se = mc(log_joint - log_post)
    rows.append(Eq24Line(line=4, expression="E_q[log p(x,z)/p(z|x)]", method="Monte Carlo",
                         value=v, se=se))
    v, se = mc(log_joint + log_q - log_post - log_q)
    rows.append(Eq24Line(line=5, expression="E_q[log p(x,z)q/(p(z|x)q)]", method="Monte Carlo",
                         value=v, se=se))
    elbo_mc, elbo_se = mc(log_joint - log_q)
    kl_mc, kl_se = mc(log_q - log_post)
    rows.append(Eq24Line(line=6, expression="E_q[log p(x,z)/q] + E_q[log q/p(z|x)]",
                         method="Monte Carlo", value=elbo_mc + kl_mc,
                         se=mc(log_joint - log_post)[1], parts=(elbo_mc, kl_mc)))
    kl_exact = gaussian_kl_to(q_mean, q_std, post_mean, post_cov)
    rows.append(Eq24Line(line=7, expression="ELBO + KL(q || p(z|x))", method="MC + exact KL",
                         value=elbo_mc + kl_exact, se=elbo_se, parts=(elbo_mc, kl_exact)))
    rows.append(Eq24Line(line=8, expression="ELBO  (<= line 0)", method="Monte Carlo",
                         value=elbo_mc, se=elbo_se))
    return rows


@dataclass(frozen=True)
class ElboGradients:
    """Gradients of the closed-form ELBO: see ``linear_gaussian_elbo_grads``."""

    q_mean: np.ndarray
    q_std: np.ndarray
    W: np.ndarray
    b: np.ndarray


def linear_gaussian_elbo_grads(model, x, q_mean, q_std):
    """The closed-form ELBO (eq. 2.5) of ``LinearGaussian`` and its gradients.

    For q = N(m, diag s^2), r = x - W m - b and D_j = (W^T W)_jj:

        ELBO = -(||r||^2 + sum_j D_j s_j^2) / (2c) - (d/2) log(2 pi c) - KL(q || N(0, I))
        dELBO/dm = W^T r / c - m
        dELBO/ds = -D s / c - s + 1/s
        dELBO/dW = sum_i (r_i m_i^T - W diag(s_i^2)) / c
        dELBO/db = sum_i r_i / c

    The ELBO itself is ``model.elbo``; the gradients follow the formulas above line by line.
    Gradients with respect to q's parameters (phi) are per x; those with respect to the
    decoder (theta = W, b) are summed over the x's. Taught in notebook 03.

    Returns
    -------
    elbo : float or ndarray of shape (n,)
    grads : ElboGradients
        Fields ``q_mean``, ``q_std``, ``W``, ``b``.
    """
    x = model.as_x(x)
    m, s = model.as_q(q_mean, q_std)
    elbo = model.elbo(x, m, s)
    W, c = model.W, model.c
    batch = np.broadcast_shapes(x.shape[:-1], m.shape[:-1], s.shape[:-1])
    x = np.broadcast_to(x, batch + (model.d,))
    m = np.broadcast_to(m, batch + (model.k,))
    s = np.broadcast_to(s, batch + (model.k,))
    r = x - m @ W.T - model.b                        # residual x - f_theta(m)
    col_sq = np.sum(W**2, axis=0)                    # D_j = (W^T W)_jj
    r_flat, m_flat = r.reshape(-1, model.d), m.reshape(-1, model.k)
    s2_sum = np.sum(s.reshape(-1, model.k) ** 2, axis=0)
    grads = ElboGradients(q_mean=r @ W / c - m,
                          q_std=-col_sq * s / c - s + 1.0 / s,
                          W=(r_flat.T @ m_flat - W * s2_sum) / c,
                          b=np.sum(r_flat, axis=0) / c)
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


@renamed_arguments(n_steps="steps")
def fit_q(model, x, q_mean, q_std, steps=300, lr=None, return_path=False):
    """Optimise phi: gradient ascent of the ELBO over q's mean and log standard deviation.

    The evidence does not depend on q, so every step that raises the ELBO closes the gap
    KL(q || p(z|x)) of eq. 2.4 by the same amount. Uses the closed-form gradients of
    ``linear_gaussian_elbo_grads``; the default step is 1 / (largest curvature of the ELBO in
    the mean), 1 / (1 + lambda_max(W^T W) / c), which is always stable.

    Parameters
    ----------
    model : helpers.linear_gaussian.LinearGaussian
    x : array_like, shape (d,) or (n, d)
    q_mean, q_std : array_like, shape (k,) or (n, k)
        The starting q.
    steps : int
        Gradient steps (0 returns the starting q).
    lr : float or None
    return_path : bool
        Also return q's mean at every step.

    Returns
    -------
    q_mean, q_std : ndarrays
        The final q.
    history : ndarray, shape (steps + 1, ...)
        The ELBO at every step (per x).
    path : ndarray, shape (steps + 1, ..., k)
        Only with ``return_path``: q's mean at every step.
    """
    x = model.as_x(x)
    m, s = model.as_q(q_mean, q_std)
    steps = count("steps", steps, minimum=0)
    lam = 1.0 + np.linalg.eigvalsh(model.W.T @ model.W).max() / model.c
    lr = 1.0 / lam if lr is None else positive_scalar("lr", lr)
    m, log_s = m.copy(), np.log(s)
    history, path = [], [m]
    for _ in range(steps):
        elbo, g = linear_gaussian_elbo_grads(model, x, m, np.exp(log_s))
        history.append(elbo)
        m = m + lr * g.q_mean
        # d ELBO / d log s = s * d ELBO / d s; the curvature in log s near the optimum is ~2
        log_s = log_s + min(lr, 0.25) * np.exp(log_s) * g.q_std
        path.append(m)
    history.append(linear_gaussian_elbo_grads(model, x, m, np.exp(log_s))[0])
    if return_path:
        return m, np.exp(log_s), np.array(history), np.array(path)
    return m, np.exp(log_s), np.array(history)


@dataclass(frozen=True)
class SubgoalHistory:
    """What ``alternate_phi_theta`` returns: one entry per step, and the final model."""

    evidence: np.ndarray
    elbo: np.ndarray
    phase: np.ndarray
    model: LinearGaussian


def alternate_phi_theta(model, x, n_rounds=6, q_steps=100, theta_steps=25, lr_theta=None):
    """The article's two sub-goals in turn: optimise phi (close the gap), then theta (raise p(x)).

    Each round runs ``q_steps`` of ``fit_q`` (one q per data point; theta fixed, so log p(x) stays
    flat and the ELBO climbs to it), then ``theta_steps`` of gradient ascent on the decoder W, b
    with q fixed (the mean ELBO climbs and the exact evidence rises). The decoder variance c stays
    fixed. This is variational EM. For k = 1 (or any diagonal posterior) each phi phase makes q
    the exact posterior, and the theta phase takes gradient steps instead of maximising
    (generalised EM): if a theta phase raises the ELBO, the evidence at its end is above the
    evidence at its start; single steps inside a phase promise nothing.

    Parameters
    ----------
    model : helpers.linear_gaussian.LinearGaussian
        The starting decoder.
    x : array_like, shape (n, d)
        The data set.
    n_rounds, q_steps, theta_steps : int
    lr_theta : float or None
        Step on W and b for the mean ELBO per point; default 0.5 c / (1 + max z-second moment).

    Returns
    -------
    SubgoalHistory
        ``evidence`` and ``elbo`` (mean over the data, one entry per step), ``phase`` ("phi" or
        "theta" for the step that led there; the first entry is "start"), and ``model`` (the
        final LinearGaussian).
    """
    x = model.as_x(x)
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
        m, s, hist = fit_q(model, x, m, s, steps=q_steps)
        for h in hist[1:]:
            evidence.append(evidence[-1])
            elbo.append(float(np.mean(h)))
            phase.append("phi")
        second_moment = np.max(np.mean(m**2 + s**2, axis=0))
        lr = 0.5 * model.c / (1.0 + second_moment) if lr_theta is None else \
            positive_scalar("lr_theta", lr_theta)
        for _ in range(theta_steps):
            _, g = linear_gaussian_elbo_grads(model, x, m, s)
            model = LinearGaussian(model.W + lr * g.W / n, model.b + lr * g.b / n, model.c)
            record(model, m, s, "theta")
    return SubgoalHistory(evidence=np.array(evidence), elbo=np.array(elbo),
                          phase=np.array(phase), model=model)
