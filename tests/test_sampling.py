"""helpers.sampling: eq. 1.1, the normal CDF and its inverse, and inverse-CDF sampling."""

import mpmath
import numpy as np
import pytest
from scipy import integrate, stats

from helpers.plots.sampling import plot_inverse_cdf, plot_tabulated_sampling
from helpers.sampling import (inverse_cdf_sample, normal_cdf, normal_icdf, normal_pdf,
                              tabulated_icdf)

mpmath.mp.dps = 60


def exact_icdf(u):
    """F^-1(u) for N(0, 1) to 60 digits, by root-finding on mpmath's normal CDF."""
    u = mpmath.mpf(u)
    return mpmath.findroot(lambda x: mpmath.ncdf(x) - u, float(stats.norm.ppf(float(u))))


# --- eq. 1.1 and the CDF, against scipy.stats --------------------------------------------------

@pytest.mark.parametrize("mu, sigma", [(0.0, 1.0), (-2.5, 0.3), (4.0, 7.0)])
def test_pdf_and_cdf_match_scipy(mu, sigma):
    x = np.linspace(mu - 8 * sigma, mu + 8 * sigma, 101)
    np.testing.assert_allclose(normal_pdf(x, mu, sigma), stats.norm(mu, sigma).pdf(x), rtol=1e-13)
    np.testing.assert_allclose(normal_cdf(x, mu, sigma), stats.norm(mu, sigma).cdf(x), rtol=1e-13)


def test_pdf_integrates_to_one():
    x = np.linspace(-12, 12, 200_001)
    assert integrate.trapezoid(normal_pdf(x, 0.5, 1.7), x) == pytest.approx(1.0, abs=1e-9)


def test_pdf_broadcasts_over_parameters():
    out = normal_pdf(np.zeros((3, 1)), mu=np.array([0.0, 1.0]), sigma=np.array([1.0, 2.0]))
    assert out.shape == (3, 2)


# --- the inverse CDF: tails, endpoints, round trip ----------------------------------------------

@pytest.mark.parametrize("u", [1e-300, 1e-200, 1e-100, 1e-50, 1e-17, 1e-12, 1e-6, 0.01, 0.3, 0.5,
                               0.7, 0.99, 1 - 1e-6, 1 - 1e-12, 1 - 1e-16])
def test_icdf_relative_error_in_the_contract_range(u):
    exact = exact_icdf(u)
    got = normal_icdf(u)
    if exact == 0:
        assert got == 0
    else:
        assert abs((got - exact) / exact) <= 1e-12


def test_icdf_endpoints_are_infinite():
    assert normal_icdf(0.0) == -np.inf
    assert normal_icdf(1.0) == np.inf
    assert normal_icdf(np.array([0.0, 1.0]), mu=3.0, sigma=2.0).tolist() == [-np.inf, np.inf]


def test_icdf_location_and_scale():
    u = np.linspace(0.01, 0.99, 7)
    np.testing.assert_allclose(normal_icdf(u, 2.0, 3.0), 2.0 + 3.0 * normal_icdf(u), rtol=1e-14)


def test_icdf_inverts_cdf():
    # Lower tail down to u ~ 1e-268. Above x ~ 3 the CDF itself rounds towards 1 in float64,
    # so no inverse could recover x from it; the upper tail is tested through 1 - u above.
    x = np.linspace(-35, 3, 500)
    np.testing.assert_allclose(normal_icdf(normal_cdf(x)), x, rtol=1e-10, atol=1e-13)


def test_erfinv_form_is_worse_than_normal_icdf_in_the_tail():
    """The claim of notebook 01: sqrt(2) erfinv(2u - 1) loses digits at u = 1e-12."""
    from scipy import special

    u = 1e-12
    exact = float(exact_icdf(u))
    naive = np.sqrt(2) * special.erfinv(2 * u - 1)
    assert abs(naive - exact) / abs(exact) > 1e-8
    assert abs(normal_icdf(u) - exact) / abs(exact) < 1e-15


# --- inverse-CDF sampling ------------------------------------------------------------------------

def test_samples_have_the_right_moments():
    n, mu, sigma = 200_000, 1.5, 0.7
    x = inverse_cdf_sample(lambda u: normal_icdf(u, mu, sigma), n, rng=123)
    assert x.shape == (n,)
    # 4 standard errors: sigma / sqrt(n) for the mean, sigma / sqrt(2n) for the std
    assert abs(x.mean() - mu) < 4 * sigma / np.sqrt(n)
    assert abs(x.std() - sigma) < 4 * sigma / np.sqrt(2 * n)


def test_samples_pass_a_kolmogorov_smirnov_test():
    x = inverse_cdf_sample(normal_icdf, 20_000, rng=7)
    assert stats.kstest(x, "norm").pvalue > 1e-3


