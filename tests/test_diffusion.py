"""helpers.diffusion: the forward chain, the mixture data, the chained ELBO and the samplers.

Monte-Carlo tolerances are Z = 5 standard errors (SE) of the statistic compared: a two-sided
normal tail of 6e-7 per check, so a correct implementation passes for any seed while a wrong
coefficient (a missing sqrt, alpha_bar_{t-1} for alpha_bar_t, a sign) moves the statistic by many
SEs at the sample sizes used. The SE of each statistic is stated where it is computed:
mean: sd / sqrt(N); variance: sqrt((m4 - var^2) / N); a proportion p: sqrt(p (1 - p) / N).
"""

import math
import re

import numpy as np
import pytest
from scipy import integrate, stats

from helpers.diffusion import (DiffusionElbo, GaussianMixture1D, NoiseSchedule, Trajectory,
                               ddim_sample, ddim_trajectory, ddpm_sample, ddpm_trajectory,
                               diffusion_elbo, reverse_mean, timesteps)

Z = 5.0
# The mixture of the issue (notebook 05): pi = (.4, .3, .3), mu = (-1.5, .5, 2), s = (.25, .25, .5)
MIX = GaussianMixture1D([0.4, 0.3, 0.3], [-1.5, 0.5, 2.0], [0.25, 0.25, 0.5])


def star(schedule, mix=MIX):
    """The exact noise predictor as an eps_model."""
    return lambda x_t, t: mix.eps_star(x_t, t, schedule)


def zeros(x_t, t):
    return np.zeros_like(x_t)


def mixture_moments(mix):
    """Mean and variance of a 1-D mixture from its parameters."""
    mean = np.sum(mix.weights * mix.means)
    return mean, np.sum(mix.weights * (mix.stds**2 + mix.means**2)) - mean**2


def assert_mean_var(x, mean, var):
    """Sample mean and variance of x (1-D) within Z standard errors of ``mean`` and ``var``."""
    n = x.size
    se_mean = x.std() / math.sqrt(n)
    se_var = math.sqrt((np.mean((x - x.mean()) ** 4) - x.var() ** 2) / n)
    assert abs(x.mean() - mean) < Z * se_mean, (x.mean(), mean, se_mean)
    assert abs(x.var() - var) < Z * se_var, (x.var(), var, se_var)


# --- schedules ---------------------------------------------------------------------------------

def test_linear_schedule():
    s = NoiseSchedule.linear(50)
    assert s.T == 50 and s.betas.shape == s.alphas.shape == s.alpha_bar.shape == (50,)
    assert s.betas[0] == pytest.approx(1e-4) and s.betas[-1] == pytest.approx(0.02)
    np.testing.assert_allclose(np.diff(s.betas), (0.02 - 1e-4) / 49, rtol=1e-9)
    np.testing.assert_allclose(s.alphas, 1 - s.betas, rtol=0, atol=0)
    # alpha_bar_t as a plain running product
    prod, expected = 1.0, []
    for b in s.betas:
        prod *= 1.0 - float(b)
        expected.append(prod)
    np.testing.assert_allclose(s.alpha_bar, expected, rtol=1e-13)
    assert ((s.betas > 0) & (s.betas < 1)).all()


@pytest.mark.parametrize("T", [1, 10, 100, 1000])
def test_cosine_schedule_reproduces_its_formula(T):
    s = NoiseSchedule.cosine(T)
    f = [math.cos((t / T + 0.008) / 1.008 * math.pi / 2) ** 2 for t in range(T + 1)]
    # alpha_bar_t = f(t) / f(0) for t < T; the last step has its beta clipped at 0.999
    np.testing.assert_allclose(s.alpha_bar[:-1], np.array(f[1:T]) / f[0], rtol=1e-10)
    assert s.betas[-1] == 0.999
    assert s.alpha_bar[-1] == pytest.approx(0.001 * (f[T - 1] / f[0]), rel=1e-10)
    assert ((s.betas > 0) & (s.betas < 1)).all()
    assert (np.diff(s.alpha_bar) < 0).all()


def test_beta_tilde_is_the_posterior_variance_formula():
    s = NoiseSchedule.cosine(20)
    t = np.arange(2, 21)
    ab, ab_prev = s.alpha_bar[t - 1], s.alpha_bar[t - 2]
    np.testing.assert_allclose(s.beta_tilde[1:], (1 - ab_prev) / (1 - ab) * s.betas[t - 1],
                               rtol=1e-12)
    assert s.beta_tilde[0] == 0.0


# --- q_sample ----------------------------------------------------------------------------------

def test_q_sample_matches_the_iterated_chain():
    # N = 100_000 walkers from x_0 = 2 run x_t = sqrt(alpha_t) x_{t-1} + sqrt(beta_t) eps step by
    # step; at every t their moments, and those of the closed form, must match
    # sqrt(alpha_bar_t) x_0 and 1 - alpha_bar_t (SE of mean ~ 0.003, of variance ~ 0.004).
    s = NoiseSchedule.cosine(20)
    rng = np.random.default_rng(0)
    x0 = np.full((100_000, 1), 2.0)
    x = x0.copy()
    for t in range(1, s.T + 1):
        x = np.sqrt(s.alphas[t - 1]) * x + np.sqrt(s.betas[t - 1]) * rng.standard_normal(x.shape)
        mean, var = np.sqrt(s.alpha_bar[t - 1]) * 2.0, 1.0 - s.alpha_bar[t - 1]
        assert_mean_var(x[:, 0], mean, var)
        x_t, eps = s.q_sample(x0, t, rng=t)
        assert_mean_var(x_t[:, 0], mean, var)
        np.testing.assert_allclose(x_t, np.sqrt(s.alpha_bar[t - 1]) * 2.0
                                   + np.sqrt(1 - s.alpha_bar[t - 1]) * eps, rtol=1e-13)


