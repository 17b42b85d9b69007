"""Notebook 07's new helpers: where the bits go (helpers.bits_per_level), the histogram mixture
(helpers.histogram_mixture), the discrete decoder (helpers.discrete_decoder) and the committed
likelihood model (helpers.likelihood_model).

Independent references: E[eps | x_t] of the histogram density by quadrature over x_0 on a fine
grid; the per-level ELBO against notebook 05's diffusion_elbo; EM against a direct evaluation of
the mixture's likelihood in a Python loop; the decoder's probabilities against scipy's normal CDF.
"""

import math
import os
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
from scipy import stats

from helpers.bits import (LEVELS, bits_per_pixel, dequantise, independent_pixel_bits,
                          independent_pixel_probs, to_pixels)
from helpers.bits_per_level import PixelHistogram, elbo_per_level
from helpers.data import load_digits
from helpers.diffusion import NoiseSchedule, diffusion_elbo
from helpers.discrete_decoder import (CANDIDATE_STDS, candidate_steps, choose_decoder,
                                      decoder_bits, discretised_gaussian_nll, predicted_x0,
                                      stopped_chain_bits)
from helpers.histogram_mixture import fit_histogram_mixture, histogram_mixture_bits
from helpers.likelihood_model import WEIGHTS, validation_split

ROOT = Path(__file__).resolve().parents[1]


def small_histogram(d=3, seed=0):
    probs = np.random.default_rng(seed).dirichlet(np.ones(LEVELS), size=d)
    return PixelHistogram(probs)


# --- helpers.bits_per_level ----------------------------------------------------------------------

@pytest.mark.parametrize("alpha_bar", [0.9999, 0.98, 0.5, 0.01])
def test_histogram_eps_against_quadrature(alpha_bar):
    # E[eps | x_t] = (x_t - sqrt(ab) E[x_0 | x_t]) / sqrt(1 - ab), with the posterior of x_0
    # computed on a fine grid inside every cell: p(x_0) N(x_t; sqrt(ab) x_0, 1 - ab)
    hist = small_histogram()
    rng = np.random.default_rng(1)
    x0 = 2 * dequantise(rng.integers(0, LEVELS, (4, 3)), rng=2) - 1
    x_t = math.sqrt(alpha_bar) * x0 + math.sqrt(1 - alpha_bar) * rng.standard_normal(x0.shape)
    grid = (np.arange(200000) + 0.5) / 200000 * 2 - 1                # midpoints on [-1, 1)
    density = hist.probs[:, np.minimum((grid + 1) / 2 * LEVELS, LEVELS - 1).astype(int)]  # (d, g)
    ref = np.empty_like(x_t)
    for i in range(x_t.shape[0]):
        for j in range(x_t.shape[1]):
            log_w = np.log(density[j]) - (x_t[i, j] - math.sqrt(alpha_bar) * grid) ** 2 / (
                2 * (1 - alpha_bar))
            w = np.exp(log_w - log_w.max())
            mean_x0 = np.sum(w * grid) / w.sum()
            ref[i, j] = (x_t[i, j] - math.sqrt(alpha_bar) * mean_x0) / math.sqrt(1 - alpha_bar)
    got = hist.eps_at(x_t, alpha_bar)
    # the grid's step 1e-5 bounds the quadrature error of E[x_0 | x_t] at about 1e-5
    np.testing.assert_allclose(got * math.sqrt(1 - alpha_bar), ref * math.sqrt(1 - alpha_bar),
                               atol=2e-5)


def test_histogram_eps_far_outside_the_cells_takes_the_log_path():
    hist = small_histogram()
    x = np.array([[-40.0, 40.0, 0.0]])
    eps = hist.eps_at(x, 0.9999)          # sigma = 0.01: the cells' mass underflows for +-40
    assert np.isfinite(eps).all()
    # x_0 is pulled to the nearest edge of the support: eps points away from it
    assert eps[0, 0] < 0 < eps[0, 1]


def test_histogram_log_prob_is_the_independent_pixel_bits():
    pixels = to_pixels(load_digits("train"))
    test = to_pixels(load_digits("test"))[:50]
    hist = PixelHistogram.from_pixels(pixels)
    x = 2 * dequantise(test, rng=0) - 1
    np.testing.assert_allclose(bits_per_pixel(hist.log_prob(x), 64, scale=2),
                               independent_pixel_bits(pixels, test), atol=1e-12)
    assert hist.log_prob(np.full((1, 64), 1.5))[0] == -np.inf


