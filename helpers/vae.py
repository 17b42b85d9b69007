"""The Gaussian VAE: eqs. 2.6-2.8 and the reparameterisation trick (torch). Taught in notebook 04.

Eq. 2.6 fixes three Gaussians:

    p(z)           = N(0, I)
    p_theta(x | z) = N(f_theta(z), c I)                        (c > 0, one number for every pixel)
    q_phi(z | x)   = N(mu_phi(x), diag(sigma_phi(x)^2))        (the article writes sigma_phi(x))

With them, the negative ELBO of one example x in R^d is (eq. 2.7, with the constant put back)

    E_q ||x - f_theta(z)||^2 / (2c) + (d/2) log(2 pi c) + KL(q_phi(z | x) || p(z)),

and eq. 2.8 replaces the expectation by an average over L = ``n_samples`` draws
z^l = mu_phi(x) + sigma_phi(x) * eps^l, eps^l ~ N(0, I) (reparameterisation: the sample is a
differentiable function of mu_phi and sigma_phi). The KL has the closed form of
``helpers.gaussian.gaussian_kl``. That loss is written once, in
``helpers.vae_bounds.negative_elbo_from_q``: ``negative_elbo``, ``train_vae`` and its held-out
scores all call it, as ``importance_log_likelihood`` calls ``helpers.vae_bounds``' IWAE.

``train_vae`` fits one model, or a whole grid of c values at once (the models of a grid are
stacked and run through ``torch.func.vmap``, so a grid costs one batched pass per step), with one
loss and one plain loop; how the networks run (one model, or a vmap-stacked grid) is
``helpers.vae_grid``.
The experiments of notebook 04 around the model are ``helpers.vae_analysis``; its figures are
``helpers.plots.vae``.
"""

from __future__ import annotations

import dataclasses
import functools
import time

import numpy as np
import torch

from ._checks import as_float32_tensor, as_float_array, as_torch_generator, count, positive_scalar
from ._checks import seed as check_seed, steps_within
from ._deprecated import deprecated_use, keyword_only, moved, renamed_arguments, renamed_field
from ._results import UnpacksAsTuple, retired_flag
from .gaussian import isotropic_log_likelihood
from . import nets
from .nets import hidden_sizes, keeps_torch_rng, mlp, torch_threads
from .progress import progress_bar
from .vae_bounds import NegativeElboTerms, importance_bounds, negative_elbo_from_q
from .vae_grid import OneVAE, VAEGrid, frozen_copies

__all__ = ["RECOMMENDED", "GaussianVAE", "VAEOutput", "negative_elbo", "negative_elbo_terms",
           "NegativeElboTerms", "importance_log_likelihood", "train_vae", "TrainResult",
           "TrainingHistory"]

_SIGMA_MIN = 1e-4  # sigma_phi = softplus(.) + _SIGMA_MIN keeps log sigma_phi finite
_DECODER_MEANS = ("identity", "sigmoid")

# train_vae's settings for a high held-out likelihood (``train_vae(x_train, **RECOMMENDED)``);
# the defaults stay those notebook 04 teaches with. Chosen by ``make bench``
# (benchmarks/vae_peer.py) against the classic MLP VAE (400 ReLU, 20 latents, sigmoid mean, Adam
# 1e-3) at equal wall time, c = 0.01 (the numbers are ``make bench``'s). The sigmoid mean is the
# largest gain; lr 3e-3 gets there sooner but overfits the 1438 training digits on long runs, so
# 1e-3 suits long runs.
RECOMMENDED = {"z_dim": 20, "hidden": 400, "activation": "relu", "decoder_mean": "sigmoid",
               "lr": 1e-3, "batch_size": 128}


def _as_c(c):
    """The decoder variance c: a float > 0, or a positive scalar tensor (a learned c keeps its grad)."""
    if isinstance(c, torch.Tensor):
        v = c.detach()
        if v.numel() != 1 or not torch.isfinite(v).all() or not (v > 0).all():
            raise ValueError(f"c must be a finite scalar > 0, got {v.flatten()[:3].tolist()!r}")
        return c.reshape(())
    return positive_scalar("c", c)


