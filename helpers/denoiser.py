"""The learned noise predictor eps_theta(x_t, t) and its training loop (torch). Notebook 05.

``helpers.diffusion`` holds the chain, the ELBO and the samplers, all in numpy, and works with any
``eps_model``: a callable ``(x_t, t) -> eps_hat`` on arrays of shape (n, d). This module learns one:

* ``EpsNet``: a small MLP that reads x_t and a sinusoidal embedding of t / T, with the exact
  limit eps* -> x_t at t -> T built in;
* ``train_eps_model``: the DDPM "simple" loss (Ho et al. 2020, eq. 14), the chained ELBO of
  eqs. 2.4-2.5 with its per-step weights dropped, minimised with Adam (``helpers.nets.Adam``)
  in ``training_loop``, the dozen lines that notebook 05 writes out and runs;
* ``TrainedEpsModel``: what training returns, itself an ``eps_model``, so
  ``ddpm_sample(trained, schedule, n, d=d)`` samples from it.
"""

from __future__ import annotations

import math
import time
from dataclasses import dataclass

import numpy as np
import torch

from ._checks import as_float_array, count, data_matrix, positive_scalar, seed as check_seed
from ._deprecated import renamed_field
from .nets import Adam, frozen, torch_threads
from .noise_schedule import NoiseSchedule
from .progress import progress_bar

__all__ = ["EpsNet", "TrainedEpsModel", "training_loop", "train_eps_model"]


class EpsNet(torch.nn.Module):
    """eps_theta(x_t, t) = sqrt(1 - alpha_bar_t) x_t + sqrt(alpha_bar_t) F_theta(x_t, t).

    F_theta is an MLP (SiLU between layers) on x_t and a sinusoidal embedding of t/T:
    [x_t, sin(w_k t/T), cos(w_k t/T)], with ``n_freqs`` frequencies w_k spread geometrically from
    1 to ``max_freq`` radians (DDPM's Transformer-style embedding, but of t/T in (0, 1]), so
    nearby steps get nearby features and the net need not learn a table over t.

    Why not eps_theta = F_theta? Near t = T, x_T is almost pure noise, so the best predictor is
    eps* ~ x_T. The cosine schedule ends at alpha_bar_T ~ 2e-7, where both samplers divide by
    sqrt(alpha_T) or sqrt(alpha_bar_T): a network error of 0.03 in eps at t = T becomes an error
    of about 1 in x_{T-1} (DDPM) and of about 60 in DDIM's first x_0 prediction. With the form
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

    def __init__(self, d, alpha_bar, hidden=64, n_layers=4, n_freqs=8, max_freq=100.0,
                 skip=True):
        super().__init__()
        alpha_bar = as_float_array("alpha_bar", alpha_bar)
        if (alpha_bar.ndim != 1 or alpha_bar.size == 0
                or not ((alpha_bar > 0) & (alpha_bar <= 1)).all()):
            raise ValueError(f"alpha_bar must have shape (T,) with values in (0, 1], got "
                             f"{alpha_bar if alpha_bar.size < 5 else alpha_bar.shape}")
        self.d, self.T, self.skip = count("d", d), alpha_bar.size, bool(skip)
        hidden, n_layers = count("hidden", hidden), count("n_layers", n_layers)
        n_freqs, max_freq = count("n_freqs", n_freqs), positive_scalar("max_freq", max_freq)
        self.register_buffer("alpha_bar", torch.as_tensor(alpha_bar, dtype=torch.float32))
        # w_k = max_freq^(k / (n_freqs - 1)), k = 0..n_freqs-1
        self.register_buffer("freqs", torch.logspace(0, math.log10(max_freq), n_freqs))
        sizes = [d + 2 * n_freqs] + [hidden] * n_layers
        layers = []
        for n_in, n_out in zip(sizes[:-1], sizes[1:]):
            layers += [torch.nn.Linear(n_in, n_out), torch.nn.SiLU()]
        self.mlp = torch.nn.Sequential(*layers, torch.nn.Linear(hidden, d))

    def forward(self, x_t, t):
        """eps_theta for a float32 x_t of shape (n, d) and int steps t in 1..T, shape (n,) or ()."""
        t = torch.as_tensor(t).reshape(-1, 1)
        # phase_k = w_k t / T; one row for a single t, then shared by every row of x_t
        phase = t / self.T * self.freqs
        embedding = torch.cat([torch.sin(phase), torch.cos(phase)], dim=1).expand(len(x_t), -1)
        f_theta = self.mlp(torch.cat([x_t, embedding], dim=1))
        if not self.skip:
            return f_theta
        ab = self.alpha_bar[t - 1]
        # eps_theta = sqrt(1 - alpha_bar_t) x_t + sqrt(alpha_bar_t) F_theta
        return (1 - ab).sqrt() * x_t + ab.sqrt() * f_theta


@dataclass(frozen=True)
class TrainedEpsModel:
    """What ``train_eps_model`` returns: an ``eps_model`` for ``helpers.diffusion``.

    Call it as ``trained(x_t, t)`` with a numpy x_t of shape (n, d) and an int t in 1..T: it
    returns eps_theta(x_t, t) as float64 numpy of shape (n, d), computed without gradients in
    batches on one torch thread.

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

    def __call__(self, x_t, t, batch_size=65536):
        """eps_theta(x_t, t) for x_t of shape (n, d) and an int t in 1..T, as float64 (n, d)."""
        x_t = as_float_array("x_t", x_t)
        if x_t.ndim != 2 or x_t.shape[1] != self.net.d:
            raise ValueError(f"x_t must have shape (n, {self.net.d}), got {x_t.shape}")
        if isinstance(t, bool) or not isinstance(t, (int, np.integer)) or not 1 <= t <= self.net.T:
            raise ValueError(f"t must be an int in 1..{self.net.T}, got {t!r}")
        x = torch.as_tensor(x_t, dtype=torch.float32)
        with torch.no_grad(), torch_threads(1):
            out = [self.net(x[i:i + batch_size], int(t)) for i in range(0, len(x), batch_size)]
        return torch.cat(out).numpy().astype(np.float64) if out else np.zeros_like(x_t)