def test_q_sample_per_row_steps():
    s = NoiseSchedule.linear(30)
    x0 = np.random.default_rng(1).normal(size=(6, 2))
    t = np.array([1, 5, 30, 12, 12, 2])
    x_t, eps = s.q_sample(x0, t, rng=2)
    assert x_t.shape == eps.shape == (6, 2)
    ab = s.alpha_bar[t - 1][:, None]
    np.testing.assert_allclose(x_t, np.sqrt(ab) * x0 + np.sqrt(1 - ab) * eps, rtol=1e-13)
    # an array of equal steps is the same as the int
    same, _ = s.q_sample(x0, np.full(6, 12), rng=3)
    np.testing.assert_array_equal(same, s.q_sample(x0, 12, rng=3)[0])
    np.testing.assert_array_equal(same, s.q_sample(x0, 12.0, rng=3)[0])


# --- q_posterior ---------------------------------------------------------------------------------

@pytest.mark.parametrize("t", [2, 5, 10])
def test_q_posterior_is_bayes_rule_on_a_grid(t):
    # q(x_{t-1} | x_t, x_0) ∝ q(x_{t-1} | x_0) q(x_t | x_{t-1}), normalised by quadrature
    s = NoiseSchedule.cosine(10)
    x0, x_t = 0.7, -0.4
    grid = np.linspace(-12, 12, 400_001)
    ab_prev = s.alpha_bar[t - 2]
    dens = (stats.norm.pdf(grid, math.sqrt(ab_prev) * x0, math.sqrt(1 - ab_prev))
            * stats.norm.pdf(x_t, math.sqrt(s.alphas[t - 1]) * grid, math.sqrt(s.betas[t - 1])))
    dens /= integrate.trapezoid(dens, grid)
    mean_ref = integrate.trapezoid(grid * dens, grid)
    var_ref = integrate.trapezoid((grid - mean_ref) ** 2 * dens, grid)
    mean, var = s.q_posterior([[x0]], [[x_t]], t)
    assert mean[0, 0] == pytest.approx(mean_ref, abs=1e-9)
    assert var == pytest.approx(var_ref, rel=1e-7)


def test_q_posterior_rows_and_t_equal_one():
    s = NoiseSchedule.linear(40)
    rng = np.random.default_rng(4)
    x0, x_t = rng.normal(size=(4, 3)), rng.normal(size=(4, 3))
    mean, var = s.q_posterior(x0, x_t, 1)
    np.testing.assert_array_equal(mean, x0)
    assert var == 0.0
    t = np.array([1, 2, 20, 40])
    mean, var = s.q_posterior(x0, x_t, t)
    assert mean.shape == (4, 3) and var.shape == (4, 1)
    for i, ti in enumerate(t):
        m_i, v_i = s.q_posterior(x0[i:i + 1], x_t[i:i + 1], int(ti))
        np.testing.assert_allclose(mean[i], m_i[0], rtol=1e-14)
        assert var[i, 0] == v_i


# --- prior_kl ----------------------------------------------------------------------------------

def test_prior_kl_against_numerical_integration():
    s = NoiseSchedule.linear(50)
    ab = s.alpha_bar[-1]
    for x0 in (-2.0, 0.0, 1.3):
        q = stats.norm(math.sqrt(ab) * x0, math.sqrt(1 - ab))
        ref, _ = integrate.quad(lambda x: q.pdf(x) * (q.logpdf(x) - stats.norm.logpdf(x)),
                                -12, 12, epsabs=1e-12)
        assert s.prior_kl([[x0]])[0] == pytest.approx(ref, abs=1e-9)
    # summed over d
    assert s.prior_kl([[-2.0, 1.3]])[0] == pytest.approx(
        s.prior_kl([[-2.0]])[0] + s.prior_kl([[1.3]])[0], rel=1e-14)


def test_prior_kl_on_the_mixture_is_the_quoted_085_nats():
    # E[L_T] = 0.5 (alpha_bar_T E[x_0^2] + (1 - alpha_bar_T) - 1 - log(1 - alpha_bar_T)) is exact;
    # the issue quotes about 0.85 nats for the linear schedule with T = 50.
    s = NoiseSchedule.linear(50)
    ab = s.alpha_bar[-1]
    second = np.sum(MIX.weights * (MIX.stds**2 + MIX.means**2))
    exact = 0.5 * (ab * second - ab - math.log(1 - ab))
    assert exact == pytest.approx(0.85, abs=0.01)
    kl = s.prior_kl(MIX.sample(50_000, rng=5))
    assert abs(kl.mean() - exact) < Z * kl.std() / math.sqrt(kl.size)


# --- GaussianMixture1D -------------------------------------------------------------------------

def test_mixture_log_prob_matches_scipy():
    x = np.random.default_rng(6).normal(scale=3, size=(3, 4, 5))
    ref = np.log(sum(w * stats.norm.pdf(x, m, sd)
                     for w, m, sd in zip(MIX.weights, MIX.means, MIX.stds)))
    out = MIX.log_prob(x)
    assert out.shape == x.shape
    np.testing.assert_allclose(out, ref, rtol=1e-12)
    assert MIX.log_prob(0.5) == pytest.approx(float(np.log(sum(
        w * stats.norm.pdf(0.5, m, sd) for w, m, sd in zip(MIX.weights, MIX.means, MIX.stds)))))


def test_mixture_sample_moments():
    x = MIX.sample(200_000, rng=7)
    assert x.shape == (200_000, 1)
    assert_mean_var(x[:, 0], *mixture_moments(MIX))
    np.testing.assert_array_equal(x, MIX.sample(200_000, rng=7))


@pytest.mark.parametrize("t", [1, 4, 10])
def test_marginal_is_the_law_of_x_t(t):
    s = NoiseSchedule.cosine(10)
    x_t, _ = s.q_sample(MIX.sample(200_000, rng=8), t, rng=9)
    q_t = MIX.marginal(s.alpha_bar[t - 1])
    assert_mean_var(x_t[:, 0], *mixture_moments(q_t))
    # the CDF at a few points: a proportion p with SE sqrt(p (1 - p) / N)
    for c in (-2.0, -0.5, 0.5, 2.0):
        p = np.sum(q_t.weights * stats.norm.cdf(c, q_t.means, q_t.stds))
        assert abs(np.mean(x_t <= c) - p) < Z * math.sqrt(p * (1 - p) / x_t.size)
    assert MIX.marginal(1.0).log_prob(0.3) == pytest.approx(MIX.log_prob(0.3), rel=1e-14)


