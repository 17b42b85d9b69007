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
2. Eq. 2.4 line by line on the exact linear-Gaussian model
   (``helpers.linear_gaussian.LinearGaussian``): ``eq24_lines``.
3. The two sub-goals on the same model live in ``helpers.elbo_subgoals`` and are re-exported
   here: ``linear_gaussian_elbo_grads`` (closed-form gradients, so gradient ascent is plain
   numpy), ``best_mean_field``, ``fit_q`` and ``alternate_phi_theta``.

Notebook 03's figures are ``helpers.plots.elbo``.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from ._checks import as_float_array, as_rng, count, positive
from ._deprecated import keyword_only
from .elbo_subgoals import (ElboGradients, ElboWithGradients, MeanFieldFit, QFit, SubgoalHistory,
                            alternate_phi_theta, best_mean_field, fit_q,
                            linear_gaussian_elbo_grads)
from .gaussian import (diag_gaussian_log_pdf, gaussian_kl, gaussian_kl_to, gaussian_log_pdf,
                       kl_per_dim)
from .sampling import normal_pdf

__all__ = ["kl_per_dim", "gaussian_kl", "gaussian_kl_to", "diag_gaussian_log_pdf", "ElboTerms",
           "elbo_terms", "Eq24Line", "eq24_lines", "ElboGradients", "ElboWithGradients",
           "linear_gaussian_elbo_grads", "MeanFieldFit", "best_mean_field", "QFit", "fit_q",
           "SubgoalHistory", "alternate_phi_theta"]


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
# 2. Eq. 2.4 line by line, on the exact linear-Gaussian model
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


@keyword_only(4, ["n_samples", "rng", "n_grid"])
def eq24_lines(model, x, q_mean, q_std, *, n_samples=100_000, rng=None, n_grid=4001):
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
    q_mean = model.as_z(q_mean, name="q_mean")
    q_std = model.as_q_std(q_std, q_mean)
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
    q_mass = mass_1d ** model.z_dim

    z = q_mean + q_std * rng.standard_normal((n_samples, model.z_dim))  # z_l ~ q(z|x)
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