def training_loop(net, x0, alpha_bar, steps, batch_size, lr, gen, bar=None):
    """Minimise L_simple (Ho et al. 2020, eq. 14) over ``net`` with Adam; return the losses.

    The loop of ``train_eps_model``, which checks the inputs and builds the arguments: tensors
    x0 (n, d) and alpha_bar (T,), a seeded ``torch.Generator`` ``gen``, and ``bar`` an iterable
    over range(steps), e.g. a progress bar. The learning rate decays along a half cosine to 0.
    """
    opt, T, losses = Adam(net.parameters(), lr), len(alpha_bar), []
    for step in range(steps) if bar is None else bar:
        x = x0[torch.randint(len(x0), (batch_size,), generator=gen)]  # x_0 ~ data
        t = torch.randint(1, T + 1, (batch_size,), generator=gen)     # t ~ U{1, ..., T}
        eps = torch.randn(x.shape, generator=gen)                     # eps ~ N(0, I)
        ab = alpha_bar[t - 1, None]                                   # alpha_bar_t, per row
        x_t = ab.sqrt() * x + (1 - ab).sqrt() * eps                   # x_t ~ q(x_t | x_0)
        loss = ((eps - net(x_t, t)) ** 2).sum(1).mean()               # L_simple, eq. 14
        opt.param_groups[0]["lr"] = lr * 0.5 * (1 + math.cos(math.pi * step / steps))  # cosine decay
        opt.zero_grad()
        loss.backward()
        opt.step()
        losses.append(loss.item())
    return losses


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
    ``make bench`` (``benchmarks/diffusion_peer.py``): a few seconds on one thread.

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
    steps, batch_size = count("steps", steps), count("batch_size", batch_size)
    lr = positive_scalar("lr", lr)
    seed = check_seed("seed", seed)

    with torch_threads(1):
        with torch.random.fork_rng(devices=[]):
            torch.manual_seed(seed)
            net = EpsNet(x0.shape[1], schedule.alpha_bar, hidden=hidden, n_layers=n_layers,
                         skip=skip)
        gen = torch.Generator().manual_seed(seed + 1)
        bar = progress_bar(range(steps), desc=desc, disable=not progress)
        start = time.perf_counter()
        losses = training_loop(net, torch.as_tensor(x0, dtype=torch.float32),
                               torch.as_tensor(schedule.alpha_bar, dtype=torch.float32),
                               steps, batch_size, lr, gen, bar)
        train_s = time.perf_counter() - start
    return TrainedEpsModel(frozen(net), schedule, np.asarray(losses), train_s)
