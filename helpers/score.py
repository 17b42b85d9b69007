"""Scores, Langevin dynamics and the probability-flow ODE. Notebook 06.

Noise levels are continuous here. A level is alpha_bar in (0, 1], or equivalently
sigma = sqrt((1 - alpha_bar) / alpha_bar), so that x_t / sqrt(alpha_bar) = x_0 + sigma eps.

* The score d/dx log p_t(x) and the best noise predictor are one function read two ways
  (Tweedie): E[eps | x_t = x] = -sqrt(1 - alpha_bar) score(x). ``score_from_eps`` reads it back.
* Unadjusted Langevin dynamics samples a density given only its score (``langevin_sample``).
* The probability-flow ODE (Song et al. 2021) in the variables of Karras et al. (2022),
  xbar = x / sqrt(alpha_bar) and sigma:

      d xbar / d sigma = eps_fn(xbar / sqrt(1 + sigma^2), 1 / (1 + sigma^2)).

  Run down from sigma_max it carries N(0, (1 + sigma_max^2) I) to the data without noise
  (``pf_ode_sample``; DDIM is Euler's method on it). Run up from sigma_min with the
  instantaneous change of variables it gives log p(x_0) (``pf_ode_log_likelihood``).

An ``eps_fn`` is any callable ``(x, alpha_bar) -> eps_hat``, x of shape (n, d) and alpha_bar a
float in (0, 1), returning (n, d). ``GaussianMixture1D.eps_at`` is the exact one for notebook
06's data; a network trained on continuous noise levels is wrapped to this form.
"""

from __future__ import annotations

import numbers

import numpy as np

from ._checks import (alpha_bar_level, as_float_array, as_rng, count, data_matrix,
                      model_output, positive_scalar)
from ._deprecated import keyword_only
from .gaussian import isotropic_log_likelihood
from .noise_schedule import alpha_bar_from_sigma

__all__ = ["SOLVERS", "FD_STEP", "score_from_eps", "langevin_sample", "LangevinRuns",
           "karras_sigmas", "pf_ode_velocity", "pf_ode_divergence", "pf_ode_sample",
           "pf_ode_log_likelihood"]

SOLVERS = ("euler", "heun")
# The central-difference step of the divergence, on eps_fn's own input x (see pf_ode_divergence).
FD_STEP = 1e-4


def score_from_eps(eps, alpha_bar):
    """The score from a noise prediction, Tweedie's formula read backwards:

        score(x) = -eps(x) / sqrt(1 - alpha_bar).

    Parameters
    ----------
    eps : array_like, any shape
        A prediction of E[eps | x_t = x], e.g. ``mixture.eps_at(x, alpha_bar)``.
    alpha_bar : float in (0, 1), or an array of such levels broadcasting with ``eps``
        alpha_bar = 1 is excluded: without noise, eps = 0 says nothing about the score.

    Returns
    -------
    ndarray, the broadcast shape of eps and alpha_bar
    """
    eps = as_float_array("eps", eps)
    ab = alpha_bar_level(alpha_bar, allow_one=False, like=eps, like_name="eps")
    # score = -eps / sqrt(1 - alpha_bar)
    return -eps / np.sqrt(1.0 - ab)


def _callable(name, fn, form):
    if not callable(fn):
        raise ValueError(f"{name} must be callable {form}, got {fn!r}")


