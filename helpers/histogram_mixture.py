"""A joint model of discrete pixels that needs no network: a mixture of histograms (notebook 07).

``helpers.bits.independent_pixel_bits`` models each pixel on its own. A mixture of K such
histograms,

    P(pixels) = sum_k pi_k prod_j theta_k[j, pixel_j],

lets pixels go together (a stroke here makes a stroke there likely) through the component k, a
discrete latent: the VAE's idea with a categorical z and an exact likelihood. It is fitted by
expectation-maximisation (Dempster, Laird & Rubin 1977): the E-step computes each digit's
responsibilities r_ik = P(k | pixels_i), the M-step re-counts with them,

    pi_k = (sum_i r_ik + 1) / (n + K),
    theta_k[j, v] = (sum_i r_ik [pixel_ij = v] + alpha) / (sum_i r_ik + 17 alpha),

the maximiser of the log-likelihood plus a Dirichlet log-prior (add-one smoothing, as the
histogram's). Each iteration cannot lower that penalised log-likelihood, ``history`` records it.
With K = 1 the fit is ``independent_pixel_probs`` exactly.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from ._checks import as_rng, count, positive_scalar
from ._logsumexp import logsumexp_np
from .bits import LEVELS, as_pixels

__all__ = ["HistogramMixture", "fit_histogram_mixture", "histogram_mixture_bits"]


@dataclass(frozen=True)
class HistogramMixture:
    """A fitted mixture of per-pixel histograms.

    Attributes
    ----------
    weights : ndarray, shape (K,)
        pi_k.
    probs : ndarray, shape (K, d, 17)
        theta_k[j, v] = P(pixel j = v | component k).
    history : ndarray, shape (iterations + 1,)
        The penalised log-likelihood per training digit (nats) before the first and after each
        EM iteration: never decreasing.
    """

    weights: np.ndarray
    probs: np.ndarray
    history: np.ndarray


def _one_hot(pixels):
    """(n, d) integers -> (n, d * 17) indicators, so that counting is a matrix product."""
    n, d = pixels.shape
    out = np.zeros((n, d, LEVELS))
    out[np.arange(n)[:, None], np.arange(d), pixels] = 1.0
    return out.reshape(n, d * LEVELS)


def _log_joint(one_hot, weights, probs):
    """log pi_k + log P(pixels_i | k), shape (n, K)."""
    return np.log(weights) + one_hot @ np.log(probs).reshape(len(weights), -1).T


def _log_prior(weights, probs, alpha):
    """The Dirichlet log-prior (up to a constant) whose maximiser is the smoothed M-step."""
    return np.log(weights).sum() + alpha * np.log(probs).sum()


def fit_histogram_mixture(train_pixels, *, n_components, max_iter=50, alpha=1.0, rng=None):
    """Fit a ``HistogramMixture`` to integer pixels (n, d) by EM (the module's docstring).

    Parameters
    ----------
    train_pixels : array_like of ints in 0..16, shape (n, d)
    n_components : int
        K.
    max_iter : int
        EM iterations (each one E-step and one M-step).
    alpha : float
        The add-alpha smoothing of every component's histogram (the Dirichlet prior).
    rng : int, numpy.random.Generator or None
        Draws the initial responsibilities (Dirichlet(1) per digit).
    """
    pixels = as_pixels(train_pixels)
    if pixels.ndim != 2 or not len(pixels):
        raise ValueError(f"train_pixels must have shape (n, d) with n >= 1, got {pixels.shape}")
    k = count("n_components", n_components)
    max_iter = count("max_iter", max_iter)
    alpha = positive_scalar("alpha", alpha)
    n, d = pixels.shape
    one_hot = _one_hot(pixels)
    resp = as_rng(rng).dirichlet(np.ones(k), size=n)                # (n, K)
    history = []
    for it in range(max_iter + 1):
        # M-step: counts weighted by the responsibilities, smoothed
        nk = resp.sum(0)
        weights = (nk + 1.0) / (n + k)
        counts = (resp.T @ one_hot).reshape(k, d, LEVELS)
        probs = (counts + alpha) / (nk[:, None, None] + LEVELS * alpha)
        # the objective at these parameters, then the E-step: r_ik = P(k | pixels_i)
        log_joint = _log_joint(one_hot, weights, probs)
        log_px = logsumexp_np(log_joint, axis=1)
        history.append((log_px.sum() + _log_prior(weights, probs, alpha)) / n)
        if it == max_iter:
            break
        resp = np.exp(log_joint - log_px[:, None])
    return HistogramMixture(weights, probs, np.array(history))


def histogram_mixture_bits(mixture, test_pixels):
    """-log2 P(test digit) per pixel under a ``HistogramMixture``, shape (n_test,): exact."""
    if not isinstance(mixture, HistogramMixture):
        raise ValueError(f"mixture must be a HistogramMixture, got {mixture!r}")
    pixels = as_pixels(test_pixels)
    d = mixture.probs.shape[1]
    if pixels.ndim != 2 or pixels.shape[1] != d:
        raise ValueError(f"test_pixels must have shape (n, {d}), got {pixels.shape}")
    log_px = logsumexp_np(_log_joint(_one_hot(pixels), mixture.weights, mixture.probs), axis=1)
    return -log_px / (d * np.log(2.0))
