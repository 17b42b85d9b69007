"""The evidence log p(x) and its naive Monte-Carlo estimate (eqs. 2.1-2.3). Taught in notebook 02.

Maximum likelihood (eq. 2.1) in log form (eq. 2.2) needs the evidence log p_theta(x). A latent
model writes it as an expectation over the prior (eq. 2.3):

    p_theta(x) = integral p_theta(x | z) p(z) dz = E_{z ~ p(z)} p_theta(x | z),

which the naive estimator approximates by averaging p_theta(x | z_l) over L prior samples, in log
space (``log_mean_exp``). ``measure_samples_needed`` counts how many samples that takes, against
the exact evidence of ``helpers.linear_gaussian.LinearGaussian`` (re-exported here, where notebook
02 introduces it). The article's proposed experiment under eq. 2.3, a neural decoder trained on
this estimate, is ``helpers.naive_decoder``; notebook 02's figures are ``helpers.plots.evidence``.
"""

from __future__ import annotations

import numpy as np

from ._checks import as_float_array, as_rng, count, positive_scalar
from ._deprecated import keyword_only, renamed_arguments
from ._logsumexp import log_mean_exp_torch, logsumexp_np
from .linear_gaussian import LinearGaussian

__all__ = ["log_mean_exp", "running_log_mean_exp", "effective_sample_size", "LinearGaussian",
           "naive_mc_log_evidence", "measure_samples_needed"]


def log_mean_exp(a, axis=-1):
    """log(mean(exp(a))) along ``axis``, computed stably.

    Shifting by the maximum before exponentiating keeps it exact for inputs of magnitude 1e6
    (where ``exp`` alone overflows to inf or underflows to 0). ``-inf`` entries (zero
    probability) are allowed; a slice of only ``-inf`` gives ``-inf``.

    Parameters
    ----------
    a : array_like or torch.Tensor
        Log-values, e.g. log p(x | z_l) for l = 1..L. NaN and +inf raise ``ValueError``. A torch
        tensor gives a tensor, differentiable (eq. 2.3's loss in notebook 02), unchecked.
    axis : int, default -1

    Returns
    -------
    ndarray, float, or torch.Tensor
    """
    if type(a).__module__.split(".")[0] == "torch":
        return log_mean_exp_torch(a, axis)
    a = as_float_array("a", a, allow_inf=True)
    if np.isposinf(a).any():
        raise ValueError("a must not contain +inf")
    if a.ndim == 0 or a.shape[axis] == 0:
        raise ValueError(f"a must have at least one entry along axis {axis}, got shape {a.shape}")
    # the project's one log-sum-exp (helpers._logsumexp), minus log L
    out = logsumexp_np(a, axis=axis) - np.log(a.shape[axis])
    return out if out.ndim else float(out)


@keyword_only(1, ["axis"])
def effective_sample_size(log_w, *, axis=-1):
    """(sum_l w_l)^2 / sum_l w_l^2 of weights given by their logs: how many samples count.

    L equal weights give L; one weight that dwarfs the rest gives 1. For eq. 2.3's naive
    estimate the weights are w_l = p(x | z_l), and the gradient of log p_hat(x) is
    sum_l (w_l / sum_m w_m) grad log p(x | z_l): with an ESS near 1, one sample drives it.
    Computed from the logs (any scale: a common shift cancels). Taught in notebook 02.
    """
    log_w = as_float_array("log_w", log_w, allow_inf=True)
    if np.isposinf(log_w).any():
        raise ValueError("log_w must not contain +inf")
    # ESS = exp(2 logsumexp(log w) - logsumexp(2 log w)), both through log_mean_exp
    n = log_w.shape[axis]
    return np.exp(2 * log_mean_exp(log_w, axis) - log_mean_exp(2 * log_w, axis)) * n


def running_log_mean_exp(a):
    """The running estimate log((1/L) sum_{l <= L} exp(a_l)) for L = 1, 2, ..., len(a).

    Applied to a_l = log p(x | z_l) this is eq. 2.3's naive estimate after each new sample: one
    pass, stable (``np.logaddexp.accumulate``), used to draw convergence curves.

    Parameters
    ----------
    a : array_like, shape (..., L)
        Log-values along the last axis; ``-inf`` allowed, NaN and +inf raise ``ValueError``.

    Returns
    -------
    ndarray, shape (..., L)
    """
    a = as_float_array("a", a, allow_inf=True)
    if np.isposinf(a).any():
        raise ValueError("a must not contain +inf")
    if a.ndim == 0 or a.shape[-1] == 0:
        raise ValueError(f"a must have at least one entry along its last axis, got shape {a.shape}")
    return np.logaddexp.accumulate(a, axis=-1) - np.log(np.arange(1, a.shape[-1] + 1))