@keyword_only(2, ("step_size", "steps", "rng"))
def langevin_sample(score_fn, x_init, *, step_size, steps, rng=None):
    """Unadjusted Langevin dynamics, the Euler-Maruyama steps of dx = (1/2) score(x) dt + dW:

        x <- x + (h / 2) score_fn(x) + sqrt(h) z,   z ~ N(0, I),   h = ``step_size``,

    ``steps`` times from ``x_init``. As h -> 0 and steps -> infinity the law of x tends to the
    density p whose score is ``score_fn``. At a fixed h it is biased, as nothing corrects the
    discretisation (no Metropolis step). For p = N(mu, s^2) the chain is the AR(1) process
    x - mu <- (1 - h / (2 s^2)) (x - mu) + sqrt(h) z: its stationary law is
    N(mu, s^2 / (1 - h / (4 s^2))), wider than p, and for h >= 4 s^2 it diverges.

    Parameters
    ----------
    score_fn : callable, array -> array of the same shape
        E.g. ``lambda x: mixture.score(x, 1.0)``, the data's own score.
    x_init : array_like, any shape
        The starting points; each entry (for a 1-D score) is its own chain.
    step_size : float > 0
    steps : int >= 1
    rng : int, numpy.random.Generator or None

    Returns
    -------
    ndarray, the shape of x_init: x after ``steps`` steps.
    """
    _callable("score_fn", score_fn, "x -> score of x's shape")
    x = as_float_array("x_init", x_init).copy()
    h = positive_scalar("step_size", step_size)
    steps = count("steps", steps)
    rng = as_rng(rng)
    half_h, sqrt_h = 0.5 * h, np.sqrt(h)
    with np.errstate(over="ignore", invalid="ignore"):  # an overflow is reported below
        for k in range(1, steps + 1):
            score = np.asarray(score_fn(x), dtype=np.float64)
            if score.shape != x.shape:
                raise ValueError(f"score_fn(x) must return the shape {x.shape} of x, got "
                                 f"{score.shape}")
            if not np.isfinite(score).all():
                raise ValueError(f"score_fn(x) returned non-finite values at step {k}")
            # x <- x + (h / 2) score(x) + sqrt(h) z, in place (score may be score_fn's own array)
            step = rng.standard_normal(x.shape)
            step *= sqrt_h
            step += half_h * score
            x += step
            if not np.isfinite(x).all():
                raise ValueError(f"step_size is too large, {h!r}: the chain overflowed at "
                                 f"step {k}")
    return x


class LangevinRuns:
    """``langevin_sample`` for a slider that moves ``steps``: chains continued, not rerun.

    With an int seed, the chains after k steps are the first k steps of one run. So ``sample``
    keeps, for each (start, step size, seed), the chains and the generator's state at every step
    count asked so far, and continues from the nearest one below ``steps``: the same numbers as
    a fresh ``langevin_sample(score_fn, x_init, step_size=h, steps=steps, rng=seed)``, and a
    move of a ``steps`` slider costs only the steps it adds. Any other ``rng`` runs afresh.
    At most ``max_saved`` states are kept (the oldest go first).
    """

    def __init__(self, *, max_saved=512):
        self.max_saved = count("max_saved", max_saved)
        self._saved = {}  # (x_init key, step_size, seed) -> {steps: (chains, generator state)}

    def sample(self, score_fn, x_init, *, step_size, steps, rng=None):
        """As ``langevin_sample``, from saved chains where it can."""
        if not isinstance(rng, numbers.Integral) or isinstance(rng, bool):
            return langevin_sample(score_fn, x_init, step_size=step_size, steps=steps, rng=rng)
        x_init = as_float_array("x_init", x_init)
        step_size, steps = positive_scalar("step_size", step_size), count("steps", steps)
        gen = as_rng(rng)
        key = (x_init.shape, hash(x_init.tobytes()), step_size, int(rng))
        saved = self._saved.setdefault(key, {})
        done = max((k for k in saved if k <= steps), default=0)
        x = x_init
        if done:
            x, gen.bit_generator.state = saved[done]
        if done < steps:
            x = langevin_sample(score_fn, x, step_size=step_size, steps=steps - done, rng=gen)
            saved[steps] = (x, gen.bit_generator.state)
            while sum(map(len, self._saved.values())) > self.max_saved:
                oldest = next(iter(self._saved))
                self._saved[oldest].pop(next(iter(self._saved[oldest])))
                if not self._saved[oldest]:
                    del self._saved[oldest]
        return x


def _sigma_range(sigma_min, sigma_max):
    sigma_min, sigma_max = (positive_scalar("sigma_min", sigma_min),
                            positive_scalar("sigma_max", sigma_max))
    if sigma_min >= sigma_max:
        raise ValueError(f"sigma_min must be < sigma_max = {sigma_max!r}, got {sigma_min!r}")
    return sigma_min, sigma_max


@keyword_only(1, ("sigma_min", "sigma_max", "rho"))
def karras_sigmas(steps, *, sigma_min=0.002, sigma_max=80.0, rho=7.0):
    """The ODE solvers' noise levels (Karras et al. 2022, eq. 5), from sigma_max down to sigma_min:

        sigma_i = (sigma_max^(1/rho) + (i / steps) (sigma_min^(1/rho) - sigma_max^(1/rho)))^rho,

    i = 0..steps. They are evenly spaced in sigma^(1/rho): rho = 1 spaces them evenly in sigma,
    and rho -> infinity evenly in log sigma. Karras et al.'s rho = 7 puts most steps at low
    noise, where the data's details form and the ODE bends most.

    Returns
    -------
    ndarray, shape (steps + 1,), descending; the ends are exactly sigma_max and sigma_min.
    """
    steps = count("steps", steps)
    sigma_min, sigma_max = _sigma_range(sigma_min, sigma_max)
    rho = positive_scalar("rho", rho)
    lo, hi = sigma_min ** (1.0 / rho), sigma_max ** (1.0 / rho)
    sigmas = (hi + np.arange(steps + 1) / steps * (lo - hi)) ** rho
    sigmas[0], sigmas[-1] = sigma_max, sigma_min
    return sigmas