@pytest.mark.parametrize("t", [1, 3, 10])
def test_eps_star_is_tweedie_by_finite_differences(t):
    s = NoiseSchedule.cosine(10)
    ab = s.alpha_bar[t - 1]
    q_t = MIX.marginal(ab)
    x = np.linspace(-4, 4, 41)[:, None]
    h = 1e-5
    score = (q_t.log_prob(x + h) - q_t.log_prob(x - h)) / (2 * h)
    np.testing.assert_allclose(MIX.eps_star(x, t, s), -math.sqrt(1 - ab) * score,
                               rtol=1e-6, atol=1e-8)


def test_eps_star_is_the_regression_of_eps_on_x_t():
    # E[eps | x_t in bin] = E[eps*(x_t) | x_t in bin] exactly (tower rule), so per bin the mean of
    # eps - eps*(x_t) is 0 with SE sd / sqrt(count); binning adds no bias.
    s = NoiseSchedule.cosine(10)
    t = 4
    x_t, eps = s.q_sample(MIX.sample(200_000, rng=10), t, rng=11)
    bins = np.digitize(x_t[:, 0], np.quantile(x_t[:, 0], np.linspace(0, 1, 21)[1:-1]))

    def worst_z(eps_hat):
        resid = (eps - eps_hat)[:, 0]
        return max(abs(resid[bins == b].mean()) / (resid[bins == b].std() / math.sqrt(
            np.sum(bins == b))) for b in range(20))

    assert worst_z(MIX.eps_star(x_t, t, s)) < Z
    assert worst_z(0.9 * MIX.eps_star(x_t, t, s)) > Z  # a slightly wrong predictor fails


def test_eps_star_shapes_and_per_row_steps():
    s = NoiseSchedule.cosine(10)
    x = np.linspace(-2, 2, 5)
    col = MIX.eps_star(x[:, None], 3, s)
    assert col.shape == (5, 1)
    np.testing.assert_allclose(MIX.eps_star(x, 3, s), col[:, 0], rtol=1e-14)
    assert MIX.eps_star(0.4, 3, s) == pytest.approx(MIX.eps_star([[0.4]], 3, s)[0, 0], rel=1e-14)
    t = np.array([1, 3, 10, 3, 7])
    rows = MIX.eps_star(x[:, None], t, s)
    assert rows.shape == (5, 1)
    for i, ti in enumerate(t):
        assert rows[i, 0] == pytest.approx(MIX.eps_star([[x[i]]], int(ti), s)[0, 0], rel=1e-14)


# --- diffusion_elbo ----------------------------------------------------------------------------

def test_elbo_terms_add_up_and_have_their_shapes():
    s = NoiseSchedule.cosine(15)
    r = diffusion_elbo(MIX.sample(300, rng=12), star(s), s, rng=13)
    assert isinstance(r, DiffusionElbo)
    for name in ("elbo", "reconstruction", "denoising", "prior"):
        assert getattr(r, name).shape == (300,)
    assert r.per_step.shape == (15, 300)
    np.testing.assert_array_equal(r.elbo, r.reconstruction - r.denoising - r.prior)
    np.testing.assert_array_equal(r.per_step[0], -r.reconstruction)
    np.testing.assert_allclose(r.per_step[1:].sum(0), r.denoising, rtol=1e-12)
    np.testing.assert_allclose(r.per_step.sum(0) + r.prior, -r.elbo, rtol=1e-12, atol=1e-12)
    assert (r.per_step[1:] >= 0).all()
    with pytest.raises(AttributeError):
        r.elbo = None  # frozen
    # the same rng gives the same estimate
    again = diffusion_elbo(MIX.sample(300, rng=12), star(s), s, rng=13)
    np.testing.assert_array_equal(r.elbo, again.elbo)
    assert not np.array_equal(diffusion_elbo(MIX.sample(300, rng=12), star(s), s, rng=14).elbo,
                              r.elbo)


def test_elbo_terms_by_the_noise_form():
    # An independent route to each term: record every (x_t, t, eps_hat) the model sees, recover the
    # true eps = (x_t - sqrt(ab) x_0) / sqrt(1 - ab), and use DDPM's weighting
    # L_{t-1} = beta_t^2 / (2 beta_tilde_t alpha_t (1 - ab_t)) ||eps - eps_hat||^2 and
    # L_0 = -log N(x_0; mu(x_1, 1), beta_1) by scipy.
    s = NoiseSchedule.linear(12, beta_1=0.01, beta_T=0.2)
    x0 = np.random.default_rng(14).normal(size=(50, 2))
    seen = []

    def model(x_t, t):
        eps_hat = 0.3 * np.tanh(x_t) - 0.1 * t / s.T
        seen.append((t, x_t.copy(), eps_hat))
        return eps_hat

    r = diffusion_elbo(x0, model, s, rng=15)
    assert [t for t, _, _ in seen] == list(range(1, 13))
    noises = []
    for t, x_t, eps_hat in seen:
        ab, beta, alpha = s.alpha_bar[t - 1], s.betas[t - 1], s.alphas[t - 1]
        eps = (x_t - math.sqrt(ab) * x0) / math.sqrt(1 - ab)
        noises.append(eps.ravel())
        if t == 1:
            mu = (x_t - beta / math.sqrt(1 - ab) * eps_hat) / math.sqrt(alpha)
            ref = -stats.norm.logpdf(x0, mu, math.sqrt(beta)).sum(1)
        else:
            w = beta**2 / (2 * s.beta_tilde[t - 1] * alpha * (1 - ab))
            ref = w * np.sum((eps - eps_hat) ** 2, axis=1)
        np.testing.assert_allclose(r.per_step[t - 1], ref, rtol=1e-8, atol=1e-10)
    np.testing.assert_allclose(r.prior, s.prior_kl(x0), rtol=0)
    # one independent draw per step: correlations across t are 0 with SE 1 / sqrt(100)
    corr = np.corrcoef(noises)
    assert np.abs(corr[~np.eye(12, dtype=bool)]).max() < Z / math.sqrt(100)


