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
``helpers.elbo.gaussian_kl``.

``train_vae`` fits one model, or a whole grid of c values at once: the models of a grid are stacked
and run through ``torch.func.vmap``, so a grid costs one batched forward pass per step.
"""

from __future__ import annotations

import math
import time
from dataclasses import dataclass, field

import numpy as np
import torch

from ._checks import as_float_array, count, positive_scalar
from ._nets import Adam, torch_threads
from .elbo import kl_per_dim

__all__ = ["RECOMMENDED", "GaussianVAE", "negative_elbo", "importance_log_likelihood", "train_vae", "TrainResult",
           "active_units", "gradient_noise", "reparam_vs_score_function", "c_grid_summary",
           "plot_training", "plot_digits", "plot_latent_map", "plot_gradient_estimators",
           "plot_c_tradeoff"]

_LOG_2PI = math.log(2 * math.pi)
_SIGMA_MIN = 1e-4  # sigma_phi = softplus(.) + _SIGMA_MIN keeps log sigma_phi finite
_DECODER_MEANS = ("identity", "sigmoid")

# The settings of train_vae recommended when the goal is a high likelihood on held-out digits
# (``train_vae(x_train, **RECOMMENDED)``); the defaults stay those notebook 04 teaches with.
# Chosen by ``make bench`` (benchmarks/vae_peer.py), which trains them side by side with the
# classic MLP VAE (400 ReLU, 20 latents, sigmoid mean, Adam 1e-3) for the same wall time on the
# same split, at c = 0.01. A bounded (sigmoid) decoder mean is the largest gain (+4 nats held out
# against 128 tanh units with an unconstrained mean); a step of 3e-3 gets there sooner but
# overfits the 1438 training digits after ~6000 steps, so 1e-3 is recommended for runs of 30 s
# and more. One torch thread (train_vae's default) beats two on a shared 2-core machine: the
# networks are small enough that a step is mostly fixed per-op cost.
RECOMMENDED = {"z_dim": 20, "hidden": 400, "activation": "relu", "decoder_mean": "sigmoid",
               "lr": 1e-3, "batch_size": 128}


def _generator(rng):
    """A ``torch.Generator`` from an int seed, a Generator, or None (fresh entropy)."""
    if isinstance(rng, torch.Generator):
        return rng
    if rng is None:
        return torch.Generator().manual_seed(int(np.random.SeedSequence().generate_state(1)[0]))
    if isinstance(rng, bool) or not isinstance(rng, (int, np.integer)) or rng < 0:
        raise ValueError(f"rng must be a seed >= 0, a torch.Generator or None, got {rng!r}")
    return torch.Generator().manual_seed(int(rng))


def _as_x(x, x_dim=None):
    """``x`` as a float32 tensor of shape (n, d) with finite entries."""
    if isinstance(x, torch.Tensor):
        t = x.detach() if x.requires_grad else x
        if not torch.isfinite(t).all():
            raise ValueError("x must be finite, found a NaN or inf entry")
        t = x.to(torch.float32)
    else:
        t = torch.as_tensor(as_float_array("x", x), dtype=torch.float32)
    if t.ndim != 2:
        raise ValueError(f"x must have shape (n, d), got shape {tuple(t.shape)}")
    if x_dim is not None and t.shape[1] != x_dim:
        raise ValueError(f"x must have shape (n, {x_dim}), got shape {tuple(t.shape)}")
    return t


def _as_c(c):
    """The decoder variance c: a float > 0, or a positive scalar tensor (a learned c keeps its grad)."""
    if isinstance(c, torch.Tensor):
        v = c.detach()
        if v.numel() != 1 or not torch.isfinite(v).all() or not (v > 0).all():
            raise ValueError(f"c must be a finite scalar > 0, got {v.flatten()[:3].tolist()!r}")
        return c.reshape(())
    return positive_scalar("c", c)


def _hidden_sizes(hidden):
    if hidden is None:
        return ()
    if isinstance(hidden, (int, np.integer)) and not isinstance(hidden, bool):
        return (count("hidden", hidden),)
    try:
        return tuple(count("hidden", h) for h in hidden)
    except TypeError:
        raise ValueError(f"hidden must be a whole number, a sequence of them, or (), got {hidden!r}")


class GaussianVAE(torch.nn.Module):
    """The Gaussian VAE of eq. 2.6 with an MLP encoder and decoder (``helpers._nets.mlp``).

    Parameters
    ----------
    x_dim, z_dim : int
        d (pixels) and the latent dimension.
    hidden : int, sequence of int, or ()
        Hidden layer sizes of both networks; ``()`` makes both linear (a linear decoder is the
        ``helpers.evidence.LinearGaussian`` model, whose evidence is known).
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

    def __init__(self, x_dim, z_dim, hidden=128, activation="tanh", decoder_mean="identity"):
        super().__init__()
        from ._nets import mlp

        if decoder_mean not in _DECODER_MEANS:
            raise ValueError(f"decoder_mean must be one of {sorted(_DECODER_MEANS)}, got "
                             f"{decoder_mean!r}")
        self.decoder_mean = decoder_mean
        self.x_dim, self.z_dim = count("x_dim", x_dim), count("z_dim", z_dim)
        sizes = _hidden_sizes(hidden)
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
        """(mu_phi, sigma_phi, f_theta(z)) with z = mu_phi + sigma_phi * eps, eps of shape (L, n, k)."""
        mu_phi, sigma_phi = self.encode(x)
        return mu_phi, sigma_phi, self.decode(mu_phi + sigma_phi * eps)


