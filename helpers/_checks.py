"""Input checks shared by every helper (scikit-learn style: fail at the public boundary).

Each check raises ``ValueError`` whose message names the argument and shows its value, so a
learner sees ``sigma must be > 0, got -1.0`` instead of a NaN three cells later. Randomness is
checked one way: ``seed`` for whole-number seeds, which ``as_rng`` (numpy) and
``as_torch_generator`` (torch; torch is imported only when that is called) both use.
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
    if not allow_inf and np.isfinite(arr).all():  # the usual case, in one pass
        return arr
    if np.isnan(arr).any():
        raise ValueError(f"{name} must not contain NaN, got {_show(value)}")
    if not allow_inf and np.isinf(arr).any():
        raise ValueError(f"{name} must be finite, got {_show(value)}")
    return arr


def data_matrix(name, value):
    """A finite float array of shape (n, d) with n, d >= 1: a data set, one example per row."""
    arr = as_float_array(name, value)
    if arr.ndim != 2 or arr.shape[0] == 0 or arr.shape[1] == 0:
        raise ValueError(f"{name} must have shape (n, d) with n, d >= 1, got {arr.shape}")
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


def steps_within(name, values, last):
    """Sorted distinct whole numbers in 1..``last`` (training steps, e.g. for snapshots)."""
    steps = sorted({count(name, v) for v in values})
    if steps and steps[-1] > last:
        raise ValueError(f"{name} must lie in 1..{last}, got {steps!r}")
    return steps


def seed(name, value):
    """A whole-number seed >= 0: a training run's ``seed``, or an int ``rng``."""
    if isinstance(value, bool) or not isinstance(value, numbers.Integral) or value < 0:
        raise ValueError(f"{name} must be a whole number >= 0, got {value!r}")
    return int(value)


def as_rng(rng):
    """``rng`` as a ``numpy.random.Generator``: an int seed, a Generator, or None (fresh entropy)."""
    if isinstance(rng, np.random.Generator):
        return rng
    if rng is None or isinstance(rng, np.random.SeedSequence):
        return np.random.default_rng(rng)
    if isinstance(rng, numbers.Integral) and not isinstance(rng, bool):
        return np.random.default_rng(seed("rng", rng))
    raise ValueError(f"rng must be an int seed, a numpy Generator or None, got {rng!r}")


def as_torch_generator(rng, name="rng"):
    """``rng`` as a ``torch.Generator``: an int seed, a Generator, or None (fresh entropy)."""
    import torch

    if isinstance(rng, torch.Generator):
        return rng
    if rng is None:
        return torch.Generator().manual_seed(int(np.random.SeedSequence().generate_state(1)[0]))
    if isinstance(rng, numbers.Integral) and not isinstance(rng, bool):
        return torch.Generator().manual_seed(seed(name, rng))
    raise ValueError(f"{name} must be a seed >= 0, a torch.Generator or None, got {rng!r}")


def as_float32_tensor(name, x, n_cols=None):
    """``x`` (array or tensor) as a float32 torch tensor of shape (n, d), finite everywhere."""
    import torch

    if isinstance(x, torch.Tensor):
        t = x.detach() if x.requires_grad else x
        if not torch.isfinite(t).all():
            raise ValueError(f"{name} must be finite, found a NaN or inf entry")
        t = x.to(torch.float32)
    else:
        t = torch.as_tensor(as_float_array(name, x), dtype=torch.float32)
    if t.ndim != 2:
        raise ValueError(f"{name} must have shape (n, d), got shape {tuple(t.shape)}")
    if n_cols is not None and t.shape[1] != n_cols:
        raise ValueError(f"{name} must have shape (n, {n_cols}), got shape {tuple(t.shape)}")
    return t


def broadcastable(a, b, name_a, name_b):
    """Raise a named ``ValueError`` if the leading (batch) axes of ``a`` and ``b`` do not broadcast."""
    try:
        np.broadcast_shapes(a.shape[:-1], b.shape[:-1])
    except ValueError:
        raise ValueError(f"{name_a} of shape {a.shape} and {name_b} of shape {b.shape} have leading "
                         f"axes that do not broadcast") from None


def unit_interval(name, value):
    """A float array with every entry in [0, 1] (probabilities u, continuous times t)."""
    arr = as_float_array(name, value)
    bad = (arr < 0) | (arr > 1)
    if bad.any():
        raise ValueError(f"{name} must lie in [0, 1], got {arr[bad].flat[0].item()!r}")
    return arr


def alpha_bar_level(value, *, name="alpha_bar", allow_one=True, like=None, like_name="x"):
    """A noise level alpha_bar as a float array in (0, 1] ((0, 1) when not ``allow_one``), and,
    when ``like`` (an array) is given, broadcasting with it."""
    ab = as_float_array(name, value)
    bad = (ab <= 0) | ((ab >= 1) if not allow_one else (ab > 1))
    if bad.any():
        interval = "(0, 1]" if allow_one else "(0, 1)"
        raise ValueError(f"{name} must lie in {interval}, got {ab[bad].flat[0].item()!r}")
    if like is not None:
        try:
            np.broadcast_shapes(np.shape(like), ab.shape)
        except ValueError:
            raise ValueError(f"{name} of shape {ab.shape} does not broadcast with {like_name} of "
                             f"shape {np.shape(like)}") from None
    return ab


def model_output(out, shape, call, where):
    """A model's output as float64, checked to be finite and of ``shape``: ``call`` names the call
    (e.g. "eps_model(x_t, t)") and ``where`` the point it was made at (e.g. "t=3")."""
    out = np.asarray(out, dtype=np.float64)
    if out.shape != shape:
        raise ValueError(f"{call} must return shape {shape}, got {out.shape} at {where}")
    if not np.isfinite(out).all():
        raise ValueError(f"{call} returned non-finite values at {where}")
    return out


def float_or_array(arr):
    """A 0-d result as a Python float, any other as the array: what functions that take a float
    or an array give back."""
    return float(arr) if arr.ndim == 0 else arr
