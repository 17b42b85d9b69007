"""A neural decoder trained on eq. 2.3's naive estimate: the article's note under eq. 2.3, run.
Taught in notebook 02; notebook 04 compares the VAE against it.

Model: z ~ N(0, I_k), x | z ~ N(f_theta(z), c I_d) (eq. 2.6's decoder, c fixed). Training
maximises the naive estimate of the evidence itself (eq. 2.3, in log space),

    log p_hat(x) = log (1/L) sum_l N(x; f_theta(z_l), c I),   z_l ~ N(0, I),

and ``decoder_log_evidence`` scores a trained decoder on held-out data (grid quadrature for
k <= 2, or the naive estimate). Every (n, L) table of ||x - f_theta(z_l)||^2 is one matrix
product (``squared_distances``). torch is imported inside the functions only.
"""

from __future__ import annotations

import copy
import dataclasses
import time
from dataclasses import dataclass

import numpy as np

from ._checks import (as_float_array, as_torch_generator, broadcastable, count, data_matrix,
                      positive_scalar, seed as check_seed, steps_within)
from ._deprecated import deprecated_use, keyword_only, renamed_arguments, renamed_field
from ._distances import squared_distances
from ._logsumexp import logsumexp_torch
from .nets import Adam, frozen, hidden_sizes, mlp, torch_threads
from .progress import progress_bar
from .gaussian import gaussian_log_norm, isotropic_log_likelihood, standard_normal_log_pdf

__all__ = ["NAIVE_DECODER_SETTINGS", "NaiveDecoderRun", "decoder_log_likelihood",
           "train_naive_decoder", "decoder_log_evidence", "decoder_samples"]

# The settings notebook 02 trains with (k = 2 and k = 8), and notebook 04 compares against.
NAIVE_DECODER_SETTINGS = dict(c=0.03, n_samples=256, steps=300, batch_size=128, hidden=128,
                              lr=1e-2, seed=0)


def _torch_decoder(f_theta):
    if not callable(f_theta):
        raise ValueError(f"f_theta must be a callable torch module, got {f_theta!r}")
    return f_theta


def decoder_log_likelihood(f_theta, c):
    """log p_theta(x | z) = log N(x; f_theta(z), c I) as a numpy callable ``(x, z) -> array``.

    The returned function has the signature ``naive_mc_log_evidence`` expects. For x of shape
    (n, 1, d) and z of shape (m, k) it builds the (n, m) table through one matrix product,
    ||x - f||^2 = ||x||^2 - 2 x.f + ||f||^2, in float64; other shapes broadcast directly.

    Parameters
    ----------
    f_theta : torch.nn.Module (or any callable on float32 tensors)
        The decoder mean, R^k -> R^d.
    c : float
        Decoder variance, > 0 (eq. 2.6).
    """
    import torch

    f_theta = _torch_decoder(f_theta)
    c = positive_scalar("c", c)

    def log_likelihood(x, z):
        x = as_float_array("x", x)
        z = as_float_array("z", z)
        with torch.no_grad():
            f = f_theta(torch.as_tensor(z, dtype=torch.float32)).double().numpy()
        if f.shape[-1] != x.shape[-1]:
            raise ValueError(f"x must have shape (..., {f.shape[-1]}) to match f_theta, got {x.shape}")
        if x.ndim == 3 and x.shape[1] == 1 and f.ndim == 2:
            sq = squared_distances(x[:, 0, :], f)
        else:
            broadcastable(x, f, "x", "z")
            sq = np.sum((x - f) ** 2, axis=-1)
        return isotropic_log_likelihood(sq, x.shape[-1], c)

    return log_likelihood


@dataclass(frozen=True)
class NaiveDecoderRun:
    """What ``train_naive_decoder`` returns.

    Attributes
    ----------
    f_theta : torch.nn.Module
        The trained decoder mean, in eval mode, its parameters frozen.
    z_dim : int
        k, the dimension of z (``latent_dim`` is its deprecated name).
    c : float
    history : ndarray, shape (steps,)
        The minibatch mean of log p_hat(x) at each step, nats per image, every constant kept.
    train_s : float
        Seconds in the training loop.
    settings : dict
        Every argument except the data.
    snapshots : dict
        {step: f_theta after that many steps} for each of ``snapshot_steps`` (frozen copies).
    """

    f_theta: object
    z_dim: int
    c: float
    history: np.ndarray
    train_s: float
    settings: dict
    snapshots: dict = dataclasses.field(default_factory=dict)

    latent_dim = renamed_field("latent_dim", "z_dim")
    train_log_evidence = renamed_field("train_log_evidence", "history")
    wall_time = renamed_field("wall_time", "train_s")


@keyword_only(1, ["z_dim", "c", "n_samples", "steps", "batch_size", "hidden", "lr", "seed",
                  "progress", "snapshot_steps"])