def _reconstruction(x, f, c):
    """-E_q log p(x | z) per example, from f = f_theta(z^l) of shape (L, n, d) (eq. 2.8)."""
    d = x.shape[-1]
    sq = ((x - f) ** 2).sum(-1).mean(0)  # (1/L) sum_l ||x - f_theta(z^l)||^2   (eq. 2.8)
    log_c = torch.log(c) if isinstance(c, torch.Tensor) else math.log(c)
    return sq / (2 * c) + 0.5 * d * (_LOG_2PI + log_c)


def _terms(x, mu_phi, sigma_phi, f, c):
    """Per-example (reconstruction, KL) of the negative ELBO; reconstruction carries the constant."""
    from .elbo import gaussian_kl

    return _reconstruction(x, f, c), gaussian_kl(mu_phi, sigma_phi)


def negative_elbo(model, x, c, n_samples=1, rng=None, return_terms=False):
    """Per-example negative ELBO of eqs. 2.7-2.8, with the (d/2) log(2 pi c) constant.

    -ELBO(x) = (1/L) sum_l ||x - f_theta(z^l)||^2 / (2c) + (d/2) log(2 pi c) + KL(q || p(z)),
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
    return_terms : bool
        Also return the two parts ``(reconstruction, kl)``, each of shape (n,).

    Returns
    -------
    tensor of shape (n,)  (or ``(total, reconstruction, kl)`` with ``return_terms``)
    """
    x = _as_x(x, model.x_dim)
    c = _as_c(c)
    n_samples = count("n_samples", n_samples)
    eps = torch.randn(n_samples, x.shape[0], model.z_dim, generator=_generator(rng))
    rec, kl = _terms(x, *model(x, eps), c)
    total = rec + kl
    return (total, rec, kl) if return_terms else total


