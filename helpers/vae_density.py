"""The Gaussian VAE with a learned variance per pixel: a density for dequantised digits (notebook 07).

Notebook 04's decoder p_theta(x | z) = N(f_theta(z), c I) has one variance c for all 64 pixels.
As a density of real pixels that is wasteful: the blank border of a digit, where the dequantised
x is uniform on [0, 1/17), needs a variance of about (1/17)^2 / 12 = 2.9e-4, while a stroke's
edge needs one near 0.01. Here the decoder returns both a mean and a variance for each pixel,

    p_theta(x | z) = N(f_theta(z), diag v_theta(z)),  v_theta = softplus(.) + 1e-6,

which is eq. 2.6 with c replaced by a learned v_theta(z); the rest (the encoder, the prior, the
reparameterised ELBO and its closed-form KL) is notebook 04's, and both bounds are
``helpers.vae_bounds``'. Notebook 07 compares it in bits per pixel with one learned c.

* ``DensityVAE``: ``helpers.vae.GaussianVAE`` with the wider decoder;
* ``train_density_vae``: Adam on the negative ELBO (one draw of z per example), seeded;
* ``density_bounds``: the ELBO and the importance-weighted bound (Burda et al. 2016) per example.
"""

from __future__ import annotations

import time
from dataclasses import dataclass

import numpy as np
import torch

from ._checks import as_float32_tensor, as_torch_generator, count, positive_scalar
from ._checks import seed as check_seed
from ._deprecated import keyword_only
from ._results import UnpacksAsTuple
from .gaussian import diag_gaussian_log_likelihood
from .nets import Adam, cosine_lr, frozen, hidden_sizes, mlp, torch_threads
from .progress import progress_bar
from .vae import GaussianVAE
from .vae_bounds import importance_bounds, negative_elbo_from_q

__all__ = ["DecodedPixels", "DensityVAE", "TrainedDensityVAE", "train_density_vae", "DensityBounds",
           "density_bounds"]

VAR_MIN = 1e-6  # v_theta = softplus(.) + VAR_MIN keeps log v_theta finite


@dataclass(frozen=True)
class DecodedPixels(UnpacksAsTuple):
    """What ``DensityVAE.decode_with_var`` returns: the mean f_theta(z) and the variance
    v_theta(z) of every pixel, each of shape (..., x_dim)."""

    mean: torch.Tensor
    var: torch.Tensor


class DensityVAE(GaussianVAE):
    """``GaussianVAE`` whose decoder returns a mean and a variance per pixel.

    ``decode(z)`` is the mean f_theta(z) (as in ``GaussianVAE``, so sampling code is shared);
    ``decode_with_var(z)`` returns both, a ``DecodedPixels``. The arguments are ``GaussianVAE``'s.
    """

    def __init__(self, x_dim, z_dim, *, hidden=128, activation="relu", decoder_mean="sigmoid"):
        super().__init__(x_dim, z_dim, hidden=hidden, activation=activation,
                         decoder_mean=decoder_mean)
        sizes = hidden_sizes(hidden)
        self.decoder = mlp(self.z_dim, *sizes[::-1], 2 * self.x_dim, activation=activation)

    def decode_with_var(self, z):
        """``DecodedPixels``: f_theta(z) and v_theta(z), each of shape (..., x_dim)."""
        out, s = self.decoder(z).chunk(2, dim=-1)
        mean = torch.sigmoid(out) if self.decoder_mean == "sigmoid" else out
        return DecodedPixels(mean, torch.nn.functional.softplus(s) + VAR_MIN)

    def decode(self, z):
        return self.decode_with_var(z).mean

    def log_px_z(self, x, z):
        """log N(x; f_theta(z), diag v_theta(z)), summed over pixels; z of shape (..., n, z_dim)."""
        pixels = self.decode_with_var(z)
        return diag_gaussian_log_likelihood(x, pixels.mean, pixels.var)

    def negative_elbo(self, x, eps):
        """Eq. 2.8's negative ELBO per example, v_theta(z) in place of c; eps of shape (L, n, z_dim)."""
        mu_phi, sigma_phi = self.encode(x)
        pixels = self.decode_with_var(mu_phi + sigma_phi * eps)
        return negative_elbo_from_q(x, mu_phi, sigma_phi, pixels.mean, pixels.var).total


