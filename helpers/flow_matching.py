"""Flow matching: a velocity on straight paths, and why it is the probability-flow ODE. Notebook 06.

Flow matching (Lipman et al. 2023; Liu et al. 2023's rectified flow) joins a data point x_0 and a
noise draw eps by the straight path x_t = (1 - t) x_0 + t eps, t in [0, 1] (noise at t = 1, as
notebook 06 writes it), and regresses a velocity v_theta(x_t, t) on the path's own velocity
eps - x_0:

    L_FM = E_{t ~ U[0, 1), x_0, eps} || v_theta(x_t, t) - (eps - x_0) ||^2.

Its minimiser is v(x_t, t) = E[eps - x_0 | x_t]. Divided by 1 - t the path is xbar = x_0 + sigma
eps at sigma = t / (1 - t) (``helpers.score``'s variable), and on a path
x_t + (1 - t)(eps - x_0) = eps, so the best velocity and the best noise prediction are one
function read two ways:

    eps_hat = x_t + (1 - t) v,    v = (eps_hat - x_t) / (1 - t);

the ODE dx_t / dt = v is d xbar / d sigma = eps_hat, the probability-flow ODE with t as its clock.

* ``sigma_from_time`` and ``time_from_sigma``: the two clocks, sigma = t / (1 - t);
* ``velocity_from_eps``: the velocity an ``eps_fn`` implies; ``euler_in_time`` and
  ``midpoint_in_time`` integrate it along a grid of t such as ``flow_clock_times``;
* ``flow_clock_sample``: any ``eps_fn``'s samples by the midpoint rule on flow matching's clock,
  the few-step sampler of notebook 06's race (``benchmarks/flow_matching_seeds.py``);
* ``train_velocity``: L_FM minimised with Adam (the loop notebook 06 used to write out);
* ``TrainedVelocity``: the network, callable as v(x_t, t), and as an ``eps_fn`` (``.eps_fn``)
  for ``helpers.score.pf_ode_sample``, which is then its sampler.
"""

from __future__ import annotations

import math
import time
from dataclasses import dataclass

import numpy as np

from ._checks import (as_float_array, as_rng, count, data_matrix, float_or_array,
                      positive_scalar, seed as check_seed)
from .nets import Adam, evaluate_in_chunks, frozen, hidden_sizes, mlp, torch_threads
from .noise_schedule import alpha_bar_from_sigma, sigma_from_alpha_bar
from .progress import progress_bar

__all__ = ["sigma_from_time", "time_from_sigma", "velocity_from_eps", "euler_in_time",
           "midpoint_in_time", "flow_clock_times", "flow_clock_sample",
           "TrainedVelocity", "train_velocity"]


def _times(t):
    """t checked: a float or array in [0, 1) (noise sits at t = 1, where sigma is infinite)."""
    arr = as_float_array("t", t)
    bad = (arr < 0) | (arr >= 1)
    if bad.any():
        raise ValueError(f"t must lie in [0, 1), got {arr[bad].flat[0]!r}")
    return arr


def sigma_from_time(t):
    """sigma = t / (1 - t): flow matching's time t as a noise level (x_t / (1 - t) = xbar).
    A float for a float, else an array."""
    t_arr = _times(t)
    sigma = t_arr / (1 - t_arr)
    return float_or_array(sigma)


def time_from_sigma(sigma):
    """t = sigma / (1 + sigma), the inverse of ``sigma_from_time``. A float for a float."""
    s = as_float_array("sigma", sigma)
    if (s < 0).any():
        raise ValueError(f"sigma must be >= 0, got {s[s < 0].flat[0]!r}")
    t = s / (1 + s)
    return float_or_array(t)