@pytest.fixture(scope="module")
def held_out_gaps():
    """log p(x_0) - ELBO with eps* on 5000 held-out mixture points, cosine T = 10, 50, 100."""
    x0 = MIX.sample(5000, rng=21)
    gaps = {}
    for T in (10, 50, 100):
        s = NoiseSchedule.cosine(T)
        gaps[T] = MIX.log_prob(x0[:, 0]) - diffusion_elbo(x0, star(s), s, rng=22).elbo
    return gaps


def test_elbo_with_eps_star_is_below_log_p_by_the_measured_gaps(held_out_gaps):
    # The gaps, measured once with 1e5 held-out points (MIX.sample(100_000, rng=21), ELBO rng=22):
    # 0.954 +- 0.007, 0.833 +- 0.006 and 0.736 +- 0.006 nats. The per-row gap is heavy-tailed
    # (sd ~ 2), so at n = 5000 its SE is ~ 0.03: the test allows Z times the SE of the
    # difference between the two estimates.
    for T, reference, reference_se in ((10, 0.954, 0.007), (50, 0.833, 0.006),
                                       (100, 0.736, 0.006)):
        gap = held_out_gaps[T]
        se = gap.std() / math.sqrt(gap.size)
        assert gap.mean() - Z * se > 0, T  # ELBO <= log p(x_0) (eq. 2.4)
        assert abs(gap.mean() - reference) < Z * math.hypot(se, reference_se), (T, gap.mean(), se)


def test_the_gap_shrinks_with_more_steps(held_out_gaps):
    # Same x_0 for each T, so compare the paired difference: SE = sd(diff) / sqrt(n).
    for short, long in ((10, 50), (10, 100)):
        diff = held_out_gaps[short] - held_out_gaps[long]
        assert diff.mean() > Z * diff.std() / math.sqrt(diff.size), (short, long)


def test_a_worse_model_has_a_lower_elbo():
    s = NoiseSchedule.cosine(50)
    x0 = MIX.sample(2000, rng=23)
    good = diffusion_elbo(x0, star(s), s, rng=24).elbo
    bad = diffusion_elbo(x0, zeros, s, rng=24).elbo
    half = diffusion_elbo(x0, lambda x, t: 0.5 * MIX.eps_star(x, t, s), s, rng=24).elbo
    for worse in (bad, half):
        diff = good - worse
        assert diff.mean() > Z * diff.std() / math.sqrt(diff.size)


# --- samplers ----------------------------------------------------------------------------------

@pytest.fixture(scope="module")
def noise_floor():
    """1-D Wasserstein distance between two independent 4000-point data samples: mean and sd
    over 20 pairs. A sampler matching the data sits inside this floor."""
    w = [stats.wasserstein_distance(MIX.sample(4000, rng=100 + 2 * i)[:, 0],
                                    MIX.sample(4000, rng=101 + 2 * i)[:, 0]) for i in range(20)]
    return np.mean(w), np.std(w, ddof=1)


def test_ddpm_with_eps_star_reproduces_the_mixture(noise_floor):
    s = NoiseSchedule.cosine(100)
    x = ddpm_sample(star(s), s, 4000, rng=26)
    assert x.shape == (4000, 1)
    w = stats.wasserstein_distance(x[:, 0], MIX.sample(4000, rng=27)[:, 0])
    floor_mean, floor_sd = noise_floor
    assert w < floor_mean + Z * floor_sd, (w, noise_floor)
    # ten steps are too few (W ~ 0.16): the same check catches a poor sampler
    s10 = NoiseSchedule.cosine(10)
    w10 = stats.wasserstein_distance(ddpm_sample(star(s10), s10, 4000, rng=26)[:, 0],
                                     MIX.sample(4000, rng=27)[:, 0])
    assert w10 > floor_mean + Z * floor_sd


def test_ddim_with_eps_star_reproduces_the_mixture(noise_floor):
    s = NoiseSchedule.cosine(100)
    x = ddim_sample(star(s), s, 4000, steps=50, rng=28)
    w = stats.wasserstein_distance(x[:, 0], MIX.sample(4000, rng=29)[:, 0])
    assert w < noise_floor[0] + Z * noise_floor[1], (w, noise_floor)


def test_ddpm_shapes_trajectory_and_seed():
    s = NoiseSchedule.cosine(8)
    model = lambda x, t: 0.1 * x  # noqa: E731
    walk = ddpm_trajectory(model, s, 7, d=3, rng=30)
    assert isinstance(walk, Trajectory)
    x, traj = walk.samples, walk.states
    assert x.shape == (7, 3) and traj.shape == (9, 7, 3)
    np.testing.assert_array_equal(traj[-1], x)
    np.testing.assert_array_equal(traj[0], np.random.default_rng(30).standard_normal((7, 3)))
    np.testing.assert_array_equal(ddpm_sample(model, s, 7, d=3, rng=30), x)
    assert not np.array_equal(ddpm_sample(model, s, 7, d=3, rng=31), x)
    # the last step is the mean mu(x_1, 1), with no noise
    mu = (traj[-2] - s.betas[0] / math.sqrt(1 - s.alpha_bar[0]) * model(traj[-2], 1)) \
        / math.sqrt(s.alphas[0])
    np.testing.assert_allclose(x, mu, rtol=1e-14)


def test_reverse_mean_with_the_true_noise_is_the_posterior_mean():
    s = NoiseSchedule.cosine(30)
    x0 = MIX.sample(50, rng=40)
    for t in (2, 15, 30):
        x_t, eps = s.q_sample(x0, t, rng=t)
        np.testing.assert_allclose(reverse_mean(s, x_t, t, eps), s.q_posterior(x0, x_t, t)[0],
                                   rtol=1e-10, atol=1e-12)


