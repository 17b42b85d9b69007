"""The evidence log p(x) and its naive Monte-Carlo estimate (eqs. 2.1-2.3). Taught in notebook 02.

Maximum likelihood (eq. 2.1) in log form (eq. 2.2) needs the evidence log p_theta(x). A latent
model writes it as an expectation over the prior (eq. 2.3):

    p_theta(x) = integral p_theta(x | z) p(z) dz = E_{z ~ p(z)} p_theta(x | z),

which the naive estimator approximates by averaging p_theta(x | z_l) over L prior samples.
``LinearGaussian`` is a latent model whose evidence, posterior and ELBO are all known exactly, so
every estimate in notebooks 02 and 03 can be checked against the truth.

The second half runs the experiment the article proposes under eq. 2.3: ``train_naive_decoder``
fits a neural decoder f_theta by maximising the naive estimate itself, ``decoder_log_evidence``
scores it on held-out data, and ``NAIVE_DECODER_SETTINGS`` are the settings of notebook 02's
runs. The plotting functions for notebook 02 close the module.
"""

from __future__ import annotations

import numpy as np

from ._checks import as_float_array, as_rng, count, positive_scalar

__all__ = ["log_mean_exp", "running_log_mean_exp", "LinearGaussian", "naive_mc_log_evidence",
           "decoder_log_likelihood", "train_naive_decoder", "decoder_log_evidence",
           "decoder_samples", "measure_samples_needed", "NAIVE_DECODER_SETTINGS"]

_LOG_2PI = np.log(2 * np.pi)


def log_mean_exp(a, axis=-1):
    """log(mean(exp(a))) along ``axis``, computed stably.

    Shifting by the maximum before exponentiating keeps it exact for inputs of magnitude 1e6
    (where ``exp`` alone overflows to inf or underflows to 0). ``-inf`` entries (zero
    probability) are allowed; a slice of only ``-inf`` gives ``-inf``.

    Parameters
    ----------
    a : array_like
        Log-values, e.g. log p(x | z_l) for l = 1..L. NaN and +inf raise ``ValueError``.
    axis : int, default -1

    Returns
    -------
    ndarray or float
    """
    a = as_float_array("a", a, allow_inf=True)
    if np.isposinf(a).any():
        raise ValueError("a must not contain +inf")
    if a.ndim == 0 or a.shape[axis] == 0:
        raise ValueError(f"a must have at least one entry along axis {axis}, got shape {a.shape}")
    shift = np.max(a, axis=axis, keepdims=True)
    shift = np.where(np.isfinite(shift), shift, 0.0)
    with np.errstate(divide="ignore"):
        out = np.log(np.mean(np.exp(a - shift), axis=axis)) + np.squeeze(shift, axis=axis)
    return out if out.ndim else float(out)


def running_log_mean_exp(a):
    """The running estimate log((1/L) sum_{l <= L} exp(a_l)) for L = 1, 2, ..., len(a).

    Applied to a_l = log p(x | z_l) this is eq. 2.3's naive estimate after each new sample: one
    pass, stable (``np.logaddexp.accumulate``), used to draw convergence curves.

    Parameters
    ----------
    a : array_like, shape (..., L)
        Log-values along the last axis; ``-inf`` allowed, NaN and +inf raise ``ValueError``.

    Returns
    -------
    ndarray, shape (..., L)
    """
    a = as_float_array("a", a, allow_inf=True)
    if np.isposinf(a).any():
        raise ValueError("a must not contain +inf")
    if a.ndim == 0 or a.shape[-1] == 0:
        raise ValueError(f"a must have at least one entry along its last axis, got shape {a.shape}")
    return np.logaddexp.accumulate(a, axis=-1) - np.log(np.arange(1, a.shape[-1] + 1))


