"""The learned noise predictors and their one training loop (torch). Notebooks 05 and 06.

``helpers.diffusion`` holds the chain, the ELBO and the samplers, all in numpy, and works with any
``eps_model``: a callable ``(x_t, t) -> eps_hat`` on arrays of shape (n, d). This module learns one:

* ``EpsNet``: a small MLP that reads x_t and a sinusoidal embedding of t / T, with the exact
  limit eps* -> x_t at t -> T built in;
* ``train_eps_model``: the DDPM "simple" loss (Ho et al. 2020, eq. 14), the chained ELBO of
  eqs. 2.4-2.5 with its per-step weights dropped, minimised with Adam (``helpers.nets.Adam``)
  in ``training_loop``, the dozen lines that notebook 05 writes out and runs;
* ``TrainedEpsModel``: what training returns, itself an ``eps_model``, so
  ``ddpm_sample(trained, schedule, n, d=d)`` samples from it.

Notebook 06 (``helpers.score``) uses continuous levels sigma and an ``eps_fn``, a callable
``(x, alpha_bar) -> eps_hat``: ``ContinuousEpsNet`` is ``EpsNet`` with log sigma in place of t
(the same MLP and output form), ``train_eps_fn`` fits it in the same ``training_loop``, and
its ``TrainedEpsFn`` is an ``eps_fn``.
"""

from __future__ import annotations

import math
import time
from dataclasses import dataclass, replace

import numpy as np
import torch

from ._checks import (alpha_bar_level, as_float_array, count, data_matrix, positive_scalar,
                      seed as check_seed)
from ._deprecated import keyword_only, renamed_arguments, renamed_field
from .nets import (Adam, cosine_lr, evaluate_in_chunks, float_dtype, frozen, in_float64,
                   torch_threads)
from .noise_schedule import NoiseSchedule, alpha_bar_from_log_sigma, log_sigma_from_alpha_bar
from .progress import progress_bar

__all__ = ["EpsNet", "TrainedEpsModel", "training_loop", "train_eps_model", "ContinuousEpsNet",
           "TrainedEpsFn", "single_level", "train_eps_fn"]


class _SkipMLP(torch.nn.Module):
    """What both noise predictors share: F_theta, an MLP (SiLU between layers) on x_t and
    sinusoidal features of a level u, and the output form (see ``EpsNet`` for why)
    eps_theta = sqrt(1 - alpha_bar) x_t + sqrt(alpha_bar) F_theta, or F_theta if not ``skip``."""

    def __init__(self, d, n_freqs, max_freq, hidden, n_layers, skip):
        super().__init__()
        n_freqs, max_freq = count("n_freqs", n_freqs), positive_scalar("max_freq", max_freq)
        self.d, self.skip = count("d", d), bool(skip)
        hidden, n_layers = count("hidden", hidden), count("n_layers", n_layers)
        # w_k = max_freq^(k / (n_freqs - 1)), k = 0..n_freqs-1
        self.register_buffer("freqs", torch.logspace(0, math.log10(max_freq), n_freqs))
        sizes = [self.d + 2 * n_freqs] + [hidden] * n_layers
        layers = []
        for n_in, n_out in zip(sizes[:-1], sizes[1:]):
            layers += [torch.nn.Linear(n_in, n_out), torch.nn.SiLU()]
        self.mlp = torch.nn.Sequential(*layers, torch.nn.Linear(hidden, self.d))

    def skip_form(self, x_t, ab, u, extra=()):
        """eps_theta for x_t (n, d), alpha_bar and the level u, each of shape (n, 1) or (1, 1);
        ``extra`` more input features of F_theta (a class label's, in ``helpers.guidance``)."""
        # phase_k = w_k u; one row for a single level, then shared by every row of x_t
        phase = u * self.freqs
        embedding = torch.cat([torch.sin(phase), torch.cos(phase)], dim=1).expand(len(x_t), -1)
        f_theta = self.mlp(torch.cat([x_t, embedding, *extra], dim=1))
        if not self.skip:
            return f_theta
        # eps_theta = sqrt(1 - alpha_bar_t) x_t + sqrt(alpha_bar_t) F_theta
        return (1 - ab).sqrt() * x_t + ab.sqrt() * f_theta