class GaussianVAE(torch.nn.Module):
    """The Gaussian VAE of eq. 2.6 with an MLP encoder and decoder (``helpers.nets.mlp``).

    Parameters
    ----------
    x_dim, z_dim : int
        d (pixels) and the latent dimension.
    hidden : int, sequence of int, or ()
        Hidden layer sizes of both networks; ``()`` makes both linear (a linear decoder is the
        ``helpers.linear_gaussian.LinearGaussian`` model, whose evidence is known).
    activation : {"tanh", "relu", "softplus"}
    decoder_mean : {"identity", "sigmoid"}
        ``"identity"`` (default): f_theta(z) is the decoder network's output, unconstrained.
        ``"sigmoid"``: f_theta(z) = sigmoid(network output), a mean inside the pixels' range
        [0, 1] (the classic MLP VAE's choice; it trains faster on digits, see ``train_vae``).

    Notes
    -----
    The encoder outputs 2 * z_dim numbers: mu_phi(x) and a pre-activation s with
    sigma_phi(x) = softplus(s) + 1e-4 > 0. By default the decoder mean f_theta(z) is unconstrained
    (no sigmoid), exactly as notebook 02's naive decoder, so the two compare objectives only.
    """

    @keyword_only(3, ["hidden", "activation", "decoder_mean"])
    def __init__(self, x_dim, z_dim, *, hidden=128, activation="tanh", decoder_mean="identity"):
        super().__init__()
        if decoder_mean not in _DECODER_MEANS:
            raise ValueError(f"decoder_mean must be one of {sorted(_DECODER_MEANS)}, got "
                             f"{decoder_mean!r}")
        self.decoder_mean = decoder_mean
        self.x_dim, self.z_dim = count("x_dim", x_dim), count("z_dim", z_dim)
        sizes = hidden_sizes(hidden)
        self.encoder = mlp(self.x_dim, *sizes, 2 * self.z_dim, activation=activation)
        self.decoder = mlp(self.z_dim, *sizes[::-1], self.x_dim, activation=activation)

    def encode(self, x):
        """(mu_phi(x), sigma_phi(x)), each of shape (n, z_dim); sigma_phi > 0."""
        mu_phi, s = self.encoder(x).chunk(2, dim=-1)
        return mu_phi, torch.nn.functional.softplus(s) + _SIGMA_MIN

    def decode(self, z):
        """f_theta(z), the decoder mean, shape (..., x_dim)."""
        out = self.decoder(z)
        return torch.sigmoid(out) if self.decoder_mean == "sigmoid" else out

    def forward(self, x, eps):
        """A ``VAEOutput``: mu_phi, sigma_phi and f_theta(z), z = mu_phi + sigma_phi * eps, with
        eps of shape (L, n, z_dim)."""
        mu_phi, sigma_phi = self.encode(x)
        return VAEOutput(mu_phi, sigma_phi, self.decode(mu_phi + sigma_phi * eps))


@dataclasses.dataclass(frozen=True)
class VAEOutput(UnpacksAsTuple):
    """What ``GaussianVAE.forward`` returns: q's ``mu_phi``, ``sigma_phi`` (n, z_dim) and the
    decoder means ``f`` = f_theta(z^l), shape (L, n, d)."""

    mu_phi: torch.Tensor
    sigma_phi: torch.Tensor
    f: torch.Tensor


def _check_finite_kl(kl):
    if not torch.isfinite(kl).all():
        raise ValueError("the encoder gave a non-finite mu_phi or sigma_phi (the KL is not "
                         "finite): training diverged; try a smaller lr or a larger c")


