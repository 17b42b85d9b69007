"""The article's two sub-goals on the exact linear-Gaussian model (eqs. 2.4-2.5). Notebook 03.

Eq. 2.4, log p(x) = ELBO + KL(q(z|x) || p(z|x)), gives two sub-goals: optimising phi (q) closes
the gap, optimising theta (the decoder) raises the evidence. On ``LinearGaussian`` every ELBO
and gradient is in closed form, so gradient ascent is plain numpy:

- ``linear_gaussian_elbo_grads``: the ELBO and its gradients, formula by formula;
- ``best_mean_field``: the best diagonal q, in closed form, and the gap it leaves;
- ``fit_q``: optimise phi, keeping the ELBO and q's mean at every step;
- ``alternate_phi_theta``: phi, then theta, in turn (variational EM).

Re-exported by ``helpers.elbo``, where notebook 03 imports them.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from ._checks import count, positive_scalar
from ._deprecated import keyword_only, renamed_arguments
from ._results import UnpacksAsTuple, retired_flag
from .linear_gaussian import LinearGaussian

__all__ = ["ElboGradients", "ElboWithGradients", "linear_gaussian_elbo_grads", "MeanFieldFit",
           "best_mean_field", "QFit", "fit_q", "SubgoalHistory",
           "alternate_phi_theta"]


@dataclass(frozen=True)
class ElboGradients:
    """Gradients of the closed-form ELBO: see ``linear_gaussian_elbo_grads``."""

    q_mean: np.ndarray
    q_std: np.ndarray
    W: np.ndarray
    b: np.ndarray


@dataclass(frozen=True)
class ElboWithGradients(UnpacksAsTuple):
    """What ``linear_gaussian_elbo_grads`` returns: ``elbo`` (float or (n,)) and ``grads``."""

    elbo: float | np.ndarray
    grads: ElboGradients


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
    ElboWithGradients
        ``elbo`` (float or ndarray of shape (n,)) and ``grads``, an ``ElboGradients`` with
        fields ``q_mean``, ``q_std``, ``W``, ``b``.
    """
    x = model.as_x(x)
    m = model.as_z(q_mean, name="q_mean")
    s = model.as_q_std(q_std, m)
    elbo = model.elbo(x, m, s)
    W, c = model.W, model.c
    batch = np.broadcast_shapes(x.shape[:-1], m.shape[:-1], s.shape[:-1])
    x = np.broadcast_to(x, batch + (model.d,))
    m = np.broadcast_to(m, batch + (model.z_dim,))
    s = np.broadcast_to(s, batch + (model.z_dim,))
    r = x - m @ W.T - model.b                        # residual x - f_theta(m)
    col_sq = np.sum(W**2, axis=0)                    # D_j = (W^T W)_jj
    r_flat, m_flat = r.reshape(-1, model.d), m.reshape(-1, model.z_dim)
    s2_sum = np.sum(s.reshape(-1, model.z_dim) ** 2, axis=0)
    grads = ElboGradients(q_mean=r @ W / c - m,
                          q_std=-col_sq * s / c - s + 1.0 / s,
                          W=(r_flat.T @ m_flat - W * s2_sum) / c,
                          b=np.sum(r_flat, axis=0) / c)
    return ElboWithGradients(elbo=elbo, grads=grads)


@dataclass(frozen=True)
class MeanFieldFit(UnpacksAsTuple):
    """What ``best_mean_field`` returns: q's ``q_mean`` (..., k) and ``q_std`` (k,), and its
    ``gap`` = KL(q* || p(z|x)) = log p(x) - ELBO(q*)."""

    q_mean: np.ndarray
    q_std: np.ndarray
    gap: float


def best_mean_field(model, x):
    """The best diagonal q for the linear-Gaussian posterior N(mu, S), in closed form.

    Maximising the ELBO over diagonal q = minimising KL(q || p(z|x)) gives mean = mu and
    1 / s_j^2 = (S^-1)_jj: the precision's diagonal, not S's. The remaining gap (the mean-field
    gap) is 0.5 * (sum_j log (S^-1)_jj - log det S^-1), zero exactly when S is diagonal.

    Returns
    -------
    MeanFieldFit
        ``q_mean`` (..., k), ``q_std`` (k,) and ``gap``, KL(q* || p(z|x)) = log p(x) - ELBO(q*).
    """
    mean, cov = model.posterior(x)
    prec = np.linalg.inv(cov)
    q_std = 1.0 / np.sqrt(np.diag(prec))
    gap = 0.5 * (np.sum(np.log(np.diag(prec))) - np.linalg.slogdet(prec)[1])
    return MeanFieldFit(q_mean=mean, q_std=q_std, gap=float(gap))


