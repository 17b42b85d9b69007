"""helpers.score and the mixture's continuous-level score: notebook 06.

Exact references, none of them computed by helpers.score or by the score under test:

* the score against a central difference of ``marginal(alpha_bar).log_prob``;
* the divergence against the mixture's closed-form d eps / dx;
* the ODE's exact flow in 1-D: a monotone map carrying one law to another is the quantile map,
  so the exact probability-flow ODE sends xbar at sigma_max to F_min^-1(F_max(xbar)), F_min and
  F_max the CDFs of the data convolved with N(0, sigma^2) at both ends (mixtures again). Hence
  the model's exact log-likelihood of x, and the exact end of every sample path;
* in 2-D, a diagonal Gaussian, whose flow xbar(sigma) = m + (xbar - m) sqrt((s^2 + sigma^2) /
  (s^2 + sigma_min^2)) is closed form.

Monte-Carlo tolerances are Z = 5 standard errors (SE), as in tests/test_diffusion.py.
"""

import math
import re

import numpy as np
import pytest
from scipy import stats

from helpers.diffusion import GaussianMixture1D, NoiseSchedule, ddim_trajectory, timesteps
from helpers.metrics import wasserstein_1
from helpers.noise_schedule import (alpha_bar_from_log_sigma, alpha_bar_from_sigma,
                                    log_sigma_from_alpha_bar, sigma_from_alpha_bar)
from helpers.score import (FD_STEP, LangevinRuns, karras_sigmas, langevin_sample,
                           pf_ode_divergence, pf_ode_log_likelihood, pf_ode_sample,
                           pf_ode_velocity, score_from_eps)

Z = 5.0
# notebook 05's mixture: pi = (.4, .3, .3), mu = (-1.5, .5, 2), s = (.25, .25, .5)
MIX = GaussianMixture1D([0.4, 0.3, 0.3], [-1.5, 0.5, 2.0], [0.25, 0.25, 0.5])
SIGMA_MIN, SIGMA_MAX = 0.002, 80.0
LEVELS = [1.0, 0.9, 0.5, 0.1, 1e-2, alpha_bar_from_sigma(SIGMA_MAX)]


def test_noise_level_conversions_known_values_and_round_trip():
    # alpha_bar = 1/2 is sigma = 1; alpha_bar = 1/5 is sigma = 2 (1 + 4 = 5); alpha_bar = 1 is 0
    assert sigma_from_alpha_bar(0.5) == 1.0 and sigma_from_alpha_bar(0.2) == pytest.approx(2.0)
    assert sigma_from_alpha_bar(1.0) == 0.0 and alpha_bar_from_sigma(0.0) == 1.0
    assert alpha_bar_from_sigma(2.0) == pytest.approx(0.2, rel=1e-15)
    assert isinstance(sigma_from_alpha_bar(0.5), float) and isinstance(alpha_bar_from_sigma(1), float)
    ab = np.array([[1e-12, 1e-6, 0.3], [0.5, 1 - 1e-9, 1.0]])
    sigma = sigma_from_alpha_bar(ab)
    assert sigma.shape == ab.shape
    np.testing.assert_allclose(alpha_bar_from_sigma(sigma), ab, rtol=1e-13)
    np.testing.assert_allclose(sigma_from_alpha_bar(alpha_bar_from_sigma(sigma)), sigma,
                               rtol=1e-6)  # sigma = 1e6 keeps ~1e-10 of alpha_bar's digits
    np.testing.assert_allclose(log_sigma_from_alpha_bar(ab[:, :2]), np.log(sigma[:, :2]),
                               rtol=1e-12)
    assert log_sigma_from_alpha_bar(0.2) == pytest.approx(math.log(2.0), rel=1e-15)
    assert log_sigma_from_alpha_bar(1.0) == -math.inf
    assert log_sigma_from_alpha_bar(0.5) == 0.0
    np.testing.assert_allclose(alpha_bar_from_log_sigma(np.log(sigma[:, :2])), ab[:, :2],
                               rtol=1e-12)
    assert alpha_bar_from_log_sigma(-math.inf) == 1.0
    torch = pytest.importorskip("torch")
    log_sigma = torch.tensor([-3.0, 0.0, 2.0], dtype=torch.float64)
    np.testing.assert_allclose(alpha_bar_from_log_sigma(log_sigma).numpy(),
                               alpha_bar_from_sigma(np.exp(log_sigma.numpy())), rtol=1e-15)


@pytest.mark.parametrize("call, match", [
    (lambda: sigma_from_alpha_bar(0.0), "alpha_bar"),
    (lambda: sigma_from_alpha_bar([0.5, 1.5]), "alpha_bar"),
    (lambda: sigma_from_alpha_bar(np.nan), "alpha_bar"),
    (lambda: log_sigma_from_alpha_bar(-0.1), "alpha_bar"),
    (lambda: alpha_bar_from_sigma(-1.0), "sigma"),
    (lambda: alpha_bar_from_sigma(np.inf), "sigma"),
    (lambda: alpha_bar_from_log_sigma(np.nan), "log_sigma"),
])
def test_noise_level_conversions_name_a_bad_argument(call, match):
    with pytest.raises(ValueError, match=f"^{match} "):
        call()