class EpsNet(_SkipMLP):
    """eps_theta(x_t, t) = sqrt(1 - alpha_bar_t) x_t + sqrt(alpha_bar_t) F_theta(x_t, t).

    F_theta is an MLP (SiLU between layers) on x_t and a sinusoidal embedding of t/T:
    [x_t, sin(w_k t/T), cos(w_k t/T)], with ``n_freqs`` frequencies w_k spread geometrically from
    1 to ``max_freq`` radians (DDPM's Transformer-style embedding, but of t/T in (0, 1]), so
    nearby steps get nearby features and the net need not learn a table over t.

    Why not eps_theta = F_theta? Near t = T, x_T is almost pure noise, so the best predictor is
    eps* ~ x_T. The cosine schedule ends at alpha_bar_T ~ 2e-7 (at T = 100; smaller for larger
    T), where both samplers divide by sqrt(alpha_T) or sqrt(alpha_bar_T): at T = 100 a network
    error of 0.03 in eps at t = T becomes an error of about 1 in x_{T-1} (DDPM) and of about 60
    in DDIM's first x_0 prediction. With the form
    above the exact limit eps_theta -> x_t as alpha_bar_t -> 0 is built in, and F_theta's errors
    are damped by sqrt(alpha_bar_t) where that division would amplify them; F_theta learns
    v = sqrt(alpha_bar_t) eps - sqrt(1 - alpha_bar_t) x_0 (Salimans & Ho 2022). Elsewhere, where
    alpha_bar_t ~ 1, eps_theta ~ F_theta. ``skip=False`` gives the plain eps_theta = F_theta.

    Parameters
    ----------
    d : int
        Data dimension.
    alpha_bar : array_like, shape (T,)
        alpha_bar_t of the schedule (``NoiseSchedule.alpha_bar``), each in (0, 1].
    hidden : int
        Units per hidden layer.
    n_layers : int
        Hidden layers.
    n_freqs : int
        Frequencies of the time embedding (2 n_freqs features).
    max_freq : float
        The highest frequency w, > 0 (radians per unit of t/T).
    skip : bool
        Use the form above (default) or eps_theta = F_theta.
    """

    @keyword_only(3, ("hidden", "n_layers", "n_freqs", "max_freq", "skip"))
    def __init__(self, d, alpha_bar, *, hidden=64, n_layers=4, n_freqs=8, max_freq=100.0,
                 skip=True):
        alpha_bar = as_float_array("alpha_bar", alpha_bar)
        if (alpha_bar.ndim != 1 or alpha_bar.size == 0
                or not ((alpha_bar > 0) & (alpha_bar <= 1)).all()):
            raise ValueError(f"alpha_bar must have shape (T,) with values in (0, 1], got "
                             f"{alpha_bar if alpha_bar.size < 5 else alpha_bar.shape}")
        super().__init__(d, n_freqs, max_freq, hidden, n_layers, skip)
        self.T = alpha_bar.size
        self.register_buffer("alpha_bar", torch.as_tensor(alpha_bar, dtype=torch.float32))

    def draw_level(self, n, gen):
        """n training levels: steps t ~ U{1..T}, shape (n,), alpha_bar_t per row, (n, 1), and the
        loss weight 1 (eq. 14 drops the ELBO's per-step weights)."""
        t = torch.randint(1, self.T + 1, (n,), generator=gen)
        return t, self.alpha_bar[t - 1, None], 1.0

    def forward(self, x_t, t):
        """eps_theta for a float32 x_t of shape (n, d) and int steps t in 1..T, shape (n,) or ()."""
        t = torch.as_tensor(t).reshape(-1, 1)
        return self.skip_form(x_t, self.alpha_bar[t - 1], t / self.T)


