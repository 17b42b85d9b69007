"""The data sets of the notebooks, all made or read locally. No download.

* ``load_digits``: the 8x8 digits that ship with scikit-learn, the real data of notebooks 02 and
  04. ``sklearn.datasets.load_digits`` holds 1797 grey-scale images with integer pixels 0..16. We
  scale them to [0, 1] as float32 and split them once, with a fixed seed, into train and test.
  ``load_digits_with_labels`` gives the same images with their labels 0..9.
* ``two_moons``: the 2-D toy of notebook 05, drawn i.i.d. in numpy.
"""

from __future__ import annotations

import functools
from dataclasses import dataclass

import numpy as np

from ._deprecated import keyword_only
from ._results import retired_flag

__all__ = ["load_digits", "LabelledDigits", "load_digits_with_labels", "two_moons",
           "TEST_FRACTION", "SPLIT_SEED"]

TEST_FRACTION = 0.2
SPLIT_SEED = 0


def _raw_digits():
    """The 1797 x 65 table (64 pixels, then the label) that scikit-learn ships.

    Read straight from ``sklearn/datasets/data/digits.csv.gz``: the same file
    ``sklearn.datasets.load_digits`` reads, without importing ``sklearn.datasets`` (a slow
    import).
    Falls back to scikit-learn's loader if the file is not where it usually is.
    """
    import importlib.util
    from pathlib import Path

    spec = importlib.util.find_spec("sklearn")
    if spec is not None and spec.submodule_search_locations:
        path = Path(list(spec.submodule_search_locations)[0], "datasets", "data", "digits.csv.gz")
        if path.is_file():
            return np.loadtxt(path, delimiter=",")
    from sklearn.datasets import load_digits as sk_load_digits

    bunch = sk_load_digits()
    return np.column_stack([bunch.data, bunch.target])


@functools.lru_cache(maxsize=1)
def _split():
    raw = _raw_digits()
    x = (raw[:, :-1] / 16.0).astype(np.float32)
    y = raw[:, -1].astype(np.int64)
    order = np.random.default_rng(SPLIT_SEED).permutation(len(x))
    n_test = int(round(TEST_FRACTION * len(x)))
    test, train = order[:n_test], order[n_test:]
    return (x[train], y[train]), (x[test], y[test])


@dataclass(frozen=True)
class LabelledDigits:
    """What ``load_digits_with_labels`` returns: ``x`` (n, 64) float32 in [0, 1] and
    ``labels`` (n,) int64 in 0..9."""

    x: np.ndarray
    labels: np.ndarray


def _digits(split="train"):
    if split not in ("train", "test"):
        raise ValueError(f"split must be 'train' or 'test', got {split!r}")
    x, y = _split()[0 if split == "train" else 1]
    return x.copy(), y.copy()  # callers may modify their copy; the cached split stays intact


@retired_flag("return_labels", "load_digits(split, return_labels=True) is now "
              "load_digits_with_labels(split), with fields .x and .labels", _digits)
def load_digits(split="train"):
    """The bundled 8x8 digits as float32 pixels in [0, 1], shape (n, 64).

    Parameters
    ----------
    split : {"train", "test"}
        A fixed, seeded split: 1438 training and 359 test images.

    Returns
    -------
    ndarray, float32, shape (n, 64)
    """
    return _digits(split)[0]


def load_digits_with_labels(split):
    """``load_digits(split)`` and the digits' labels (0..9), for colouring latent maps.

    Returns
    -------
    LabelledDigits
        ``x`` (n, 64) float32 and ``labels`` (n,) int64, in the same order.
    """
    x, y = _digits(split)
    return LabelledDigits(x=x, labels=y)


@keyword_only(1, ["rng", "noise"])
def two_moons(n, *, rng=None, noise=0.03):
    """n i.i.d. points of two interleaved half circles in 2-D, on tiny-diffusion's scale.

    scikit-learn's ``make_moons`` places the points at evenly spaced angles, so two of its data
    sets differ only by their noise. Here each point draws its moon and its angle at random, so
    two calls are two independent samples of one distribution (what a held-out set should be).
    Then, as in tiny-diffusion, the first coordinate is mapped to (x + 0.3) 2 - 1 and the second
    to (y + 0.3) 3 - 1, which spreads the moons over about [-2.4, 3.6] x [-1.6, 2.9].

    Parameters
    ----------
    n : int
    rng : int, numpy.random.Generator or None
    noise : float, default 0.03
        Standard deviation of the Gaussian noise added to each coordinate before the mapping.

    Returns
    -------
    ndarray, float64, shape (n, 2)
    """
    from ._checks import as_float_array, as_rng, count

    n, rng = count("n", n), as_rng(rng)
    noise = float(as_float_array("noise", noise))
    if noise < 0:
        raise ValueError(f"noise must be >= 0, got {noise!r}")
    angle = rng.uniform(0.0, np.pi, n)
    inner = rng.random(n) < 0.5
    # outer moon: (cos a, sin a); inner moon: (1 - cos a, 1/2 - sin a)
    x = np.where(inner, 1.0 - np.cos(angle), np.cos(angle))
    y = np.where(inner, 0.5 - np.sin(angle), np.sin(angle))
    pts = np.column_stack([x, y]) + noise * rng.standard_normal((n, 2))
    return np.column_stack([(pts[:, 0] + 0.3) * 2 - 1, (pts[:, 1] + 0.3) * 3 - 1])
