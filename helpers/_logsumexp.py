"""log sum exp without the slow path of ``exp`` on underflow: the clamp, for numpy and torch.

Every sum of likelihoods in this project (eq. 2.3's naive estimate, grid quadrature of the
evidence) is computed as log sum_l exp(a_l) = m + log sum_l exp(a_l - m), with m the largest a_l.
Most terms of such sums are far below the largest: at c = 0.03 a decoder output a few pixels off
is hundreds of nats down. For those terms ``exp`` underflows to a subnormal number or to 0, and
on x86 CPUs numpy's and torch's ``exp`` then leave their fast path, many times slower.

So the shifted values are clamped from below at ``FLOOR`` before ``exp``, here only: every
log-sum-exp and log-mean-exp of the project (``helpers.evidence.log_mean_exp``, the naive
decoder, the VAEs' importance-weighted bounds) calls ``logsumexp_np``, ``logsumexp_torch`` or
``log_mean_exp_torch``. That cannot change the sum: it holds exp(0) = 1 from the maximum, and a clamped term, exp(FLOOR), is under 1e-37
(float32) or 1e-304 (float64), so even 2^20 of them stay far below half a unit in the last place
of 1 and are rounded away, exactly as the subnormal or zero terms they replace. A slice whose
entries are all -inf still gives -inf.
"""

from __future__ import annotations

import numpy as np

__all__ = ["FLOOR", "logsumexp_np", "logsumexp_torch", "log_mean_exp_torch"]

# the clamp, in units of the shifted log-value: exp(FLOOR) is still a normal number
FLOOR = {"float32": -87.0, "float64": -700.0}


def logsumexp_np(a, axis=-1, keepdims=False):
    """log sum exp(a) along ``axis`` for a float64 numpy array, like ``scipy.special.logsumexp``.

    No input checks (callers check), and cheaper than scipy's on small arrays: the 1-D mixture
    calls it once per denoising step.
    """
    shift = np.max(a, axis=axis, keepdims=True)
    finite = np.isfinite(shift)
    shift = np.where(finite, shift, 0.0)
    total = np.sum(np.exp(np.maximum(a - shift, FLOOR["float64"])), axis=axis, keepdims=True)
    out = np.where(finite, np.log(total) + shift, -np.inf)
    return out if keepdims else np.squeeze(out, axis=axis)


def logsumexp_torch(t, dim):
    """log sum exp(t) along ``dim`` for a float torch tensor; differentiable like torch.logsumexp.

    The shift is taken without gradient (the result does not depend on it); a clamped term gets
    zero gradient, where its true gradient, exp(t - result), is below exp(FLOOR).
    """
    import torch

    floor = FLOOR["float64"] if t.dtype == torch.float64 else FLOOR["float32"]
    shift = t.detach().amax(dim, keepdim=True)
    finite = torch.isfinite(shift)
    shift = torch.where(finite, shift, torch.zeros_like(shift))
    out = (t - shift).clamp(min=floor).exp().sum(dim).log() + shift.squeeze(dim)
    return torch.where(finite.squeeze(dim), out, torch.full_like(out, -np.inf))


def log_mean_exp_torch(t, dim):
    """log (1/n) sum exp(t) along ``dim`` (n = t.shape[dim]): ``logsumexp_torch`` minus log n."""
    return logsumexp_torch(t, dim) - np.log(t.shape[dim])