def _eps(eps_fn, x, alpha_bar):
    """eps_fn(x, alpha_bar), checked to be finite with the shape of x."""
    return model_output(eps_fn(x, alpha_bar), x.shape, "eps_fn(x, alpha_bar)",
                        f"alpha_bar={alpha_bar!r}")


def _velocity(eps_fn, xbar, sigma):
    # v = eps_fn(xbar / sqrt(1 + sigma^2), alpha_bar(sigma))
    return _eps(eps_fn, xbar / np.sqrt(1.0 + sigma**2), alpha_bar_from_sigma(sigma))


def _velocity_and_divergence(eps_fn, xbar, sigma):
    n, d = xbar.shape
    scale = np.sqrt(1.0 + sigma**2)
    x = xbar / scale
    # rows x + delta e_j and x - delta e_j, for j = 1..d: shape (d, n, d) each
    shift = FD_STEP * np.eye(d)[:, None, :]
    x_plus, x_minus = x + shift, x - shift
    out = _eps(eps_fn, np.concatenate([x, x_plus.reshape(-1, d), x_minus.reshape(-1, d)]),
               alpha_bar_from_sigma(sigma))
    eps_plus, eps_minus = out[n:n + n * d].reshape(d, n, d), out[n + n * d:].reshape(d, n, d)
    j = np.arange(d)
    # the steps as rounded, (x + delta) - (x - delta), so rounding of x +- delta cancels
    width = x_plus[j, :, j] - x_minus[j, :, j]
    # div v = sum_j d eps_j / d x_j * dx_j / dxbar_j, with dx_j / dxbar_j = 1 / sqrt(1 + sigma^2)
    div = np.sum((eps_plus[j, :, j] - eps_minus[j, :, j]) / width, axis=0) / scale
    return out[:n], div


def _ode_point(eps_fn, xbar, sigma):
    _callable("eps_fn", eps_fn, "(x, alpha_bar) -> eps_hat")
    return data_matrix("xbar", xbar), positive_scalar("sigma", sigma)


def pf_ode_velocity(eps_fn, xbar, sigma):
    """The probability-flow ODE's right-hand side, one call of eps_fn:

        v(xbar, sigma) = d xbar / d sigma = eps_fn(xbar / sqrt(1 + sigma^2), 1 / (1 + sigma^2)).

    With Tweedie's x0_hat = E[x_0 | xbar] = xbar - sigma eps_hat, v = (xbar - x0_hat) / sigma:
    as sigma falls, xbar moves towards the denoised point. An Euler step keeps x0_hat and
    eps_hat and changes only sigma in xbar = x0_hat + sigma eps_hat: that is DDIM's step.
    Returns v, shape (n, d), for xbar of shape (n, d).
    """
    xbar, sigma = _ode_point(eps_fn, xbar, sigma)
    return _velocity(eps_fn, xbar, sigma)


