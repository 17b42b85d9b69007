"""A discrete last step for the diffusion chain: the discretised Gaussian decoder (notebook 07).

Notebook 05's chain ends in a Gaussian density p(x_0 | x_1) on continuous x_0, which dequantised
pixels then score by a bound (``helpers.bits``). Ho et al. (2020, eq. 13) end it instead in a
probability of the discrete pixel: a Gaussian integrated over the pixel's cell,

    P(pixel = v | x_t) = Phi((e_{v+1} - mu) / s) - Phi((e_v - mu) / s),

with e_0 = -inf and e_17 = +inf (the outer cells take the tails), e_v = 2 v / 17 - 1 the cells'
edges on x' = 2x - 1, mu the network's guess of x_0 and s a width. Here the chain may stop at
any step t0 (not only t0 = 1): the steps below t0, where the network pays most (notebook 07, §4),
are replaced by one discrete step from x_t0, with mu = x0_hat(x_t0) = (x_t0 - sqrt(1 - alpha_bar)
eps_hat) / sqrt(alpha_bar). The bound on the discrete likelihood is then

    -log P(pixels) <= E_q[-log P(pixels | x_t0)] + sum_{t > t0} L_{t-1} + L_T,

notebook 05's denoising and prior terms for the steps kept (``DiffusionElbo.per_step``), with no
dequantisation constant: the decoder scores the pixels themselves. (x_0 in those terms may be
the dequantised digit: that q, mixed over u, is one more valid posterior, whose bound is looser
by the mutual information of u and the chain, so the bound stays a bound.)

t0 and s are chosen on validation digits (``choose_decoder``), never on the test digits.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from ._checks import as_rng, count, data_matrix, model_output, positive, positive_scalar
from .bits import LEVELS, as_pixels
from .gaussian import log_normal_mass
from .noise_schedule import NoiseSchedule, sigma_from_alpha_bar, x0_from_eps

__all__ = ["discretised_gaussian_nll", "predicted_x0", "stopped_chain_bits", "decoder_bits",
           "DecoderChoice", "choose_decoder", "candidate_steps", "CANDIDATE_STDS"]

# The widths s that ``choose_decoder`` tries unless told otherwise: nine, evenly spaced in log
# from 0.05 (under half a grey level of x' = 2x - 1, whose levels are 2/17 = 0.118 apart) to 0.8.
CANDIDATE_STDS = np.geomspace(0.05, 0.8, 9)


def discretised_gaussian_nll(pixels, mean, std, *, scale=2.0, shift=-1.0):
    """-log P(pixels | mean, std) of Ho et al. (2020) eq. 13, summed over pixels, shape (n,), nats.

    Parameters
    ----------
    pixels : array_like of ints in 0..16, shape (n, d)
    mean : array_like, shape (n, d)
        mu on the model's scale x' = scale (pixel + u) / 17 + shift.
    std : float or array broadcasting against mean, > 0
    """
    pixels = as_pixels(pixels)
    mean = data_matrix("mean", mean)
    if mean.shape != pixels.shape:
        raise ValueError(f"mean must have the shape of pixels {pixels.shape}, got {mean.shape}")
    std = positive("std", std)
    h = scale / LEVELS
    lo = np.where(pixels == 0, -np.inf, shift + h * pixels)
    hi = np.where(pixels == LEVELS - 1, np.inf, shift + h * (pixels + 1))
    return -log_normal_mass((lo - mean) / std, (hi - mean) / std).sum(-1)


def predicted_x0(x0, eps_model, schedule, t, *, rng=None):
    """x0_hat(x_t) = (x_t - sqrt(1 - alpha_bar_t) eps_hat) / sqrt(alpha_bar_t), x_t ~ q(x_t | x_0).

    One fresh draw of x_t per row at the int step t; shape (n, d).
    """
    x0 = data_matrix("x0", x0)
    if not isinstance(schedule, NoiseSchedule):
        raise ValueError(f"schedule must be a NoiseSchedule, got {schedule!r}")
    t = schedule.check_step(t)
    x_t, _ = schedule.q_sample_unchecked(x0, t, as_rng(rng))
    eps_hat = model_output(eps_model(x_t, t), x_t.shape, "eps_model(x_t, t)", f"t={t}")
    return x0_from_eps(x_t, eps_hat, schedule.alpha_bar[t - 1])


def stopped_chain_bits(per_step, prior, decoder_nll, t, *, d):
    """Bits per pixel of the chain stopped at step t with a discrete decoder, one per digit.

    (decoder_nll + sum_{s = t+1..T} per_step[s-1] + prior) / (d log 2), d pixels per digit, from
    ``diffusion_elbo``'s ``per_step`` (T, n) and ``prior`` (n,) on the same digits.
    """
    per_step = np.asarray(per_step, dtype=float)
    nats = np.asarray(decoder_nll, float) + per_step[t:].sum(0) + np.asarray(prior, float)
    return nats / (count("d", d) * np.log(2.0))


def decoder_bits(pixels, x0, eps_model, schedule, per_step, prior, *, t, std, rng=None):
    """Bits per pixel of each digit, shape (n,): the chain stopped at step t, ended by the
    discretised Gaussian of width ``std`` at x0_hat(x_t) (one draw of x_t per row, ``rng``).

    ``pixels`` and ``x0`` as ``choose_decoder``'s; ``per_step`` and ``prior`` are
    ``diffusion_elbo(x0, ...)``'s fields on the same digits.
    """
    mean = predicted_x0(x0, eps_model, schedule, t, rng=rng)
    nll = discretised_gaussian_nll(pixels, mean, std)
    return stopped_chain_bits(per_step, prior, nll, t, d=mean.shape[1])


@dataclass(frozen=True)
class DecoderChoice:
    """What ``choose_decoder`` picked, and the validation bits behind the pick.

    Attributes
    ----------
    t, std : int, float
        The stopping step and the decoder's width with the lowest validation bits.
    steps, stds : ndarray
        The candidates tried.
    bits : ndarray, shape (len(steps), len(stds))
        Mean validation bits per pixel of each pair.
    """

    t: int
    std: float
    steps: np.ndarray
    stds: np.ndarray
    bits: np.ndarray


def candidate_steps(schedule, *, sigma_lo=0.03, sigma_hi=1.5, every=3):
    """The stopping steps ``choose_decoder`` tries unless told otherwise, as ints in 1..T.

    Every ``every``-th step, from the lowest, of those whose noise level
    sigma_t = sqrt((1 - alpha_bar_t) / alpha_bar_t) on x' = 2x - 1 lies strictly between
    ``sigma_lo`` and ``sigma_hi``: from a quarter of a grey level (the levels are 2/17 = 0.118
    apart on x') to well above the digits' own spread, where no stop can pay.
    """
    if not isinstance(schedule, NoiseSchedule):
        raise ValueError(f"schedule must be a NoiseSchedule, got {schedule!r}")
    sigma_lo, sigma_hi = positive_scalar("sigma_lo", sigma_lo), positive_scalar("sigma_hi", sigma_hi)
    if not sigma_lo < sigma_hi:
        raise ValueError(f"sigma_lo must be below sigma_hi, got {sigma_lo} and {sigma_hi}")
    sigma = sigma_from_alpha_bar(np.asarray(schedule.alpha_bar, dtype=float))
    steps = np.nonzero((sigma > sigma_lo) & (sigma < sigma_hi))[0][::count("every", every)] + 1
    if steps.size == 0:
        raise ValueError(f"no step of the schedule has sigma between sigma_lo = {sigma_lo} and "
                         f"sigma_hi = {sigma_hi}")
    return steps


def choose_decoder(pixels, x0, eps_model, schedule, per_step, prior, *, steps=None, stds=None,
                   rng=None):
    """Pick the stopping step and the decoder's width on validation digits.

    Parameters
    ----------
    pixels : integer pixels of the validation digits, shape (n, d)
    x0 : their dequantised values on the model's scale, shape (n, d)
    eps_model, schedule : as ``helpers.diffusion.diffusion_elbo``
    per_step, prior : ``diffusion_elbo(x0, ...)``'s fields on the same digits
    steps : ints in 1..T, the candidate stopping steps (default ``candidate_steps(schedule)``)
    stds : floats > 0, the candidate widths s (default ``CANDIDATE_STDS``)
    rng : seed for the draws of x_t (one per candidate step)
    """
    steps = candidate_steps(schedule) if steps is None else np.asarray(steps, dtype=int)
    stds = positive("stds", np.asarray(CANDIDATE_STDS if stds is None else stds, dtype=float))
    rng = as_rng(rng)
    bits = np.empty((len(steps), len(stds)))
    for i, t in enumerate(steps):
        mean = predicted_x0(x0, eps_model, schedule, int(t), rng=rng)
        for j, s in enumerate(stds):
            nll = discretised_gaussian_nll(pixels, mean, s)
            bits[i, j] = stopped_chain_bits(per_step, prior, nll, int(t), d=mean.shape[1]).mean()
    i, j = np.unravel_index(np.argmin(bits), bits.shape)
    return DecoderChoice(int(steps[i]), float(stds[j]), steps, stds, bits)
