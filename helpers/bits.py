"""One unit for every model of the digits: bits per pixel of the 17-level pixels (notebook 07).

The digits' pixels are integers 0..16 (``LEVELS`` = 17 values). A density p on continuous x
cannot be scored on integers directly; uniform dequantisation (Theis et al. 2016; Ho et al.
2019) makes it a bound on the discrete likelihood. With x = (pixel + u) / 17, u ~ U[0, 1)^d,

    log P(pixel) >= E_u log p(x) - d log 17,

because the model P(pixel) = int over the pixel's cell of p(x) dx is a proper distribution on
the integers, and Jensen's inequality takes the log inside the integral over the cell (whose
volume is 17^-d). A model that works on x' = scale x + shift instead (the diffusion model of
notebook 07 uses x' = 2x - 1) has log p(x) = log p'(x') + d log scale: the change of variables
is part of the bound.

* ``to_pixels`` and ``dequantise``: from ``helpers.data.load_digits``'s [0, 1] values to the
  integers and back to a continuous x in [0, 1)^d;
* ``bits_per_pixel``: the bound above, as bits per pixel (lower is better), from log p;
* ``independent_pixel_probs``: each pixel's histogram over the 17 values;
* ``independent_pixel_bits``: a baseline that needs no model, each pixel on its own with the
  histogram of the training split, add-one smoothed;
* ``mean_and_se``: a mean over test digits with its standard error, how every table reports.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from ._checks import as_float_array, as_rng, positive_scalar
from ._deprecated import keyword_only

__all__ = ["LEVELS", "to_pixels", "as_pixels", "dequantise", "bits_per_pixel", "independent_pixel_probs",
           "independent_pixel_bits",
           "MeanSE", "mean_and_se", "paired_difference"]

LEVELS = 17  # the digits' pixels take the values 0..16


def to_pixels(x):
    """The integer pixels 0..16 of digits scaled to [0, 1] (``load_digits``), as int64.

    Raises ``ValueError`` unless every 16 x is within 1e-4 of an integer in 0..16.
    """
    x = as_float_array("x", x)
    level = np.rint(x * (LEVELS - 1))
    bad = (np.abs(x * (LEVELS - 1) - level) > 1e-4) | (level < 0) | (level > LEVELS - 1)
    if bad.any():
        raise ValueError(f"x must hold multiples of 1/{LEVELS - 1} in [0, 1] (load_digits), "
                         f"found {x[bad][0]!r}")
    return level.astype(np.int64)


def as_pixels(pixels):
    """Integer pixels 0..16 as int64; anything else raises ``ValueError``."""
    arr = as_float_array("pixels", pixels)
    if (arr != np.rint(arr)).any() or (arr < 0).any() or (arr > LEVELS - 1).any():
        raise ValueError(f"pixels must be integers in 0..{LEVELS - 1}, found "
                         f"{arr[(arr != np.rint(arr)) | (arr < 0) | (arr > LEVELS - 1)][0]!r}")
    return arr.astype(np.int64)


@keyword_only(1, ["rng"])
def dequantise(pixels, *, rng=None):
    """x = (pixel + u) / 17 with u ~ U[0, 1), float64 in [0, 1): one draw per pixel."""
    pixels = as_pixels(pixels)
    return (pixels + as_rng(rng).random(pixels.shape)) / LEVELS


@keyword_only(2, ["scale"])
def bits_per_pixel(log_p, d, *, scale=1.0):
    """The dequantised bound on -log2 P(pixel) per pixel, from a model's log-density in nats.

    Parameters
    ----------
    log_p : array_like
        log p'(x') of the model at x' = scale x + shift, with x = (pixel + u) / 17 the
        dequantised digit (one value per digit, in nats).
    d : int
        Pixels per digit (64).
    scale : float
        The model's scale on x (1 for a model of x itself, 2 for x' = 2x - 1).

    Returns
    -------
    ndarray of the shape of ``log_p``:
    (d log 17 - log p(x)) / (d log 2), with log p(x) = log p'(x') + d log scale.
    Uniform pixels (p = 1 on [0, 1)^d) give log2(17) = 4.09.
    """
    log_p = as_float_array("log_p", log_p)
    if isinstance(d, bool) or not isinstance(d, (int, np.integer)) or d < 1:
        raise ValueError(f"d must be an int >= 1, got {d!r}")
    scale = positive_scalar("scale", scale)
    log_p_x = log_p + d * np.log(scale)
    return (d * np.log(LEVELS) - log_p_x) / (d * np.log(2.0))


def independent_pixel_probs(train_pixels, *, alpha=1.0):
    """The histogram of each pixel, shape (d, 17): P(pixel j = v), add-``alpha`` smoothed.

    P(pixel j = v) = (count_j(v) + alpha) / (n_train + 17 alpha), the counts taken over the
    training split (the smoothing keeps values unseen in training possible).
    """
    train = as_pixels(train_pixels)
    alpha = positive_scalar("alpha", alpha)
    if train.ndim != 2 or not len(train):
        raise ValueError(f"train_pixels must have shape (n, d) with n >= 1, got {train.shape}")
    d = train.shape[1]
    counts = np.zeros((d, LEVELS))
    np.add.at(counts, (np.broadcast_to(np.arange(d), train.shape), train), 1.0)
    return (counts + alpha) / (len(train) + LEVELS * alpha)


@keyword_only(2, ["alpha"])
def independent_pixel_bits(train_pixels, test_pixels, *, alpha=1.0):
    """-log2 P(test digit) per pixel when each pixel is its own categorical, shape (n_test,).

    P(pixel j = v) from ``independent_pixel_probs`` (the training split's counts, smoothed): the
    best model that ignores how pixels go together, up to the smoothing. An exact discrete
    likelihood, not a bound.
    """
    train, test = as_pixels(train_pixels), as_pixels(test_pixels)
    if train.ndim != 2 or test.ndim != 2 or train.shape[1] != test.shape[1] or not len(train):
        raise ValueError(f"train_pixels and test_pixels must have shapes (n, d) and (m, d), got "
                         f"{train.shape} and {test.shape}")
    d = train.shape[1]
    log_p = np.log(independent_pixel_probs(train, alpha=alpha))
    return -log_p[np.arange(d), test].sum(axis=1) / (d * np.log(2.0))


@dataclass(frozen=True)
class MeanSE:
    """A mean over examples and its standard error (sample sd / sqrt(n))."""

    mean: float
    se: float
    n: int

    def __format__(self, spec):
        """``f"{m:.3f}"`` gives "2.424 ± 0.010"; a sign (``+.3f``) applies to the mean only."""
        spec = spec or ".2f"
        return f"{self.mean:{spec}} ± {self.se:{spec.lstrip('+- ')}}"


def paired_difference(a, b):
    """``MeanSE`` of a - b example by example: a paired comparison of two models on one test set.

    Both arrays hold per-example values in the same order; where one covers fewer examples (an
    expensive bound computed on the first n digits only), the two are compared on those first n.
    Its standard error is that of the per-example differences, far smaller than either model's
    own spread across examples when the two models find the same examples hard.
    """
    a, b = as_float_array("a", a), as_float_array("b", b)
    if a.ndim != 1 or b.ndim != 1:
        raise ValueError(f"a and b must be 1-D per-example values, got shapes {a.shape} and {b.shape}")
    n = min(a.size, b.size)
    return mean_and_se(a[:n] - b[:n])


def mean_and_se(values):
    """``MeanSE`` of a 1-D array of per-example values (n >= 2)."""
    values = as_float_array("values", values)
    if values.ndim != 1 or values.size < 2:
        raise ValueError(f"values must be 1-D with at least 2 entries, got shape {values.shape}")
    return MeanSE(float(values.mean()), float(values.std(ddof=1) / np.sqrt(values.size)),
                  int(values.size))