@dataclass(frozen=True)
class TrainedDensityVAE:
    """What ``train_density_vae`` returns: the model (frozen), the loss per step, the seconds."""

    model: DensityVAE
    history: np.ndarray
    train_s: float


def train_density_vae(x_train, *, z_dim=16, hidden=(128, 128), steps=1500, batch_size=128,
                      lr=2e-3, seed=0, progress=True, desc="training the VAE"):
    """Fit a ``DensityVAE`` by Adam on the mean negative ELBO of a batch, on one torch thread.

    Batches are drawn with replacement; the learning rate decays along a half cosine to 0, as in
    ``helpers.denoiser.training_loop``. Equal seeds give equal models; torch's global random
    state is left untouched.

    Parameters
    ----------
    x_train : array, shape (n, d)
        Dequantised training digits (``helpers.bits.dequantise``).
    z_dim, hidden
        Latent dimension and hidden layer sizes (ReLU, sigmoid mean).
    steps, batch_size, lr, seed, progress, desc
        Adam steps, examples per step, initial learning rate, seed, progress bar and its label.

    Returns
    -------
    TrainedDensityVAE
    """
    x = as_float32_tensor("x_train", x_train)
    z_dim, steps, batch_size = count("z_dim", z_dim), count("steps", steps), count(
        "batch_size", batch_size)
    lr, seed = positive_scalar("lr", lr), check_seed("seed", seed)
    with torch_threads(1):
        with torch.random.fork_rng(devices=[]):
            torch.manual_seed(seed)
            model = DensityVAE(x.shape[1], z_dim, hidden=hidden)
        gen = torch.Generator().manual_seed(seed + 1)
        opt, losses = Adam(model.parameters(), lr), []
        start = time.perf_counter()
        for step in progress_bar(range(steps), desc=desc, disable=not progress):
            xb = x[torch.randint(len(x), (batch_size,), generator=gen)]
            eps = torch.randn(len(xb), z_dim, generator=gen)
            loss = model.negative_elbo(xb, eps[None]).mean()
            if not torch.isfinite(loss):
                raise ValueError(f"the loss became {loss.item()} at step {step}: training "
                                 f"diverged; try a smaller lr (got {lr})")
            opt.param_groups[0]["lr"] = cosine_lr(lr, step, steps)
            opt.zero_grad()
            loss.backward()
            opt.step()
            losses.append(loss.item())
        train_s = time.perf_counter() - start
    return TrainedDensityVAE(frozen(model), np.asarray(losses), train_s)


@dataclass(frozen=True)
class DensityBounds:
    """Lower bounds on log p(x) in nats, one per example: the ELBO (k = 1) and the IWAE (k)."""

    elbo: np.ndarray
    iwae: np.ndarray
    k: int


@keyword_only(3, ["rng", "chunk_size"])
def density_bounds(model, x, k, *, rng=None, chunk_size=64):
    """The ELBO and the importance-weighted bound log (1/k) sum_j p(x, z_j) / q(z_j | x).

    Both use the same draws: the ELBO is the mean over the k draws of log p(x, z_j) / q(z_j | x),
    so it is an unbiased estimate of the ELBO, and the IWAE bound is at least as large for every
    example. float64 for the sums; ``chunk_size`` draws at a time, no gradients.
    """
    if not isinstance(model, DensityVAE):
        raise ValueError(f"model must be a DensityVAE, got {type(model).__name__}")
    x = as_float32_tensor("x", x, model.x_dim)
    k, chunk_size = count("k", k), count("chunk_size", chunk_size)
    gen = as_torch_generator(rng)
    with torch.no_grad(), torch_threads(1):
        mu_phi, sigma_phi = model.encode(x)
        bounds = importance_bounds(lambda z: model.log_px_z(x, z.float()).double(), mu_phi,
                                   sigma_phi, k, chunk_size=chunk_size, generator=gen)
    return DensityBounds(bounds.elbo.numpy(), bounds.iwae.numpy(), k)