# --- exact references --------------------------------------------------------------------------

def convolved(sigma, mix=MIX):
    """The law of xbar = x_0 + sigma eps: the data convolved with N(0, sigma^2), a mixture."""
    return GaussianMixture1D(mix.weights, mix.means, np.sqrt(mix.stds**2 + sigma**2))


def cdf(mix, y):
    return np.sum(mix.weights * stats.norm.cdf(np.asarray(y)[..., None], mix.means, mix.stds),
                  axis=-1)


def icdf(mix, u):
    """F^-1(u) by bisection, to the last bit (the CDF of a mixture has no closed inverse)."""
    half = np.max(np.abs(mix.means)) + 40 * np.max(mix.stds)
    lo, hi = np.full(np.shape(u), -half), np.full(np.shape(u), half)
    for _ in range(200):
        mid = 0.5 * (lo + hi)
        below = cdf(mix, mid) < u
        lo, hi = np.where(below, mid, lo), np.where(below, hi, mid)
    return 0.5 * (lo + hi)


LOW, HIGH = convolved(SIGMA_MIN), convolved(SIGMA_MAX)


def exact_flow_down(xbar_top):
    """Where the exact ODE carries xbar from sigma_max to sigma_min (the quantile map)."""
    return icdf(LOW, cdf(HIGH, xbar_top))


def exact_model_log_likelihood(x):
    """The ODE model's exact log p(x): log p_min(x) + log N(y; 0, 1 + sigma_max^2) - log p_max(y),
    y the exact flow of x up to sigma_max. The last two terms are the model's prior mismatch; they
    nearly cancel and have equal slopes, so y's own error hardly matters."""
    y = icdf(HIGH, cdf(LOW, x))
    return (LOW.log_prob(x) + stats.norm.logpdf(y, 0.0, math.sqrt(1 + SIGMA_MAX**2))
            - HIGH.log_prob(y))


def exact_divergence(x, alpha_bar, mix=MIX):
    """d eps* / dx of the mixture in closed form. With g_k = (m_k - x) / v_k and score
    S = sum_k r_k g_k, dr_k / dx = r_k (g_k - S), so dS / dx = -sum_k r_k / v_k + sum_k r_k g_k^2
    - S^2, and d eps* / dx = -sqrt(1 - alpha_bar) dS / dx."""
    q = mix.marginal(alpha_bar)
    v = q.stds**2
    g = (q.means - x[..., None]) / v
    log_r = np.log(q.weights) + stats.norm.logpdf(x[..., None], q.means, q.stds)
    r = np.exp(log_r - log_r.max(-1, keepdims=True))
    r /= r.sum(-1, keepdims=True)
    s = np.sum(r * g, -1)
    return -math.sqrt(1 - alpha_bar) * (-np.sum(r / v, -1) + np.sum(r * g**2, -1) - s**2)


# --- the mixture's score at a continuous level --------------------------------------------------

@pytest.mark.parametrize("alpha_bar", LEVELS)
def test_score_is_the_derivative_of_the_log_density(alpha_bar):
    x = np.linspace(-4, 4, 41)[:, None]
    q, h = MIX.marginal(alpha_bar), 1e-5
    central = (q.log_prob(x + h) - q.log_prob(x - h)) / (2 * h)
    np.testing.assert_allclose(MIX.score(x, alpha_bar), central, rtol=1e-6, atol=1e-8)


@pytest.mark.parametrize("alpha_bar", LEVELS)
def test_eps_at_is_tweedie_and_score_from_eps_inverts_it(alpha_bar):
    x = np.random.default_rng(0).normal(scale=2, size=(3, 4, 5))
    score, eps = MIX.score(x, alpha_bar), MIX.eps_at(x, alpha_bar)
    assert score.shape == eps.shape == x.shape
    np.testing.assert_array_equal(eps, -math.sqrt(1 - alpha_bar) * score)
    if alpha_bar < 1:
        np.testing.assert_allclose(score_from_eps(eps, alpha_bar), score, rtol=1e-13)
    else:
        assert not eps.any()  # no noise: E[eps | x_0] = 0


def test_eps_star_is_eps_at_at_alpha_bar_t():
    s = NoiseSchedule.cosine(10)
    x = np.linspace(-3, 3, 7)[:, None]
    for t in (1, 4, 10):
        np.testing.assert_array_equal(MIX.eps_star(x, t, s), MIX.eps_at(x, s.alpha_bar[t - 1]))
    t = np.array([1, 3, 10, 3, 7, 2, 5])
    np.testing.assert_array_equal(MIX.eps_star(x, t, s),
                                  MIX.eps_at(x, s.alpha_bar[t - 1][:, None]))


