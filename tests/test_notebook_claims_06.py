"""Notebook 06's quoted numbers, recomputed with the same helper calls and seeds.

Each assert names the sentence it guards. Tolerances are the rounding of the quoted number, or
the notebook's own standard errors where the claim is a comparison.
"""

import math

import numpy as np
import pytest

from helpers.bits import mean_and_se
from helpers.denoiser import train_eps_fn, train_eps_model
from helpers.diffusion import (GaussianMixture1D, NoiseSchedule, ddim_trajectory, diffusion_elbo,
                               reverse_mean, timesteps)
from helpers.metrics import wasserstein_1
from helpers.noise_schedule import alpha_bar_from_sigma, sigma_from_alpha_bar
from helpers.score import (karras_sigmas, langevin_sample, pf_ode_log_likelihood, pf_ode_sample,
                           pf_ode_velocity)

MIXTURE = GaussianMixture1D(weights=[0.4, 0.3, 0.3], means=[-1.5, 0.5, 2.0], stds=[0.25, 0.25, 0.5])
FAR = GaussianMixture1D(weights=[0.4, 0.3, 0.3], means=[-4.0, 0.0, 4.0], stds=[0.25, 0.25, 0.5])
X_TRAIN, X_TEST = MIXTURE.sample(4000, rng=0), MIXTURE.sample(4000, rng=1)
SCHEDULE = NoiseSchedule.cosine(100)
X_INIT = np.random.default_rng(4).normal(0.0, 3.0, size=(2000, 1))
SEEDS = (9, 19, 29, 39, 49)


def test_s2_the_langevin_bias_is_measured_at_11_and_67_percent():
    mu, s = 1.0, 0.5
    for h, excess in ((0.1, 0.11), (0.4, 0.67)):
        x = langevin_sample(lambda z: -(z - mu) / s**2, np.zeros(20000), step_size=h, steps=2000,
                            rng=3)
        se = x.var() * math.sqrt(2 / (x.size - 1))
        predicted = s**2 / (1 - h / (4 * s**2))
        assert abs(x.var() - predicted) < 2 * se                 # "match the prediction"
        assert round(x.var() / s**2 - 1, 2) == pytest.approx(excess, abs=0.01)
    x = langevin_sample(lambda z: -(z - mu) / s**2, np.zeros(20000), step_size=0.2, steps=2000,
                        rng=3)  # exercise 1
    assert round(x.var(), 4) == 0.3130


def test_s2_separated_modes_keep_their_start_and_annealing_restores_them():
    x, done = 2 * X_INIT, 0
    for total in (100, 1000, 10000):
        x = langevin_sample(lambda z: FAR.score(z, 1.0), x, step_size=0.01, steps=total - done,
                            rng=total)
        done = total
    shares = FAR.mode_shares(x)
    se = np.sqrt(FAR.mode_shares() * (1 - FAR.mode_shares()) / 2000)
    assert np.abs(shares - FAR.mode_shares()).max() > 4 * se.max()    # "stay where they first fell"
    sigmas = np.geomspace(10.0, 0.01, 20)
    xbar = np.random.default_rng(4).standard_normal((2000, 1)) * math.sqrt(sigmas[0] ** 2 + 4)
    for i, sigma in enumerate(sigmas):
        ab = alpha_bar_from_sigma(sigma)
        xbar = langevin_sample(lambda z, ab=ab: np.sqrt(ab) * FAR.score(np.sqrt(ab) * z, ab), xbar,
                               step_size=0.2 * sigma**2, steps=100, rng=100 + i)
    assert np.abs(FAR.mode_shares(xbar) - FAR.mode_shares()).max() < 2 * se.max()  # "right proportions"


def test_s2_slider_sentence_on_step_sizes():
    shares = {}
    for h in (0.001, 0.1):
        x = langevin_sample(lambda z: MIXTURE.score(z, 1.0), X_INIT[:1000], step_size=h, steps=400,
                            rng=0)
        shares[h] = list(np.round(MIXTURE.mode_shares(x), 2))
    assert shares == {0.001: [0.44, 0.21, 0.35], 0.1: [0.39, 0.30, 0.31]}