def test_elbo_per_level_sums_to_notebook_05s_elbo():
    hist = small_histogram(d=4)
    schedule = NoiseSchedule.cosine(40)
    x0 = 2 * dequantise(np.random.default_rng(3).integers(0, LEVELS, (30, 4)), rng=4) - 1
    for reverse_var in ("beta", "posterior"):
        costs = elbo_per_level(x0, hist.eps_model(schedule), schedule, rng=5, reverse_var=reverse_var)
        ref = diffusion_elbo(x0, hist.eps_model(schedule), schedule, rng=5, reverse_var=reverse_var)
        np.testing.assert_allclose(costs.per_pixel.sum(1), ref.per_step.mean(1), atol=1e-10)
        np.testing.assert_allclose(costs.per_digit, -ref.elbo, atol=1e-10)
        np.testing.assert_allclose(costs.prior.sum(), ref.prior.mean(), atol=1e-12)
        assert costs.total == pytest.approx(-ref.elbo.mean(), abs=1e-10)
    np.testing.assert_allclose(costs.sigma, np.sqrt((1 - schedule.alpha_bar) / schedule.alpha_bar))


def test_exact_eps_chain_is_a_valid_bound_and_beats_a_poor_eps():
    # the chain's bound with the exact E[eps | x_t] is above the exact bits (a bound) and below
    # the chain with eps_hat = 0 (a poor predictor)
    pixels = np.random.default_rng(6).integers(0, 3, (400, 2))
    hist = PixelHistogram.from_pixels(pixels)
    schedule = NoiseSchedule.cosine(100)
    x0 = 2 * dequantise(pixels, rng=7) - 1
    exact_bits = bits_per_pixel(hist.log_prob(x0), 2, scale=2)
    chain = elbo_per_level(x0, hist.eps_model(schedule), schedule, rng=8, reverse_var="beta")
    zero = elbo_per_level(x0, lambda x, t: np.zeros_like(x), schedule, rng=8, reverse_var="beta")
    chain_bits = bits_per_pixel(-chain.per_digit, 2, scale=2)
    diff = chain_bits - exact_bits
    assert diff.mean() > 3 * diff.std(ddof=1) / math.sqrt(diff.size)
    assert zero.total > chain.total


def test_pixel_histogram_bad_input():
    with pytest.raises(ValueError, match="probs"):
        PixelHistogram(np.ones((3, 5)) / 5)
    hist = small_histogram()
    with pytest.raises(ValueError, match="alpha_bar"):
        hist.eps_at(np.zeros((2, 3)), 1.0)
    with pytest.raises(ValueError, match="x"):
        hist.eps_at(np.zeros((2, 4)), 0.5)
    with pytest.raises(ValueError, match="schedule"):
        elbo_per_level(np.zeros((2, 3)), hist.eps_model(NoiseSchedule.cosine(5)), "cosine")


def test_cost_per_level_figure_draws_both_chains_and_every_group():
    from helpers.plots.bits import plot_cost_per_level

    hist = small_histogram(d=4)
    schedule = NoiseSchedule.cosine(20)
    x0 = 2 * dequantise(np.random.default_rng(3).integers(0, LEVELS, (10, 4)), rng=4) - 1
    a = elbo_per_level(x0, hist.eps_model(schedule), schedule, rng=0, reverse_var="beta")
    b = elbo_per_level(x0, lambda x, t: np.zeros_like(x), schedule, rng=0, reverse_var="beta")
    fig = plot_cost_per_level(b, a, {"first": np.array([1, 1, 0, 0], bool),
                                     "last": np.array([0, 0, 1, 1], bool)})
    left, right = fig.axes
    assert len(left.lines) == 3 and len(right.lines) == 4      # + the grey-level line
    # the groups' running gaps add up to the total's
    total = right.lines[0].get_ydata()
    np.testing.assert_allclose(right.lines[1].get_ydata() + right.lines[2].get_ydata(), total)


# --- helpers.histogram_mixture ------------------------------------------------------------------

def test_one_component_is_the_independent_histogram():
    pixels = to_pixels(load_digits("train"))
    test = to_pixels(load_digits("test"))
    mix = fit_histogram_mixture(pixels, n_components=1, max_iter=3, rng=0)
    np.testing.assert_allclose(mix.probs[0], independent_pixel_probs(pixels), atol=1e-12)
    np.testing.assert_allclose(histogram_mixture_bits(mix, test),
                               independent_pixel_bits(pixels, test), atol=1e-12)


def test_em_never_decreases_its_objective_and_beats_one_component():
    pixels = to_pixels(load_digits("train"))
    mix = fit_histogram_mixture(pixels, n_components=8, max_iter=25, rng=0)
    assert np.all(np.diff(mix.history) >= -1e-9)
    assert mix.history[-1] > mix.history[0]
    one = fit_histogram_mixture(pixels, n_components=1, max_iter=1, rng=0)
    assert histogram_mixture_bits(mix, pixels).mean() < histogram_mixture_bits(one, pixels).mean()
    np.testing.assert_allclose(mix.weights.sum(), 1.0)
    np.testing.assert_allclose(mix.probs.sum(-1), 1.0)