def test_ddpm_on_fewer_steps(noise_floor):
    s = NoiseSchedule.cosine(100)
    # all T steps named explicitly is the default walk, draw for draw (betas rebuilt from
    # alpha_bar ratios agree to rounding)
    np.testing.assert_allclose(ddpm_sample(star(s), s, 300, rng=41, steps=100),
                               ddpm_sample(star(s), s, 300, rng=41), rtol=1e-9, atol=1e-9)
    calls = []

    def model(x, t):
        calls.append(t)
        return MIX.eps_star(x, t, s)

    walk = ddpm_trajectory(model, s, 500, rng=42, steps=25)
    x, traj = walk.samples, walk.states
    assert calls == list(timesteps(s, 25)) and traj.shape == (26, 500, 1)
    # The walk through 25 timesteps is a 25-step diffusion whose alpha_bar are the full chain's at
    # those timesteps. Built here by hand, with eps* of that short chain (eps* depends on t only
    # through alpha_bar_t), it gives the same samples draw for draw.
    ab = s.alpha_bar[timesteps(s, 25)[::-1] - 1]
    short = NoiseSchedule(1 - ab / np.append(1.0, ab[:-1]))
    np.testing.assert_allclose(x, ddpm_sample(star(short), short, 500, rng=42), rtol=1e-9,
                               atol=1e-9)
    # and fewer ancestral steps cost accuracy: 10 of them land measurably off the data
    w10 = stats.wasserstein_distance(ddpm_sample(star(s), s, 4000, rng=43, steps=10)[:, 0],
                                     MIX.sample(4000, rng=44)[:, 0])
    assert w10 > noise_floor[0] + Z * noise_floor[1], (w10, noise_floor)
    with pytest.raises(ValueError, match="steps"):
        ddpm_sample(model, s, 10, steps=101)


def test_ddim_is_deterministic_given_x_T():
    s = NoiseSchedule.cosine(100)
    calls = []

    def model(x, t):
        calls.append(t)
        return MIX.eps_star(x, t, s)

    walk = ddim_trajectory(model, s, 500, steps=5, rng=32)
    x, traj = walk.samples, walk.states
    assert calls == [100, 75, 50, 26, 1]  # np.linspace(1, 100, 5) rounded, from T down
    assert x.shape == (500, 1) and traj.shape == (6, 500, 1)
    np.testing.assert_array_equal(traj[-1], x)
    np.testing.assert_array_equal(traj[0], np.random.default_rng(32).standard_normal((500, 1)))
    np.testing.assert_array_equal(ddim_sample(model, s, 500, steps=5, rng=32), x)
    assert not np.array_equal(ddim_sample(model, s, 500, steps=5, rng=33), x)
    # one step 50 -> 26 along the predicted noise, and the last step is x0_hat from tau = 1
    ab, ab_next, ab_1 = s.alpha_bar[49], s.alpha_bar[25], s.alpha_bar[0]
    eps = MIX.eps_star(traj[2], 50, s)
    x0_hat = (traj[2] - math.sqrt(1 - ab) * eps) / math.sqrt(ab)
    np.testing.assert_allclose(traj[3], math.sqrt(ab_next) * x0_hat + math.sqrt(1 - ab_next) * eps,
                               rtol=1e-12, atol=1e-14)
    np.testing.assert_allclose(x, (traj[4] - math.sqrt(1 - ab_1) * MIX.eps_star(traj[4], 1, s))
                               / math.sqrt(ab_1), rtol=1e-12, atol=1e-14)
    calls.clear()
    assert ddim_sample(model, s, 4, steps=1, d=1, rng=0).shape == (4, 1)
    assert calls == [100]
    calls.clear()
    ddim_sample(model, s, 4, steps=100, rng=0)
    assert calls == list(range(100, 0, -1))


# --- bad input ---------------------------------------------------------------------------------

S = NoiseSchedule.cosine(10)
X0 = np.zeros((3, 1))


@pytest.mark.parametrize("call, match", [
    (lambda: NoiseSchedule([]), "betas"),
    (lambda: NoiseSchedule([[0.1, 0.2]]), "betas"),
    (lambda: NoiseSchedule([0.1, 1.0]), "betas"),
    (lambda: NoiseSchedule([0.0, 0.1]), "betas"),
    (lambda: NoiseSchedule([0.1, np.nan]), "betas"),
    (lambda: NoiseSchedule.linear(0), "T"),
    (lambda: NoiseSchedule.linear(10, beta_T=1.5), "betas"),
    (lambda: NoiseSchedule.cosine(10, s=-1.0), "s"),
    (lambda: S.q_sample(np.zeros(3), 1), "x0"),
    (lambda: S.q_sample([[np.inf]], 1), "x0"),
    (lambda: S.q_sample(X0, 0), "t"),
    (lambda: S.q_sample(X0, 11), "t"),
    (lambda: S.q_sample(X0, 1.5), "t"),
    (lambda: S.q_sample(X0, "1"), "t"),
    (lambda: S.q_sample(X0, np.array([1, 2])), "t"),
    (lambda: S.q_sample(X0, np.array([1, 2, 11])), "t"),
    (lambda: S.q_sample(X0, 1, rng="seed"), "rng"),
    (lambda: S.q_posterior(X0, np.zeros((3, 2)), 2), "x_t"),
    (lambda: S.q_posterior(X0, X0, 0), "t"),
    (lambda: S.prior_kl([[np.nan]]), "x0"),
    (lambda: GaussianMixture1D([0.5, 0.6], [0, 1], [1, 1]), "weights"),
    (lambda: GaussianMixture1D([1.5, -0.5], [0, 1], [1, 1]), "weights"),
    (lambda: GaussianMixture1D([0.5, 0.5], [0, 1, 2], [1, 1]), "means"),
    (lambda: GaussianMixture1D([0.5, 0.5], [0, 1], [1, 0]), "stds"),
    (lambda: GaussianMixture1D([0.5, 0.5], [0, 1], [1]), "stds"),
    (lambda: MIX.sample(0), "n"),
    (lambda: MIX.marginal(0.0), "alpha_bar_t"),
    (lambda: MIX.marginal(1.5), "alpha_bar_t"),
    (lambda: MIX.eps_star(X0, 1, "cosine"), "schedule"),
    (lambda: MIX.eps_star(X0, 0, S), "t"),
    (lambda: diffusion_elbo(np.zeros(3), zeros, S), "x0"),
    (lambda: diffusion_elbo([[np.nan]], zeros, S), "x0"),
    (lambda: diffusion_elbo(X0, "model", S), "eps_model"),
    (lambda: diffusion_elbo(X0, lambda x, t: x[:, 0], S), "eps_model"),
    (lambda: diffusion_elbo(X0, lambda x, t: np.full_like(x, np.nan), S), "eps_model"),
    (lambda: diffusion_elbo(X0, zeros, None), "schedule"),
    (lambda: ddpm_sample(zeros, S, 0), "n"),
    (lambda: ddpm_sample(zeros, S, 3, d=0), "d"),
    (lambda: ddpm_sample(lambda x, t: np.zeros((1, 1)), S, 3), "eps_model"),
    (lambda: ddim_sample(zeros, S, 3, steps=0), "steps"),
    (lambda: ddim_sample(zeros, S, 3, steps=11), "steps"),
    (lambda: ddim_sample(zeros, S, 3, steps=2.5), "steps"),
])
def test_bad_input_raises_a_named_value_error(call, match):
    # the message starts with the argument's name
    with pytest.raises(ValueError, match=rf"^{re.escape(match)}\b"):
        call()