class LinearGaussian:
    """The linear-Gaussian latent model (probabilistic PCA), solvable in closed form.

    z ~ N(0, I_k),  x | z ~ N(W z + b, c I_d)   =>   x ~ N(b, W W^T + c I_d).

    Parameters
    ----------
    W : array_like, shape (d, k)
        Decoder weights; the decoder mean is f_theta(z) = W z + b.
    b : array_like, shape (d,)
    c : float
        Decoder variance, > 0 (the article's c in eq. 2.6).
    """

    def __init__(self, W, b, c):
        W = as_float_array("W", W)
        b = as_float_array("b", b)
        if W.ndim != 2:
            raise ValueError(f"W must have shape (d, k), got shape {W.shape}")
        if b.shape != (W.shape[0],):
            raise ValueError(f"b must have shape ({W.shape[0]},) to match W {W.shape}, got {b.shape}")
        self.W, self.b, self.c = W, b, positive_scalar("c", c)
        self.d, self.k = W.shape

    def __repr__(self):
        return f"LinearGaussian(d={self.d}, k={self.k}, c={self.c:.3g})"

    def _x(self, x):
        x = as_float_array("x", x)
        if x.shape[-1:] != (self.d,):
            raise ValueError(f"x must have shape (..., {self.d}), got {x.shape}")
        return x

    def _z(self, z, name="z"):
        z = as_float_array(name, z)
        if z.shape[-1:] != (self.k,):
            raise ValueError(f"{name} must have shape (..., {self.k}), got {z.shape}")
        return z

    def sample(self, n, rng=None):
        """Ancestral sampling: z ~ p(z), then x ~ p(x | z). Returns ``(x, z)``, shapes (n, d), (n, k)."""
        n = count("n", n)
        rng = as_rng(rng)
        z = rng.standard_normal((n, self.k))
        x = z @ self.W.T + self.b + np.sqrt(self.c) * rng.standard_normal((n, self.d))
        return x, z

    def log_likelihood(self, x, z):
        """log p(x | z) with every constant: -||x - W z - b||^2 / (2c) - (d/2) log(2 pi c).

        Broadcasts x (..., d) against z (..., k); e.g. x[:, None, :] with z of shape (L, k) gives
        an (n, L) table.
        """
        x, z = self._x(x), self._z(z)
        _broadcastable(x, z, "x", "z")
        sq = np.sum((x - (z @ self.W.T + self.b)) ** 2, axis=-1)
        return -0.5 * sq / self.c - 0.5 * self.d * (_LOG_2PI + np.log(self.c))

    def log_evidence(self, x):
        """The exact log p(x) from x ~ N(b, W W^T + c I), shape (...,)."""
        x = self._x(x)
        cov = self.W @ self.W.T + self.c * np.eye(self.d)
        chol = np.linalg.cholesky(cov)
        r = x - self.b
        sol = np.linalg.solve(chol, r.reshape(-1, self.d).T).T.reshape(r.shape)
        log_det = 2.0 * np.sum(np.log(np.diag(chol)))
        return -0.5 * (np.sum(sol**2, axis=-1) + log_det + self.d * _LOG_2PI)

    def posterior(self, x):
        """The exact posterior p(z | x) = N(mean, cov).

        cov = (I + W^T W / c)^-1 (the same for every x) and mean = cov W^T (x - b) / c.
        Returns ``(mean, cov)`` with shapes (..., k) and (k, k).
        """
        x = self._x(x)
        cov = np.linalg.inv(np.eye(self.k) + self.W.T @ self.W / self.c)
        cov = 0.5 * (cov + cov.T)
        mean = (x - self.b) @ self.W @ cov / self.c
        return mean, cov

    def elbo(self, x, q_mean, q_std):
        """The exact ELBO (eq. 2.5) for q(z) = N(q_mean, diag(q_std^2)), in closed form.

        ELBO = E_q[log p(x | z)] - KL(q || p(z)), with
        E_q[log p(x | z)] = -(||x - W m - b||^2 + sum_j (W^T W)_jj s_j^2) / (2c) - (d/2) log(2 pi c).
        """
        from .elbo import gaussian_kl

        x, m = self._x(x), self._z(q_mean, "q_mean")
        s = self._z(as_float_array("q_std", q_std) * np.ones_like(m), "q_std")
        if (s <= 0).any():
            raise ValueError(f"q_std must be > 0, found {s[s <= 0].flat[0]!r}")
        _broadcastable(x, m, "x", "q_mean")
        col_sq = np.sum(self.W**2, axis=0)  # (W^T W)_jj
        sq = np.sum((x - (m @ self.W.T + self.b)) ** 2, axis=-1) + np.sum(col_sq * s**2, axis=-1)
        reconstruction = -0.5 * sq / self.c - 0.5 * self.d * (_LOG_2PI + np.log(self.c))
        return reconstruction - gaussian_kl(m, s)



    # --- how hard the naive estimate of eq. 2.3 is for this model (notebook 02, section 4) ---

    def posterior_kl(self, x):
        """KL(p(z | x) || p(z)), in nats: how far the posterior sits from the prior.

        For N(m, S) against N(0, I): 0.5 (tr S + m^T m - k - log det S). The number of prior
        samples the naive estimate needs grows roughly like exp(KL).
        """
        mean, cov = self.posterior(x)
        _, log_det = np.linalg.slogdet(cov)
        return 0.5 * (np.trace(cov) + np.sum(mean**2, axis=-1) - self.k - log_det)

    def naive_relative_variance(self, x):
        """Var[p(x | z) / p(x)] for z ~ p(z): the relative variance of a one-sample eq. 2.3 estimate.

        With L samples the relative variance of p_hat is this number / L, so L = value / 0.01
        gives a 10 % relative (root-mean-square) error. It equals rho - 1 with
        rho = E_prior[(p(z | x) / p(z))^2], a Gaussian integral: with posterior N(m, S),
        P = S^-1 and A = 2P - I (positive definite here because P >= I),
        log rho = -log det S - 0.5 log det A + 2 m^T P A^-1 P m - m^T P m.
        """
        mean, cov = self.posterior(x)
        prec = np.linalg.inv(cov)
        a = 2.0 * prec - np.eye(self.k)
        _, log_det_s = np.linalg.slogdet(cov)
        _, log_det_a = np.linalg.slogdet(a)
        pm = mean @ prec  # P m (P symmetric)
        quad = 2.0 * np.sum(pm * np.linalg.solve(a, pm[..., None])[..., 0], axis=-1) \
            - np.sum(pm * mean, axis=-1)
        return np.expm1(-log_det_s - 0.5 * log_det_a + quad)


def _broadcastable(a, b, name_a, name_b):
    """Raise a named ``ValueError`` if the leading (batch) axes of ``a`` and ``b`` do not broadcast."""
    try:
        np.broadcast_shapes(a.shape[:-1], b.shape[:-1])
    except ValueError:
        raise ValueError(f"{name_a} of shape {a.shape} and {name_b} of shape {b.shape} have leading "
                         f"axes that do not broadcast") from None