def velocity_from_eps(eps_fn):
    """The flow-matching velocity that an ``eps_fn`` ``(x, alpha_bar) -> eps_hat`` implies:

        v(x_t, t) = (eps_fn(x, alpha_bar) - x_t) / (1 - t),

    at sigma = t / (1 - t), alpha_bar = 1 / (1 + sigma^2) and x = sqrt(alpha_bar) x_t / (1 - t).
    With ``mixture.eps_at``, the exact velocity of notebook 06's data. Returns a callable
    (x_t, t) -> v, x_t of shape (n, d) and t a float in [0, 1).
    """
    if not callable(eps_fn):
        raise ValueError(f"eps_fn must be callable (x, alpha_bar) -> eps_hat, got {eps_fn!r}")

    def velocity(x_t, t):
        t = float(_times(t))
        ab = alpha_bar_from_sigma(sigma_from_time(t))
        # v = (eps_hat - x_t) / (1 - t), eps_hat at x = sqrt(alpha_bar) xbar, xbar = x_t / (1 - t)
        return (eps_fn(x_t / (1 - t) * math.sqrt(ab), ab) - x_t) / (1 - t)
    return velocity


def _walk(velocity, x_start, t_grid, *, descending=False):
    """The inputs of a solver in t, checked: x_start as a float array (n, d), t_grid in [0, 1)
    with shape (k,), k >= 2, and strictly descending where asked (the midpoint rule's)."""
    if not callable(velocity):
        raise ValueError(f"velocity must be callable (x_t, t) -> v, got {velocity!r}")
    x = data_matrix("x_start", x_start)
    t_grid = _times(t_grid)
    if t_grid.ndim != 1 or t_grid.size < 2:
        raise ValueError(f"t_grid must have shape (k,) with k >= 2, got {t_grid.shape}")
    if descending and (np.diff(t_grid) >= 0).any():
        raise ValueError(f"t_grid must be descending with shape (k,), k >= 2, got {t_grid!r}")
    return x, t_grid


def euler_in_time(velocity, x_start, t_grid):
    """Euler's method on dx_t / dt = velocity(x_t, t) along ``t_grid`` (descending, from noise
    towards data): x <- x + (t' - t) velocity(x, t) from ``x_start`` at t_grid[0]. Returns x at
    t_grid[-1]. On the matching levels sigma_i = t_i / (1 - t_i) it is Euler in sigma on the
    probability-flow ODE, since (t' - t) / ((1 - t)(1 - t')) = sigma' - sigma."""
    x, t_grid = _walk(velocity, x_start, t_grid)
    for t0, t1 in zip(t_grid[:-1], t_grid[1:]):
        # x' = x + (t' - t) v(x, t)
        x = x + (t1 - t0) * velocity(x, t0)
    return x


def midpoint_in_time(velocity, x_start, t_grid):
    """The midpoint rule on dx_t / dt = velocity(x_t, t) along ``t_grid`` (descending, from noise
    towards data), two calls per interval:

        x' = x + h velocity(x + (h / 2) velocity(x, t), t + h / 2),   h = t' - t.

    Second order where ``euler_in_time`` is first; flow matching's published sampler (Lipman et
    al. 2023's example code uses it). Like Euler it never calls velocity at the grid's last time,
    so that may be t = 0. Returns x at t_grid[-1], shape (n, d).
    """
    x, t_grid = _walk(velocity, x_start, t_grid, descending=True)
    for t0, t1 in zip(t_grid[:-1], t_grid[1:]):
        h = t1 - t0
        # x' = x + h v(x + (h/2) v(x, t), t + h/2)
        x = x + h * velocity(x + 0.5 * h * velocity(x, t0), t0 + 0.5 * h)
    return x


def flow_clock_times(steps, *, sigma_max=80.0):
    """Flow matching's clock as a grid: ``steps`` equal intervals of t, from
    t_max = time_from_sigma(sigma_max) down to 0 (the data), shape (steps + 1,).

    Uniform in t = sigma / (1 + sigma), it spends its steps where sigma is of order one, where
    data of unit scale take their shape: with 4 steps from sigma_max = 80 the midpoint rule calls
    the network at sigma = 80, 6.4, 2.9, 1.6, 0.98, 0.59, 0.33 and 0.14. The rho = 7 grid of
    ``helpers.score.karras_sigmas`` with 8 levels goes 80, 17.5, 2.5, 0.17: one wide step over
    the whole range that matters.
    """
    steps = count("steps", steps)
    t_max = time_from_sigma(positive_scalar("sigma_max", sigma_max))
    return t_max * (1.0 - np.arange(steps + 1) / steps)


