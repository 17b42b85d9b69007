"""helpers.bits (notebook 07): dequantisation, bits per pixel, the independent-pixel baseline.

References computed independently: the bound's constant from a density that is flat on the
pixel cells (where the bound is exact), a Gaussian density's bits by direct integration over
the cells, and the baseline by a plain count in a Python loop.
"""

import math

import numpy as np
import pytest
from scipy import stats

from helpers.bits import (LEVELS, MeanSE, bits_per_pixel, dequantise, independent_pixel_bits,
                          mean_and_se, to_pixels)
from helpers.data import load_digits


def test_uniform_density_costs_log2_17_bits():
    assert bits_per_pixel(0.0, 64) == pytest.approx(math.log2(17), abs=1e-12)


@pytest.mark.parametrize("d", [1, 3, 64])
def test_flat_density_on_cells_gives_the_exact_discrete_likelihood(d):
    # A density putting probability P_j on cell j, flat inside it, is 17 P_j per pixel on [0, 1):
    # the bound is an equality, so bits must be -log2 P exactly.
    rng = np.random.default_rng(0)
    probs = rng.dirichlet(np.ones(LEVELS), size=d)          # (d, 17)
    pixels = rng.integers(0, LEVELS, size=(5, d))
    log_density = np.log(LEVELS * probs[np.arange(d), pixels]).sum(1)
    exact = -np.log2(probs[np.arange(d), pixels]).sum(1) / d
    np.testing.assert_allclose(bits_per_pixel(log_density, d), exact, rtol=0, atol=1e-12)


def test_scale_counts_the_change_of_variables():
    # x' = 2x - 1: p'(x') = p(x) / 2^d, so the same model must give the same bits
    log_p_x = np.array([10.0, -3.0])
    np.testing.assert_allclose(bits_per_pixel(log_p_x - 64 * math.log(2), 64, scale=2),
                               bits_per_pixel(log_p_x, 64), atol=1e-12)


def test_bound_holds_for_a_gaussian_density():
    # one pixel, a Gaussian density on x: E_u log p(x) - log 17 <= log P(cell), P by the CDF
    pixel, mu, sd = 5, 0.3, 0.05
    u = (np.arange(200000) + 0.5) / 200000       # midpoint rule over the cell
    x = (pixel + u) / LEVELS
    bound_bits = bits_per_pixel(np.mean(stats.norm.logpdf(x, mu, sd)), 1)
    mass = stats.norm.cdf((pixel + 1) / LEVELS, mu, sd) - stats.norm.cdf(pixel / LEVELS, mu, sd)
    assert bound_bits >= -math.log2(mass) - 1e-9
    assert bound_bits - (-math.log2(mass)) < 0.2   # and close: the density varies little in a cell


def test_dequantise_stays_in_the_pixels_cell():
    pixels = np.arange(LEVELS).repeat(100)
    x = dequantise(pixels, rng=0)
    assert np.all(np.floor(x * LEVELS) == pixels)
    np.testing.assert_array_equal(dequantise(pixels, rng=0), x)


def test_dequantise_fills_the_whole_cell_uniformly():
    """u = 17 x - pixel is U[0, 1): its mean 1/2 and variance 1/12 within 5 standard errors
    (a u drawn from half the cell has mean 1/4)."""
    pixels = np.tile(np.arange(LEVELS), 20_000)
    u = dequantise(pixels, rng=1) * LEVELS - pixels
    n = u.size
    assert abs(u.mean() - 0.5) < 5 * np.sqrt(1 / 12 / n)
    assert abs(u.var() - 1 / 12) < 5 * np.sqrt(1 / 180 / n)   # Var of (u - 1/2)^2 is 1/180
    assert u.min() >= 0 and u.max() < 1 and u.max() > 0.999


def test_to_pixels_recovers_the_integers():
    x = load_digits("test")
    p = to_pixels(x)
    assert p.dtype == np.int64 and p.min() == 0 and p.max() == 16
    np.testing.assert_allclose(p / 16.0, x, atol=1e-6)