@dataclass(frozen=True)
class TrainedEpsModel:
    """What ``train_eps_model`` returns: an ``eps_model`` for ``helpers.diffusion``.

    Call it as ``trained(x_t, t)`` with a numpy x_t of shape (n, d) and an int t in 1..T: it
    returns eps_theta(x_t, t) as float64 numpy of shape (n, d), computed without gradients
    ``chunk_size`` rows at a time on one torch thread (``helpers.nets.evaluate_in_chunks``; 2048
    rows keep a chunk's activations in the CPU's cache: on 4000 rows, about a quarter faster than
    one chunk, and notebook 05 printed the same digits both ways).

    Attributes
    ----------
    net : EpsNet
        The torch module (in eval mode, gradients off: ``helpers.nets.frozen``).
    schedule : helpers.diffusion.NoiseSchedule
        The schedule it was trained for.
    history : ndarray, shape (steps,)
        The simple loss of eq. 14 on each step's batch.
    train_s : float
        Seconds spent in the training loop.
    """

    net: EpsNet
    schedule: object
    history: np.ndarray
    train_s: float

    losses = renamed_field("losses", "history")
    train_time = renamed_field("train_time", "train_s")

    @renamed_arguments(batch_size="chunk_size")
    def __call__(self, x_t, t, chunk_size=2048):
        """eps_theta(x_t, t) for x_t of shape (n, d) and an int t in 1..T, as float64 (n, d)."""
        x_t = as_float_array("x_t", x_t)
        if x_t.ndim != 2 or x_t.shape[1] != self.net.d:
            raise ValueError(f"x_t must have shape (n, {self.net.d}), got {x_t.shape}")
        if isinstance(t, bool) or not isinstance(t, (int, np.integer)) or not 1 <= t <= self.net.T:
            raise ValueError(f"t must be an int in 1..{self.net.T}, got {t!r}")
        chunk_size = count("chunk_size", chunk_size)
        return evaluate_in_chunks(lambda x: self.net(x, int(t)),
                                  torch.as_tensor(x_t, dtype=torch.float32), chunk_size=chunk_size)


class ContinuousEpsNet(_SkipMLP):
    """eps_theta(x, sigma) = sqrt(1 - alpha_bar) x + sqrt(alpha_bar) F_theta(x, sigma), float64.

    ``EpsNet`` at continuous levels (notebook 06): the same MLP F_theta and output form, with the
    level sigma = sqrt((1 - alpha_bar) / alpha_bar), i.e. alpha_bar = 1 / (1 + sigma^2). F_theta
    reads x and sinusoidal features (``EpsNet``'s) of u = (log sigma - log sigma_min) /
    (log sigma_max - log sigma_min) in [0, 1], held at 0 or 1 outside the trained range; the
    output form stays exact there: F_theta alone at alpha_bar = 1, eps_theta -> x as sigma -> inf.

    Why float64: the probability-flow ODE's log-likelihood takes the divergence of eps_theta by
    finite differences. eps_theta is smooth in x (SiLU), and in float64 central differences with
    h = 1e-4 and 1e-5 agree to < 1e-6 (the h^2 truncation error alone), where float32's rounding
    would leave noise of ~1e-7 / h. It costs more time than float32, per training step and more
    so per call (``make bench`` measures how much). So a net can be trained and sampled in
    float32 (``train_eps_fn(..., dtype="float32")``, notebook 06) and converted for the
    likelihood only (``TrainedEpsFn.in_float64``).

    ``draw_level`` draws the training levels for ``training_loop``; ``train_eps_fn`` says why
    these.

    Parameters
    ----------
    d : int
    hidden, n_layers, n_freqs, max_freq, skip
        As ``EpsNet`` (``max_freq`` in radians per unit of u).
    sigma_min, sigma_max : float
        The range of training levels, 0 < sigma_min < sigma_max.
    """

    @keyword_only(2, ("hidden", "n_layers", "n_freqs", "max_freq", "sigma_min", "sigma_max",
                      "skip"))
    def __init__(self, d, *, hidden=64, n_layers=4, n_freqs=8, max_freq=20.0, sigma_min=0.002,
                 sigma_max=80.0, skip=True):
        sigma_min = positive_scalar("sigma_min", sigma_min)
        sigma_max = positive_scalar("sigma_max", sigma_max)
        if sigma_min >= sigma_max:
            raise ValueError(f"sigma_min must be < sigma_max, got {sigma_min!r} >= {sigma_max!r}")
        super().__init__(d, n_freqs, max_freq, hidden, n_layers, skip)
        self.log_sigma_range = (math.log(sigma_min), math.log(sigma_max))
        self.double()

    def draw_level(self, n, gen):
        """n training levels as log sigma, shape (n,), with alpha_bar per row, (n, 1), and the
        loss weight 1 / alpha_bar = 1 + sigma^2: t ~ U[t_min, t_max] and sigma = tan(pi t / 2)."""
        t_min, t_max = (2 / math.pi * math.atan(math.exp(v)) for v in self.log_sigma_range)
        t = t_min + (t_max - t_min) * torch.rand(n, generator=gen, dtype=self.freqs.dtype)
        log_sigma = torch.log(torch.tan(math.pi / 2 * t))
        ab = alpha_bar_from_log_sigma(log_sigma)[:, None]  # alpha_bar = cos^2(pi t / 2)
        return log_sigma, ab, 1 / ab

    def forward(self, x, log_sigma, extra=()):
        """eps_theta for x of shape (n, d) (the net's dtype) and log sigma of shape (n,) or ()."""
        log_sigma = torch.as_tensor(log_sigma, dtype=x.dtype).reshape(-1, 1)
        lo, hi = self.log_sigma_range
        u = (log_sigma.clamp(lo, hi) - lo) / (hi - lo)
        return self.skip_form(x, alpha_bar_from_log_sigma(log_sigma), u, extra)