# ---------------------------------------------------------------------------------------------
# The reverse step's variance (notebook 05 §5): beta_tilde_t or beta_t
# ---------------------------------------------------------------------------------------------

def test_isotropic_kl_is_the_general_gaussian_kl():
    from helpers.gaussian import gaussian_kl_to, isotropic_kl

    rng = np.random.default_rng(50)
    m_q, m_p = rng.normal(size=(5, 3)), rng.normal(size=(5, 3))
    for v_q, v_p in ((0.3, 0.3), (0.1, 0.7), (2.0, 0.5)):
        ref = [gaussian_kl_to(m_q[i], np.sqrt(v_q), m_p[i], v_p * np.eye(3)) for i in range(5)]
        np.testing.assert_allclose(isotropic_kl(m_q, v_q, m_p, v_p), ref, rtol=1e-12)


def test_reverse_variance_choices():
    from helpers.diffusion import reverse_variance

    s = NoiseSchedule.cosine(20)
    post, beta = reverse_variance(s, reverse_var="posterior"), reverse_variance(s, reverse_var="beta")
    np.testing.assert_array_equal(post[1:], s.beta_tilde[1:])
    np.testing.assert_array_equal(beta, s.betas)
    assert post[0] == beta[0] == s.betas[0]       # p(x_0 | x_1) keeps beta_1 either way
    assert np.all(post[1:] < beta[1:])             # beta_tilde_t < beta_t for t >= 2
    with pytest.raises(ValueError, match="reverse_var"):
        reverse_variance(s, reverse_var="learned")


def test_elbo_with_beta_adds_the_variance_mismatch_term():
    """With sigma_t^2 = beta_t each denoising term is the full Gaussian KL; for a model whose
    means are exact (eps = the true noise is not available, so use eps*), check one step's term
    against the general closed form."""
    from helpers.gaussian import gaussian_kl_to

    s = NoiseSchedule.cosine(10)
    mix = GaussianMixture1D([0.5, 0.5], [-1.0, 1.0], [0.3, 0.3])
    x0 = mix.sample(50, rng=51)
    star = lambda x, t: mix.eps_star(x, t, s)  # noqa: E731
    post = diffusion_elbo(x0, star, s, rng=52)
    beta = diffusion_elbo(x0, star, s, rng=52, reverse_var="beta")
    np.testing.assert_array_equal(post.reconstruction, beta.reconstruction)
    np.testing.assert_array_equal(post.prior, beta.prior)
    # the same draws: recompute step t = 4's term by hand for both choices
    rng = np.random.default_rng(52)
    for t in range(1, 5):
        x_t, _ = s.q_sample(x0, t, rng)
    mu = reverse_mean(s, x_t, 4, star(x_t, 4))
    mu_tilde, beta_tilde = s.q_posterior(x0, x_t, 4)
    for res, var in ((post, beta_tilde), (beta, s.betas[3])):
        ref = [gaussian_kl_to(mu_tilde[i], np.sqrt(beta_tilde), mu[i], var * np.eye(1))
               for i in range(len(x0))]
        np.testing.assert_allclose(res.per_step[3], ref, rtol=1e-10)
    with pytest.raises(ValueError, match="reverse_var"):
        diffusion_elbo(x0, star, s, reverse_var="Beta")


@pytest.mark.parametrize("t", [1, 2, 5, 10])
def test_reverse_step_variance_matches_the_joint_gaussian_of_x_t_minus_1_and_x_t(t):
    """For Gaussian data N(m, v), (x_{t-1}, x_t) is jointly Gaussian, so Var(x_{t-1} | x_t) is
    Var(x_{t-1}) - Cov^2 / Var(x_t): a derivation independent of the law of total variance."""
    s, v = NoiseSchedule.cosine(10), 0.3
    ab = s.alpha_bar[t - 1]
    ab_prev = 1.0 if t == 1 else s.alpha_bar[t - 2]
    var_prev, var_t = ab_prev * v + 1 - ab_prev, ab * v + 1 - ab
    cov = np.sqrt(s.alphas[t - 1]) * var_prev            # x_t = sqrt(alpha_t) x_{t-1} + noise
    var_x0_given_xt = v - ab * v**2 / var_t
    got = s.reverse_step_variance(np.array([var_x0_given_xt]), t)
    np.testing.assert_allclose(got, [var_prev - cov**2 / var_t], rtol=1e-12)
    # no uncertainty about x_0: the posterior's own variance
    np.testing.assert_allclose(s.reverse_step_variance(0.0, t), s.beta_tilde[t - 1], atol=0)
    with pytest.raises(ValueError, match="var_x0"):
        s.reverse_step_variance(-0.1, t)
    with pytest.raises(ValueError, match="t must"):
        s.reverse_step_variance(0.1, 11)