def pf_ode_divergence(eps_fn, xbar, sigma):
    """The velocity v(xbar, sigma) and its exact divergence, from one call of eps_fn.

        div v = sum_j d v_j / d xbar_j
              = sum_j (eps_j(x + delta e_j) - eps_j(x - delta e_j)) / (2 delta sqrt(1 + sigma^2)),

    central differences on eps_fn's own input x = xbar / sqrt(1 + sigma^2), one dimension at a
    time. All 2 d + 1 copies (x, then x + delta e_j, then x - delta e_j, j = 1..d) are stacked
    into one call on n (2 d + 1) rows: the cost grows with d, which is small here (notebook 06
    has d = 1 and 2). The divergence is exact up to the difference's own error, not a
    stochastic (Hutchinson) estimate of the trace.

    The step delta = ``FD_STEP`` = 1e-4 is taken on x rather than on xbar because x has the
    data's scale (about 1) at every sigma. A central difference errs by about
    delta^2 |eps'''| / 6 (truncation) plus u |eps| / delta (rounding, u = 1.1e-16 in float64).
    A feature of width w costs a relative error of about (delta / w)^2 / 6, and rounding about
    1e-11 (the divisor is the actual step (x + delta) - (x - delta), so rounding x +- delta
    costs nothing). The narrowest feature of notebook 06's mixture is where r_k(x) hands over
    from one component to the next, w ~ 0.03 at low noise, and the error measured against the
    exact divergence is under 1e-6 of its largest value at every sigma (tests/test_score.py).
    In a log-likelihood it moves the result by about 1e-7 nats (measured against delta =
    1e-5), far below the ODE solver's error. A float32 network
    rounds its input to 6e-8, 6e-4 of delta: expect about 1e-3 relative there, so evaluate
    such a network in float64 when the digits matter.

    Returns
    -------
    v : ndarray, shape (n, d)
    div : ndarray, shape (n,)
    """
    xbar, sigma = _ode_point(eps_fn, xbar, sigma)
    return _velocity_and_divergence(eps_fn, xbar, sigma)