def importance_log_likelihood(model, x, c, k, rng=None, chunk_size=256, num_threads=1):
    """Importance-weighted estimate of log p(x) with q_phi(z | x) as the proposal.

    log p(x) ~ log (1/k) sum_j p_theta(x | z_j) p(z_j) / q_phi(z_j | x),  z_j ~ q_phi(z | x).

    With k = 1 its mean is the ELBO; it grows with k towards log p(x) (Burda et al., 2016), and is
    exact for any k when q is the true posterior. Computed in float64, ``chunk_size`` samples at
    a time, under ``torch.no_grad``.

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
    x = _as_x(x, model.x_dim)
    c = float(_as_c(c))
    k = count("k", k)
    chunk_size = count("chunk_size", chunk_size)
    gen = _generator(rng)
    d, z_dim = model.x_dim, model.z_dim
    total = torch.full((x.shape[0],), -math.inf, dtype=torch.float64)
    with torch.no_grad(), torch_threads(num_threads):
        mu_phi, sigma_phi = model.encode(x)
        mu64, sig64, x64 = mu_phi.double(), sigma_phi.double(), x.double()
        log_norm = -0.5 * d * (_LOG_2PI + math.log(c))
        done = 0
        while done < k:
            m = min(chunk_size, k - done)
            eps = torch.randn(m, x.shape[0], z_dim, generator=gen, dtype=torch.float64)
            z = mu64 + sig64 * eps
            f = model.decode(z.float()).double()
            log_px_z = -((x64 - f) ** 2).sum(-1) / (2 * c) + log_norm
            log_pz = -0.5 * (z**2).sum(-1) - 0.5 * z_dim * _LOG_2PI
            log_qz = (-0.5 * eps**2 - torch.log(sig64)).sum(-1) - 0.5 * z_dim * _LOG_2PI
            total = torch.logaddexp(total, torch.logsumexp(log_px_z + log_pz - log_qz, dim=0))
            done += m
    return total - math.log(k)


@dataclass
class TrainResult:
    """What ``train_vae`` returns.

    Attributes
    ----------
    models : list of GaussianVAE
        One per c value (in the order given).
    c : ndarray
        Final c of each model (the given c, or the learned one with ``learn_c``).
    history : dict of ndarray
        ``step`` (n_evals,), ``train`` and ``test`` (n_evals, n_models): mean negative ELBO per
        example (with the constant) on the recent training batches and on the held-out set.
    wall_time : float
        Seconds spent in the training loop.
    """

    models: list
    c: np.ndarray
    history: dict = field(default_factory=dict)
    wall_time: float = 0.0

    @property
    def model(self):
        """The first (often the only) model."""
        return self.models[0]


def train_vae(x_train, x_test=None, *, c=0.01, learn_c=False, z_dim=2, hidden=128,
              activation="tanh", decoder_mean="identity", n_samples=1, steps=2000,
              batch_size=128, lr=3e-3, eval_every=100, seed=0, show_progress=True,
              desc="training VAE", num_threads=1):
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
        The architecture (see ``GaussianVAE``). For a model judged by its likelihood, the
        recommended settings are ``RECOMMENDED`` (measured against a classic VAE by
        ``make bench``).
    n_samples : int
        L of eq. 2.8.
    steps, batch_size, lr
        Adam steps, examples per step (``None`` = the whole set), learning rate.
    eval_every : int
    seed : int
        Seeds the initial weights, the batches and the noise.
    show_progress : bool
        Show a ``helpers._progress`` bar.
    desc : str
        The progress bar's label.
    num_threads : int or None
        torch threads while training (default 1, see ``helpers._nets.torch_threads``; None leaves torch's).

    Returns
    -------
    TrainResult
    """
    from ._progress import progress

    x_train = _as_x(x_train)
    n, d = x_train.shape
    x_test = None if x_test is None else _as_x(x_test, d)
    c_values = np.atleast_1d(as_float_array("c", c))
    if c_values.ndim != 1 or (c_values <= 0).any():
        raise ValueError(f"c must be > 0 (a number or a 1-D sequence), got {c!r}")
    n_models = len(c_values)
    steps, eval_every = count("steps", steps), count("eval_every", eval_every)
    n_samples = count("n_samples", n_samples)
    batch_size = n if batch_size is None else min(count("batch_size", batch_size), n)
    lr = positive_scalar("lr", lr)
    if isinstance(seed, bool) or not isinstance(seed, (int, np.integer)) or seed < 0:
        raise ValueError(f"seed must be a whole number >= 0, got {seed!r}")

    torch.manual_seed(int(seed))
    cls = GaussianVAE
    arch = {"hidden": hidden, "activation": activation, "decoder_mean": decoder_mean}
    models = [cls(d, z_dim, **arch) for _ in range(n_models)]
    log_c = torch.tensor(np.log(c_values), dtype=torch.float32, requires_grad=bool(learn_c))
    gen = torch.Generator().manual_seed(int(seed) + 1)
    eval_eps = torch.randn(1, 0 if x_test is None else len(x_test), z_dim,
                           generator=torch.Generator().manual_seed(int(seed) + 2))

    if n_models == 1:
        model = models[0]
        params = list(model.parameters())

        def batch_terms(xb, eps, log_c_):  # (n_models, n) reconstruction and KL
            mu_phi, sigma_phi, f = model(xb, eps[0])
            rec = _reconstruction(xb, f, torch.exp(log_c_[0]))
            # gaussian_kl's formula with one check instead of its input checks (several small
            # ops each step): sigma_phi > 0 by construction, and a non-finite mu_phi makes the
            # KL non-finite, when gaussian_kl is called for its error message.
            kl = kl_per_dim(mu_phi, sigma_phi).sum(-1)
            if not torch.isfinite(kl).all():
                _terms(xb, mu_phi, sigma_phi, f, torch.exp(log_c_[0]))
            return rec[None], kl[None]
    else:
        from torch.func import functional_call, stack_module_state, vmap

        stacked, _ = stack_module_state(models)
        params = list(stacked.values())
        base = cls(d, z_dim, **arch).to("meta")

        def one(p, xb, eps, log_c1):
            mu_phi, sigma_phi, f = functional_call(base, p, (xb, eps))
            return _reconstruction(xb, f, torch.exp(log_c1)), mu_phi, sigma_phi

        vmapped = vmap(one, in_dims=(0, None, 0, 0))

        def batch_terms(xb, eps, log_c_):
            from .elbo import gaussian_kl

            rec, mu_phi, sigma_phi = vmapped(stacked, xb, eps, log_c_)
            return rec, gaussian_kl(mu_phi, sigma_phi)  # KL outside vmap: it checks its input

    opt = Adam(params + ([log_c] if learn_c else []), lr=lr)
    hist_step, hist_train, hist_test, running = [], [], [], []

    def evaluate(step):
        with torch.no_grad():
            hist_step.append(step)
            hist_train.append(np.mean([r.numpy().astype(np.float64) for r in running], axis=0)
                              if running else np.full(n_models, np.nan))
            if x_test is not None:
                eps = eval_eps.expand(n_models, -1, -1, -1)
                rec, kl = batch_terms(x_test, eps, log_c)
                hist_test.append((rec + kl).mean(-1).numpy().astype(np.float64))
        running.clear()

    order = torch.randperm(n, generator=gen)
    pos = 0
    with torch_threads(num_threads):
        start = time.perf_counter()
        bar = progress(range(1, steps + 1), desc=desc, disable=not show_progress)
        for step in bar:
            if pos + batch_size > n:  # a fresh permutation each epoch
                order, pos = torch.randperm(n, generator=gen), 0
            xb = x_train[order[pos:pos + batch_size]]
            pos += batch_size
            eps = torch.randn(n_models, n_samples, len(xb), z_dim, generator=gen)
            rec, kl = batch_terms(xb, eps, log_c)
            per_model = (rec + kl).mean(-1)
            # the models are independent: the sum's gradient is each one's
            opt.step(per_model.sum())
            running.append(per_model.detach())
            if step % eval_every == 0 or step == steps:
                evaluate(step)
        wall_time = time.perf_counter() - start

    if n_models > 1:
        with torch.no_grad():
            for i, m in enumerate(models):
                m.load_state_dict({key: v[i].clone() for key, v in stacked.items()})
    for m in models:
        m.eval()
        m.requires_grad_(False)
    history = {"step": np.array(hist_step), "train": np.array(hist_train)}
    if x_test is not None:
        history["test"] = np.array(hist_test)
    return TrainResult(models, np.exp(log_c.detach().numpy().astype(np.float64)), history,
                       wall_time)