@dataclass(frozen=True)
class QFit(UnpacksAsTuple):
    """What ``fit_q`` returns: the final q (``q_mean``, ``q_std``), the ELBO at every step
    (``history``, shape (steps + 1, ...)) and q's mean at every step (``path``,
    shape (steps + 1, ..., k)). Unpacked as a tuple (deprecated), it gives the first three, as
    ``fit_q`` did before helpers 0.3."""

    q_mean: np.ndarray
    q_std: np.ndarray
    history: np.ndarray
    path: np.ndarray

    old_tuple = ("q_mean", "q_std", "history")


def _fit_q_with_path(*args, **kwargs):  # fit_q(..., return_path=True) before helpers 0.3
    fit = fit_q(*args, **kwargs)
    return fit.q_mean, fit.q_std, fit.history, fit.path


@keyword_only(4, ["steps", "lr", "return_path"])
@renamed_arguments(n_steps="steps")
@retired_flag("return_path", "fit_q(..., return_path=True) is now fit_q(...), whose result "
              "has .path", _fit_q_with_path)
def fit_q(model, x, q_mean, q_std, *, steps=300, lr=None):
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

    Returns
    -------
    QFit
        ``q_mean``, ``q_std`` (the final q), ``history`` (the ELBO at every step, per x, shape
        (steps + 1, ...)) and ``path`` (q's mean at every step, shape (steps + 1, ..., k)).
    """
    x = model.as_x(x)
    m = model.as_z(q_mean, name="q_mean")
    s = model.as_q_std(q_std, m)
    steps = count("steps", steps, minimum=0)
    lam = 1.0 + np.linalg.eigvalsh(model.W.T @ model.W).max() / model.c
    lr = 1.0 / lam if lr is None else positive_scalar("lr", lr)
    m, log_s = m.copy(), np.log(s)
    history, path = [], [m]
    for _ in range(steps):
        step = linear_gaussian_elbo_grads(model, x, m, np.exp(log_s))
        history.append(step.elbo)
        m = m + lr * step.grads.q_mean
        # d ELBO / d log s = s * d ELBO / d s; the curvature in log s near the optimum is ~2
        log_s = log_s + min(lr, 0.25) * np.exp(log_s) * step.grads.q_std
        path.append(m)
    history.append(linear_gaussian_elbo_grads(model, x, m, np.exp(log_s)).elbo)
    return QFit(q_mean=m, q_std=np.exp(log_s), history=np.array(history), path=np.array(path))


@dataclass(frozen=True)
class SubgoalHistory:
    """What ``alternate_phi_theta`` returns: one entry per step, and the final model."""

    evidence: np.ndarray
    elbo: np.ndarray
    phase: np.ndarray
    model: LinearGaussian


@keyword_only(2, ["n_rounds", "phi_steps", "theta_steps", "lr"])
@renamed_arguments(q_steps="phi_steps", lr_theta="lr")
def alternate_phi_theta(model, x, *, n_rounds=6, phi_steps=100, theta_steps=25, lr=None):
    """The article's two sub-goals in turn: optimise phi (close the gap), then theta (raise p(x)).

    Each round runs ``phi_steps`` of ``fit_q`` (one q per data point; theta fixed, so log p(x) stays
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
    n_rounds, phi_steps, theta_steps : int
        Rounds, and steps on q (phi) and on the decoder (theta) in each round (``q_steps=`` is
        the deprecated name of ``phi_steps``).
    lr : float or None
        Step on W and b for the mean ELBO per point; default 0.5 c / (1 + max z-second moment)
        (``lr_theta=`` is its deprecated name). The phi steps take ``fit_q``'s default.

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
    phi_steps = count("phi_steps", phi_steps)
    theta_steps = count("theta_steps", theta_steps)
    n = x.shape[0]
    m, s = np.zeros((n, model.z_dim)), np.ones((n, model.z_dim))  # q starts at the prior
    evidence, elbo, phase = [], [], []

    def record(mdl, m, s, tag):
        evidence.append(float(np.mean(mdl.log_evidence(x))))
        elbo.append(float(np.mean(linear_gaussian_elbo_grads(mdl, x, m, s).elbo)))
        phase.append(tag)

    record(model, m, s, "start")
    for _ in range(n_rounds):
        fit = fit_q(model, x, m, s, steps=phi_steps)
        m, s = fit.q_mean, fit.q_std
        for h in fit.history[1:]:
            evidence.append(evidence[-1])
            elbo.append(float(np.mean(h)))
            phase.append("phi")
        second_moment = np.max(np.mean(m**2 + s**2, axis=0))
        lr_now = 0.5 * model.c / (1.0 + second_moment) if lr is None else positive_scalar("lr", lr)
        for _ in range(theta_steps):
            g = linear_gaussian_elbo_grads(model, x, m, s).grads
            model = LinearGaussian(model.W + lr_now * g.W / n, model.b + lr_now * g.b / n, model.c)
            record(model, m, s, "theta")
    return SubgoalHistory(evidence=np.array(evidence), elbo=np.array(elbo),
                          phase=np.array(phase), model=model)
