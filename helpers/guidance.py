"""Classifier-free guidance: one noise predictor, with and without the class (notebook 07).

Ho & Salimans (2022) train a single eps_theta(x, sigma, y) in which the label y is replaced, for
a fraction ``p_uncond`` of the training rows, by a null label: the net then learns the
conditional E[eps | x, y] and the unconditional E[eps | x] at once. At sampling time, with a
guidance weight w >= 0,

    eps_guided = (1 + w) eps(x, sigma, y) - w eps(x, sigma, null),

which is the eps of the tilted density p(x | y)^(1 + w) / p(x)^w (Tweedie's formula read
backwards, as in ``helpers.score.score_from_eps``): w = 0 is the conditional model itself;
larger w pushes samples to where the class is most recognisable, at the cost of diversity. The
unconditional eps(x, sigma, null) is a model of the data like any other: its ELBO and ODE
likelihood are the ones that count. A guided sampler is a model too (its chain has an ELBO,
notebook 07 section 6), but a worse one of the data: guidance gives likelihood away.

* ``ConditionalEpsNet``: ``helpers.denoiser.ContinuousEpsNet`` with a one-hot label (null last)
  among F_theta's inputs; it trains in float32, and is evaluated in float32 or float64;
* ``guided_eps``: the formula above, its one home;
* ``train_guided_eps_fn``: the training loop with label dropout (notebook 07 writes it out);
* ``GuidedEpsFn``: the trained net as an ``eps_fn`` (``helpers.score``) for any labels and w,
  or as an ``eps_model`` (``helpers.diffusion``) for a schedule.
"""

from __future__ import annotations

import time
from dataclasses import dataclass, replace

import numpy as np
import torch

from ._checks import as_float_array, count, data_matrix, positive_scalar, seed as check_seed
from ._deprecated import keyword_only, renamed_arguments
from .denoiser import ContinuousEpsNet, single_level
from .nets import (Adam, cosine_lr, evaluate_in_chunks, float_dtype, frozen, in_float64,
                   torch_threads)
from .noise_schedule import NoiseSchedule, alpha_bar_from_log_sigma, log_sigma_from_alpha_bar
from .progress import progress_bar

__all__ = ["ConditionalEpsNet", "guided_eps", "train_guided_eps_fn", "GuidedEpsFn", "WEIGHTINGS"]


class ConditionalEpsNet(ContinuousEpsNet):
    """eps_theta(x, sigma, y): ``ContinuousEpsNet`` that also reads a class label.

    The label enters F_theta as a one-hot vector of length n_classes + 1; index ``null`` =
    n_classes is the null label of classifier-free guidance. Everything else (the level features,
    the output form, ``draw_level``) is ``ContinuousEpsNet``'s. Built in float32, the dtype it
    trains in; finite differences of it (``helpers.score``) need float64
    (``GuidedEpsFn.in_float64``).
    """

    @keyword_only(3, ("hidden", "n_layers", "n_freqs", "max_freq", "sigma_min", "sigma_max"))
    def __init__(self, d, n_classes, *, hidden=256, n_layers=3, n_freqs=8, max_freq=20.0,
                 sigma_min=0.01, sigma_max=80.0):
        super().__init__(d, hidden=hidden, n_layers=n_layers, n_freqs=n_freqs,
                         max_freq=max_freq, sigma_min=sigma_min, sigma_max=sigma_max)
        self.n_classes = count("n_classes", n_classes)
        self.null = self.n_classes
        first = self.mlp[0]
        self.mlp[0] = torch.nn.Linear(first.in_features + self.n_classes + 1, first.out_features)
        self.float()

    def forward(self, x, log_sigma, y):
        """eps_theta for x (n, d) of the net's dtype, log sigma (n,) or (), labels y (n,) int."""
        y = torch.as_tensor(y).reshape(-1)
        onehot = torch.nn.functional.one_hot(y, self.n_classes + 1).to(x.dtype)
        return super().forward(x, log_sigma, (onehot.expand(len(x), -1),))