def test_levels_broadcast_with_x():
    x = np.linspace(-2, 2, 15).reshape(5, 3)
    ab = np.array([1.0, 0.7, 0.2, 0.05, 1e-3])[:, None]
    for fn in (MIX.score, MIX.eps_at):
        out = fn(x, ab)
        assert out.shape == (5, 3)
        for i in range(5):
            np.testing.assert_allclose(out[i], fn(x[i], float(ab[i, 0])), rtol=1e-14)
    np.testing.assert_allclose(score_from_eps(MIX.eps_at(x[1:], ab[1:]), ab[1:]),
                               MIX.score(x[1:], ab[1:]), rtol=1e-13)
    assert MIX.score(0.3, 0.5) == pytest.approx(MIX.score([[0.3]], 0.5)[0, 0], rel=1e-15)


# --- Langevin dynamics -------------------------------------------------------------------------

@pytest.mark.parametrize("h_over_s2", [0.2, 0.5, 1.0])
def test_langevin_on_a_gaussian_is_the_biased_ar1_chain(h_over_s2):
    # On N(mu, s^2), x <- x + (h/2)(mu - x)/s^2 + sqrt(h) z is x - mu <- a (x - mu) + sqrt(h) z,
    # a = 1 - h / (2 s^2). Its stationary variance V solves V = a^2 V + h:
    # V = h / (1 - a^2) = s^2 / (1 - h / (4 s^2)). After k steps from a fixed x_init the mean is
    # mu + a^k (x_init - mu) and the variance V (1 - a^(2k)): k is chosen so a^k < 1e-12.
    mu, s, n = 1.0, 0.5, 100_000
    h = h_over_s2 * s**2
    a = 1 - h / (2 * s**2)
    steps = math.ceil(math.log(1e-12) / math.log(abs(a)))
    x = langevin_sample(lambda x: (mu - x) / s**2, np.zeros(n), step_size=h, steps=steps, rng=1)
    assert x.shape == (n,)
    var_exact = s**2 / (1 - h / (4 * s**2))
    se_mean = x.std() / math.sqrt(n)
    se_var = math.sqrt((np.mean((x - x.mean()) ** 4) - x.var() ** 2) / n)
    assert abs(x.mean() - mu) < Z * se_mean, (x.mean(), se_mean)
    assert abs(x.var() - var_exact) < Z * se_var, (x.var(), var_exact, se_var)
    # the bias is real: the target's own variance s^2 is rejected
    assert abs(x.var() - s**2) > Z * se_var, (x.var(), s**2, se_var)


def test_langevin_keeps_the_shape_and_is_seeded():
    score = lambda x: MIX.score(x, 1.0)  # noqa: E731
    x = langevin_sample(score, np.zeros((3, 4)), step_size=0.01, steps=20, rng=2)
    assert x.shape == (3, 4)
    again = {seed: langevin_sample(score, np.zeros((3, 4)), step_size=0.01, steps=20, rng=seed)
             for seed in (2, 3)}
    np.testing.assert_array_equal(x, again[2])
    assert not np.array_equal(x, again[3])
    x_init = np.ones(5)
    langevin_sample(score, x_init, step_size=0.01, steps=3, rng=0)
    np.testing.assert_array_equal(x_init, 1.0)  # the start is not modified


def test_langevin_started_at_the_mixture_stays_there():
    # Chains started at data points, with a small step (variance bias h / (4 s^2) < 0.5%), run
    # for a time of 0.5, eight relaxation times s^2 of the widest component. The law stays the
    # data's: W1 to a fresh sample is within the floor of two data samples. (Crossing between
    # the modes takes far longer, which is why they start at the data.) The score of a noisier
    # level, marginal(0.5)'s, drifts off by far in the same time.
    floor = [wasserstein_1(MIX.sample(4000, rng=10 + i), MIX.sample(4000, rng=30 + i))
             for i in range(10)]
    limit = np.mean(floor) + Z * np.std(floor, ddof=1)
    start = MIX.sample(4000, rng=4)[:, 0]
    for alpha_bar, stays in ((1.0, True), (0.5, False)):
        x = langevin_sample(lambda x: MIX.score(x, alpha_bar), start, step_size=1e-3, steps=500,
                            rng=5)
        assert (wasserstein_1(x, MIX.sample(4000, rng=6)) < limit) == stays, alpha_bar


# --- the sigma grid and the divergence ---------------------------------------------------------