@keyword_only(5, ["chunk_size"])
@renamed_arguments(latent_dim="z_dim")
def naive_mc_log_evidence(log_likelihood, x, n_samples, z_dim, rng=None, *, chunk_size=None):
    """Eq. 2.3 in log space: log (1/L) sum_l p(x | z_l) with z_l ~ N(0, I).

    The L prior samples are drawn and scored ``chunk_size`` at a time and combined with a running
    log-sum-exp, so memory stays bounded (a few arrays of ``chunk_size * n * d`` floats) even for
    L = 1e7, where scoring every sample at once would need gigabytes.

    Parameters
    ----------
    log_likelihood : callable
        ``log_likelihood(x, z)`` -> log p(x | z), broadcasting x (n, 1, d) against z (m, k) to
        (n, m), such as ``LinearGaussian.log_likelihood`` or ``decoder_log_likelihood(f_theta, c)``.
    x : array_like, shape (d,) or (n, d)
    n_samples : int
        L, the number of prior samples (a float like 1e7 is accepted if it is whole).
    z_dim : int
        k, the dimension of z (``latent_dim=`` is its deprecated name).
    rng : int, numpy.random.Generator or None
    chunk_size : int or None
        Samples scored at once. None picks it so that one chunk holds about 2^18 numbers
        (chunk_size * n * d), i.e. a couple of megabytes per temporary array.

    Returns
    -------
    float or ndarray of shape (n,)
        The estimate of log p(x). It is biased low: E[log p_hat] <= log p(x) (Jensen), even though
        p_hat itself is unbiased for p(x).
    """
    if not callable(log_likelihood):
        raise ValueError(f"log_likelihood must be callable, got {log_likelihood!r}")
    x = as_float_array("x", x)
    if x.ndim not in (1, 2) or x.shape[-1] == 0:
        raise ValueError(f"x must have shape (d,) or (n, d), got {x.shape}")
    n_samples = count("n_samples", n_samples)
    z_dim = count("z_dim", z_dim)
    xb = np.atleast_2d(x)[:, None, :]
    if chunk_size is None:
        chunk_size = max(1, 2**18 // (xb.shape[0] * xb.shape[-1]))
    chunk_size = count("chunk_size", chunk_size)
    rng = as_rng(rng)

    total = np.full(xb.shape[0], -np.inf)  # running log sum_l p(x | z_l)
    done = 0
    while done < n_samples:
        m = min(chunk_size, n_samples - done)
        z = rng.standard_normal((m, z_dim))  # z_l ~ p(z) = N(0, I)
        ll = np.asarray(log_likelihood(xb, z), dtype=np.float64)
        if ll.shape != (xb.shape[0], m):
            raise ValueError(f"log_likelihood(x, z) must return shape {(xb.shape[0], m)}, "
                             f"got {ll.shape}")
        if np.isnan(ll).any() or np.isposinf(ll).any():
            raise ValueError("log_likelihood(x, z) returned NaN or +inf")
        total = np.logaddexp(total, logsumexp_np(ll, axis=-1))
        done += m
    out = total - np.log(n_samples)
    return float(out[0]) if x.ndim == 1 else out


@keyword_only(2, ["rel_err", "budget", "min_repeats", "rng"])
def measure_samples_needed(model, x, *, rel_err=0.1, budget=2**18, min_repeats=16, rng=None):
    """Measure how many prior samples eq. 2.3 needs for a given relative error in p_hat.

    Draws ``budget`` prior samples once, splits them into independent runs of N = 1, 2, 4, ...
    samples, and computes the root-mean-square relative error of p_hat over the runs,
    sqrt(mean((p_hat / p(x) - 1)^2)), using the exact p(x) of ``model``. Returns the N where that
    error crosses ``rel_err`` (interpolated in log-log between powers of two), or NaN if it is
    still above ``rel_err`` at the largest N that leaves ``min_repeats`` runs.

    Parameters
    ----------
    model : LinearGaussian
    x : array_like, shape (d,)
    rel_err : float
    budget : int
        Prior samples drawn in total.
    min_repeats : int
        Fewest runs an error estimate may rest on.
    rng : int, numpy.random.Generator or None

    Returns
    -------
    float
    """
    x = model.as_x(x)
    if x.ndim != 1:
        raise ValueError(f"x must have shape ({model.d},), got {x.shape}")
    rel_err = positive_scalar("rel_err", rel_err)
    budget = count("budget", budget)
    min_repeats = count("min_repeats", min_repeats)
    rng = as_rng(rng)
    log_p = model.log_evidence(x)
    z = rng.standard_normal((budget, model.z_dim))
    w = np.concatenate([np.exp(model.log_likelihood(x, z[lo:lo + 2**14]) - log_p)
                        for lo in range(0, budget, 2**14)])  # p(x | z_l) / p(x)
    sizes, errors = [], []
    n = 1
    while budget // n >= min_repeats:
        runs = w[: budget // n * n].reshape(-1, n).mean(axis=1)  # p_hat / p(x), one per run
        sizes.append(n)
        errors.append(np.sqrt(np.mean((runs - 1.0) ** 2)))
        n *= 2
    sizes, errors = np.log(sizes), np.log(errors)
    below = np.nonzero(errors <= np.log(rel_err))[0]
    if len(below) == 0:
        return float("nan")
    i = below[0]
    if i == 0:
        return 1.0
    t = (np.log(rel_err) - errors[i - 1]) / (errors[i] - errors[i - 1])
    return float(np.exp(sizes[i - 1] + t * (sizes[i] - sizes[i - 1])))