def active_units(model, x, threshold=0.01):
    """Latent units in use: Var_x(mu_phi(x)_j) > ``threshold`` (Burda et al., 2016).

    A collapsed unit has q_phi(z_j | x) = N(0, 1) = p(z_j) for every x: its mean no longer depends
    on x and its KL is 0. Returns ``(n_active, variance)`` with variance of shape (z_dim,).
    """
    x = _as_x(x, model.x_dim)
    threshold = positive_scalar("threshold", threshold)
    with torch.no_grad():
        variance = model.encode(x)[0].var(0).double().numpy()
    return int((variance > threshold).sum()), variance


def gradient_noise(model, x, c, n_samples, n_repeats=32, rng=None):
    """Spread of the eq. 2.8 gradient over fresh noise draws, for L = ``n_samples``.

    Computes the gradient of the mean negative ELBO over ``x`` with respect to every parameter,
    ``n_repeats`` times with new eps, and returns the total variance (sum over parameters of the
    variance across repeats) and the squared norm of the mean gradient. The variance falls like
    1/L because the L draws are independent.
    """
    x = _as_x(x, model.x_dim)
    n_repeats = count("n_repeats", n_repeats, minimum=2)
    gen = _generator(rng)
    params = [p for p in model.parameters()]
    flags = [p.requires_grad for p in params]
    for p in params:
        p.requires_grad_(True)
    try:
        grads = []
        with torch_threads(1):  # small networks: see helpers._nets.torch_threads
            for _ in range(n_repeats):  # one backward pass per noise draw (batch vectorised)
                loss = negative_elbo(model, x, c, n_samples, rng=gen).mean()
                grads.append(torch.cat([g.flatten() for g in torch.autograd.grad(loss, params)]))
    finally:
        for p, f in zip(params, flags):
            p.requires_grad_(f)
    g = torch.stack(grads).double()
    return float(g.var(0).sum()), float((g.mean(0) ** 2).sum())