def test_independent_baseline_against_a_direct_count():
    rng = np.random.default_rng(1)
    train = rng.integers(0, 4, size=(50, 3)) * 3
    test = rng.integers(0, 17, size=(7, 3))
    expected = []
    for row in test:
        total = 0.0
        for j, v in enumerate(row):
            count = sum(1 for r in train if r[j] == v)
            total += -math.log2((count + 1.0) / (len(train) + 17.0))
        expected.append(total / 3)
    np.testing.assert_allclose(independent_pixel_bits(train, test), expected, rtol=1e-12)


def test_independent_baseline_on_the_digits_beats_uniform():
    train, test = to_pixels(load_digits("train")), to_pixels(load_digits("test"))
    bits = independent_pixel_bits(train, test)
    assert bits.shape == (len(test),)
    assert 0 < bits.mean() < math.log2(17)


def test_mean_and_se():
    values = np.array([1.0, 2.0, 4.0])
    m = mean_and_se(values)
    assert isinstance(m, MeanSE)
    assert m.mean == pytest.approx(7 / 3) and m.se == pytest.approx(np.std(values, ddof=1) / 3**0.5)
    assert f"{m:.2f}" == "2.33 ± 0.88"
    assert f"{m:+.2f}" == "+2.33 ± 0.88"


@pytest.mark.parametrize("call, name", [
    (lambda: to_pixels([0.5 / 16]), "x"),
    (lambda: to_pixels([1.5]), "x"),
    (lambda: dequantise([17]), "pixels"),
    (lambda: dequantise([2.5]), "pixels"),
    (lambda: bits_per_pixel([np.nan], 64), "log_p"),
    (lambda: bits_per_pixel([0.0], 0), "d"),
    (lambda: bits_per_pixel([0.0], 64, scale=-1), "scale"),
    (lambda: independent_pixel_bits(np.zeros((3, 2)), np.zeros((3, 4))), "train_pixels"),
    (lambda: independent_pixel_bits(np.zeros((3, 2)), np.zeros((3, 2)), alpha=0), "alpha"),
    (lambda: mean_and_se([1.0]), "values"),
])
def test_bad_input_names_the_argument(call, name):
    with pytest.raises(ValueError, match=name):
        call()


def test_paired_difference_compares_on_the_first_digits_both_have():
    from helpers.bits import paired_difference
    rng = np.random.default_rng(0)
    hard = rng.normal(0.0, 1.0, 300)                     # some digits are hard for every model
    a, b = hard + 0.1 + rng.normal(0, 0.05, 300), hard + rng.normal(0, 0.05, 300)
    d = paired_difference(a, b[:120])
    assert d.n == 120
    np.testing.assert_allclose([d.mean, d.se], [(a[:120] - b[:120]).mean(),
                               (a[:120] - b[:120]).std(ddof=1) / np.sqrt(120)], rtol=1e-12)
    # far tighter than the unpaired standard errors, which carry the shared difficulty
    assert d.se < 0.2 * mean_and_se(a).se
    with pytest.raises(ValueError, match="1-D"):
        paired_difference(a.reshape(30, 10), b)


def test_bits_figure_labels_each_row_with_its_paired_difference():
    from helpers.bits import paired_difference
    from helpers.plots.bits import plot_bits_per_pixel
    rng = np.random.default_rng(1)
    ref = rng.normal(2.4, 0.3, 50)
    model = ref + 0.2 + rng.normal(0, 0.05, 50)
    fig = plot_bits_per_pixel({"uniform": 4.0, "histogram": ref, "model": model},
                              reference="histogram")
    texts = [t.get_text() for t in fig.axes[0].texts]
    assert f"paired: {paired_difference(model, ref):+.3f}" in texts[2]
    assert "paired" not in texts[0] + texts[1]           # a single number, the reference itself
    fig = plot_bits_per_pixel({"histogram": ref, "short": model[:20]}, reference="histogram")
    assert f"paired (on the first 20): {paired_difference(model[:20], ref):+.3f}" in (
        fig.axes[0].texts[1].get_text())