@renamed_arguments(latent_dim="z_dim", n_steps="steps", show_progress="progress")
def train_naive_decoder(x_train, *, z_dim, c=0.03, n_samples=256, steps=300, batch_size=128,
                        hidden=128, lr=1e-2, seed=0, progress=True, snapshot_steps=()):
    """Train a decoder f_theta by maximising the naive estimate of eq. 2.3 (the article's note).

    Model: z ~ N(0, I_k), x | z ~ N(f_theta(z), c I_d) with f_theta = ``helpers.nets.mlp`` and a
    fixed c. Each step draws a minibatch of ``batch_size`` images and ``n_samples`` = L prior
    samples shared by the whole minibatch, so f_theta runs once per sample and the (batch, L)
    table of ||x - f_theta(z_l)||^2 is one matrix product. The objective is the minibatch mean of

        log p_hat(x) = log (1/L) sum_l N(x; f_theta(z_l), c I)      (eq. 2.3, in log space)

    maximised with Adam. The defaults are ``NAIVE_DECODER_SETTINGS``, the run of notebook 02.
    Repeatable on one machine: a fixed number of steps, all randomness from ``seed``, and one
    torch thread while training (the matrices are small: on a shared 2-core machine threads cost
    more than they save). Not across machines: another CPU rounds the matrix products and kernels
    differently in the last bit, and this training amplifies that, at k = 8 to about a nat in the
    final objective (notebook 02, section 6; ``make test-portable``).

    Parameters
    ----------
    x_train : array_like, shape (n, d)
        Training images, e.g. ``helpers.data.load_digits("train")``.
    z_dim : int
        k, the dimension of z (``latent_dim=`` is its deprecated name).
    c : float
        Fixed decoder variance (eq. 2.6), > 0.
    n_samples : int
        L, prior samples per step (shared across the minibatch).
    steps, batch_size : int
        Adam steps, and images per step.
    hidden : int or tuple of int
        Hidden layer widths of f_theta: ``mlp(z_dim, *hidden, d)``.
    lr : float
        Adam learning rate.
    seed : int
        Seeds the weights, the minibatches and the prior samples.
    progress : bool
        Show a ``helpers.progress`` bar.
    snapshot_steps : sequence of int
        Steps (1..steps) after which to keep a copy of f_theta, in ``snapshots``: the decoder
        an s-step run ends with (same batches and samples, constant lr), at no extra training.

    Returns
    -------
    NaiveDecoderRun
    """
    import torch

    x_train = data_matrix("x_train", x_train)
    z_dim = count("z_dim", z_dim)
    c = positive_scalar("c", c)
    n_samples = count("n_samples", n_samples)
    steps = count("steps", steps)
    batch_size = count("batch_size", batch_size)
    hidden = hidden_sizes(hidden)
    lr = positive_scalar("lr", lr)
    seed = check_seed("seed", seed)
    snapshot_steps = steps_within("snapshot_steps", snapshot_steps, steps)
    settings = dict(z_dim=z_dim, c=c, n_samples=n_samples, steps=steps,
                    batch_size=batch_size, hidden=hidden, lr=lr, seed=seed)

    n, d = x_train.shape
    x_all = torch.as_tensor(x_train, dtype=torch.float32)
    x_sq_all = (x_all**2).sum(1)
    with torch.random.fork_rng(devices=[]):
        torch.manual_seed(seed)
        f_theta = mlp(z_dim, *hidden, d)
    gen = torch.Generator().manual_seed(seed)
    adam = Adam(f_theta.parameters(), lr)
    curve = np.empty(steps)
    snapshots = {}

    with torch_threads(1):
        start = time.perf_counter()
        for step in progress_bar(range(steps), desc=f"naive decoder, k={z_dim}",
                                 disable=not progress):
            idx = torch.randint(n, (batch_size,), generator=gen)
            z = torch.randn(n_samples, z_dim, generator=gen)                 # z_l ~ p(z)
            sq = squared_distances(x_all[idx], f_theta(z), x_sq_all[idx])  # ||x - f_theta(z_l)||^2
            log_lik = isotropic_log_likelihood(sq, d, c)                    # log p(x | z_l)
            log_p_hat = logsumexp_torch(log_lik, 1) - np.log(n_samples)     # eq. 2.3
            loss = -log_p_hat.mean()
            adam.zero_grad()
            loss.backward()
            adam.step()
            curve[step] = -loss.item()
            if step + 1 in snapshot_steps:
                snapshots[step + 1] = frozen(copy.deepcopy(f_theta))
        train_s = time.perf_counter() - start
    if not np.isfinite(curve).all():
        raise ValueError(f"training diverged (non-finite objective); try a smaller lr than {lr!r}")
    return NaiveDecoderRun(f_theta=frozen(f_theta), z_dim=z_dim, c=c, history=curve,
                           train_s=train_s, settings=settings, snapshots=snapshots)