def reparam_vs_score_function(mu, sigma, a, n_draws, rng=None):
    """Two single-sample estimators of d/dmu E_{z ~ N(mu, sigma^2)} (z - a)^2 = 2 (mu - a).

    reparameterised: z = mu + sigma eps, gradient 2 (z - a) (it differentiates through z);
    score function:  (z - a)^2 d/dmu log q(z) = (z - a)^2 (z - mu) / sigma^2 (REINFORCE).
    Both are unbiased; their variances differ a lot. Returns a dict with the arrays
    ``reparam`` and ``score`` (``n_draws`` estimates each, the same draws) and ``exact``.
    """
    from ._checks import as_rng

    mu, a = float(as_float_array("mu", mu)), float(as_float_array("a", a))
    sigma = positive_scalar("sigma", sigma)
    n_draws = count("n_draws", n_draws)
    eps = as_rng(rng).standard_normal(n_draws)
    z = mu + sigma * eps
    return {"reparam": 2 * (z - a), "score": (z - a) ** 2 * (z - mu) / sigma**2,
            "exact": 2 * (mu - a), "mu": mu, "sigma": sigma, "a": a}


@torch.no_grad()
def c_grid_summary(models, c_values, x, n_show=8, n_samples_show=8, rng=0):
    """Everything the c slider draws, computed once for a grid of trained models.

    Returns a dict of numpy arrays: ``c`` (M,), ``originals`` (n_show, d), ``reconstructions``
    (M, n_show, d) = f_theta(mu_phi(x)), ``samples`` (M, n_samples_show, d) = f_theta(z) with the
    same z ~ N(0, I) for every model, ``mse`` (M,) the per-pixel E_q||x - f||^2 / d,
    ``reconstruction`` (M,) E_q||x - f||^2 / (2c), ``constant`` (M,) (d/2) log(2 pi c),
    ``kl`` (M,), ``kl_per_dim`` (M, z_dim), ``mu_variance`` (M, z_dim) and ``active`` (M,).
    """
    from .elbo import gaussian_kl

    c_values = np.asarray([positive_scalar("c", c) for c in np.atleast_1d(c_values)])
    if len(models) != len(c_values):
        raise ValueError(f"models and c_values must have the same length, got {len(models)} "
                         f"and {len(c_values)}")
    x = _as_x(x, models[0].x_dim)
    n_show, n_samples_show = count("n_show", n_show), count("n_samples_show", n_samples_show)
    gen = _generator(rng)
    d, z_dim = x.shape[1], models[0].z_dim
    eps = torch.randn(1, len(x), z_dim, generator=gen)
    z_prior = torch.randn(n_samples_show, z_dim, generator=gen)
    out = {k: [] for k in ("reconstructions", "samples", "mse", "kl", "kl_per_dim",
                           "mu_variance", "active")}
    for model in models:  # a handful of models, each scored on the whole set at once
        mu_phi, sigma_phi, f = model(x, eps)
        out["reconstructions"].append(model.decode(mu_phi[:n_show]).numpy())
        out["samples"].append(model.decode(z_prior).numpy())
        out["mse"].append(((x - f) ** 2).mean().item())
        per_dim = kl_per_dim(mu_phi, sigma_phi)
        out["kl"].append(gaussian_kl(mu_phi, sigma_phi).mean().item())
        out["kl_per_dim"].append(per_dim.mean(0).numpy())
        n_active, variance = active_units(model, x)
        out["mu_variance"].append(variance)
        out["active"].append(n_active)
    res = {k: np.asarray(v, dtype=np.float64) for k, v in out.items()}
    res["active"] = res["active"].astype(int)
    res["c"] = c_values
    res["originals"] = x[:n_show].numpy().astype(np.float64)
    res["reconstruction"] = d * res["mse"] / (2 * c_values)
    res["constant"] = 0.5 * d * (_LOG_2PI + np.log(c_values))
    return res


