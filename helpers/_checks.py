"""Input checks shared by every helper (scikit-learn style: fail at the public boundary).

Each check raises ``ValueError`` whose message names the argument and shows its value, so a
learner sees ``sigma must be > 0, got -1.0`` instead of a NaN three cells later.
"""

from __future__ import annotations

import numbers

import numpy as np


def _show(value):
    """A short, readable rendering of a bad value for an error message."""
    arr = np.asarray(value)
    if arr.ndim == 0:
        return repr(arr.item()) if arr.dtype != object else repr(value)
    return f"array of shape {arr.shape}"


def as_float_array(name, value, *, allow_inf=False):
    """``value`` as a float64 array; NaN (and inf, unless allowed) raise ``ValueError``."""
    try:
        arr = np.asarray(value, dtype=np.float64)
    except (TypeError, ValueError):
        raise ValueError(f"{name} must be numeric, got {value!r}") from None
    if np.isnan(arr).any():
        raise ValueError(f"{name} must not contain NaN, got {_show(value)}")
    if not allow_inf and np.isinf(arr).any():
        raise ValueError(f"{name} must be finite, got {_show(value)}")
    return arr


def positive(name, value):
    """A finite array (or scalar) > 0, e.g. ``sigma`` or the decoder variance ``c``."""
    arr = as_float_array(name, value)
    if (arr <= 0).any():
        bad = arr[arr <= 0].flat[0] if arr.ndim else arr.item()
        raise ValueError(f"{name} must be > 0, got {bad!r}" if arr.ndim == 0
                         else f"{name} must be > 0 everywhere, found {bad!r}")
    return arr


def positive_scalar(name, value):
    """A finite Python float > 0."""
    arr = positive(name, value)
    if arr.ndim != 0:
        raise ValueError(f"{name} must be a scalar, got {_show(value)}")
    return float(arr)


def count(name, value, minimum=1):
    """A whole number >= ``minimum`` (sample counts, grid sizes, dimensions)."""
    if isinstance(value, bool) or not isinstance(value, (numbers.Integral, float, np.floating)):
        raise ValueError(f"{name} must be a whole number >= {minimum}, got {value!r}")
    if isinstance(value, (float, np.floating)) and not float(value).is_integer():
        raise ValueError(f"{name} must be a whole number >= {minimum}, got {value!r}")
    n = int(value)
    if n < minimum:
        raise ValueError(f"{name} must be a whole number >= {minimum}, got {value!r}")
    return n


def as_rng(rng):
    """``rng`` as a ``numpy.random.Generator``: an int seed, a Generator, or None (fresh entropy)."""
    if rng is None or isinstance(rng, (numbers.Integral, np.random.SeedSequence)):
        if isinstance(rng, bool):
            raise ValueError(f"rng must be an int seed, a numpy Generator or None, got {rng!r}")
        if isinstance(rng, numbers.Integral) and rng < 0:
            raise ValueError(f"rng seed must be >= 0, got {rng!r}")
        return np.random.default_rng(rng)
    if isinstance(rng, np.random.Generator):
        return rng
    raise ValueError(f"rng must be an int seed, a numpy Generator or None, got {rng!r}")