@keyword_only(4, ["method", "n_samples", "grid_size", "grid_range", "rng"])
@renamed_arguments(seed="rng", latent_dim="z_dim")
def decoder_log_evidence(f_theta, x, c, z_dim, *, method="grid", n_samples=2**16,
                         grid_size=256, grid_range=6.0, rng=None):
    """log p_theta(x) of a trained decoder, per example, for held-out evaluation.

    method="grid" (z_dim 1 or 2): quadrature of eq. 2.3's integral on a regular grid over
    [-grid_range, grid_range]^k, log sum_g p(x | z_g) p(z_g) dz. Deterministic, and accurate
    when the grid spacing is small next to the width of p(z | x) (check by doubling grid_size).
    method="naive": eq. 2.3's Monte-Carlo estimate with ``n_samples`` prior samples drawn with
    ``rng``; biased low when the posterior is narrow.

    The (n, chunk) tables of ||x - f_theta(z)||^2 are float32 matrix products on one torch thread
    (rounding error below 1e-3 nats for pixels in [0, 1]); the sums over chunks are float64, and
    the constant (d/2) log(2 pi c) is subtracted once, after them.

    Parameters
    ----------
    f_theta : torch module
        The decoder mean, R^k -> R^d (float32).
    x : array_like, shape (n, d)
    c : float
        Decoder variance, > 0.
    z_dim : int
        k, the dimension of z (``latent_dim=`` is its deprecated name).
    method : {"grid", "naive"}
    n_samples : int
        L for method="naive".
    grid_size : int
        Points per axis for method="grid".
    grid_range : float
        Half-width of the grid; the prior mass outside [-6, 6]^2 is about 4e-9.
    rng : int, torch.Generator or None
        Source of the prior samples for method="naive" (the grid draws nothing).

    Returns
    -------
    ndarray, shape (n,)
        log p(x) in nats, with every constant.
    """
    import torch

    f_theta = _torch_decoder(f_theta)
    x = data_matrix("x", x)
    c = positive_scalar("c", c)
    z_dim = count("z_dim", z_dim)
    if method == "naive":
        n_samples = count("n_samples", n_samples)
        gen = as_torch_generator(rng)
        log_w_const = -np.log(n_samples)  # each sample weighs 1/L

        def chunks(size):
            for lo in range(0, n_samples, size):
                m = min(size, n_samples - lo)
                yield torch.randn(m, z_dim, generator=gen), torch.full((m,), log_w_const)
    elif method == "grid":
        if z_dim > 2:
            raise ValueError(f"method='grid' needs z_dim <= 2, got {z_dim!r}")
        grid_size = count("grid_size", grid_size, minimum=2)
        grid_range = positive_scalar("grid_range", grid_range)
        axis = torch.linspace(-grid_range, grid_range, grid_size, dtype=torch.float64)
        z_all = torch.stack(torch.meshgrid(*([axis] * z_dim), indexing="ij"), -1)
        z_all = z_all.reshape(-1, z_dim)
        # log [p(z_g) dz]: the prior density times the cell volume
        log_w_all = (standard_normal_log_pdf(z_all)
                     + z_dim * np.log(float(axis[1] - axis[0])))

        def chunks(size):
            for lo in range(0, len(z_all), size):
                yield z_all[lo:lo + size].float(), log_w_all[lo:lo + size]
    else:
        raise ValueError(f"method must be 'grid' or 'naive', got {method!r}")

    xt = torch.as_tensor(x, dtype=torch.float32)
    x_sq = (xt**2).sum(1)
    total = torch.full((x.shape[0],), -np.inf, dtype=torch.float64)
    size = max(1, 2**19 // x.shape[0])  # table entries per chunk: 2 MiB of float32, cache-sized
    with torch_threads(1), torch.no_grad():
        for z, log_w in chunks(size):
            f = f_theta(z)
            if f.shape[-1] != x.shape[1]:
                raise ValueError(f"x must have shape (n, {f.shape[-1]}) to match f_theta, "
                                 f"got {x.shape}")
            sq = squared_distances(xt, f, x_sq)
            table = -sq / (2.0 * c) + log_w.float()  # log p(x | z) p(z) dz, but for the constant
            total = torch.logaddexp(total, logsumexp_torch(table, 1).double())
    return (total - gaussian_log_norm(x.shape[1], c)).numpy()


@renamed_arguments(seed="rng", latent_dim="z_dim")
def decoder_samples(f_theta, n, *old_order, z_dim=None, rng=None):
    """Decoder means f_theta(z) for n prior samples z ~ N(0, I_k), k = ``z_dim``: shape (n, d).

    ``rng`` (an int seed, a ``torch.Generator`` or None) draws the z. The order before helpers
    0.3, ``decoder_samples(f_theta, latent_dim, n, rng)``, still works, with a warning.
    """
    import torch

    if old_order:
        deprecated_use("decoder_samples(f_theta, latent_dim, n, rng) is now "
                       "decoder_samples(f_theta, n, z_dim=..., rng=...)")
        if len(old_order) > 2 or z_dim is not None:
            raise ValueError("decoder_samples() takes f_theta, n, z_dim= and rng=")
        z_dim, n = n, old_order[0]
        rng = old_order[1] if len(old_order) == 2 else rng
    if z_dim is None:
        raise ValueError("decoder_samples() needs z_dim=, the dimension of z")
    f_theta = _torch_decoder(f_theta)
    z_dim = count("z_dim", z_dim)
    n = count("n", n)
    gen = as_torch_generator(rng)
    with torch.no_grad():
        return f_theta(torch.randn(n, z_dim, generator=gen)).double().numpy()