def test_elbo_with_a_variance_per_x_t_reproduces_the_fixed_choices():
    s = NoiseSchedule.cosine(10)
    mix = GaussianMixture1D([0.5, 0.5], [-1.0, 1.0], [0.3, 0.3])
    x0 = mix.sample(50, rng=51)
    star = lambda x, t: mix.eps_star(x, t, s)  # noqa: E731
    for name, table in (("posterior", s.beta_tilde), ("beta", s.betas)):
        fixed = diffusion_elbo(x0, star, s, rng=52, reverse_var=name)
        per_x = diffusion_elbo(x0, star, s, rng=52, reverse_var=lambda x, t, table=table: np.full(
            len(x), s.betas[0] if t == 1 else table[t - 1]))
        np.testing.assert_allclose(per_x.per_step, fixed.per_step, rtol=1e-12)


def test_elbo_with_exact_reverse_steps_loses_only_the_prior_on_gaussian_data():
    """Gaussian data: every true reverse step is Gaussian, so with the exact noise prediction and
    the true variance per x_t the chain is q reversed, and E[log p - ELBO] = KL(q(x_T) || N(0, 1))."""
    s, m, v = NoiseSchedule.cosine(10), 0.7, 0.2
    one = GaussianMixture1D([1.0], [m], [np.sqrt(v)])
    x0 = one.sample(20000, rng=3)
    res = diffusion_elbo(x0, lambda x, t: one.eps_star(x, t, s), s, rng=4,
                         reverse_var=lambda x, t: s.reverse_step_variance(
                             one.posterior_x0(x, t, s).var, t))
    gap = one.log_prob(x0)[:, 0] - res.elbo
    ab = s.alpha_bar[-1]
    mean_T, var_T = np.sqrt(ab) * m, ab * v + 1 - ab   # q(x_T) = N(mean_T, var_T)
    prior_kl = 0.5 * (mean_T**2 + var_T - 1 - np.log(var_T))
    se = gap.std() / np.sqrt(gap.size)
    assert abs(gap.mean() - prior_kl) < 4 * se, (gap.mean(), prior_kl, se)
    # with beta_tilde_t instead, far from it: the test can fail
    fixed = diffusion_elbo(x0, lambda x, t: one.eps_star(x, t, s), s, rng=4)
    assert (one.log_prob(x0)[:, 0] - fixed.elbo).mean() - prior_kl > 20 * se


@pytest.mark.parametrize("bad, match", [
    (lambda x, t: np.full((len(x), 2), 0.1), r"shape \(50,\) or \(50, 1\)"),
    (lambda x, t: np.full(len(x), -0.1), "finite and > 0"),
    (lambda x, t: np.full(len(x), np.nan), "finite and > 0"),
    (lambda x, t: "wide", "must return numbers"),
])
def test_elbo_rejects_a_bad_variance_per_x_t(bad, match):
    s = NoiseSchedule.cosine(5)
    x0 = np.zeros((50, 1))
    with pytest.raises(ValueError, match="reverse_var\\(x_t, t\\) at t=1 .*" + match):
        diffusion_elbo(x0, lambda x, t: np.zeros_like(x), s, rng=0, reverse_var=bad)


def test_samplers_say_that_only_the_elbo_takes_a_variance_per_x_t():
    s = NoiseSchedule.cosine(5)
    with pytest.raises(ValueError, match="only by diffusion_elbo"):
        ddpm_sample(lambda x, t: np.zeros_like(x), s, 10, rng=0, reverse_var=lambda x, t: 0.1)


def test_ddpm_sample_reverse_var_changes_only_the_noise_size():
    s = NoiseSchedule.cosine(10)
    zeros = lambda x, t: np.zeros_like(x)  # noqa: E731
    a = ddpm_sample(zeros, s, 2000, rng=53)
    b = ddpm_sample(zeros, s, 2000, rng=53, reverse_var="beta")
    assert not np.array_equal(a, b)
    # with eps = 0 the chain is linear in the Gaussian draws: its variance is known exactly
    def variance(var):
        v = 1.0
        for i in range(s.T, 0, -1):
            v = v / s.alphas[i - 1] + (var[i - 1] if i > 1 else 0.0)
        return v
    for x, var in ((a, s.beta_tilde), (b, s.betas)):
        exact = variance(var)
        assert abs(x.var() / exact - 1) < 5 * np.sqrt(2 / len(x))
    with pytest.raises(ValueError, match="reverse_var"):
        ddpm_sample(zeros, s, 3, reverse_var="nope")


def test_mixture_posterior_of_x0():
    s = NoiseSchedule.cosine(50)
    mix = GaussianMixture1D([0.4, 0.6], [-1.0, 1.5], [0.3, 0.6])
    x_t = np.linspace(-3, 3, 7)[:, None]
    for t in (1, 10, 40):
        ab = s.alpha_bar[t - 1]
        post = mix.posterior_x0(x_t, t, s)
        mean, var = post.mean, post.var
        # Tweedie: E[x_0 | x_t] = (x_t - sqrt(1 - ab) eps*) / sqrt(ab)
        np.testing.assert_allclose(mean, (x_t - np.sqrt(1 - ab) * mix.eps_star(x_t, t, s))
                                   / np.sqrt(ab), rtol=1e-10, atol=1e-12)
        # by quadrature over x_0: p(x_0 | x_t) proportional to p(x_0) N(x_t; sqrt(ab) x_0, 1 - ab)
        grid = np.linspace(-8, 8, 400_001)
        w = np.exp(mix.log_prob(grid)[None, :] - (x_t - np.sqrt(ab) * grid) ** 2 / (2 * (1 - ab)))
        w /= w.sum(1, keepdims=True)
        m_ref = (w * grid).sum(1)
        v_ref = (w * (grid - m_ref[:, None]) ** 2).sum(1)
        np.testing.assert_allclose(mean[:, 0], m_ref, rtol=1e-6, atol=1e-9)
        np.testing.assert_allclose(var[:, 0], v_ref, rtol=1e-5)