@dataclass(frozen=True)
class TrainedEpsFn:
    """What ``train_eps_fn`` returns: an ``eps_fn`` for ``helpers.score`` (notebook 06).

    Call it as ``trained(x, alpha_bar)`` with a numpy x of shape (n, d) and a float alpha_bar in
    (0, 1] (1 is the data's own level, sigma = 0): it returns eps_theta(x, sigma) as float64
    numpy of shape (n, d), computed in the net's dtype (float64 unless trained with
    ``dtype="float32"``) without gradients, ``chunk_size`` rows at a time, on one torch thread.
    It is a smooth function of x (SiLU), so finite differences of it (in float64: ``in_float64``)
    are meaningful.

    Attributes
    ----------
    net : ContinuousEpsNet
        The torch module (in eval mode, gradients off).
    history : ndarray, shape (steps,)
        The weighted loss of ``train_eps_fn`` on each step's batch.
    train_s : float
        Seconds spent in the training loop.
    """

    net: ContinuousEpsNet
    history: np.ndarray
    train_s: float

    @renamed_arguments(batch_size="chunk_size")
    def __call__(self, x, alpha_bar, chunk_size=2048):
        """eps_theta(x, sigma) for x of shape (n, d) and a float alpha_bar in (0, 1]."""
        x = as_float_array("x", x)
        if x.ndim != 2 or x.shape[1] != self.net.d:
            raise ValueError(f"x must have shape (n, {self.net.d}), got {x.shape}")
        log_sigma = log_sigma_from_alpha_bar(single_level(alpha_bar))
        chunk_size = count("chunk_size", chunk_size)
        return evaluate_in_chunks(lambda rows: self.net(rows, log_sigma),
                                  torch.as_tensor(x, dtype=self.net.freqs.dtype),
                                  chunk_size=chunk_size)

    def in_float64(self):
        """This eps_fn with a float64 copy of its net (the same one if it is float64 already):
        what finite differences of it need, e.g. ``helpers.score.pf_ode_log_likelihood``."""
        net = in_float64(self.net)
        return self if net is self.net else replace(self, net=net)


def single_level(alpha_bar):
    """One noise level alpha_bar for a trained eps_fn: a float in (0, 1] (1 is the data's own)."""
    if isinstance(alpha_bar, bool):
        raise ValueError(f"alpha_bar must be a float in (0, 1], got {alpha_bar!r}")
    ab = alpha_bar_level(alpha_bar)
    if ab.ndim != 0:
        raise ValueError(f"alpha_bar must be a float in (0, 1], got {alpha_bar!r}")
    return float(ab)