def negative_elbo_terms(model, x, c, *, n_samples=1, rng=None):
    """Eq. 2.8's negative ELBO per example in its two parts, with the (d/2) log(2 pi c) constant.

    -ELBO(x) = (1/L) sum_l ||x - f_theta(z^l)||^2 / (2c) + (d/2) log(2 pi c)   (reconstruction)
               + KL(q_phi(z | x) || p(z))                                     (kl),

    z^l = mu_phi(x) + sigma_phi(x) * eps^l (reparameterisation), so it is differentiable in the
    encoder, the decoder and c.

    Parameters
    ----------
    model : GaussianVAE
    x : tensor or array, shape (n, d)
    c : float or scalar tensor
        Decoder variance, > 0. A tensor that requires grad lets c be learned.
    n_samples : int
        L, the reparameterised samples per example.
    rng : int, torch.Generator or None
        Source of eps.

    Returns
    -------
    NegativeElboTerms
        ``reconstruction``, ``kl`` and their sum ``total``, each of shape (n,).
    """
    x = as_float32_tensor("x", x, model.x_dim)
    c = _as_c(c)
    n_samples = count("n_samples", n_samples)
    eps = torch.randn(n_samples, x.shape[0], model.z_dim, generator=as_torch_generator(rng))
    out = model(x, eps)
    terms = negative_elbo_from_q(x, out.mu_phi, out.sigma_phi, out.f, c)
    _check_finite_kl(terms.kl)
    return terms


def _terms_as_tuple(model, x, c, n_samples=1, *, rng=None):  # return_terms=True before 0.3
    terms = negative_elbo_terms(model, x, c, n_samples=n_samples, rng=rng)
    return terms.total, terms.reconstruction, terms.kl


@keyword_only(4, ["rng", "return_terms"])
@retired_flag("return_terms", "negative_elbo(..., return_terms=True) is now "
              "negative_elbo_terms(...), whose result has .total, .reconstruction and .kl",
              _terms_as_tuple)
def negative_elbo(model, x, c, n_samples=1, *, rng=None):
    """Per-example negative ELBO of eqs. 2.7-2.8, with the (d/2) log(2 pi c) constant.

    ``negative_elbo_terms(...).total``: a tensor of shape (n,), differentiable in the encoder,
    the decoder and c; ``negative_elbo_terms`` gives the two parts (``return_terms=True``, the
    old way to get them as a tuple, still works in this release, with a warning).
    """
    return negative_elbo_terms(model, x, c, n_samples=n_samples, rng=rng).total


@keyword_only(4, ["rng", "chunk_size", "num_threads"])
def importance_log_likelihood(model, x, c, k, *, rng=None, chunk_size=256, num_threads=1):
    """Importance-weighted estimate of log p(x) with q_phi(z | x) as the proposal.

    log p(x) ~ log (1/k) sum_j p_theta(x | z_j) p(z_j) / q_phi(z_j | x),  z_j ~ q_phi(z | x).

    With k = 1 its mean is the ELBO; it grows with k towards log p(x) (Burda et al., 2016), and is
    exact for any k when q is the true posterior. Squared errors in float32 (rounding far below
    1e-3 nats), log-weights and sums in float64 (``helpers.vae_bounds.importance_bounds``);
    ``chunk_size`` samples decoded at a time, no gradients.

    Parameters
    ----------
    model : GaussianVAE
    x : tensor or array, shape (n, d)
    c : float
        Decoder variance, > 0.
    k : int
        Importance samples per example.
    rng : int, torch.Generator or None
    chunk_size : int
        Importance samples scored at once (memory ~ chunk_size * n * d floats).
    num_threads : int or None
        torch threads while scoring (None: leave torch's setting).

    Returns
    -------
    tensor of shape (n,), float64
    """
    x = as_float32_tensor("x", x, model.x_dim)
    c = float(_as_c(c))
    k = count("k", k)
    chunk_size = count("chunk_size", chunk_size)
    gen = as_torch_generator(rng)

    def log_px_z(z):  # log p_theta(x | z) = log N(x; f_theta(z), c I), squared errors in float32
        sq = ((x - model.decode(z.float())) ** 2).sum(-1).double()
        return isotropic_log_likelihood(sq, model.x_dim, c)

    with torch.no_grad(), torch_threads(num_threads):
        mu_phi, sigma_phi = model.encode(x)
        return importance_bounds(log_px_z, mu_phi, sigma_phi, k, chunk_size=chunk_size,
                                 generator=gen).iwae