# ---------------------------------------------------------------- pictures (matplotlib, no torch)

def _tile(images, ncols, side=8, pad=1):
    """(n, side*side) images -> one array with a ``pad``-pixel NaN gap between tiles."""
    images = np.asarray(images, dtype=np.float64).reshape(-1, side, side)
    n = len(images)
    nrows = -(-n // ncols)
    out = np.full((nrows * (side + pad) - pad, ncols * (side + pad) - pad), np.nan)
    for i, img in enumerate(images):  # a few dozen tiles: a loop over pictures, not examples
        r, c = divmod(i, ncols)
        out[r * (side + pad):r * (side + pad) + side, c * (side + pad):c * (side + pad) + side] = img
    return out


def _show_tiles(ax, images, ncols, title):
    ax.imshow(_tile(images, ncols), cmap="gray_r", vmin=0, vmax=1, interpolation="nearest")
    ax.set(title=title, xticks=[], yticks=[])


def plot_digits(rows, row_labels=None, title="digits", ncols=None):
    """Rows of 8x8 digits in one picture, e.g. ``plot_digits([x[:10], reconstructions])``."""
    from ._plot import new_figure

    rows = [np.asarray(r, dtype=np.float64).reshape(-1, 64) for r in rows]
    ncols = ncols or max(len(r) for r in rows)
    fig, ax = new_figure(width=0.42 * ncols + 0.8, height=0.42 * sum(-(-len(r) // ncols)
                                                                       for r in rows) + 0.6)
    padded = []
    for r in rows:
        extra = (-len(r)) % ncols
        padded.append(np.concatenate([r, np.full((extra, 64), np.nan)]) if extra else r)
    _show_tiles(ax, np.concatenate(padded), ncols, title)
    if row_labels is not None:
        starts = np.cumsum([0] + [len(p) // ncols for p in padded[:-1]])
        ax.set_yticks(starts * 9 + 3.5, row_labels, fontsize=8)
    return fig


def plot_training(history, labels=None, title="negative ELBO per example (nats)"):
    """Training and held-out negative ELBO against the step, one colour per model."""
    from ._plot import new_figure

    fig, ax = new_figure(width=5.5, height=3.4)
    steps, train = history["step"], np.asarray(history["train"])
    labels = labels or [f"model {i}" for i in range(train.shape[1])]
    for i, lab in enumerate(labels):
        ax.plot(steps, train[:, i], color=f"C{i}", lw=1, alpha=0.6, label=f"{lab} (train batches)")
        if "test" in history:
            ax.plot(steps, history["test"][:, i], color=f"C{i}", lw=2, label=f"{lab} (held out)")
    ax.set(xlabel="Adam step", ylabel="-ELBO (nats)", title=title)
    ax.legend(fontsize=7)
    return fig


def plot_latent_map(mu, labels, decoded_grid, extent):
    """Left: encoder means mu_phi(x) coloured by digit. Right: f_theta(z) on a grid of z."""
    from ._plot import new_figure

    fig, (ax_map, ax_grid) = new_figure(2, width=4.2, height=4.0)
    sc = ax_map.scatter(mu[:, 0], mu[:, 1], c=labels, cmap="tab10", s=6, vmin=-0.5, vmax=9.5)
    fig.colorbar(sc, ax=ax_map, ticks=range(10), label="digit")
    ax_map.set(xlabel="$\\mu_{\\phi}(x)_1$", ylabel="$\\mu_{\\phi}(x)_2$",
               title="held-out digits in latent space", xlim=extent, ylim=extent)
    n = int(round(np.sqrt(len(decoded_grid))))
    ax_grid.imshow(_tile(decoded_grid, n, pad=0), cmap="gray_r", vmin=0, vmax=1,
                   extent=(*extent, *extent), interpolation="nearest")
    ax_grid.set(xlabel="$z_1$", ylabel="$z_2$", title="$f_{\\theta}(z)$ on a grid of z")
    return fig


def plot_gradient_estimators(est, bins=80):
    """Histograms of the single-sample reparameterised and score-function gradient estimates."""
    from ._plot import new_figure

    fig, ax = new_figure(width=5.5, height=3.4)
    r, s = est["reparam"], est["score"]
    lo, hi = np.percentile(s, [1, 99])
    lo, hi = min(lo, r.min()), max(hi, r.max())
    for vals, name, col in ((s, "score function", "C1"), (r, "reparameterised", "C0")):
        ax.hist(vals, bins=bins, range=(lo, hi), density=True, alpha=0.5, color=col,
                label=f"{name}: std {vals.std():.3g}")
    ax.axvline(est["exact"], color="k", lw=1.5, label=f"exact gradient {est['exact']:.3g}")
    ax.set(xlabel="single-sample estimate of d/d$\\mu$ E$_q$[(z - a)$^2$]", ylabel="density",
           title=f"q = N({est['mu']:.3g}, {est['sigma']:.3g}$^2$), a = {est['a']:.3g}")
    ax.legend(fontsize=7)
    return fig


def plot_c_tradeoff(c, summary):
    """The c slider's picture, drawn from ``c_grid_summary`` (nearest trained c; no training).

    Top: held-out digits, their reconstructions f_theta(mu_phi(x)) and samples f_theta(z),
    z ~ N(0, I). Bottom left: the two parts of the negative ELBO against c (KL and the squared-
    error term, in nats). Bottom right: KL per latent unit and the count of active units.
    Plain-text labels only (no mathtext), and in a slider panel the figure is built once and its
    moving parts updated in place (``helpers._plot.live_figure``).
    """
    from ._plot import live_figure

    c = positive_scalar("c", c)
    grid = summary["c"]
    i = int(np.argmin(np.abs(np.log(grid) - np.log(c))))
    fig, p = live_figure(plot_c_tradeoff, (), lambda: _c_tradeoff_frame(summary))
    shown = np.concatenate([summary["originals"], summary["reconstructions"][i]])
    p["reconstructions"].set_data(_tile(shown, len(summary["originals"])))
    p["reconstructions"].axes.set_title(
        f"held out (top), reconstructed (bottom), c = {grid[i]:.3g}")
    p["samples"].set_data(_tile(summary["samples"][i], len(summary["samples"][i]) // 2))
    p["c_line"].set_xdata([np.log10(grid[i])] * 2)
    p["c_line"].axes.set_title(f"squared error / 2c = {summary['reconstruction'][i]:.3g}, "
                               f"KL = {summary['kl'][i]:.3g}")
    for bar, height in zip(p["bars"], summary["kl_per_dim"][i]):
        bar.set_height(height)
    p["units_title"].set_text(f"active units: {summary['active'][i]} of {len(p['bars'])}")
    return fig


def _c_tradeoff_frame(summary):
    """The figure of ``plot_c_tradeoff`` without its per-c parts (the frame a slider keeps)."""
    from ._plot import new_figure

    grid = summary["c"]
    fig, axes = new_figure(2, 2, width=4.4, height=2.6)
    (ax_rec, ax_smp), (ax_split, ax_units) = axes
    shown = np.concatenate([summary["originals"], summary["reconstructions"][0]])
    _show_tiles(ax_rec, shown, len(summary["originals"]), "")
    _show_tiles(ax_smp, summary["samples"][0], len(summary["samples"][0]) // 2,
                "samples f(z), z ~ N(0, I)")
    log_grid = np.log10(grid)
    ax_split.plot(log_grid, summary["reconstruction"], "o-", color="C0",
                  label="squared error / 2c")
    ax_split.plot(log_grid, summary["kl"], "s-", color="C3", label="KL(q || p(z))")
    c_line = ax_split.axvline(log_grid[0], color="k", lw=1, ls="--")
    ax_split.set_xticks(log_grid, [f"{v:.2g}" for v in grid], fontsize=7)
    ax_split.set(xlabel="c (log scale)", ylabel="nats per image")
    legend = ax_split.legend(fontsize=7)
    k = summary["kl_per_dim"].shape[1]
    bars = list(ax_units.bar(np.arange(1, k + 1), summary["kl_per_dim"][0], color="C3"))
    ax_units.set(xlabel="latent unit j", ylabel="KL of unit j (nats)", xticks=np.arange(1, k + 1),
                 ylim=(0, 1.05 * summary["kl_per_dim"].max()))
    parts = dict(reconstructions=ax_rec.images[0], rec_title=ax_rec.title,
                 samples=ax_smp.images[0], c_line=c_line, split_title=ax_split.title,
                 legend=legend, bars=bars, units_title=ax_units.title)
    return fig, parts