def test_karras_sigmas():
    for steps in (1, 2, 7, 64):
        sig = karras_sigmas(steps, sigma_min=SIGMA_MIN, sigma_max=SIGMA_MAX)
        assert sig.shape == (steps + 1,) and sig[0] == SIGMA_MAX and sig[-1] == SIGMA_MIN
        assert np.all(np.diff(sig) < 0)
        # evenly spaced in sigma^(1/rho)
        spacing = (SIGMA_MIN ** (1 / 7) - SIGMA_MAX ** (1 / 7)) / steps
        np.testing.assert_allclose(np.diff(sig ** (1 / 7)), spacing, rtol=1e-9)
    np.testing.assert_allclose(karras_sigmas(4, sigma_min=1.0, sigma_max=5.0, rho=1.0), [5, 4, 3, 2, 1], rtol=1e-14)


@pytest.mark.parametrize("sigma", [SIGMA_MIN, 0.02, 0.2, 1.0, 10.0, SIGMA_MAX])
def test_divergence_against_the_mixtures_exact_one(sigma):
    # Central differences err by about (delta / w)^2 / 6 relative, w the narrowest feature:
    # where r_k hands over between components k and l, w ~ min(v_k, v_l) / |m_k - m_l|. Add
    # rounding: eps_at's own error (taken as 50 ulp of its largest value) over the step
    # 2 delta, which dominates at high noise, where the features are wide.
    q = MIX.marginal(1 / (1 + sigma**2))
    v, m = q.stds**2, q.means
    w = min(min(v[k], v[l]) / abs(m[k] - m[l]) for k in range(3) for l in range(k))
    scale = math.sqrt(1 + sigma**2)
    x = np.linspace(-4, 4, 801)
    vel, div = pf_ode_divergence(MIX.eps_at, x[:, None] * scale, sigma)
    exact = exact_divergence(x, 1 / (1 + sigma**2)) / scale  # d xbar / d x = sqrt(1 + sigma^2)
    assert vel.shape == (801, 1) and div.shape == (801,)
    # v = eps* at x = xbar / sqrt(1 + sigma^2) (x * scale / scale differs from x by rounding)
    np.testing.assert_allclose(vel, MIX.eps_at(x[:, None], 1 / (1 + sigma**2)), rtol=1e-12,
                               atol=1e-14)
    np.testing.assert_array_equal(vel, pf_ode_velocity(MIX.eps_at, x[:, None] * scale, sigma))
    rounding = 50 * np.finfo(float).eps * np.abs(vel).max() / (2 * FD_STEP * scale)
    bound = (FD_STEP / w) ** 2 / 6 * np.abs(exact).max() + rounding
    assert np.abs(div - exact).max() < bound, (np.abs(div - exact).max(), bound)


def test_divergence_in_two_dimensions_is_the_trace():
    # eps linear in x with a full, non-symmetric matrix: div v = trace(A) / sqrt(1 + sigma^2).
    # Only the diagonal partials count; a sum of all partials would give 1 + 0.3 more.
    A = np.array([[0.7, 1.0], [0.3, -0.2]])
    xbar = np.random.default_rng(7).normal(size=(50, 2)) * 3
    for sigma in (0.01, 1.0, 30.0):
        v, div = pf_ode_divergence(lambda x, ab: x @ A.T * ab, xbar, sigma)
        ab = 1 / (1 + sigma**2)
        np.testing.assert_allclose(v, xbar / math.sqrt(1 + sigma**2) @ A.T * ab, rtol=1e-14)
        np.testing.assert_allclose(div, np.trace(A) * ab / math.sqrt(1 + sigma**2), rtol=1e-9)


# --- the ODE: call budget, seeds, DDIM ---------------------------------------------------------

class Counting:
    """An eps_fn that counts its calls and records what it was asked."""

    def __init__(self, eps_fn=MIX.eps_at):
        self.eps_fn, self.calls = eps_fn, []

    def __call__(self, x, alpha_bar):
        self.calls.append((x.copy(), alpha_bar))
        return self.eps_fn(x, alpha_bar)


@pytest.mark.parametrize("solver", ["euler", "heun"])
@pytest.mark.parametrize("nfe", [1, 2, 3, 4, 7, 8])
def test_eps_fn_is_called_nfe_times_on_the_whole_batch(solver, nfe):
    fn = Counting()
    x = pf_ode_sample(fn, 30, nfe=nfe, solver=solver, rng=0)
    assert x.shape == (30, 1) and len(fn.calls) == nfe
    assert all(c[0].shape == (30, 1) and isinstance(c[1], float) and 0 < c[1] < 1
               for c in fn.calls)
    assert fn.calls[0][1] == pytest.approx(1 / (1 + SIGMA_MAX**2), rel=1e-14)  # the start
    fn = Counting(lambda x, ab: x * ab)
    ll = pf_ode_log_likelihood(fn, np.zeros((30, 2)), nfe=nfe, solver=solver)
    assert ll.shape == (30,) and len(fn.calls) == nfe
    assert all(c[0].shape == (30 * 5, 2) for c in fn.calls)  # n (2 d + 1) rows
    assert fn.calls[0][1] == pytest.approx(1 / (1 + SIGMA_MIN**2), rel=1e-14)