def flow_clock_sample(eps_fn, n, *, nfe, d=1, sigma_max=80.0, rng=None):
    """Samples of any ``eps_fn`` by the midpoint rule on flow matching's clock (``nfe`` calls).

    The probability-flow ODE of ``helpers.score.pf_ode_sample``, in flow matching's variables
    x_t = (1 - t) xbar, t = sigma / (1 + sigma), where dx_t / dt = (eps_hat - x_t) / (1 - t)
    (``velocity_from_eps``): nfe / 2 midpoint steps on ``flow_clock_times``, ending at t = 0
    (sigma = 0). It starts as pf_ode_sample does, from xbar ~ N(0, (1 + sigma_max^2) I), so
    equal rng gives equal start points. nfe must be even: an Euler step in place of one
    midpoint step costs more accuracy than the extra call buys (on Gaussian data, 9 calls that
    way err 15 times more than 8). On two moons its median sliced W1 over five trainings is 36,
    4.5 and 1.7 times lower than pf_ode_sample's Heun on the rho = 7 grid at 8, 16 and 32 calls
    (``benchmarks/flow_matching_seeds.py``).

    Parameters
    ----------
    eps_fn : callable ``(x, alpha_bar) -> eps_hat``
    n : int
        Number of samples.
    nfe : even int >= 2
        eps_fn calls, each on the whole batch.
    d : int
    sigma_max : float > 0
    rng : int, numpy.random.Generator or None

    Returns
    -------
    ndarray, shape (n, d)
    """
    if not callable(eps_fn):
        raise ValueError(f"eps_fn must be callable (x, alpha_bar) -> eps_hat, got {eps_fn!r}")
    nfe = count("nfe", nfe, minimum=2)
    if nfe % 2:
        raise ValueError(f"nfe must be even (two calls per midpoint step), got {nfe!r}")
    n, d = count("n", n), count("d", d)
    t_grid = flow_clock_times(nfe // 2, sigma_max=sigma_max)
    # xbar(sigma_max) ~ N(0, (1 + sigma_max^2) I), and x_t = (1 - t) xbar
    xbar = math.sqrt(1.0 + sigma_max ** 2) * as_rng(rng).standard_normal((n, d))
    return midpoint_in_time(velocity_from_eps(eps_fn), (1.0 - t_grid[0]) * xbar, t_grid)


@dataclass(frozen=True)
class TrainedVelocity:
    """What ``train_velocity`` returns: v_theta(x_t, t), float64, frozen.

    ``trained(x_t, t)`` is the velocity for a numpy x_t of shape (n, d) and a float t in [0, 1);
    ``trained.eps_fn`` is the same network as an ``eps_fn`` for ``helpers.score``:

        eps_hat(x, alpha_bar) = x_t + (1 - t) v_theta(x_t, t),
        t = sigma / (1 + sigma), x_t = (1 - t) x / sqrt(alpha_bar), sigma from alpha_bar.

    Both evaluate ``chunk_size`` rows at a time without gradients on one torch thread
    (``helpers.nets.evaluate_in_chunks``).

    Attributes
    ----------
    net : torch.nn.Module
        The MLP on [x_t, t] (d + 1 inputs, d outputs).
    history : ndarray, shape (steps,)
        L_FM on each step's batch.
    train_s : float
        Seconds spent in the training loop.
    """

    net: object
    history: np.ndarray
    train_s: float

    def _velocity(self, x_t, t, chunk_size):
        import torch

        chunk_size = count("chunk_size", chunk_size)
        return evaluate_in_chunks(
            lambda rows: self.net(torch.cat([rows, torch.full((len(rows), 1), t,
                                                              dtype=torch.float64)], 1)),
            torch.as_tensor(x_t, dtype=torch.float64), chunk_size=chunk_size)

    def __call__(self, x_t, t, chunk_size=65536):
        """v_theta(x_t, t) for x_t of shape (n, d) and a float t in [0, 1), as float64 (n, d)."""
        x_t = data_matrix("x_t", x_t)
        t = _times(t)
        if t.ndim != 0:
            raise ValueError(f"t must be a float, got an array of shape {t.shape}")
        return self._velocity(x_t, float(t), chunk_size)

    def eps_fn(self, x, alpha_bar, *, chunk_size=65536):
        """eps_hat(x, alpha_bar) = x_t + (1 - t) v_theta(x_t, t): an ``eps_fn``."""
        x = data_matrix("x", x)
        sigma = sigma_from_alpha_bar(alpha_bar)
        if not isinstance(sigma, float):
            raise ValueError(f"alpha_bar must be a float, got {alpha_bar!r}")
        t = time_from_sigma(sigma)
        # x_t = (1 - t) xbar, xbar = x / sqrt(alpha_bar)
        x_t = (1 - t) * x / math.sqrt(alpha_bar)
        # eps_hat = x_t + (1 - t) v
        return x_t + (1 - t) * self._velocity(x_t, t, chunk_size)


def train_velocity(x0, *, steps=1500, batch_size=256, lr=5e-3, hidden=(64, 64, 64), seed=0,
                   progress=True, desc="training v_theta(x_t, t)"):
    """Fit v_theta by flow matching, L_FM = E || v_theta(x_t, t) - (eps - x_0) ||^2, with Adam.

    Each step draws a batch of x_0 (with replacement), eps ~ N(0, I) and t ~ U[0, 1), forms the
    straight path x_t = (1 - t) x_0 + t eps and takes one Adam step (constant learning rate) on
    the squared error summed over d and averaged over the batch. The network is an MLP on
    [x_t, t] with softplus between layers, in float64. ``seed`` seeds the initial weights and, in
    a generator of its own with the same seed, the batches, noise and times: equal seeds give
    equal models on one torch thread; torch's global random state is left untouched.

    Parameters
    ----------
    x0 : array_like, shape (n, d)
        Training data.
    steps, batch_size, lr, seed, progress, desc
        As ``helpers.denoiser.train_eps_fn`` (here lr stays constant).
    hidden : int or sequence of int
        Hidden layer widths.

    Returns
    -------
    TrainedVelocity
    """
    import torch

    x0 = data_matrix("x0", x0)
    steps, batch_size = count("steps", steps), count("batch_size", batch_size)
    lr, seed = positive_scalar("lr", lr), check_seed("seed", seed)
    d = x0.shape[1]
    with torch.random.fork_rng(devices=[]):
        torch.manual_seed(seed)
        net = mlp(d + 1, *hidden_sizes(hidden), d, activation="softplus").double()
    opt, history = Adam(net.parameters(), lr=lr), []
    data = torch.as_tensor(x0)
    gen = torch.Generator().manual_seed(seed)
    start = time.perf_counter()
    with torch_threads(1):
        for _ in progress_bar(range(steps), desc=desc, disable=not progress):
            x = data[torch.randint(len(data), (batch_size,), generator=gen)]       # x_0 ~ data
            noise = torch.randn(batch_size, d, generator=gen, dtype=torch.float64)  # eps
            t = torch.rand(batch_size, 1, generator=gen, dtype=torch.float64)       # t ~ U[0, 1)
            x_t = (1 - t) * x + t * noise                                          # the path
            loss = ((net(torch.cat([x_t, t], 1)) - (noise - x)) ** 2).sum(1).mean()
            opt.zero_grad()
            loss.backward()
            opt.step()
            history.append(loss.item())
    train_s = time.perf_counter() - start
    return TrainedVelocity(frozen(net), np.asarray(history), train_s)