def test_s3_the_ddpm_step_tends_to_the_reverse_sde_step():
    grid = np.linspace(-4, 4, 201)[:, None]
    per_step, summed = [], []
    for T in (100, 1000, 10000):
        sched = NoiseSchedule.cosine(T)
        t = np.arange(2, int(0.9 * T) + 1)
        b, ab = sched.betas[t - 1], sched.alpha_bar[t - 1]
        diff = np.abs(reverse_mean(sched, grid, t, MIXTURE.eps_at(grid, ab))
                      - (grid + b * (grid / 2 + MIXTURE.score(grid, ab)))).max(axis=0)
        per_step.append(diff.max())
        summed.append(diff.sum())
    # "each step's difference a hundred times smaller, and the whole chain's ten times smaller"
    assert all(60 < a / b < 140 for a, b in zip(per_step, per_step[1:]))
    assert all(8 < a / b < 12 for a, b in zip(summed, summed[1:]))


def test_s4_ddim_is_euler_on_the_ode():
    ddim = ddim_trajectory(lambda x, t: MIXTURE.eps_star(x, t, SCHEDULE), SCHEDULE, 2000,
                           steps=10, rng=6)
    x_ddim = ddim.samples
    levels = np.append(sigma_from_alpha_bar(SCHEDULE.alpha_bar[timesteps(SCHEDULE, 10) - 1]), 0.0)
    xbar = ddim.states[0] * np.sqrt(1 + levels[0] ** 2)
    for sigma, sigma_next in zip(levels[:-1], levels[1:]):
        xbar = xbar + (sigma_next - sigma) * pf_ode_velocity(MIXTURE.eps_at, xbar, sigma)
    assert np.abs(xbar - x_ddim).max() < 1e-12                    # "to 10^-13 here"


def test_s5_the_ode_likelihood_error_against_nfe():
    x_eval = np.linspace(-2.5, 3.5, 61)[:, None]
    exact = MIXTURE.log_prob_xbar(x_eval[:, 0], 0.002)
    err = {nfe: np.abs(pf_ode_log_likelihood(MIXTURE.eps_at, x_eval, nfe=nfe) - exact).max()
           for nfe in (32, 64, 128, 256, 512)}
    # "falls 14-fold from 32 to 128 and 7-fold from 128 to 512; at 128 it is 0.08, at 512 0.011"
    assert round(err[32] / err[128]) == 14 and round(err[128] / err[512]) == 7
    assert round(err[128], 2) == 0.08 and round(err[512], 3) == 0.011
    assert round(err[256], 4) == 0.0261 and round(err[64], 4) == 0.3027   # exercise 2


@pytest.fixture(scope="module")
def learned():
    return (train_eps_fn(X_TRAIN, seed=0, progress=False),
            train_eps_model(X_TRAIN, SCHEDULE, seed=0, progress=False))


def test_s5_three_numbers_side_by_side(learned):
    eps_fn, eps_theta = learned
    held_out = X_TEST[:1000]
    log_p = MIXTURE.log_prob(held_out[:, 0])
    ode = pf_ode_log_likelihood(eps_fn, held_out, nfe=512)
    ode_exact = pf_ode_log_likelihood(MIXTURE.eps_at, held_out, nfe=512)
    tilde = diffusion_elbo(held_out, eps_theta, SCHEDULE, rng=7).elbo
    beta = diffusion_elbo(held_out, eps_theta, SCHEDULE, rng=7, reverse_var="beta").elbo
    assert round(np.mean(log_p - ode_exact), 3) == 0.0
    rounded = {name: (round(m.mean, 3), round(m.se, 3)) for name, m in (
        ("ode", mean_and_se(log_p - ode)), ("tilde", mean_and_se(log_p - tilde)),
        ("beta", mean_and_se(log_p - beta)))}
    assert rounded == {"ode": (0.022, 0.006), "tilde": (0.725, 0.056), "beta": (-0.012, 0.034)}