def test_mixture_bits_against_a_direct_loop():
    rng = np.random.default_rng(0)
    pixels = rng.integers(0, LEVELS, (60, 5))
    mix = fit_histogram_mixture(pixels, n_components=3, max_iter=5, rng=1)
    for row, got in zip(pixels[:5], histogram_mixture_bits(mix, pixels[:5])):
        p = sum(w * np.prod([mix.probs[k, j, v] for j, v in enumerate(row)])
                for k, w in enumerate(mix.weights))
        assert got == pytest.approx(-math.log2(p) / 5, rel=1e-12)


def test_mixture_is_seeded_and_checks_its_input():
    pixels = np.random.default_rng(0).integers(0, LEVELS, (50, 4))
    a = fit_histogram_mixture(pixels, n_components=3, max_iter=4, rng=2)
    b = fit_histogram_mixture(pixels, n_components=3, max_iter=4, rng=2)
    np.testing.assert_array_equal(a.probs, b.probs)
    with pytest.raises(ValueError, match="n_components"):
        fit_histogram_mixture(pixels, n_components=0)
    with pytest.raises(ValueError, match="pixels"):
        fit_histogram_mixture(pixels + 0.5, n_components=2)
    with pytest.raises(ValueError, match="test_pixels"):
        histogram_mixture_bits(a, pixels[:, :3])


# --- helpers.discrete_decoder -------------------------------------------------------------------

def test_discretised_gaussian_against_scipy_and_sums_to_one():
    mean = np.array([[-0.3, 0.5, -0.8]])     # within reach of scipy's plain CDF differences
    std = 0.3
    edges = -1 + 2 * np.arange(LEVELS + 1) / LEVELS
    edges[0], edges[-1] = -np.inf, np.inf
    for v in (0, 5, 16):
        pixels = np.full((1, 3), v)
        p = stats.norm.cdf(edges[v + 1], mean, std) - stats.norm.cdf(edges[v], mean, std)
        assert discretised_gaussian_nll(pixels, mean, std)[0] == pytest.approx(-np.log(p).sum(),
                                                                               rel=1e-9)
    total = sum(np.exp(-discretised_gaussian_nll(np.full((1, 1), v), mean[:, :1], std))
                for v in range(LEVELS))
    assert total[0] == pytest.approx(1.0, abs=1e-12)


def test_stopped_chain_at_the_top_is_decoder_plus_prior():
    per_step = np.arange(12.0).reshape(4, 3)
    prior, nll = np.ones(3), np.full(3, 2.0)
    np.testing.assert_allclose(stopped_chain_bits(per_step, prior, nll, 4, d=64),
                               3 / (64 * math.log(2)))
    np.testing.assert_allclose(stopped_chain_bits(per_step, prior, nll, 2, d=5),
                               (3 + per_step[2:].sum(0)) / (5 * math.log(2)))
    with pytest.raises(ValueError, match="d must"):
        stopped_chain_bits(per_step, prior, nll, 2, d=0)


def test_exact_eps_decoder_bound_is_above_the_exact_bits_and_choice_is_the_argmin():
    rng = np.random.default_rng(0)
    pixels = rng.integers(0, 4, (300, 2))
    hist = PixelHistogram.from_pixels(pixels)
    schedule = NoiseSchedule.cosine(60)
    x0 = 2 * dequantise(pixels, rng=1) - 1
    ev = diffusion_elbo(x0, hist.eps_model(schedule), schedule, rng=2, reverse_var="beta")
    choice = choose_decoder(pixels, x0, hist.eps_model(schedule), schedule, ev.per_step, ev.prior,
                            steps=[1, 5, 10], stds=[0.05, 0.1, 0.3], rng=3)
    assert choice.bits.shape == (3, 3)
    assert choice.bits.min() == choice.bits[list(choice.steps).index(choice.t),
                                            list(choice.stds).index(choice.std)]
    nll = discretised_gaussian_nll(pixels, predicted_x0(x0, hist.eps_model(schedule), schedule,
                                                         choice.t, rng=4), choice.std)
    bound = stopped_chain_bits(ev.per_step, ev.prior, nll, choice.t, d=2)
    # decoder_bits is these three steps, with the same draw of x_t, per pixel of the two
    np.testing.assert_array_equal(decoder_bits(pixels, x0, hist.eps_model(schedule), schedule,
                                               ev.per_step, ev.prior, t=choice.t,
                                               std=choice.std, rng=4), bound)
    exact = independent_pixel_bits(pixels, pixels)
    diff = bound - exact
    assert diff.mean() > -3 * diff.std(ddof=1) / math.sqrt(diff.size)