def test_sampling_is_reproducible_and_accepts_generators():
    a = inverse_cdf_sample(normal_icdf, 10, rng=5)
    b = inverse_cdf_sample(normal_icdf, 10, rng=np.random.default_rng(5))
    np.testing.assert_array_equal(a, b)
    assert not np.array_equal(a, inverse_cdf_sample(normal_icdf, 10, rng=6))


def test_tabulated_icdf_matches_the_exact_normal_inverse():
    icdf = tabulated_icdf(lambda x: np.exp(-0.5 * x**2), -9, 9, n_grid=8193)  # unnormalised
    u = np.linspace(0.001, 0.999, 50)
    np.testing.assert_allclose(icdf(u), normal_icdf(u), atol=2e-4)
    assert icdf(0.0) == -9 and icdf(1.0) == 9


def test_tabulated_icdf_samples_a_mixture():
    def pdf(x):
        return 0.3 * normal_pdf(x, -2, 0.5) + 0.7 * normal_pdf(x, 1.5, 1.0)

    def cdf(x):
        return 0.3 * normal_cdf(x, -2, 0.5) + 0.7 * normal_cdf(x, 1.5, 1.0)

    x = inverse_cdf_sample(tabulated_icdf(pdf, -7, 8), 50_000, rng=0)
    assert stats.kstest(x, cdf).pvalue > 1e-3


def test_plots_return_labelled_figures():
    fig = plot_inverse_cdf(mu=0.5, sigma=2.0, n_samples=500, rng=0)
    assert len(fig.axes) == 2 and all(ax.get_xlabel() and ax.get_ylabel() for ax in fig.axes)
    icdf = tabulated_icdf(normal_pdf, -5, 5)
    fig = plot_tabulated_sampling(normal_pdf, icdf, -5, 5, inverse_cdf_sample(icdf, 100, rng=0))
    assert len(fig.axes) == 2


# --- bad input -------------------------------------------------------------------------------------

@pytest.mark.parametrize("call, name", [
    (lambda: normal_pdf(0.0, sigma=0.0), "sigma"),
    (lambda: normal_pdf(0.0, sigma=-1.0), "sigma"),
    (lambda: normal_cdf(0.0, sigma=np.nan), "sigma"),
    (lambda: normal_pdf(np.nan), "x"),
    (lambda: normal_pdf(0.0, mu=np.inf), "mu"),
    (lambda: normal_icdf(1.5), "u"),
    (lambda: normal_icdf(-1e-9), "u"),
    (lambda: normal_icdf(np.array([0.5, np.nan])), "u"),
    (lambda: normal_icdf(0.5, sigma=0), "sigma"),
    (lambda: inverse_cdf_sample(normal_icdf, 0), "n"),
    (lambda: inverse_cdf_sample(normal_icdf, 2.5), "n"),
    (lambda: inverse_cdf_sample("not callable", 3), "icdf"),
    (lambda: inverse_cdf_sample(normal_icdf, 3, rng="seed"), "rng"),
    (lambda: inverse_cdf_sample(lambda u: u[:1], 3), "icdf"),
    (lambda: tabulated_icdf(normal_pdf, 1.0, 1.0), "lo"),
    (lambda: tabulated_icdf(normal_pdf, -1, 1, n_grid=1), "n_grid"),
    (lambda: tabulated_icdf(lambda x: -np.ones_like(x), -1, 1), "pdf"),
    (lambda: tabulated_icdf(lambda x: np.zeros_like(x), -1, 1), "pdf"),
    (lambda: tabulated_icdf(normal_pdf, -1, 1)(2.0), "u"),
    (lambda: plot_inverse_cdf(sigma=0.0), "sigma"),
])
def test_bad_input_raises_value_error_naming_the_argument(call, name):
    with pytest.raises(ValueError, match=name):
        call()


@pytest.mark.parametrize("mu, sigma, beyond", [(0.0, 1.0, 0), (3.0, 3.0, 1), (-3.0, 3.0, 1),
                                               (0.0, 5.0, 2)])
def test_inverse_cdf_legend_counts_the_arrows_that_leave_the_axis(mu, sigma, beyond):
    # u = 0.1, 0.3, ..., 0.9; the window is [-6, 6]: at N(3, 3^2) only u = 0.9 (x = 6.84) leaves
    x = normal_icdf((np.arange(5) + 0.5) / 5, mu, sigma)
    assert ((x < -6) | (x > 6)).sum() == beyond
    fig = plot_inverse_cdf(mu, sigma, n_samples=200, rng=0)
    texts = [t.get_text() for t in fig.axes[0].get_legend().get_texts()]
    assert f"x beyond the axis: {beyond}" in texts


@pytest.mark.parametrize("bad", [-0.25, np.array([0.5, -0.25]), np.array([[0.1], [-0.25]])])
def test_a_probability_outside_0_1_is_named_with_its_value(bad):
    icdf = tabulated_icdf(normal_pdf, -5.0, 5.0, n_grid=65)
    for f in (normal_icdf, icdf):
        with pytest.raises(ValueError, match=r"^u must lie in \[0, 1\], got -0\.25$"):
            f(bad)