def naive_mc_log_evidence(log_likelihood, x, n_samples, latent_dim, rng=None, chunk_size=None):
    """Eq. 2.3 in log space: log (1/L) sum_l p(x | z_l) with z_l ~ N(0, I).

    The L prior samples are drawn and scored ``chunk_size`` at a time and combined with a running
    log-sum-exp, so memory stays bounded (a few arrays of ``chunk_size * n * d`` floats) even for
    L = 1e7, where scoring every sample at once would need gigabytes.

    Parameters
    ----------
    log_likelihood : callable
        ``log_likelihood(x, z)`` -> log p(x | z), broadcasting x (n, 1, d) against z (m, k) to
        (n, m), such as ``LinearGaussian.log_likelihood`` or ``decoder_log_likelihood(f_theta, c)``.
    x : array_like, shape (d,) or (n, d)
    n_samples : int
        L, the number of prior samples (a float like 1e7 is accepted if it is whole).
    latent_dim : int
        k, the dimension of z.
    rng : int, numpy.random.Generator or None
    chunk_size : int or None
        Samples scored at once. None picks it so that one chunk holds about 2^18 numbers
        (chunk_size * n * d), i.e. a couple of megabytes per temporary array.

    Returns
    -------
    float or ndarray of shape (n,)
        The estimate of log p(x). It is biased low: E[log p_hat] <= log p(x) (Jensen), even though
        p_hat itself is unbiased for p(x).
    """
    if not callable(log_likelihood):
        raise ValueError(f"log_likelihood must be callable, got {log_likelihood!r}")
    x = as_float_array("x", x)
    if x.ndim not in (1, 2) or x.shape[-1] == 0:
        raise ValueError(f"x must have shape (d,) or (n, d), got {x.shape}")
    n_samples = count("n_samples", n_samples)
    latent_dim = count("latent_dim", latent_dim)
    xb = np.atleast_2d(x)[:, None, :]
    if chunk_size is None:
        chunk_size = max(1, 2**18 // (xb.shape[0] * xb.shape[-1]))
    chunk_size = count("chunk_size", chunk_size)
    rng = as_rng(rng)

    total = np.full(xb.shape[0], -np.inf)  # running log sum_l p(x | z_l)
    done = 0
    while done < n_samples:
        m = min(chunk_size, n_samples - done)
        z = rng.standard_normal((m, latent_dim))  # z_l ~ p(z) = N(0, I)
        ll = np.asarray(log_likelihood(xb, z), dtype=np.float64)
        if ll.shape != (xb.shape[0], m):
            raise ValueError(f"log_likelihood(x, z) must return shape {(xb.shape[0], m)}, "
                             f"got {ll.shape}")
        if np.isnan(ll).any() or np.isposinf(ll).any():
            raise ValueError("log_likelihood(x, z) returned NaN or +inf")
        total = np.logaddexp(total, log_mean_exp(ll, axis=-1) + np.log(m))
        done += m
    out = total - np.log(n_samples)
    return float(out[0]) if x.ndim == 1 else out


# ---------------------------------------------------------------------------------------------
# The article's proposed experiment (note under eq. 2.3): train a decoder f_theta by maximising
# the naive estimate itself. torch is imported inside these functions only.
# ---------------------------------------------------------------------------------------------

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
        const = 0.5 * x.shape[-1] * (_LOG_2PI + np.log(c))
        if x.ndim == 3 and x.shape[1] == 1 and f.ndim == 2:
            x2 = x[:, 0, :]
            sq = np.sum(x2**2, axis=1)[:, None] - 2.0 * x2 @ f.T + np.sum(f**2, axis=1)
            sq = np.maximum(sq, 0.0)  # rounding can leave a tiny negative distance
        else:
            _broadcastable(x, f, "x", "z")
            sq = np.sum((x - f) ** 2, axis=-1)
        return -0.5 * sq / c - const

    return log_likelihood


def _check_data(name, x):
    x = as_float_array(name, x)
    if x.ndim != 2 or x.shape[0] == 0 or x.shape[1] == 0:
        raise ValueError(f"{name} must have shape (n, d) with n, d >= 1, got {x.shape}")
    return x


# The settings notebook 02 trains with (k = 2 and k = 8), and notebook 04 compares against.
NAIVE_DECODER_SETTINGS = dict(c=0.03, n_samples=256, n_steps=300, batch_size=128, hidden=128,
                              lr=1e-2, seed=0)


def train_naive_decoder(x_train, latent_dim, c=0.03, n_samples=256, n_steps=300,
                        batch_size=128, hidden=128, lr=1e-2, seed=0, show_progress=True):
    """Train a decoder f_theta by maximising the naive estimate of eq. 2.3 (the article's note).

    Model: z ~ N(0, I_k), x | z ~ N(f_theta(z), c I_d) with f_theta = ``helpers._nets.mlp`` and a
    fixed c. Each step draws a minibatch of ``batch_size`` images and ``n_samples`` = L prior
    samples shared by the whole minibatch, so f_theta runs once per sample and the (batch, L)
    table of ||x - f_theta(z_l)||^2 is one matrix product. The objective is the minibatch mean of

        log p_hat(x) = log (1/L) sum_l N(x; f_theta(z_l), c I)      (eq. 2.3, in log space)

    maximised with Adam. The defaults are ``NAIVE_DECODER_SETTINGS``, the run of notebook 02.
    Deterministic for a given argument set: a fixed number of steps, all
    randomness from ``seed``, and one torch thread while training (the matrices are small: on
    a shared 2-core machine threads cost more than they save).

    Parameters
    ----------
    x_train : array_like, shape (n, d)
        Training images, e.g. ``helpers.data.load_digits("train")``.
    latent_dim : int
        k, the dimension of z.
    c : float
        Fixed decoder variance (eq. 2.6), > 0.
    n_samples : int
        L, prior samples per step (shared across the minibatch).
    n_steps, batch_size : int
    hidden : int or tuple of int
        Hidden layer widths of f_theta: ``mlp(latent_dim, *hidden, d)``.
    lr : float
        Adam learning rate.
    seed : int
        Seeds the weights, the minibatches and the prior samples.
    show_progress : bool
        Show a ``helpers._progress.progress`` bar.

    Returns
    -------
    types.SimpleNamespace
        ``f_theta`` (the trained torch module, in eval mode), ``latent_dim``, ``c``,
        ``train_log_evidence`` (ndarray (n_steps,): the minibatch mean of log p_hat(x) at each
        step, nats per image, with every constant), ``wall_time`` (seconds) and ``settings``
        (a dict of every argument except the data).
    """
    import time
    from types import SimpleNamespace

    import torch

    from ._nets import Adam, mlp, torch_threads
    from ._progress import progress

    x_train = _check_data("x_train", x_train)
    latent_dim = count("latent_dim", latent_dim)
    c = positive_scalar("c", c)
    n_samples = count("n_samples", n_samples)
    n_steps = count("n_steps", n_steps)
    batch_size = count("batch_size", batch_size)
    hidden = (hidden,) if isinstance(hidden, (int, np.integer)) else tuple(hidden)
    for h in hidden:
        count("hidden", h)
    lr = positive_scalar("lr", lr)
    if isinstance(seed, bool) or not isinstance(seed, (int, np.integer)) or seed < 0:
        raise ValueError(f"seed must be an int >= 0, got {seed!r}")
    settings = dict(latent_dim=latent_dim, c=c, n_samples=n_samples, n_steps=n_steps,
                    batch_size=batch_size, hidden=hidden, lr=lr, seed=int(seed))

    n, d = x_train.shape
    x_all = torch.as_tensor(x_train, dtype=torch.float32)
    x_sq_all = (x_all**2).sum(1)
    log_const = 0.5 * d * (np.log(2 * np.pi) + np.log(c))  # (d/2) log(2 pi c)
    with torch.random.fork_rng(devices=[]):
        torch.manual_seed(int(seed))
        f_theta = mlp(latent_dim, *hidden, d)
    gen = torch.Generator().manual_seed(int(seed))
    adam = Adam(f_theta.parameters(), lr)
    curve = np.empty(n_steps)

    with torch_threads(1):
        start = time.perf_counter()
        for step in progress(range(n_steps), desc=f"naive decoder, k={latent_dim}",
                             disable=not show_progress):
            idx = torch.randint(n, (batch_size,), generator=gen)
            x, x_sq = x_all[idx], x_sq_all[idx]
            z = torch.randn(n_samples, latent_dim, generator=gen)      # z_l ~ p(z)
            f = f_theta(z)                                               # f_theta(z_l), (L, d)
            sq = x_sq[:, None] - 2.0 * x @ f.T + (f**2).sum(1)           # ||x - f_theta(z_l)||^2
            log_lik = -sq / (2.0 * c) - log_const                        # log p(x | z_l), (B, L)
            log_p_hat = torch.logsumexp(log_lik, dim=1) - np.log(n_samples)  # eq. 2.3
            loss = -log_p_hat.mean()
            adam.step(loss)
            curve[step] = -loss.item()
        wall_time = time.perf_counter() - start
    if not np.isfinite(curve).all():
        raise ValueError(f"training diverged (non-finite objective); try a smaller lr than {lr!r}")
    f_theta.eval()
    for p in f_theta.parameters():
        p.requires_grad_(False)
    return SimpleNamespace(f_theta=f_theta, latent_dim=latent_dim, c=c, train_log_evidence=curve,
                           wall_time=wall_time, settings=settings)


def decoder_log_evidence(f_theta, x, c, latent_dim, method="grid", n_samples=2**16,
                         grid_size=256, grid_range=6.0, seed=0):
    """log p_theta(x) of a trained decoder, per example, for held-out evaluation.

    method="grid" (latent_dim 1 or 2): quadrature of eq. 2.3's integral on a regular grid over
    [-grid_range, grid_range]^k, log sum_g p(x | z_g) p(z_g) dz. Deterministic, and accurate
    when the grid spacing is small next to the width of p(z | x) (check by doubling grid_size).
    method="naive": eq. 2.3's Monte-Carlo estimate with ``n_samples`` prior samples drawn from a
    torch generator seeded with ``seed``; biased low when the posterior is narrow.

    The (n, chunk) tables of ||x - f_theta(z)||^2 are float32 matrix products on one torch thread
    (rounding error below 1e-3 nats for pixels in [0, 1]); the sums over chunks are float64.

    Parameters
    ----------
    f_theta : torch module
        The decoder mean, R^k -> R^d (float32).
    x : array_like, shape (n, d)
    c : float
        Decoder variance, > 0.
    latent_dim : int
    method : {"grid", "naive"}
    n_samples : int
        L for method="naive".
    grid_size : int
        Points per axis for method="grid".
    grid_range : float
        Half-width of the grid; the prior mass outside [-6, 6]^2 is about 4e-9.
    seed : int
        Seed of the prior samples for method="naive".

    Returns
    -------
    ndarray, shape (n,)
        log p(x) in nats, with every constant.
    """
    import torch

    from ._nets import torch_threads

    f_theta = _torch_decoder(f_theta)
    x = _check_data("x", x)
    c = positive_scalar("c", c)
    latent_dim = count("latent_dim", latent_dim)
    if method == "naive":
        n_samples = count("n_samples", n_samples)
        gen = torch.Generator().manual_seed(int(seed))
        log_w_const = -np.log(n_samples)  # each sample weighs 1/L

        def chunks(size):
            for lo in range(0, n_samples, size):
                m = min(size, n_samples - lo)
                yield torch.randn(m, latent_dim, generator=gen), torch.full((m,), log_w_const)
    elif method == "grid":
        if latent_dim > 2:
            raise ValueError(f"method='grid' needs latent_dim <= 2, got {latent_dim!r}")
        grid_size = count("grid_size", grid_size, minimum=2)
        grid_range = positive_scalar("grid_range", grid_range)
        axis = torch.linspace(-grid_range, grid_range, grid_size, dtype=torch.float64)
        z_all = torch.stack(torch.meshgrid(*([axis] * latent_dim), indexing="ij"), -1)
        z_all = z_all.reshape(-1, latent_dim)
        # log [p(z_g) dz]: the prior density times the cell volume
        log_w_all = (-0.5 * (z_all**2).sum(1) - 0.5 * latent_dim * _LOG_2PI
                     + latent_dim * np.log(float(axis[1] - axis[0])))

        def chunks(size):
            for lo in range(0, len(z_all), size):
                yield z_all[lo:lo + size].float(), log_w_all[lo:lo + size]
    else:
        raise ValueError(f"method must be 'grid' or 'naive', got {method!r}")

    xt = torch.as_tensor(x, dtype=torch.float32)
    x_sq = (xt**2).sum(1)
    log_const = 0.5 * x.shape[1] * (_LOG_2PI + np.log(c))
    total = torch.full((x.shape[0],), -np.inf, dtype=torch.float64)
    size = max(1, 2**21 // x.shape[0])
    with torch_threads(1), torch.no_grad():
        for z, log_w in chunks(size):
            f = f_theta(z)
            if f.shape[-1] != x.shape[1]:
                raise ValueError(f"x must have shape (n, {f.shape[-1]}) to match f_theta, "
                                 f"got {x.shape}")
            sq = (x_sq[:, None] - 2.0 * xt @ f.T + (f**2).sum(1)).clamp_min(0.0)
            table = -sq / (2.0 * c) + log_w.float()  # log p(x | z) p(z) dz, up to log_const
            total = torch.logaddexp(total, torch.logsumexp(table, dim=1).double())
    return (total - log_const).numpy()


def decoder_samples(f_theta, latent_dim, n, seed=0):
    """Decoder means f_theta(z) for n prior samples z ~ N(0, I), as a numpy array (n, d)."""
    import torch

    f_theta = _torch_decoder(f_theta)
    latent_dim = count("latent_dim", latent_dim)
    n = count("n", n)
    gen = torch.Generator().manual_seed(int(seed))
    with torch.no_grad():
        return f_theta(torch.randn(n, latent_dim, generator=gen)).double().numpy()


def measure_samples_needed(model, x, rel_err=0.1, budget=2**18, min_repeats=16, rng=None):
    """Measure how many prior samples eq. 2.3 needs for a given relative error in p_hat.

    Draws ``budget`` prior samples once, splits them into independent runs of N = 1, 2, 4, ...
    samples, and computes the root-mean-square relative error of p_hat over the runs,
    sqrt(mean((p_hat / p(x) - 1)^2)), using the exact p(x) of ``model``. Returns the N where that
    error crosses ``rel_err`` (interpolated in log-log between powers of two), or NaN if it is
    still above ``rel_err`` at the largest N that leaves ``min_repeats`` runs.

    Parameters
    ----------
    model : LinearGaussian
    x : array_like, shape (d,)
    rel_err : float
    budget : int
        Prior samples drawn in total.
    min_repeats : int
        Fewest runs an error estimate may rest on.
    rng : int, numpy.random.Generator or None

    Returns
    -------
    float
    """
    x = model._x(x)
    if x.ndim != 1:
        raise ValueError(f"x must have shape ({model.d},), got {x.shape}")
    rel_err = positive_scalar("rel_err", rel_err)
    budget = count("budget", budget)
    min_repeats = count("min_repeats", min_repeats)
    rng = as_rng(rng)
    log_p = model.log_evidence(x)
    z = rng.standard_normal((budget, model.k))
    w = np.concatenate([np.exp(model.log_likelihood(x, z[lo:lo + 2**14]) - log_p)
                        for lo in range(0, budget, 2**14)])  # p(x | z_l) / p(x)
    sizes, errors = [], []
    n = 1
    while budget // n >= min_repeats:
        runs = w[: budget // n * n].reshape(-1, n).mean(axis=1)  # p_hat / p(x), one per run
        sizes.append(n)
        errors.append(np.sqrt(np.mean((runs - 1.0) ** 2)))
        n *= 2
    sizes, errors = np.log(sizes), np.log(errors)
    below = np.nonzero(errors <= np.log(rel_err))[0]
    if len(below) == 0:
        return float("nan")
    i = below[0]
    if i == 0:
        return 1.0
    t = (np.log(rel_err) - errors[i - 1]) / (errors[i] - errors[i - 1])
    return float(np.exp(sizes[i - 1] + t * (sizes[i] - sizes[i - 1])))


# ---------------------------------------------------------------------------------------------
# Figures for notebook 02. Each is a plain function, so a slider and a test call the same code.
# ---------------------------------------------------------------------------------------------

def _log_spaced_indices(n, points=300):
    """About ``points`` indices 0..n-1, evenly spread on a log axis (for drawing long curves)."""
    return np.unique(np.round(np.logspace(0, np.log10(n), points)).astype(int) - 1)


def plot_naive_convergence(n_values, log_p_hat, exact, relative_variance=None):
    """Eq. 2.3's estimate against L: unbiased for p(x) (left), biased low for log p(x) (right).

    Parameters
    ----------
    n_values : array_like, shape (m,)
        The sample counts L.
    log_p_hat : array_like, shape (runs, m)
        log p_hat for each repeated run at each L.
    exact : float
        The exact log p(x).
    relative_variance : float, optional
        rho - 1 (``LinearGaussian.naive_relative_variance``); draws the large-L predictions
        +-sqrt((rho - 1) / L) (left) and the Jensen bias -(rho - 1) / (2L) (right).
    """
    from ._plot import new_figure

    n_values = np.asarray(n_values, dtype=float)
    err = as_float_array("log_p_hat", log_p_hat, allow_inf=True) - float(exact)
    ratio = np.exp(err)
    fig, (ax_p, ax_log) = new_figure(2, width=4.6)
    for ax, vals, ref, label in ((ax_p, ratio, 1.0, "p_hat / p(x)"),
                                 (ax_log, err, 0.0, "log p_hat - log p(x)")):
        lo, hi = np.percentile(vals, [10, 90], axis=0)
        ax.fill_between(n_values, lo, hi, color="C0", alpha=0.25, label="10-90 % of runs")
        ax.plot(n_values, vals.mean(axis=0), "o-", color="C0", ms=3, label="mean over runs")
        ax.axhline(ref, color="k", lw=1, label="exact")
        ax.set(xscale="log", xlabel="L (prior samples)", ylabel=label)
    if relative_variance is not None:
        nn = np.logspace(np.log10(n_values.min()), np.log10(n_values.max()), 100)
        ax_p.plot(nn, 1 + np.sqrt(relative_variance / nn), "--", color="C3", lw=1,
                  label="1 +- sqrt((rho-1)/L)")
        ax_p.plot(nn, 1 - np.sqrt(relative_variance / nn), "--", color="C3", lw=1)
        ax_log.plot(nn, -relative_variance / (2 * nn), "--", color="C3", lw=1,
                    label="-(rho-1)/(2L)")
    ax_p.set(ylim=(-0.1, 3.0), title="unbiased for p(x)")
    ax_log.set(ylim=(min(-6.0, np.percentile(err[:, -1], 5) - 0.5), 1.0),
               title="biased low for log p(x) (Jensen)")
    ax_p.legend(fontsize=7)
    ax_log.legend(fontsize=7, loc="lower right")
    return fig


def plot_samples_needed(k_values, c_values, measured, exact, exp_kl, budget=None, rel_err=0.1):
    """Prior samples needed for a ``rel_err`` relative error, against the latent dimension k.

    ``measured``, ``exact`` ((rho - 1) / rel_err^2) and ``exp_kl`` (exp(KL(posterior || prior)),
    the trend) are arrays of shape (len(c_values), len(k_values)); NaN in ``measured`` means the
    measurement ran out of samples (drawn as a triangle at ``budget``).
    """
    from ._plot import new_figure

    fig, ax = new_figure(1, width=5.6, height=3.6)
    k_values = np.asarray(k_values)
    for i, c in enumerate(c_values):
        col = f"C{i}"
        ax.plot(k_values, exact[i], "-", color=col, label=f"c = {c:g}: exact (rho-1)/{rel_err:g}$^2$")
        ax.plot(k_values, exp_kl[i], ":", color=col, lw=2, label=f"c = {c:g}: exp(KL) trend")
        ok = np.isfinite(measured[i])
        ax.plot(k_values[ok], measured[i][ok], "o", color=col, ms=6, mfc="none")
        if budget is not None and (~ok).any():
            ax.plot(k_values[~ok], np.full((~ok).sum(), budget), "^", color=col, ms=6)
    ax.plot([], [], "o", color="grey", mfc="none", label="measured")
    if budget is not None:
        ax.axhline(budget, color="grey", lw=0.8, ls="--")
        ax.plot([], [], "^", color="grey", label=f"not measurable with our budget (> {budget:.3g})")
    ax.set(yscale="log", xlabel="latent dimension k", ylabel=f"samples L for {rel_err:.0%} error",
           title="how many prior samples eq. 2.3 needs")
    ax.legend(fontsize=6.5, loc="upper left", ncol=1)
    return fig


def _ellipse(mean, cov, radius, n=100):
    t = np.linspace(0, 2 * np.pi, n)
    vals, vecs = np.linalg.eigh(cov)
    circle = np.stack([np.cos(t), np.sin(t)], axis=1) * np.sqrt(np.maximum(vals, 0)) * radius
    return mean + circle @ vecs.T


def plot_naive_estimate_2d(c=0.01, n_samples=1000, k=2, *, W, b, z_true, noise, z_pool):
    """Where eq. 2.3's prior samples land, and the running estimate, for the linear model.

    The observation is x = W[:, :k] z_true[:k] + b + sqrt(c) noise. Left: the first L prior
    samples (first two coordinates) and the posterior p(z | x) (ellipses at 1, 2, 3 sd). Middle:
    a zoom onto the posterior, the small region where p(x | z) is large, with the samples
    coloured by their weight p(x | z_l) / max_l p(x | z_l). For k = 1: prior and posterior
    densities, and a histogram of the weights. Right: the running log p_hat against the exact log p(x).

    ``z_pool`` (shape (L_max, k_max)) holds the prior samples, drawn once; the sliders pick
    subsets, so a redraw only scores them; in a slider panel the figure is built once per layout
    (k = 1 or k >= 2) and its moving parts updated in place (``helpers._plot.live_figure``).
    """
    from ._plot import live_figure

    k = count("k", k)
    z_pool = np.asarray(z_pool)
    W = np.asarray(W)
    if k > min(W.shape[1], z_pool.shape[1]):
        raise ValueError(f"k must be <= {min(W.shape[1], z_pool.shape[1])}, got {k!r}")
    n_float = float(as_float_array("n_samples", n_samples))  # a log slider gives floats
    if n_float < 1:
        raise ValueError(f"n_samples must be >= 1, got {n_samples!r}")
    L = min(int(round(n_float)), len(z_pool))
    model = LinearGaussian(W[:, :k], b, c)
    x = model.W @ np.asarray(z_true)[:k] + model.b + np.sqrt(model.c) * np.asarray(noise)
    exact = model.log_evidence(x)
    # log p(x | z_l) for the whole pool in O(L k), not O(L d): with r = x - b,
    # ||r - W z||^2 = ||r||^2 - 2 (W^T r) . z + z^T (W^T W) z. Same numbers as
    # model.log_likelihood(x, z) to ~1e-9 nats, and fast enough for a slider.
    z = z_pool[:, :k]
    r = x - model.b
    sq = r @ r - 2.0 * z @ (model.W.T @ r) + np.sum((z @ (model.W.T @ model.W)) * z, axis=1)
    ll = -0.5 * np.maximum(sq, 0.0) / model.c - 0.5 * model.d * (_LOG_2PI + np.log(model.c))
    running = running_log_mean_exp(ll)
    mean, cov = model.posterior(x)
    m2, c2 = mean[:2], cov[:2, :2] if k >= 2 else None

    w = np.exp(ll[:L] - ll[:L].max())
    ess = w.sum() ** 2 / np.sum(w**2)  # effective sample size of the weights
    show = min(L, 3000)
    n_pool = len(z_pool)
    fig, p = live_figure(plot_naive_estimate_2d, (k >= 2, n_pool),
                         lambda: _naive_estimate_frame(k >= 2, n_pool))
    ax_prior, ax_zoom, ax_run = fig.axes
    if k >= 2:
        for r, e1, e2 in zip((1, 2, 3), p["ellipses_prior"], p["ellipses_zoom"]):
            e = _ellipse(m2, c2, r)
            e1.set_data(e[:, 0], e[:, 1])
            e2.set_data(e[:, 0], e[:, 1])
        p["prior_points"].set_offsets(z_pool[:show, :2])
        sd = np.sqrt(np.max(np.linalg.eigvalsh(c2)))
        half = 5 * sd
        inside = np.nonzero(np.all(np.abs(z_pool[:L, :2] - m2) < half, axis=1))[0]
        drawn = inside[:2000]
        p["zoom_points"].set_offsets(z_pool[drawn, :2])
        p["zoom_points"].set_array(w[drawn])
        p["box"].set_xy(tuple(m2 - half))
        p["box"].set_width(2 * half)
        p["box"].set_height(2 * half)
        ax_zoom.set(xlim=(m2[0] - half, m2[0] + half), ylim=(m2[1] - half, m2[1] + half),
                    title=f"zoom: {len(inside)} of the {L} samples")
        ax_prior.set_title(f"prior samples, posterior (k = {k})")
    else:
        zs = np.linspace(-4, 4, 400)
        post = np.exp(-0.5 * (zs - mean[0]) ** 2 / cov[0, 0]) / np.sqrt(2 * np.pi * cov[0, 0])
        p["posterior"].set_data(zs, post)
        p["rug"].set_data(z_pool[:show, 0], np.zeros(show))
        ax_prior.set_ylim(0, 1.05 * max(post.max(), 1 / np.sqrt(2 * np.pi)))  # as autoscaling
        counts, edges = np.histogram(np.log10(np.maximum(w, 1e-300)), bins=40, range=(-20, 0))
        p["weights"].set_data(counts, edges)
        ax_zoom.set_ylim(0, 1.05 * counts.max())
    idx = _log_spaced_indices(len(running))
    p["run_all"].set_data(idx + 1, running[idx])
    cur = idx[idx < L]
    p["run_now"].set_data(cur + 1, running[cur])
    p["exact"].set_ydata([exact, exact])
    p["legend_run"].get_texts()[1].set_text(f"exact log p(x) = {exact:.3g}")
    p["L_line"].set_xdata([L, L])
    ax_run.set(ylim=(exact - 25, exact + 3),
               title=f"L = {L}: error {running[L - 1] - exact:+.2f} nats, ESS {ess:.3g}")
    return fig


def _naive_estimate_frame(two_d, n_pool):
    """The figure of ``plot_naive_estimate_2d`` with empty artists (the frame a slider keeps)."""
    from matplotlib.ticker import MaxNLocator, NullLocator

    from ._plot import new_figure

    fig, (ax_prior, ax_zoom, ax_run) = new_figure(3, width=3.6, height=3.3)
    if two_d:
        parts = {name: [ax.plot([], [], color="C3", lw=1)[0] for _ in (1, 2, 3)]
                 for name, ax in (("ellipses_prior", ax_prior), ("ellipses_zoom", ax_zoom))}
        parts["prior_points"] = ax_prior.scatter(np.empty(0), np.empty(0), s=3, color="C0",
                                                 alpha=0.4, lw=0)
        parts["zoom_points"] = ax_zoom.scatter(np.empty(0), np.empty(0), s=18, c=np.empty(0),
                                               cmap="viridis", vmin=0, vmax=1, edgecolor="k",
                                               lw=0.3)
        parts["box"] = ax_prior.add_patch(_rectangle((0.0, 0.0), 1.0))
        ax_zoom.set(xlabel="z1", ylabel="z2")
        ax_prior.set(xlim=(-4, 4), ylim=(-4, 4), xlabel="z1", ylabel="z2")
        parts.update(prior_title=ax_prior.title, zoom_title=ax_zoom.title,
                     zoom_x=ax_zoom.xaxis, zoom_y=ax_zoom.yaxis)
    else:
        zs = np.linspace(-4, 4, 400)
        prior, = ax_prior.plot(zs, np.exp(-0.5 * zs**2) / np.sqrt(2 * np.pi), color="C0",
                               label="p(z)")
        posterior, = ax_prior.plot([], [], color="C3", label="p(z | x)")
        rug, = ax_prior.plot([], [], "|", color="C0", alpha=0.3)
        ax_prior.set(xlim=(-4, 4), xlabel="z", ylabel="density", title="prior and posterior (k = 1)")
        legend = ax_prior.legend(fontsize=7)
        weights = ax_zoom.stairs([0.0], [-20.0, 0.0], fill=True, color="C0")
        ax_zoom.set(xlim=(-20, 0), xlabel="log10(weight / largest weight)", ylabel="samples",
                    title="weights of the L samples")
        parts = dict(prior=prior, posterior=posterior, rug=rug, legend_prior=legend,
                     prior_y=ax_prior.yaxis, weights=weights, zoom_y=ax_zoom.yaxis)
    run_all, = ax_run.plot([], [], color="C0", alpha=0.3)
    run_now, = ax_run.plot([], [], color="C0", label="running log p_hat")
    exact = ax_run.axhline(0.0, color="k", lw=1, label="exact log p(x)")
    L_line = ax_run.axvline(1.0, color="grey", ls=":", lw=1)
    ax_run.set_xscale("log")
    # Plain-text ticks: minor log ticks and mathtext labels cost most of a redraw.
    decades = 10.0 ** np.arange(0, int(np.log10(n_pool)) + 1)
    ax_run.set_xticks(decades, [f"{v:.0e}".replace("e+0", "e") if v >= 1e3 else f"{v:.0f}"
                                for v in decades])
    ax_run.xaxis.set_minor_locator(NullLocator())
    for ax in (ax_prior, ax_zoom, ax_run):
        ax.yaxis.set_major_locator(MaxNLocator(4))
    for ax in (ax_prior, ax_zoom):
        ax.xaxis.set_major_locator(MaxNLocator(4))
    ax_run.set(xlim=(1, n_pool), xlabel="L (prior samples)", ylabel="log p_hat(x)")
    legend_run = ax_run.legend(fontsize=7, loc="lower right")
    parts.update(run_all=run_all, run_now=run_now, exact=exact, L_line=L_line,
                 legend_run=legend_run, run_title=ax_run.title, run_y=ax_run.yaxis)
    return fig, parts


def _rectangle(corner, size):
    from matplotlib.patches import Rectangle

    return Rectangle(tuple(corner), size, size, fill=False, color="k", lw=0.8)


def plot_training_curves(results, window=25):
    """The training objective (minibatch mean of log p_hat, eq. 2.3) against the step, per run."""
    from ._plot import new_figure

    fig, ax = new_figure(1, width=5.0, height=3.2)
    for i, r in enumerate(results):
        curve = np.asarray(r.train_log_evidence)
        w = min(window, len(curve))
        smooth = np.convolve(curve, np.ones(w) / w, mode="valid")
        ax.plot(np.arange(len(curve)) + 1, curve, color=f"C{i}", alpha=0.2, lw=0.8)
        ax.plot(np.arange(w, len(curve) + 1), smooth, color=f"C{i}",
                label=f"k = {r.latent_dim} (c = {r.c:g}, L = {r.settings['n_samples']})")
    ax.set(xlabel="training step", ylabel="naive log p_hat(x), nats per image",
           title="training on the naive estimate (eq. 2.3)")
    lo = min(np.percentile(r.train_log_evidence, 5) for r in results)
    hi = max(np.max(r.train_log_evidence) for r in results)
    ax.set_ylim(lo, hi + 0.05 * (hi - lo))
    ax.legend(fontsize=8, loc="lower right")
    return fig


def plot_digit_rows(rows, titles, side=8, ncols=12):
    """Rows of 8x8 images in one mosaic, one row per entry of ``rows`` (each (n, side * side))."""
    from ._plot import new_figure

    fig, ax = new_figure(1, width=6.0, height=0.6 * len(rows) + 0.5)
    strips = []
    for imgs in rows:
        imgs = np.clip(np.asarray(imgs, dtype=float)[:ncols], 0, 1).reshape(-1, side, side)
        strips.append(np.concatenate([np.pad(im, 1, constant_values=0) for im in imgs], axis=1))
    ax.imshow(np.concatenate(strips, axis=0), cmap="gray_r", vmin=0, vmax=1,
              interpolation="nearest")
    ax.set_yticks([(side + 2) * (i + 0.5) - 0.5 for i in range(len(rows))], titles, fontsize=8)
    ax.set_xticks([])
    ax.set_title("dark = ink; decoder rows show f_theta(z) for z ~ N(0, I)", fontsize=9)
    return fig