@dataclasses.dataclass(frozen=True)
class TrainingHistory:
    """Mean negative ELBO per example (with the constant), every ``eval_every`` steps.

    Attributes
    ----------
    step : ndarray, shape (n_evals,)
    train : ndarray, shape (n_evals, n_models)
        On the training batches since the previous evaluation.
    test : ndarray, shape (n_evals, n_models), or None without a held-out set
        On the held-out set (L = 1, the same noise every time).
    """

    step: np.ndarray
    train: np.ndarray
    test: np.ndarray | None = None


@dataclasses.dataclass(frozen=True)
class TrainResult:
    """What ``train_vae`` returns.

    Attributes
    ----------
    models : list of GaussianVAE
        One per c value (in the order given).
    c : ndarray
        Final c of each model (the given c, or the learned one with ``learn_c``).
    history : TrainingHistory
    train_s : float
        Seconds spent in the training loop.
    snapshots : dict
        {step: list of GaussianVAE}, the models after each of ``snapshot_steps`` (frozen copies).
    """

    models: list
    c: np.ndarray
    history: TrainingHistory
    train_s: float = 0.0
    snapshots: dict = dataclasses.field(default_factory=dict)

    wall_time = renamed_field("wall_time", "train_s")

    @property
    def model(self):
        """The first (often the only) model."""
        return self.models[0]


def _epoch_batches(n, batch_size, generator):
    """Index batches for ``train_vae``: a fresh permutation of the n examples each epoch, cut
    into batches of ``batch_size`` (an epoch's last, incomplete batch is skipped).

    The other trainers of the course draw their batches with replacement; this one keeps
    the permutation because notebook 04's trained models, and the numbers it prints, come from
    this order of draws.
    """
    while True:
        order = torch.randperm(n, generator=generator)
        for pos in range(0, n - batch_size + 1, batch_size):
            yield order[pos:pos + batch_size]


def _held_out_score(net, x_test, eval_eps):
    """Mean negative ELBO of each model on the held-out set (L = 1, the same eps every time)."""
    terms = net.terms(x_test, eval_eps.expand(len(net.log_c), -1, -1, -1))
    _check_finite_kl(terms.kl)
    return terms.total.mean(-1).numpy().astype(np.float64)