def _check_solver(eps_fn, nfe, solver, sigma_min, sigma_max):
    """Checks shared by the two ODE functions. Returns the sigma grid, descending, and for each
    interval of it whether Heun's step (two eps_fn calls) or Euler's (one) crosses it.

    Heun with nfe calls takes (nfe + 1) // 2 steps; when nfe is odd, the step at the sigma_min
    end, the smallest, is an Euler step. Euler takes nfe steps.
    """
    _callable("eps_fn", eps_fn, "(x, alpha_bar) -> eps_hat")
    nfe = count("nfe", nfe)
    if solver not in SOLVERS:
        raise ValueError(f"solver must be one of {SOLVERS}, got {solver!r}")
    sigma_min, sigma_max = _sigma_range(sigma_min, sigma_max)
    steps, n_heun = (nfe, 0) if solver == "euler" else ((nfe + 1) // 2, nfe // 2)
    return (karras_sigmas(steps, sigma_min=sigma_min, sigma_max=sigma_max),
            np.arange(steps) < n_heun)


def _integrate(velocity, y, sigmas, heun):
    """dy/dsigma = velocity(y, sigma) along ``sigmas``, crossing interval i by Heun's step
    (Karras et al. 2022, Alg. 1: Euler's step, then the trapezoid rule with its end) where
    heun[i], else by Euler's."""
    for sigma, sigma_next, use_heun in zip(sigmas[:-1], sigmas[1:], heun):
        h = sigma_next - sigma
        slope = velocity(y, sigma)
        # Euler: y' = y + h v(y, sigma)
        y_next = y + h * slope
        if use_heun:
            # Heun: y' = y + h (v(y, sigma) + v(y_euler, sigma')) / 2
            y_next = y + 0.5 * h * (slope + velocity(y_next, sigma_next))
        y = y_next
    return y


@keyword_only(2, ("nfe", "d", "solver", "sigma_min", "sigma_max", "rng"))
def pf_ode_sample(eps_fn, n, *, nfe, d=1, solver="heun", sigma_min=0.002, sigma_max=80.0,
                  rng=None):
    """Samples by the probability-flow ODE, d xbar / d sigma = v(xbar, sigma) (``pf_ode_velocity``).

    It starts from xbar ~ N(0, (1 + sigma_max^2) I), that is x ~ N(0, I) at the top level, and
    integrates from sigma_max down to sigma_min on ``karras_sigmas`` (rho = 7). Its only
    randomness is the start, so equal rng gives equal output. eps_fn is called at most ``nfe``
    times (in fact exactly nfe), each on the whole batch:

    * ``"euler"``: nfe steps, xbar' = xbar + (sigma' - sigma) v(xbar, sigma). On DDIM's grid of
      levels this is DDIM.
    * ``"heun"`` (Karras et al. 2022, Alg. 1): (nfe + 1) // 2 steps of two calls each, the
      Euler step corrected by the trapezoid rule (second order); when nfe is odd the last step,
      the smallest, is a plain Euler step. nfe = 1 is one Euler step.

    Heun's error falls as nfe^-2 and Euler's as nfe^-1, but with few steps the rho = 7 grid's
    wide intervals each span much of the range over which eps changes (sigma from about 3 down
    to 0.1 for notebook 06's mixture), and the average of the slopes at both ends is then worse
    than Euler's one slope. For the mixture with its exact eps, Euler's samples are closer to
    the exact ODE's up to about 20 calls and Heun's beyond (4 times closer at 64 calls); in
    ``pf_ode_log_likelihood`` Heun is ahead from about 12 calls.

    Parameters
    ----------
    eps_fn : callable ``(x, alpha_bar) -> eps_hat``, e.g. ``mixture.eps_at``
    n : int
        Number of samples.
    nfe : int >= 1
        The budget of eps_fn calls (number of function evaluations).
    d : int
        Dimension of the samples.
    solver : {"heun", "euler"}
    sigma_min, sigma_max : float, 0 < sigma_min < sigma_max
    rng : int, numpy.random.Generator or None

    Returns
    -------
    ndarray, shape (n, d): xbar at sigma_min, a sample of the data convolved with
    N(0, sigma_min^2 I) (about the data itself at sigma_min = 0.002).
    """
    sigmas, heun = _check_solver(eps_fn, nfe, solver, sigma_min, sigma_max)
    n, d = count("n", n), count("d", d)
    rng = as_rng(rng)
    # xbar(sigma_max) ~ N(0, (1 + sigma_max^2) I)
    xbar = np.sqrt(1.0 + sigmas[0] ** 2) * rng.standard_normal((n, d))
    return _integrate(lambda y, sigma: _velocity(eps_fn, y, sigma), xbar, sigmas, heun)


@keyword_only(2, ("nfe", "solver", "sigma_min", "sigma_max"))
def pf_ode_log_likelihood(eps_fn, x0, *, nfe, solver="heun", sigma_min=0.002, sigma_max=80.0):
    """log p(x0) in nats per row under the probability-flow ODE's model (Song et al. 2021).

    Along a path of the ODE, the instantaneous change of variables says

        d/dsigma log p_sigma(xbar(sigma)) = -div v(xbar(sigma), sigma),

    so, integrating from sigma_min up to sigma_max,

        log p_{sigma_min}(x0) = log N(xbar(sigma_max); 0, (1 + sigma_max^2) I)
                                + int_{sigma_min}^{sigma_max} div v(xbar(sigma), sigma) dsigma,

    xbar and the integral solved together as one ODE by ``solver`` on the reversed
    ``karras_sigmas``, with the same budget of nfe calls as ``pf_ode_sample``. Each call
    evaluates v and its exact divergence at once on n (2 d + 1) rows (``pf_ode_divergence``).

    Which density: x0 is taken as xbar at sigma_min, so this is the model's density of the data
    convolved with N(0, sigma_min^2 I) (the law of ``pf_ode_sample``'s output), not of the data
    itself; and the model's, because it puts N(0, (1 + sigma_max^2) I) at the top, where the
    data's own law at sigma_max differs by O(|E x_0| / sigma_max + |E x_0^2 - 1| / sigma_max^2)
    (for notebook 06's mixture, at most 0.01 nats). With the exact eps and nfe -> infinity it
    is that density exactly.

    The likelihood asks for more calls than sampling does. For the mixture with its exact eps,
    Heun's error is about 0.01 nats on typical data points at 128 calls and 0.002 at 512,
    falling as nfe^-2; points far out in the tails need more.

    Parameters
    ----------
    eps_fn : callable ``(x, alpha_bar) -> eps_hat``
    x0 : array_like, shape (n, d)
    nfe, solver, sigma_min, sigma_max
        As ``pf_ode_sample``.

    Returns
    -------
    ndarray, shape (n,)
    """
    sigmas, heun = _check_solver(eps_fn, nfe, solver, sigma_min, sigma_max)
    x0 = data_matrix("x0", x0)
    d = x0.shape[1]

    def velocity(y, sigma):
        # the state y = (xbar, integral of div v) moves with (v, div v)
        v, div = _velocity_and_divergence(eps_fn, y[:, :d], sigma)
        return np.concatenate([v, div[:, None]], axis=1)

    start = np.concatenate([x0, np.zeros((x0.shape[0], 1))], axis=1)
    # up the same grid, so an odd nfe's Euler step is again the one at sigma_min
    end = _integrate(velocity, start, sigmas[::-1], heun[::-1])
    xbar, integral = end[:, :d], end[:, d]
    # log N(xbar(sigma_max); 0, (1 + sigma_max^2) I)
    log_prior = isotropic_log_likelihood(np.sum(xbar**2, axis=1), d, 1.0 + sigmas[0] ** 2)
    return log_prior + integral