@keyword_only(6, ("bar",))
def training_loop(net, x0, steps, batch_size, lr, gen, *, bar=None):
    """Minimise L_simple (Ho et al. 2020, eq. 14) over ``net`` with Adam; return the losses.

    The loop of ``train_eps_model`` and ``train_eps_fn``, which check the inputs and build the
    arguments: a tensor x0 (n, d) of the net's dtype, a seeded ``torch.Generator`` ``gen``, and
    ``bar`` an iterable over range(steps), e.g. a progress bar. The net draws its own levels and
    loss weights (``EpsNet``: t ~ U{1..T}, weight 1, eq. 14 exactly; ``ContinuousEpsNet``: see
    ``train_eps_fn``), so one loop serves both. The learning rate decays along a half cosine.
    """
    opt, losses = Adam(net.parameters(), lr), []
    for step in range(steps) if bar is None else bar:
        x = x0[torch.randint(len(x0), (batch_size,), generator=gen)]  # x_0 ~ data
        t, ab, weight = net.draw_level(batch_size, gen)               # levels, alpha_bar, weights
        eps = torch.randn(x.shape, generator=gen, dtype=x.dtype)      # eps ~ N(0, I)
        x_t = ab.sqrt() * x + (1 - ab).sqrt() * eps                   # x_t ~ q(x_t | x_0)
        loss = (weight * (eps - net(x_t, t)) ** 2).sum(1).mean()      # eq. 14 (weight 1: EpsNet)
        opt.param_groups[0]["lr"] = cosine_lr(lr, step, steps)
        opt.zero_grad()
        loss.backward()
        opt.step()
        losses.append(loss.item())
    return losses


def _fit(make_net, x0, steps, batch_size, lr, seed, progress, desc, dtype):
    """Check the shared training arguments, build the net from ``seed``, run ``training_loop``
    on one thread with torch's global random state untouched; return (net, losses, train_s)."""
    steps, batch_size = count("steps", steps), count("batch_size", batch_size)
    lr = positive_scalar("lr", lr)
    seed = check_seed("seed", seed)
    with torch_threads(1):
        with torch.random.fork_rng(devices=[]):
            torch.manual_seed(seed)
            net = make_net()
        gen = torch.Generator().manual_seed(seed + 1)
        bar = progress_bar(range(steps), desc=desc, disable=not progress)
        start = time.perf_counter()
        losses = training_loop(net, torch.as_tensor(x0, dtype=dtype), steps, batch_size, lr, gen,
                               bar=bar)
        train_s = time.perf_counter() - start
    return frozen(net), np.asarray(losses), train_s


def train_eps_model(x0, schedule, *, steps=1500, batch_size=256, lr=5e-3, hidden=64,
                    n_layers=4, skip=True, seed=0, progress=True, desc="training eps_theta"):
    """Fit eps_theta by the simple loss of Ho et al. (2020), eq. 14, with Adam.

    Each step draws a batch of x_0 (with replacement), steps t ~ U{1..T} and noise
    eps ~ N(0, I), forms x_t = sqrt(alpha_bar_t) x_0 + sqrt(1 - alpha_bar_t) eps (the closed form
    of q(x_t | x_0)), and takes one Adam step on

        L_simple = E_{t, x_0, eps} || eps - eps_theta(x_t, t) ||^2.

    This is the chained ELBO of eqs. 2.4-2.5 (``helpers.diffusion.diffusion_elbo``) with each
    denoising term L_{t-1} = beta_t^2 / (2 beta_tilde_t alpha_t (1 - alpha_bar_t))
    || eps - eps_theta ||^2 given weight 1 and t drawn at random instead of summed: every term
    has the same minimiser, eps_theta(x_t, t) = E[eps | x_t], so dropping the weights changes
    which steps the network spends its capacity on, not what it aims at. The loop itself is
    ``training_loop``. The defaults are the recipe measured against tiny-diffusion by
    ``make bench`` (``benchmarks/diffusion_peer.py``), which also times them.

    Parameters
    ----------
    x0 : array_like, shape (n, d)
        Training data.
    schedule : helpers.diffusion.NoiseSchedule
    steps : int
        Adam steps.
    batch_size : int
        Examples per step.
    lr : float
        Initial learning rate, > 0; it decays along a half cosine to 0 at the last step.
    hidden, n_layers, skip
        Width, depth and output form of the ``EpsNet`` (see there).
    seed : int
        Seeds the initial weights, the batches, the steps and the noise: equal seeds give equal
        models (one torch thread). torch's global random state is left untouched.
    progress : bool
        Show a ``helpers.progress`` bar.
    desc : str
        The bar's label.

    Returns
    -------
    TrainedEpsModel
        Callable as an ``eps_model``; also holds ``net``, ``history`` and ``train_s``.
    """
    x0 = data_matrix("x0", x0)
    if not isinstance(schedule, NoiseSchedule):
        raise ValueError(f"schedule must be a NoiseSchedule, got {schedule!r}")
    net, losses, train_s = _fit(
        lambda: EpsNet(x0.shape[1], schedule.alpha_bar, hidden=hidden, n_layers=n_layers,
                       skip=skip),
        x0, steps, batch_size, lr, seed, progress, desc, torch.float32)
    return TrainedEpsModel(net, schedule, losses, train_s)