def asked_sigmas(calls):
    return np.sqrt(1 / np.array([ab for _, ab in calls]) - 1)


@pytest.mark.parametrize("nfe", [1, 2, 5, 6])
def test_the_levels_asked_are_the_karras_grid(nfe):
    # Euler asks at every level but the last. Heun asks at both ends of each step, and with an
    # odd nfe its one Euler step is the smallest one, at the sigma_min end (last when sampling,
    # first when integrating the likelihood up).
    fn = Counting()
    pf_ode_sample(fn, 5, nfe=nfe, solver="euler", rng=0)
    np.testing.assert_allclose(asked_sigmas(fn.calls), karras_sigmas(nfe)[:-1], rtol=1e-9)
    sig = karras_sigmas((nfe + 1) // 2)
    heun = np.ravel([(sig[i], sig[i + 1]) for i in range(nfe // 2)])
    expected = np.append(heun, sig[-2]) if nfe % 2 else heun
    fn = Counting()
    pf_ode_sample(fn, 5, nfe=nfe, rng=0)
    np.testing.assert_allclose(asked_sigmas(fn.calls), expected, rtol=1e-9)
    fn = Counting()
    pf_ode_log_likelihood(fn, np.zeros((5, 1)), nfe=nfe)
    up = sig[::-1]
    heun = np.ravel([(up[i], up[i + 1]) for i in range(nfe % 2, len(up) - 1)])
    expected = np.append(up[0], heun) if nfe % 2 else heun
    np.testing.assert_allclose(asked_sigmas(fn.calls), expected, rtol=1e-9)


def test_the_start_is_standard_normal_at_the_top_level():
    # xbar(sigma_max) ~ N(0, (1 + sigma_max^2) I): eps_fn first sees x = xbar / sqrt(1 +
    # sigma_max^2), the rng's standard normal draws themselves
    fn = Counting()
    pf_ode_sample(fn, 7, nfe=3, d=2, rng=15)
    np.testing.assert_allclose(fn.calls[0][0], np.random.default_rng(15).standard_normal((7, 2)),
                               rtol=1e-14)


def test_equal_rng_gives_equal_samples():
    x = pf_ode_sample(MIX.eps_at, 100, nfe=8, d=2, rng=3)
    assert x.shape == (100, 2)
    np.testing.assert_array_equal(x, pf_ode_sample(MIX.eps_at, 100, nfe=8, d=2, rng=3))
    np.testing.assert_array_equal(
        x, pf_ode_sample(MIX.eps_at, 100, nfe=8, d=2, rng=np.random.default_rng(3)))
    assert not np.array_equal(x, pf_ode_sample(MIX.eps_at, 100, nfe=8, d=2, rng=4))


@pytest.mark.parametrize("steps", [1, 5, 20, 100])
def test_ddim_is_euler_on_the_ode(steps):
    # On the levels sigma_tau = sqrt((1 - alpha_bar_tau) / alpha_bar_tau) of DDIM's timesteps,
    # then sigma = 0, Euler's xbar' = xbar + (sigma' - sigma) v(xbar, sigma) is DDIM's step in
    # x = xbar / sqrt(1 + sigma^2), for every state of the trajectory.
    s = NoiseSchedule.cosine(100)
    walk = ddim_trajectory(lambda x, t: MIX.eps_star(x, t, s), s, 300, steps=steps, rng=8)
    x, traj = walk.samples, walk.states
    sigmas = np.append(sigma_from_alpha_bar(s.alpha_bar[timesteps(s, steps) - 1]), 0.0)
    xbar = traj[0] * np.sqrt(1 + sigmas[0] ** 2)
    for i, (sigma, sigma_next) in enumerate(zip(sigmas[:-1], sigmas[1:])):
        xbar = xbar + (sigma_next - sigma) * pf_ode_velocity(MIX.eps_at, xbar, sigma)
        np.testing.assert_allclose(xbar / np.sqrt(1 + sigma_next**2), traj[i + 1], rtol=0,
                                   atol=1e-10)
    np.testing.assert_allclose(xbar, x, rtol=0, atol=1e-10)


# --- the ODE: accuracy -------------------------------------------------------------------------

@pytest.fixture(scope="module")
def paths():
    """2000 start points and where the exact ODE takes them."""
    fn = Counting()
    pf_ode_sample(fn, 2000, nfe=1, rng=9)
    start = fn.calls[0][0][:, 0] * math.sqrt(1 + SIGMA_MAX**2)
    return start, exact_flow_down(start)


def test_samples_follow_the_exact_flow_and_heun_overtakes_euler(paths):
    # The distance of the samples to the exact ODE's samples from the same starts (W1 between
    # the two sets). Heun's error falls as nfe^-2, Euler's as nfe^-1, so from 4x more calls
    # Heun's must fall by more than 8 and Euler's by between 2 and 8.
    _, exact = paths

    def error(nfe, solver):
        return wasserstein_1(pf_ode_sample(MIX.eps_at, 2000, nfe=nfe, solver=solver, rng=9), exact)

    err = {(nfe, solver): error(nfe, solver) for nfe in (8, 16, 32, 64, 128)
           for solver in ("heun", "euler")}
    assert err[32, "heun"] / err[128, "heun"] > 8
    assert 2 < err[32, "euler"] / err[128, "euler"] < 8
    for nfe in (32, 64, 128):
        assert err[nfe, "heun"] < err[nfe, "euler"], nfe
    # the crossover (pf_ode_sample's docstring): with 8 or 16 calls, Euler's samples are closer
    for nfe in (8, 16):
        assert err[nfe, "euler"] < err[nfe, "heun"], nfe
    # at 128 calls the samples are the data's: their W1 to the exact flow is far below the W1
    # between two independent 2000-point data samples
    floor = wasserstein_1(LOW.sample(2000, rng=11), LOW.sample(2000, rng=12))
    assert err[128, "heun"] < floor / 5, (err[128, "heun"], floor)


def assert_converges_to(log_likelihood, exact):
    """The largest |error| falls with nfe, by more than 8 for 4x the calls (second order
    predicts 16, first order 4), and is below 0.005 nats at 1024 calls: the rounding of 3
    significant digits of the log-densities notebook 06 prints.

    The limit is the exact value, with no offset: Richardson's extrapolation
    (4 ll(2N) - ll(N)) / 3 removes the nfe^-2 term, so its error falls faster than nfe^-2
    (measured: 10x per doubling). An offset c (a wrong constant, a biased divergence) would
    stop it at c, and the 512/1024 estimate would then not be 4x better than the 256/512 one.
    """
    ll = {nfe: log_likelihood(nfe) for nfe in (8, 32, 128, 256, 512, 1024)}
    err = {nfe: np.abs(v - exact).max() for nfe, v in ll.items()}
    assert err[8] > err[32] > err[128] > err[512] > err[1024], err
    assert err[32] / err[128] > 8 and err[128] / err[512] > 8, err
    assert err[1024] < 0.005, err
    extrapolated = [np.abs((4 * ll[2 * nfe] - ll[nfe]) / 3 - exact).max() for nfe in (256, 512)]
    assert extrapolated[1] < extrapolated[0] / 4, extrapolated


def test_log_likelihood_converges_to_the_models_exact_density():
    x = np.linspace(-3, 3.5, 27)
    assert_converges_to(lambda nfe: pf_ode_log_likelihood(MIX.eps_at, x[:, None], nfe=nfe),
                        exact_model_log_likelihood(x))


def test_log_likelihood_in_two_dimensions():
    # Data N(m, diag(s^2)), two different widths so that each dimension's divergence counts.
    # The flow is closed form, and the model's exact log-likelihood is log N(x; m, s^2 +
    # sigma_min^2) + log N(y; 0, 1 + sigma_max^2) - log N(y; m, s^2 + sigma_max^2).
    m, s = np.array([0.5, -1.0]), np.array([0.5, 1.5])

    def eps_fn(x, ab):
        # E[eps | x_t = x] = sqrt(1 - ab) (x - sqrt(ab) m) / (ab s^2 + 1 - ab)
        return np.sqrt(1 - ab) * (x - np.sqrt(ab) * m) / (ab * s**2 + 1 - ab)

    x0 = m + s * np.random.default_rng(13).normal(size=(50, 2))
    y = m + (x0 - m) * np.sqrt((s**2 + SIGMA_MAX**2) / (s**2 + SIGMA_MIN**2))
    exact = (stats.norm.logpdf(x0, m, np.sqrt(s**2 + SIGMA_MIN**2)).sum(1)
             + stats.norm.logpdf(y, 0, math.sqrt(1 + SIGMA_MAX**2)).sum(1)
             - stats.norm.logpdf(y, m, np.sqrt(s**2 + SIGMA_MAX**2)).sum(1))
    assert_converges_to(lambda nfe: pf_ode_log_likelihood(eps_fn, x0, nfe=nfe), exact)
    # each dimension counts: the sum of two 1-D runs on the columns is the same number
    cols = [pf_ode_log_likelihood(lambda x, ab, j=j: eps_fn(np.insert(x, 1 - j, 0.0, axis=1),
                                                            ab)[:, [j]], x0[:, [j]], nfe=64)
            for j in (0, 1)]
    np.testing.assert_allclose(pf_ode_log_likelihood(eps_fn, x0, nfe=64), cols[0] + cols[1],
                               rtol=1e-9)


def test_heun_beats_euler_in_the_log_likelihood():
    # Mean |error| over held-out data points, same points for both solvers.
    x0 = MIX.sample(300, rng=14)
    exact = exact_model_log_likelihood(x0[:, 0])
    for nfe in (16, 32, 64):
        err = {solver: np.abs(pf_ode_log_likelihood(MIX.eps_at, x0, nfe=nfe, solver=solver)
                              - exact).mean() for solver in ("heun", "euler")}
        assert err["heun"] < err["euler"], (nfe, err)


# --- bad input ---------------------------------------------------------------------------------

X2 = np.zeros((3, 1))


@pytest.mark.parametrize("call, match", [
    (lambda: MIX.score(X2, 0.0), "alpha_bar"),
    (lambda: MIX.score(X2, -0.1), "alpha_bar"),
    (lambda: MIX.score(X2, 1.5), "alpha_bar"),
    (lambda: MIX.score(X2, np.nan), "alpha_bar"),
    (lambda: MIX.eps_at(X2, np.inf), "alpha_bar"),
    (lambda: MIX.eps_at(X2, "half"), "alpha_bar"),
    (lambda: MIX.eps_at(X2, np.full((2, 1), 0.5)), "alpha_bar"),
    (lambda: MIX.eps_at([[np.nan]], 0.5), "x"),
    (lambda: score_from_eps(X2, 1.0), "alpha_bar"),
    (lambda: score_from_eps(X2, 0.0), "alpha_bar"),
    (lambda: score_from_eps(X2, np.full((2, 1), 0.5)), "alpha_bar"),
    (lambda: score_from_eps([[np.inf]], 0.5), "eps"),
    (lambda: langevin_sample("score", X2, step_size=0.1, steps=3), "score_fn"),
    (lambda: langevin_sample(np.negative, X2, step_size=0.0, steps=3), "step_size"),
    (lambda: langevin_sample(np.negative, X2, step_size=-0.1, steps=3), "step_size"),
    (lambda: langevin_sample(np.negative, X2, step_size=np.nan, steps=3), "step_size"),
    (lambda: langevin_sample(np.negative, X2, step_size=0.1, steps=0), "steps"),
    (lambda: langevin_sample(np.negative, X2, step_size=0.1, steps=2.5), "steps"),
    (lambda: langevin_sample(np.negative, [[np.nan]], step_size=0.1, steps=3), "x_init"),
    (lambda: langevin_sample(np.negative, X2, step_size=0.1, steps=3, rng="seed"), "rng"),
    (lambda: langevin_sample(lambda x: x[:, 0], X2, step_size=0.1, steps=3), "score_fn"),
    (lambda: langevin_sample(lambda x: x * np.nan, X2, step_size=0.1, steps=3), "score_fn"),
    # h = 5 s^2 > 4 s^2: the chain grows as 1.5^k and overflows
    (lambda: langevin_sample(np.negative, np.ones(3), step_size=5.0, steps=3000, rng=0),
     "step_size"),
    (lambda: karras_sigmas(0), "steps"),
    (lambda: karras_sigmas(4, rho=0.0), "rho"),
    (lambda: pf_ode_sample(MIX.eps_at, 10, nfe=0), "nfe"),
    (lambda: pf_ode_sample(MIX.eps_at, 10, nfe=2.5), "nfe"),
    (lambda: pf_ode_sample(MIX.eps_at, 10, nfe=4, solver="rk4"), "solver"),
    (lambda: pf_ode_sample(MIX.eps_at, 10, nfe=4, sigma_min=80.0), "sigma_min"),
    (lambda: pf_ode_sample(MIX.eps_at, 10, nfe=4, sigma_min=90.0), "sigma_min"),
    (lambda: pf_ode_sample(MIX.eps_at, 10, nfe=4, sigma_min=0.0), "sigma_min"),
    (lambda: pf_ode_sample(MIX.eps_at, 10, nfe=4, sigma_min=np.nan), "sigma_min"),
    (lambda: pf_ode_sample(MIX.eps_at, 10, nfe=4, sigma_max=np.inf), "sigma_max"),
    (lambda: pf_ode_sample(MIX.eps_at, 10, nfe=4, sigma_max=-1.0), "sigma_max"),
    (lambda: pf_ode_sample(MIX.eps_at, 0, nfe=4), "n"),
    (lambda: pf_ode_sample(MIX.eps_at, 10, nfe=4, d=0), "d"),
    (lambda: pf_ode_sample(MIX.eps_at, 10, nfe=4, rng=-1), "rng"),
    (lambda: pf_ode_sample("eps", 10, nfe=4), "eps_fn"),
    (lambda: pf_ode_sample(lambda x, ab: x[:, 0], 10, nfe=4), "eps_fn"),
    (lambda: pf_ode_sample(lambda x, ab: np.full_like(x, np.inf), 10, nfe=4), "eps_fn"),
    (lambda: pf_ode_log_likelihood(MIX.eps_at, X2, nfe=0), "nfe"),
    (lambda: pf_ode_log_likelihood(MIX.eps_at, X2, nfe=4, solver="Heun"), "solver"),
    (lambda: pf_ode_log_likelihood(MIX.eps_at, X2, nfe=4, sigma_min=1.0, sigma_max=1.0),
     "sigma_min"),
    (lambda: pf_ode_log_likelihood(MIX.eps_at, np.zeros(3), nfe=4), "x0"),
    (lambda: pf_ode_log_likelihood(MIX.eps_at, [[np.nan]], nfe=4), "x0"),
    (lambda: pf_ode_log_likelihood(lambda x, ab: x[:1], X2, nfe=4), "eps_fn"),
    (lambda: pf_ode_log_likelihood(lambda x, ab: np.full_like(x, np.nan), X2, nfe=4), "eps_fn"),
    (lambda: pf_ode_velocity(MIX.eps_at, X2, 0.0), "sigma"),
    (lambda: pf_ode_divergence(MIX.eps_at, np.zeros(3), 1.0), "xbar"),
])
def test_bad_input_raises_a_named_value_error(call, match):
    # the message starts with the argument's name
    with pytest.raises(ValueError, match=rf"^{re.escape(match)}\b"):
        call()


def test_langevin_runs_continue_chains_to_the_numbers_of_a_fresh_run():
    runs, start = LangevinRuns(max_saved=3), np.linspace(-2, 2, 50)
    score = lambda z: MIX.score(z, 1.0)  # noqa: E731
    for steps in (30, 10, 50, 50, 20):  # forwards, back, forwards, again: continued or reused
        np.testing.assert_array_equal(
            runs.sample(score, start, step_size=0.01, steps=steps, rng=7),
            langevin_sample(score, start, step_size=0.01, steps=steps, rng=7))
    other = runs.sample(score, start + 1.0, step_size=0.01, steps=20, rng=7)  # another start
    np.testing.assert_array_equal(other, langevin_sample(score, start + 1.0, step_size=0.01,
                                                         steps=20, rng=7))


def test_old_positional_sampler_calls_still_work_with_a_warning():
    with pytest.warns(DeprecationWarning, match="takes step_size, steps as keywords"):
        old = langevin_sample(np.negative, np.zeros(4), 0.1, 3, rng=1)
    np.testing.assert_array_equal(old, langevin_sample(np.negative, np.zeros(4), step_size=0.1,
                                                       steps=3, rng=1))
    with pytest.warns(DeprecationWarning, match="takes nfe, d as keywords"):
        old = pf_ode_sample(MIX.eps_at, 5, 4, 2, rng=1)
    np.testing.assert_array_equal(old, pf_ode_sample(MIX.eps_at, 5, nfe=4, d=2, rng=1))
    with pytest.warns(DeprecationWarning, match="takes nfe as keywords"):
        old = pf_ode_log_likelihood(MIX.eps_at, X2, 4)
    np.testing.assert_array_equal(old, pf_ode_log_likelihood(MIX.eps_at, X2, nfe=4))


@pytest.mark.parametrize("sigma", [0.0, 0.002, 0.5, 3.0])
def test_the_density_of_xbar_is_the_mixture_with_each_variance_grown_by_sigma2(sigma):
    # xbar = x_0 + sigma eps: sum_k pi_k N(mu_k, s_k^2 + sigma^2), an independent closed form
    xbar = np.linspace(-4, 5, 37)
    grown = GaussianMixture1D(MIX.weights, MIX.means, np.sqrt(MIX.stds**2 + sigma**2))
    np.testing.assert_allclose(MIX.log_prob_xbar(xbar, sigma), grown.log_prob(xbar), rtol=1e-12,
                               atol=1e-12)
    with pytest.raises(ValueError, match="^sigma "):
        MIX.log_prob_xbar(xbar, -1.0)


def test_call_levels_figure_has_one_row_per_sampler_on_a_log_axis():
    from helpers.plots.score import plot_call_levels

    calls = {"a": [80.0, 2.5, 2.5, 0.0], "b": [80.0, 1.0, 0.1]}
    fig = plot_call_levels(calls, band=(0.1, 1.7), band_label="band")
    ax = fig.axes[0]
    assert ax.get_xscale() == "log" and ax.get_xlabel()
    rows = {t.get_text(): y for t, y in zip(ax.get_yticklabels(), ax.get_yticks())}
    assert rows["a"] > rows["b"]                                        # first row on top
    assert sorted(t.get_text() for t in ax.texts) == ["3 calls", "4 calls"]
    # sigma = 0 is drawn at the axis' left edge, not dropped
    assert np.isfinite(ax.lines[0].get_xdata()).all() and len(ax.lines[0].get_xdata()) == 4
    for bad in ({}, {"a": []}, {"a": [1.0, -1.0]}, {"a": [np.nan]}):
        with pytest.raises(ValueError, match="calls"):
            plot_call_levels(bad)