def _weight(w):
    w_arr = as_float_array("w", w)
    if w_arr.ndim != 0 or w_arr < 0:
        raise ValueError(f"w must be a float >= 0, got {w!r}")
    return float(w_arr)


def guided_eps(eps_cond, eps_uncond, w):
    """(1 + w) eps_cond - w eps_uncond (Ho & Salimans 2022), numpy or torch; w >= 0 a float."""
    w = _weight(w)
    if np.shape(eps_cond) != np.shape(eps_uncond):
        raise ValueError(f"eps_cond and eps_uncond must have the same shape, got "
                         f"{tuple(np.shape(eps_cond))} and {tuple(np.shape(eps_uncond))}")
    return (1 + w) * eps_cond - w * eps_uncond


def _labels(name, y, n, n_classes):
    arr = as_float_array(name, y).reshape(-1)
    if arr.shape != (n,) or (arr != np.rint(arr)).any() or (arr < 0).any() or (
            arr > n_classes).any():
        raise ValueError(f"{name} must hold {n} integer labels in 0..{n_classes} "
                         f"({n_classes} = null), got {_short(y)}")
    return torch.as_tensor(arr.astype(np.int64))


def _short(value):
    arr = np.asarray(value)
    return repr(arr.tolist()) if arr.size <= 6 else f"an array of shape {arr.shape}"


@dataclass(frozen=True)
class GuidedEpsFn:
    """A trained ``ConditionalEpsNet`` (frozen, float32 or float64), its loss per step, seconds.

    Calls run in the net's dtype and return float64 numpy; ``in_float64()`` is the same model in
    float64, what finite differences of it (``helpers.score.pf_ode_log_likelihood``) need.

    ``eps_fn(y=None, w=0.0)`` is an ``eps_fn`` for ``helpers.score``: unconditional (the null
    label) when y is None; else guided towards labels y (one per row of x, shape (n,)) with
    weight w, both predictions from one call on 2n rows (``chunk_size`` rows at a time). ``eps_model(schedule, ...)``
    is the same at the steps of a ``NoiseSchedule``, an ``eps_model`` for ``helpers.diffusion``;
    ``eps_models(schedule, y=..., ws=...)`` gives one for each of several w, sharing their calls.
    """

    net: ConditionalEpsNet
    history: np.ndarray
    train_s: float

    def __post_init__(self):
        if not isinstance(self.net, ConditionalEpsNet) or self.net.freqs.dtype not in (
                torch.float32, torch.float64):
            raise ValueError(f"net must be a ConditionalEpsNet in float32 or float64, "
                             f"got {type(self.net).__name__}")

    def in_float64(self):
        """This model with a float64 copy of its net (itself if the net is float64 already)."""
        net = in_float64(self.net)
        return self if net is self.net else replace(self, net=net)

    @renamed_arguments(batch_size="chunk_size")
    def __call__(self, x, alpha_bar, y=None, w=0.0, chunk_size=4096):
        """eps_theta at x (n, d), a float alpha_bar in (0, 1], labels y (n,) or None, weight w."""
        out = self._predictions(x, alpha_bar, y, chunk_size)
        return out if y is None else guided_eps(*out, w)

    def _predictions(self, x, alpha_bar, y, chunk_size=4096):
        """The unconditional prediction (y None), or the pair (conditional, unconditional) from
        one call on 2n rows: what ``__call__`` and ``eps_models`` combine."""
        x = data_matrix("x", x)
        if x.shape[1] != self.net.d:
            raise ValueError(f"x must have shape (n, {self.net.d}), got {x.shape}")
        log_sigma = log_sigma_from_alpha_bar(single_level(alpha_bar))
        chunk_size = count("chunk_size", chunk_size)
        null = torch.full((len(x),), self.net.null)
        xt = torch.as_tensor(x, dtype=self.net.freqs.dtype)
        if y is not None:  # rows [x; x] with labels [y; null]: one call for both predictions
            y = _labels("y", y, len(x), self.net.n_classes)
            xt, labels = torch.cat([xt, xt]), torch.cat([y, null])
        else:
            labels = null
        out = evaluate_in_chunks(lambda rows, y_rows: self.net(rows, log_sigma, y_rows), xt,
                                 labels, chunk_size=chunk_size)
        return out if y is None else (out[:len(x)], out[len(x):])

    @keyword_only(1, ("y", "w"))
    def eps_fn(self, *, y=None, w=0.0):
        """The callable (x, alpha_bar) -> eps_hat: unconditional, or guided towards y with w."""
        if y is not None:
            y = _labels("y", y, np.size(y), self.net.n_classes).numpy()
        w = _weight(w)
        return lambda x, alpha_bar: self(x, alpha_bar, y, w)

    @keyword_only(2, ("y", "w"))
    def eps_model(self, schedule, *, y=None, w=0.0):
        """``eps_fn(y, w)`` at the steps of ``schedule``: (x_t, t) -> eps_hat, t in 1..T."""
        if not isinstance(schedule, NoiseSchedule):
            raise ValueError(f"schedule must be a NoiseSchedule, got {schedule!r}")
        eps_fn = self.eps_fn(y=y, w=w)
        return lambda x_t, t: eps_fn(x_t, float(schedule.alpha_bar[t - 1]))

    def eps_models(self, schedule, *, y, ws):
        """``eps_model(schedule, y=y, w=w)`` for each w in ``ws``, sharing the network's calls.

        Notebook 07 §6 scores the guided chain at several w with equal draws (the same rng), so
        every w meets the same x_t at step t: the conditional and unconditional predictions there
        are computed once, kept per step, and combined for each w by ``guided_eps``. The results
        equal separate ``eps_model`` calls exactly; the cache holds one x_t and two predictions
        per step (T (n + 2n) d floats).
        """
        if not isinstance(schedule, NoiseSchedule):
            raise ValueError(f"schedule must be a NoiseSchedule, got {schedule!r}")
        y = _labels("y", y, np.size(y), self.net.n_classes).numpy()
        cache = {}

        def make(w):
            def eps_model(x_t, t):
                hit = cache.get(t)
                if hit is None or not np.array_equal(hit[0], x_t):
                    hit = cache[t] = (np.array(x_t, dtype=float),
                                      *self._predictions(x_t, float(schedule.alpha_bar[t - 1]), y))
                return guided_eps(hit[1], hit[2], w)
            return eps_model

        return [make(_weight(w)) for w in ws]