@renamed_arguments(show_progress="progress")
@keeps_torch_rng
def train_vae(x_train, x_test=None, *, c=0.01, learn_c=False, z_dim=2, hidden=128,
              activation="tanh", decoder_mean="identity", n_samples=1, steps=2000,
              batch_size=128, lr=3e-3, eval_every=100, seed=0, progress=True,
              desc="training VAE", num_threads=1, snapshot_steps=()):
    """Fit Gaussian VAEs by minimising the negative ELBO (eqs. 2.7-2.8) with Adam.

    A fixed number of steps on seeded mini-batches, so two calls with the same arguments give the
    same models. Passing several c values trains one model per value at the same time: the models
    are stacked and evaluated with ``torch.func.vmap`` (one batched pass per step, same batches).

    Parameters
    ----------
    x_train : array or tensor, shape (n, d)
    x_test : array or tensor, shape (m, d), optional
        Held-out set, scored every ``eval_every`` steps (L = 1, fixed noise).
    c : float or sequence of float
        Decoder variance(s), > 0; the initial value when ``learn_c``.
    learn_c : bool
        Learn log c together with the networks (it needs the constant of eq. 2.7).
    z_dim, hidden, activation, decoder_mean
        The architecture (``GaussianVAE``); for a high likelihood, see ``RECOMMENDED``.
    n_samples : int
        L of eq. 2.8.
    steps, batch_size, lr, eval_every
        Adam steps, examples per step (at most n; each epoch is a fresh permutation of the
        examples), learning rate, steps per score. ``batch_size=None`` (the whole set) is
        deprecated: pass ``len(x_train)``.
    seed : int
        Seeds the initial weights, the batches and the noise (torch's global state is kept).
    progress, desc : bool, str
        Show a ``helpers.progress`` bar, with this label.
    num_threads : int or None
        torch threads while training (default 1, see ``helpers.nets.torch_threads``).
    snapshot_steps : sequence of int
        Steps (1..steps) after which to keep copies of the models, in ``snapshots``: the models
        an s-step run ends with (same batches and noise, constant lr), at no extra training.

    Returns
    -------
    TrainResult
    """
    x_train = as_float32_tensor("x_train", x_train)
    n, d = x_train.shape
    x_test = None if x_test is None else as_float32_tensor("x_test", x_test, d)
    c_values = np.atleast_1d(as_float_array("c", c))
    if c_values.ndim != 1 or (c_values <= 0).any():
        raise ValueError(f"c must be > 0 (a number or a 1-D sequence), got {c!r}")
    n_models = len(c_values)
    steps, eval_every = count("steps", steps), count("eval_every", eval_every)
    n_samples = count("n_samples", n_samples)
    if batch_size is None:
        deprecated_use("train_vae(batch_size=None) is now train_vae(batch_size=len(x_train))")
        batch_size = n
    batch_size = min(count("batch_size", batch_size), n)
    lr = positive_scalar("lr", lr)
    seed = check_seed("seed", seed)
    snapshot_steps = steps_within("snapshot_steps", snapshot_steps, steps)

    torch.manual_seed(seed)
    make_model = functools.partial(GaussianVAE, d, z_dim, hidden=hidden, activation=activation,
                                   decoder_mean=decoder_mean)
    models = [make_model() for _ in range(n_models)]
    log_c = torch.tensor(np.log(c_values), dtype=torch.float32, requires_grad=bool(learn_c))
    net = OneVAE(models, log_c) if n_models == 1 else VAEGrid(models, log_c, make_model)
    gen = torch.Generator().manual_seed(seed + 1)
    batches = _epoch_batches(n, batch_size, gen)
    eval_eps = torch.randn(1, 0 if x_test is None else len(x_test), z_dim,
                           generator=torch.Generator().manual_seed(seed + 2))
    opt = nets.Adam(net.params + ([log_c] if learn_c else []), lr=lr)
    history = {"step": [], "train": [], "test": []}
    running, snapshots = [], {}

    with torch_threads(num_threads):
        start = time.perf_counter()
        for step in progress_bar(range(1, steps + 1), desc=desc, disable=not progress):
            xb = x_train[next(batches)]
            eps = torch.randn(n_models, n_samples, len(xb), z_dim, generator=gen)
            terms = net.terms(xb, eps)      # each of shape (n_models, batch)
            _check_finite_kl(terms.kl)
            loss = terms.total.mean(-1)     # each model's mean negative ELBO
            opt.zero_grad()
            loss.sum().backward()  # the models are independent: the sum's gradient is each one's
            opt.step()
            running.append(loss.detach())
            if step % eval_every == 0 or step == steps:
                with torch.no_grad():
                    history["step"].append(step)
                    history["train"].append(np.mean([r.numpy().astype(np.float64)
                                                     for r in running], axis=0))
                    if x_test is not None:
                        history["test"].append(_held_out_score(net, x_test, eval_eps))
                running = []
            if step in snapshot_steps:
                snapshots[step] = frozen_copies(make_model, net.states())
        train_s = time.perf_counter() - start

    history = TrainingHistory(step=np.array(history["step"]), train=np.array(history["train"]),
                              test=None if x_test is None else np.array(history["test"]))
    return TrainResult(models=frozen_copies(make_model, net.states()),
                       c=np.exp(log_c.detach().numpy().astype(np.float64)),
                       history=history, train_s=train_s, snapshots=snapshots)


# helpers.vae.Adam: its home is helpers.nets (until the next release)
__getattr__ = moved(__name__, {"Adam": ("helpers.nets.Adam", lambda: nets.Adam)})