def test_return_trajectory_still_works_for_one_release():
    s = NoiseSchedule.cosine(10)
    model = lambda x, t: 0.1 * x  # noqa: E731
    for sample, trajectory, kw in ((ddpm_sample, ddpm_trajectory, {}),
                                   (ddim_sample, ddim_trajectory, {"steps": 4})):
        with pytest.warns(DeprecationWarning, match=f"is now {trajectory.__name__}"):
            x, traj = sample(model, s, 5, d=2, rng=3, return_trajectory=True, **kw)
        walk = trajectory(model, s, 5, d=2, rng=3, **kw)
        np.testing.assert_array_equal(x, walk.samples)
        np.testing.assert_array_equal(traj, walk.states)
        # and without the flag, the sampler returns one array, the trajectory's last state
        np.testing.assert_array_equal(sample(model, s, 5, d=2, rng=3, **kw), walk.samples)


def test_unchecked_steps_are_the_checked_ones():
    # diffusion_elbo checks x0 once and runs the chain on the unchecked forms: the same numbers
    s = NoiseSchedule.cosine(12)
    x0 = MIX.sample(20, rng=50)
    t = np.arange(1, 21) % 12 + 1
    x_t, eps = s.q_sample(x0, t, rng=3)
    x_u, eps_u = s.q_sample_unchecked(x0, t, np.random.default_rng(3))
    np.testing.assert_array_equal(x_t, x_u)
    np.testing.assert_array_equal(eps, eps_u)
    for a, b in zip(s.q_posterior(x0, x_t, t), s.q_posterior_unchecked(x0, x_t, t)):
        np.testing.assert_array_equal(a, b)
    np.testing.assert_array_equal(s.prior_kl(x0), s.prior_kl_unchecked(x0))


def test_noised_is_the_closed_form_for_given_noise_and_q_samples_draw():
    s = NoiseSchedule.cosine(50)
    rng = np.random.default_rng(3)
    x0, eps = rng.normal(size=(6, 2)), rng.normal(size=(6, 2))
    for t in (1, 17, 50):
        ab = s.alpha_bar[t - 1]
        np.testing.assert_array_equal(s.noised(x0, t, eps), np.sqrt(ab) * x0 + np.sqrt(1 - ab) * eps)
    x_t, drawn = s.q_sample(x0, 17, rng=5)
    np.testing.assert_array_equal(x_t, s.noised(x0, 17, drawn))
    np.testing.assert_array_equal(drawn, np.random.default_rng(5).standard_normal((6, 2)))


def test_elbo_per_step_figure_spreads_the_first_steps_and_titles_the_whole_figure():
    from helpers.plots.diffusion import plot_elbo_per_step

    T = 100
    a = 1.0 / np.arange(1, T + 1)
    b = a.copy()
    b[1:4] *= 1.5  # a difference in the first few steps only
    fig = plot_elbo_per_step({"exact eps*": a, "other": b}, {"exact eps*": 0.0, "other": 0.0},
                             title="the gap (exact eps*)")
    left, right = fig.axes
    assert left.get_xscale() == right.get_xscale() == "log"  # not T bars on a linear axis
    assert len(left.lines) == 2 and not left.patches
    np.testing.assert_allclose(right.lines[0].get_ydata()[-1], (b - a).sum())
    # one title over both panels, with the plain "eps*" as mathtext
    assert fig.get_suptitle() == r"the gap (exact $\varepsilon^*$)"
    assert "eps*" not in left.get_title() + right.get_title()


def test_x0_from_eps_inverts_the_forward_noising():
    from helpers.noise_schedule import x0_from_eps

    s = NoiseSchedule.cosine(100)
    rng = np.random.default_rng(0)
    x0, eps = rng.normal(size=(5, 3)), rng.normal(size=(5, 3))
    for t in (1, 50, 99):
        x_t = s.noised(x0, t, eps)
        np.testing.assert_allclose(x0_from_eps(x_t, eps, s.alpha_bar[t - 1]), x0, atol=1e-9)
    # a wrong eps moves x0_hat by -sqrt(1 - alpha_bar) / sqrt(alpha_bar) = -sigma per unit
    ab = s.alpha_bar[49]
    shift = x0_from_eps(s.noised(x0, 50, eps), eps + 1.0, ab) - x0
    np.testing.assert_allclose(shift, -np.sqrt((1 - ab) / ab), rtol=1e-9)


def test_cosine_alpha_bar_is_the_cosine_schedule_in_continuous_time():
    from helpers.noise_schedule import cosine_alpha_bar

    schedule = NoiseSchedule.cosine(50)
    t = np.arange(1, 50) / 50                      # the last step is clipped in the schedule
    np.testing.assert_allclose(cosine_alpha_bar(t), schedule.alpha_bar[:-1], rtol=1e-12)
    assert cosine_alpha_bar(0.0) == 1.0 and isinstance(cosine_alpha_bar(0.3), float)
    for ti in t:                                   # a float takes a quick path: the same value
        assert cosine_alpha_bar(float(ti)) == cosine_alpha_bar(np.array([ti]))[0]
    # s moves the curve: a larger offset gives less signal at the same t
    assert cosine_alpha_bar(0.5, s=0.1) < cosine_alpha_bar(0.5)
    for bad in (-0.1, 1.5, float("nan")):
        with pytest.raises(ValueError, match="t"):
            cosine_alpha_bar(bad)
    with pytest.raises(ValueError, match=r"^t must lie in \[0, 1\], got 1\.5$"):
        cosine_alpha_bar(np.array([0.2, 1.5]))
    with pytest.raises(ValueError, match="s"):
        cosine_alpha_bar(0.5, s=0.0)