def _w1(fn, solver, nfe):
    return np.array([wasserstein_1(pf_ode_sample(fn, 2000, nfe=nfe, solver=solver, rng=s), X_TEST)
                     for s in SEEDS])


def test_s6_euler_leads_at_8_and_16_and_heun_from_32(learned):
    floor = np.array([wasserstein_1(MIXTURE.sample(2000, rng=100 + i), X_TEST) for i in range(30)])
    assert (round(floor.mean(), 3), round(mean_and_se(floor).se, 3)) == (0.039, 0.003)
    paired = {}
    for name, fn in (("exact", MIXTURE.eps_at), ("learned", learned[0])):
        for nfe in (8, 16, 32, 64):
            d = _w1(fn, "euler", nfe) - _w1(fn, "heun", nfe)
            paired[name, nfe] = (round(d.mean(), 3), round(mean_and_se(d).se, 3))
    assert all(paired[name, nfe][0] < -3 * paired[name, nfe][1]      # "Euler does better"
               for name in ("exact", "learned") for nfe in (8, 16))
    assert paired["exact", 32] == (0.021, 0.010) and paired["exact", 64] == (0.011, 0.005)
    assert paired["learned", 32] == (0.015, 0.011) and paired["learned", 64] == (0.007, 0.007)
    assert all(abs(paired["learned", k][0]) < 2 * paired["learned", k][1] for k in (32, 64))
    heun64 = _w1(MIXTURE.eps_at, "heun", 64)
    assert (round(heun64.mean(), 3), round(mean_and_se(heun64).se, 3)) == (0.049, 0.009)
    assert heun64.mean() - floor.mean() > 0          # "neither reaches the floor by 64"


def test_s6_the_grid_shape():
    def euler(rho):
        levels = karras_sigmas(8, rho=rho)
        out = []
        for seed in SEEDS:
            xbar = np.random.default_rng(seed).standard_normal((2000, 1)) * math.sqrt(1 + levels[0] ** 2)
            for sigma, sigma_next in zip(levels[:-1], levels[1:]):
                xbar = xbar + (sigma_next - sigma) * pf_ode_velocity(MIXTURE.eps_at, xbar, sigma)
            out.append(wasserstein_1(xbar, X_TEST))
        return round(float(np.mean(out)), 3)
    assert [euler(r) for r in (1.0, 3.0, 5.0, 7.0)] == [1.154, 0.364, 0.308, 0.304]  # §6, exercise 3
    assert [round(w, 3) for w in (wasserstein_1(pf_ode_sample(MIXTURE.eps_at, 2000, nfe=128, solver=s,
                                                              rng=9), X_TEST)
                                  for s in ("euler", "heun"))] == [0.049, 0.049]    # exercise 4


def test_s7_moons_ours_and_flow_matching_through_one_solver():
    pytest.importorskip("torch")
    from helpers.data import two_moons
    from helpers.flow_matching import train_velocity
    from helpers.metrics import sliced_wasserstein_1

    moons_train, moons_test = two_moons(8000, rng=0), two_moons(2000, rng=1)
    eps_moons = train_eps_fn(moons_train, steps=1500, seed=1, progress=False)
    fm_eps = train_velocity(moons_train, steps=1500, batch_size=256, lr=5e-3, seed=1,
                            progress=False).eps_fn

    def sw1(fn, nfe):
        return round(sliced_wasserstein_1(pf_ode_sample(fn, 2000, nfe=nfe, d=2, rng=11),
                                          moons_test, rng=14), 4)
    # "0.1255 against 0.2674 at 16, 0.0569 against 0.1590 at 32; the floor is 0.0333"
    assert (sw1(eps_moons, 16), sw1(fm_eps, 16)) == (0.1255, 0.2674)
    assert (sw1(eps_moons, 32), sw1(fm_eps, 32)) == (0.0569, 0.1590)
    assert round(sliced_wasserstein_1(two_moons(2000, rng=12), moons_test, rng=14), 4) == 0.0333
    assert min(sw1(eps_moons, 8), sw1(fm_eps, 8)) > 1.0                   # "with 8 both fail"