def test_decoder_bad_input():
    with pytest.raises(ValueError, match="std"):
        discretised_gaussian_nll(np.zeros((1, 2)), np.zeros((1, 2)), 0.0)
    with pytest.raises(ValueError, match="mean"):
        discretised_gaussian_nll(np.zeros((1, 2)), np.zeros((1, 3)), 0.1)
    with pytest.raises(ValueError, match="t must"):
        predicted_x0(np.zeros((1, 2)), lambda x, t: x, NoiseSchedule.cosine(5), 9)


# --- helpers.likelihood_model -------------------------------------------------------------------

def test_validation_split_is_seeded_disjoint_and_complete():
    split = validation_split(1438)
    train, val = split.train, split.validation
    assert len(val) == 238 and len(train) == 1200
    assert not set(train) & set(val)
    np.testing.assert_array_equal(np.sort(np.concatenate([train, val])), np.arange(1438))
    np.testing.assert_array_equal(validation_split(1438).validation, val)
    assert len(validation_split(1438, n_validation=100).validation) == 100
    with pytest.raises(ValueError, match="n_validation"):
        validation_split(10, n_validation=10)


def test_committed_weights_are_small_and_load():
    import torch

    from helpers.likelihood_model import load_likelihood_model

    assert WEIGHTS.stat().st_size < 2e6
    model = load_likelihood_model()
    x = np.random.default_rng(0).uniform(-1, 1, (4, 64))
    assert np.isfinite(model.eps_fn()(x, 0.5)).all()
    # the file holds float32 weights: float32 evaluation differs by float32 rounding only
    model32 = load_likelihood_model(dtype="float32")
    assert model32.net.freqs.dtype == torch.float32
    np.testing.assert_array_equal(model32.in_float64()(x, 0.5), model(x, 0.5))
    assert np.abs(model32(x, 0.5) - model(x, 0.5)).max() < 1e-4


@pytest.mark.skipif(os.environ.get("DIGITS_WEIGHTS_TEST") != "1",
                    reason="retrains the committed model (minutes): set DIGITS_WEIGHTS_TEST=1")
def test_make_weights_reproduces_the_committed_file(tmp_path):
    import torch

    out = tmp_path / "w.pt"
    subprocess.run([sys.executable, str(ROOT / "tools" / "digits_weights.py"), "--out", str(out)],
                   check=True, timeout=3600)
    new, old = torch.load(out, weights_only=True), torch.load(WEIGHTS, weights_only=True)
    for k, v in old["net"].items():
        torch.testing.assert_close(new["net"][k], v, rtol=0, atol=0)


def test_log_normal_mass_is_the_log_of_the_mass_in_both_tails():
    from scipy.special import log_ndtr, ndtr

    from helpers.gaussian import log_normal_mass

    a = np.array([-1.0, -0.3, 0.2, -np.inf, 2.0])
    b = np.array([0.5, 0.4, 1.7, 0.0, np.inf])
    np.testing.assert_allclose(log_normal_mass(a, b), np.log(ndtr(b) - ndtr(a)), rtol=1e-12)
    assert log_normal_mass(-np.inf, np.inf) == 0.0                      # the whole line
    np.testing.assert_allclose(log_normal_mass(a, b), log_normal_mass(-b, -a), rtol=1e-13)
    # deep in a tail the plain difference is 0 - 0; in logs the mass of [40, 41] is that of
    # [40, inf) less a relative e^-40.5 or so
    assert ndtr(41.0) - ndtr(40.0) == 0.0
    np.testing.assert_allclose(log_normal_mass(40.0, 41.0), log_ndtr(-40.0), rtol=1e-12)


def test_candidate_steps_are_every_third_step_within_the_sigma_range():
    schedule = NoiseSchedule.cosine(250)
    sigma = np.sqrt((1 - schedule.alpha_bar) / schedule.alpha_bar)
    steps = candidate_steps(schedule)
    inside = [t for t in range(1, 251) if 0.03 < sigma[t - 1] < 1.5]
    assert list(steps) == inside[::3]
    assert list(candidate_steps(schedule, sigma_lo=0.1, sigma_hi=0.5, every=1)) == [
        t for t in range(1, 251) if 0.1 < sigma[t - 1] < 0.5]
    assert CANDIDATE_STDS[0] == pytest.approx(0.05) and CANDIDATE_STDS[-1] == pytest.approx(0.8)
    assert len(CANDIDATE_STDS) == 9
    with pytest.raises(ValueError, match="sigma_lo"):
        candidate_steps(schedule, sigma_lo=0.5, sigma_hi=0.1)
    with pytest.raises(ValueError, match="no step"):
        candidate_steps(NoiseSchedule.cosine(3), sigma_lo=1e-6, sigma_hi=2e-6)
    with pytest.raises(ValueError, match="schedule"):
        candidate_steps("cosine")