def train_eps_fn(x0, *, steps=2000, batch_size=256, lr=5e-3, hidden=64, n_layers=4,
                 sigma_min=0.002, sigma_max=80.0, seed=0, dtype="float64", progress=True,
                 desc="training eps_theta(x, sigma)"):
    """Fit a ``ContinuousEpsNet`` by weighted eps-prediction at continuous levels, with Adam.

    ``training_loop`` (``train_eps_model``'s) with sigma in place of t: each row draws x_0, a
    level sigma and eps ~ N(0, I), forms x = sqrt(alpha_bar) x_0 + sqrt(1 - alpha_bar) eps, and
    the loss is E[(1 + sigma^2) || eps - eps_theta(x, sigma) ||^2], minimised at every level by
    E[eps | x], as eq. 14. The levels: t ~ U[t_min, t_max] and sigma = tan(pi t / 2), i.e.
    alpha_bar = cos^2(pi t / 2), notebook 05's cosine schedule (s = 0) at continuous t, cut to
    [sigma_min, sigma_max] (default the Karras et al. 2022 range of the ODE sampler). That
    density of sigma, proportional to 1 / (1 + sigma^2), times the weight 1 + sigma^2 =
    1 / alpha_bar is flat: the objective is the eps-MSE integrated uniformly over sigma, the
    variable that the ODE d xbar / d sigma = eps_theta integrates over. Per row the weighted loss is
    || v - F_theta ||^2 (see ``EpsNet``), of order 1 at every level.

    Measured on notebook 05's 1-D mixture (4000 points, defaults, means over seeds 0-4):
    RMS(eps_theta - E[eps | x]) over held-out x at sigma = 0.1, 0.3, 3, 30; W1 to held-out data
    of Heun samples (18 steps, Karras rho = 7; exact eps 0.060, data floor 0.040); RMS per point
    of the Heun ODE log-likelihood minus the same with the exact eps (nats):

        levels, weight                  RMS at sigma                 W1      log-lik.
        cosine t, 1 + sigma^2 (ours)    0.068 0.087 0.008 0.001      0.058   0.15
        log sigma ~ U, 1 + sigma^2      0.082 0.127 0.011 0.001      0.067   0.23
        EDM log-normal, 1 + sigma^2     0.047 0.064 0.019 0.009      0.066   0.14
        cosine t, 1                     0.071 0.084 0.019 0.013      0.069   0.19
        log sigma ~ U, 1                0.067 0.104 0.025 0.007      0.061   0.20

    (EDM: log sigma ~ N(-1.2, 1.2^2), tuned for images, too few levels above sigma = 3.) On two
    moons, sliced W1 of Heun samples: 0.066 ours, 0.080 log sigma ~ U, 0.069 EDM (floor 0.047).

    Parameters
    ----------
    x0 : array_like, shape (n, d)
    steps, batch_size, lr, seed, progress, desc
        As ``train_eps_model``.
    hidden, n_layers
        Width and depth of the ``ContinuousEpsNet``.
    sigma_min, sigma_max : float
        The range of training levels.
    dtype : {"float64", "float32"}
        The net's dtype, in training and when called. float32 trains and samples faster
        (``make bench`` measures by how much); for finite differences of the result (the ODE
        log-likelihood) use ``trained.in_float64()`` (see ``ContinuousEpsNet`` for why).

    Returns
    -------
    TrainedEpsFn
        Callable as an ``eps_fn``; also holds ``net``, ``history`` and ``train_s``.
    """
    x0 = data_matrix("x0", x0)
    dtype = float_dtype(dtype)
    net, losses, train_s = _fit(
        lambda: ContinuousEpsNet(x0.shape[1], hidden=hidden, n_layers=n_layers,
                                 sigma_min=sigma_min, sigma_max=sigma_max).to(dtype),
        x0, steps, batch_size, lr, seed, progress, desc, dtype)
    return TrainedEpsFn(net, losses, train_s)