WEIGHTINGS = ("ode", "elbo")


def _elbo_level(net, n, gen):
    """n training levels for the ELBO's weighting: log sigma ~ U[log sigma_min, log sigma_max],
    shape (n,), alpha_bar per row, (n, 1), and the loss weight 1 (``train_guided_eps_fn``)."""
    lo, hi = net.log_sigma_range
    log_sigma = lo + (hi - lo) * torch.rand(n, generator=gen, dtype=net.freqs.dtype)
    return log_sigma, alpha_bar_from_log_sigma(log_sigma)[:, None], 1.0


def train_guided_eps_fn(x0, labels, *, n_classes, p_uncond=0.2, steps=1200, batch_size=256,
                        lr=2e-3, hidden=256, n_layers=3, sigma_min=0.01, sigma_max=80.0,
                        weighting="ode", seed=0, dtype="float64", progress=True,
                        desc="training eps_theta(x, sigma, y)"):
    """Fit a ``ConditionalEpsNet`` with label dropout: ``train_eps_fn``'s loss, plus labels.

    Each step draws a batch of (x_0, y) pairs, replaces each y by the null label with
    probability ``p_uncond``, draws levels (``ContinuousEpsNet.draw_level``) and noise, and takes
    one Adam step on E[(1 + sigma^2) || eps - eps_theta(x, sigma, y) ||^2]; the learning rate
    decays along a half cosine. These are the lines notebook 07 writes out, in the same order,
    so equal seeds give the same model to the last bit on one machine (float32, one torch thread).

    Parameters
    ----------
    x0 : array, shape (n, d)
        Training data (notebook 07: dequantised digits scaled to [-1, 1)).
    labels : int array, shape (n,)
        Classes 0..n_classes-1.
    n_classes : int
    p_uncond : float in [0, 1]
        Probability of the null label per training row (1: an unconditional model only).
    steps, batch_size, lr, seed, progress, desc
        As ``helpers.denoiser.train_eps_fn``.
    hidden, n_layers, sigma_min, sigma_max
        The ``ConditionalEpsNet``.
    weighting : {"ode", "elbo"}
        Which noise levels the loss weighs. ``"ode"`` (notebooks 06 and 07 §3):
        ``ContinuousEpsNet.draw_level``'s levels and weight 1 + sigma^2, flat in sigma, what
        the ODE sampler integrates over; good samples. ``"elbo"``: log sigma uniform on
        [log sigma_min, log sigma_max] with weight 1, the continuous-time ELBO's own weighting
        (Kingma et al. 2021, eq. 17: -ELBO is the integral of the eps error over log SNR =
        -2 log sigma, up to constants), so the loss is that bound's diffusion term; good bits.
    dtype : {"float64", "float32"}
        The returned net's dtype when called (it always trains in float32). float32 costs the
        ELBO's many calls about 40 % less; finite differences (the ODE likelihood) need float64,
        ``GuidedEpsFn.in_float64``.

    Returns
    -------
    GuidedEpsFn
    """
    x0 = data_matrix("x0", x0)
    n_classes = count("n_classes", n_classes)
    y0 = _labels("labels", labels, len(x0), n_classes - 1)
    p_uncond = float(as_float_array("p_uncond", p_uncond))
    if not 0.0 <= p_uncond <= 1.0:
        raise ValueError(f"p_uncond must be in [0, 1], got {p_uncond!r}")
    if weighting not in WEIGHTINGS:
        raise ValueError(f"weighting must be one of {WEIGHTINGS}, got {weighting!r}")
    steps, batch_size = count("steps", steps), count("batch_size", batch_size)
    lr, seed = positive_scalar("lr", lr), check_seed("seed", seed)
    dtype = float_dtype(dtype)
    with torch_threads(1):
        with torch.random.fork_rng(devices=[]):
            torch.manual_seed(seed)
            net = ConditionalEpsNet(x0.shape[1], n_classes, hidden=hidden, n_layers=n_layers,
                                    sigma_min=sigma_min, sigma_max=sigma_max)
        x0 = torch.as_tensor(x0, dtype=torch.float32)
        gen = torch.Generator().manual_seed(seed + 1)
        opt, history = Adam(net.parameters(), lr=lr), []
        start = time.perf_counter()
        for step in progress_bar(range(steps), desc=desc, disable=not progress):
            i = torch.randint(len(x0), (batch_size,), generator=gen)
            x, y = x0[i], y0[i]
            drop = torch.rand(batch_size, generator=gen) < p_uncond
            y = torch.where(drop, torch.full_like(y, net.null), y)     # label dropout
            if weighting == "ode":
                log_sigma, ab, weight = net.draw_level(batch_size, gen)   # weight 1 + sigma^2
            else:
                log_sigma, ab, weight = _elbo_level(net, batch_size, gen)  # log sigma ~ U, 1
            eps = torch.randn(x.shape, generator=gen)
            x_t = ab.sqrt() * x + (1 - ab).sqrt() * eps
            loss = (weight * (eps - net(x_t, log_sigma, y)) ** 2).sum(1).mean()
            opt.param_groups[0]["lr"] = cosine_lr(lr, step, steps)
            opt.zero_grad()
            loss.backward()
            opt.step()
            history.append(loss.item())
        train_s = time.perf_counter() - start
    return GuidedEpsFn(frozen(net.to(dtype)), np.asarray(history), train_s)
