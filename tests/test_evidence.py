"""helpers.evidence: the exact linear-Gaussian model, the naive estimator of eq. 2.3, and the
naive decoder trained on it (the article's proposed experiment)."""

import tracemalloc

import numpy as np
import pytest
from scipy import integrate, stats

from helpers.evidence import (LinearGaussian, log_mean_exp, measure_samples_needed,
                              naive_mc_log_evidence, running_log_mean_exp)
from helpers.gaussian import gaussian_kl
from helpers.naive_decoder import (decoder_log_evidence, decoder_log_likelihood, decoder_samples,
                                   train_naive_decoder)
from helpers.plots.digits import plot_digit_rows
from helpers.plots.evidence import (plot_naive_convergence, plot_naive_estimate_2d,
                                    plot_samples_needed, plot_training_curves)


def make_model(d=5, k=2, c=0.3, seed=0):
    rng = np.random.default_rng(seed)
    return LinearGaussian(rng.standard_normal((d, k)), rng.standard_normal(d), c)


# --- log_mean_exp ------------------------------------------------------------------------------

def test_log_mean_exp_matches_direct_formula():
    a = np.random.default_rng(0).normal(size=(4, 50))
    np.testing.assert_allclose(log_mean_exp(a), np.log(np.mean(np.exp(a), axis=-1)), rtol=1e-13)
    np.testing.assert_allclose(log_mean_exp(a, axis=0), np.log(np.mean(np.exp(a), axis=0)),
                               rtol=1e-13)


def test_log_mean_exp_huge_magnitudes_and_minus_inf():
    # exp(1e6) overflows and exp(-1e6) underflows; the answer is still exact
    assert log_mean_exp([1e6, 1e6]) == 1e6
    assert log_mean_exp([-1e6, -1e6]) == -1e6
    assert log_mean_exp([1e6, 1e6 + np.log(3.0)]) == pytest.approx(1e6 + np.log(2.0), abs=1e-9)
    assert log_mean_exp([0.0, -np.inf]) == pytest.approx(np.log(0.5), abs=1e-15)
    assert log_mean_exp([-np.inf, -np.inf]) == -np.inf


@pytest.mark.parametrize("bad", [[np.nan, 0.0], [np.inf, 0.0], [], 3.0])
def test_log_mean_exp_bad_input(bad):
    with pytest.raises(ValueError, match="a "):
        log_mean_exp(bad)


def test_running_log_mean_exp():
    a = np.random.default_rng(1).normal(scale=30, size=200)
    run = running_log_mean_exp(a)
    expected = [log_mean_exp(a[:n]) for n in range(1, 201)]
    np.testing.assert_allclose(run, expected, rtol=1e-12, atol=1e-12)


# --- the exact model against independent computations -------------------------------------------

def test_log_likelihood_and_evidence_match_scipy():
    m = make_model(d=6, k=3, c=0.2)
    x, z = m.sample(4, rng=1)
    ref_ll = [stats.multivariate_normal(m.W @ zi + m.b, m.c * np.eye(m.d)).logpdf(xi)
              for xi, zi in zip(x, z)]
    np.testing.assert_allclose(m.log_likelihood(x, z), ref_ll, rtol=1e-12)
    ref_ev = stats.multivariate_normal(m.b, m.W @ m.W.T + m.c * np.eye(m.d)).logpdf(x)
    np.testing.assert_allclose(m.log_evidence(x), ref_ev, rtol=1e-12)


def test_log_likelihood_broadcasts_to_a_table():
    m = make_model()
    x, _ = m.sample(3, rng=2)
    z = np.random.default_rng(3).standard_normal((7, m.z_dim))
    table = m.log_likelihood(x[:, None, :], z)
    assert table.shape == (3, 7)
    assert table[2, 5] == pytest.approx(m.log_likelihood(x[2], z[5]), rel=1e-14)


def test_evidence_integrates_likelihood_times_prior():
    # eq. 2.3 by brute-force quadrature on a grid (k = 1), independent of the Gaussian algebra
    m = make_model(d=3, k=1, c=0.5)
    x, _ = m.sample(1, rng=4)
    z = np.linspace(-10, 10, 40_001)[:, None]
    integrand = np.exp(m.log_likelihood(x[0], z)) * stats.norm.pdf(z[:, 0])
    assert np.log(integrate.trapezoid(integrand, z[:, 0])) == pytest.approx(m.log_evidence(x[0]), abs=1e-10)


def test_posterior_matches_gaussian_conditioning():
    # p(z | x) from the joint Gaussian of (z, x): mean = W^T Sxx^-1 (x - b), cov = I - W^T Sxx^-1 W
    m = make_model(d=6, k=3, c=0.4)
    x, _ = m.sample(2, rng=5)
    sxx = m.W @ m.W.T + m.c * np.eye(m.d)
    mean, cov = m.posterior(x)
    np.testing.assert_allclose(mean, (x - m.b) @ np.linalg.solve(sxx, m.W), rtol=1e-10)
    np.testing.assert_allclose(cov, np.eye(3) - m.W.T @ np.linalg.solve(sxx, m.W), atol=1e-12)


def test_bayes_identity_at_every_z():
    # the article's closing identity: p(x) = p(x | z) p(z) / p(z | x), for any z
    m = make_model(d=4, k=2, c=0.3)
    x, _ = m.sample(1, rng=6)
    mean, cov = m.posterior(x[0])
    z = np.random.default_rng(7).normal(scale=3, size=(10, 2))
    log_ratio = (m.log_likelihood(x[0], z) + stats.multivariate_normal(np.zeros(2)).logpdf(z)
                 - stats.multivariate_normal(mean, cov).logpdf(z))
    np.testing.assert_allclose(log_ratio, m.log_evidence(x[0]), rtol=1e-12)


def test_elbo_closed_form():
    rng = np.random.default_rng(8)
    # orthogonal columns make the posterior covariance diagonal: the ELBO at q = posterior is exact
    q, _ = np.linalg.qr(rng.standard_normal((6, 2)))
    m = LinearGaussian(q * [2.0, 0.5], rng.standard_normal(6), 0.3)
    x, _ = m.sample(3, rng=9)
    mean, cov = m.posterior(x)
    np.testing.assert_allclose(m.elbo(x, mean, np.sqrt(np.diag(cov))), m.log_evidence(x), rtol=1e-12)
    # any other q: the closed form equals a Monte-Carlo ELBO (4 SE) and lies below log p(x)
    q_mean, q_std = mean[0] + 0.3, np.array([0.4, 0.9])
    z = q_mean + q_std * rng.standard_normal((200_000, 2))
    recon = m.log_likelihood(x[0], z)
    mc = recon.mean() - gaussian_kl(q_mean, q_std)
    se = recon.std() / np.sqrt(len(z))
    assert abs(m.elbo(x[0], q_mean, q_std) - mc) < 4 * se
    assert m.elbo(x[0], q_mean, q_std) < m.log_evidence(x[0])


def test_posterior_kl_matches_monte_carlo():
    m = make_model(d=5, k=2, c=0.2)
    x, _ = m.sample(1, rng=10)
    mean, cov = m.posterior(x[0])
    post = stats.multivariate_normal(mean, cov)
    z = post.rvs(200_000, random_state=11)
    log_ratio = post.logpdf(z) - stats.multivariate_normal(np.zeros(2)).logpdf(z)
    se = log_ratio.std() / np.sqrt(len(z))
    assert abs(m.posterior_kl(x[0]) - log_ratio.mean()) < 4 * se


def test_naive_relative_variance_matches_monte_carlo():
    # rho - 1 = Var_prior[p(x|z) / p(x)]; a broad posterior (large c) keeps the 4th moment finite
    m = make_model(d=4, k=2, c=2.0)
    x, _ = m.sample(1, rng=12)
    z = np.random.default_rng(13).standard_normal((400_000, 2))
    w = np.exp(m.log_likelihood(x[0], z) - m.log_evidence(x[0]))
    se = np.std((w - 1) ** 2) / np.sqrt(len(w))
    assert abs(np.mean((w - 1) ** 2) - m.naive_relative_variance(x[0])) < 4 * se


# --- the naive estimator of eq. 2.3 --------------------------------------------------------------

def test_naive_estimate_unbiased_for_p_but_biased_low_for_log_p():
    m = make_model(d=4, k=2, c=0.5)
    x, _ = m.sample(1, rng=14)
    exact = m.log_evidence(x[0])
    runs, L = 2000, 20
    z = np.random.default_rng(15).standard_normal((runs, L, 2))
    log_p_hat = log_mean_exp(m.log_likelihood(x[0], z), axis=-1)
    ratio = np.exp(log_p_hat - exact)  # p_hat / p(x)
    # unbiased for p(x): the mean ratio is 1 within 4 standard errors
    assert abs(ratio.mean() - 1) < 4 * ratio.std() / np.sqrt(runs)
    # biased low for log p(x) (Jensen): the mean error is below zero by more than 4 SE
    err = log_p_hat - exact
    assert err.mean() + 4 * err.std() / np.sqrt(runs) < 0


def test_naive_estimate_converges_at_the_predicted_rate():
    m = make_model(d=4, k=2, c=0.5)
    x, _ = m.sample(2, rng=16)
    L = 200_000
    est = naive_mc_log_evidence(m.log_likelihood, x, L, 2, rng=17)
    # delta method: sd(log p_hat) ~ sqrt((rho - 1) / L)
    sd = np.sqrt(m.naive_relative_variance(x) / L)
    assert np.all(np.abs(est - m.log_evidence(x)) < 4 * sd)


def test_naive_estimate_is_seeded_and_chunking_does_not_change_it():
    m = make_model()
    x, _ = m.sample(3, rng=18)
    a = naive_mc_log_evidence(m.log_likelihood, x, 5000, 2, rng=19, chunk_size=5000)
    b = naive_mc_log_evidence(m.log_likelihood, x, 5000, 2, rng=19, chunk_size=5000)
    np.testing.assert_array_equal(a, b)
    one = naive_mc_log_evidence(m.log_likelihood, x[0], 5000, 2, rng=19, chunk_size=5000)
    assert isinstance(one, float) and one == pytest.approx(a[0], rel=1e-14)
    # the same 5000 samples combined across chunks give the same estimate
    z = np.random.default_rng(19).standard_normal((5000, 2))
    direct = log_mean_exp(m.log_likelihood(x[:, None, :], z), axis=-1)
    np.testing.assert_allclose(a, direct, rtol=1e-13)


def test_chunking_bounds_memory_at_1e7_samples():
    m = LinearGaussian([[1.0], [0.5]], [0.0, 0.0], 0.5)
    x = np.array([0.3, -0.2])
    n = 10**7
    unchunked_bytes = n * (m.z_dim + 2 * m.d) * 8  # z, and the (n, d) mean and residual, float64
    tracemalloc.start()
    try:
        est = naive_mc_log_evidence(m.log_likelihood, x, 1e7, 1, rng=20)
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    assert peak < unchunked_bytes / 20, f"peak {peak / 1e6:.1f} MB"
    assert abs(est - m.log_evidence(x)) < 4 * np.sqrt(m.naive_relative_variance(x) / n)


@pytest.mark.parametrize("kwargs, name", [
    (dict(n_samples=0), "n_samples"), (dict(n_samples=2.5), "n_samples"),
    (dict(z_dim=0), "z_dim"), (dict(chunk_size=0), "chunk_size"),
    (dict(x=np.array([[np.nan, 0, 0, 0, 0]])), "x"), (dict(x=np.zeros((1, 1, 5))), "x"),
    (dict(log_likelihood="not callable"), "log_likelihood"),
    (dict(log_likelihood=lambda x, z: np.zeros(3)), "log_likelihood"),
    (dict(log_likelihood=lambda x, z: np.full((1, len(z)), np.nan)), "log_likelihood"),
    (dict(rng=-1), "rng"), (dict(z_dim=3), "z"),
])
def test_naive_estimate_bad_input(kwargs, name):
    m = make_model()
    args = dict(log_likelihood=m.log_likelihood, x=np.zeros(5), n_samples=10, z_dim=2)
    args.update(kwargs)
    with pytest.raises(ValueError, match=name):
        naive_mc_log_evidence(**args)


@pytest.mark.parametrize("W, b, c, name", [
    (np.ones((3, 2)), np.zeros(3), 0.0, "c"), (np.ones((3, 2)), np.zeros(3), -1.0, "c"),
    (np.ones((3, 2)), np.zeros(3), np.nan, "c"), (np.ones((3, 2)), np.zeros(3), np.inf, "c"),
    (np.ones(3), np.zeros(3), 1.0, "W"), (np.ones((3, 2)), np.zeros(2), 1.0, "b"),
    (np.full((3, 2), np.inf), np.zeros(3), 1.0, "W"),
])
def test_model_bad_parameters(W, b, c, name):
    with pytest.raises(ValueError, match=name):
        LinearGaussian(W, b, c)


def test_model_bad_arguments():
    m = make_model(d=5, k=2)
    with pytest.raises(ValueError, match="x"):
        m.log_evidence(np.zeros(4))
    with pytest.raises(ValueError, match="z"):
        m.log_likelihood(np.zeros(5), np.zeros(3))
    with pytest.raises(ValueError, match="x"):
        m.log_likelihood(np.zeros((4, 5)), np.zeros((3, 2)))  # leading axes do not broadcast
    with pytest.raises(ValueError, match="x"):
        m.posterior(np.array([0, 0, np.inf, 0, 0]))
    with pytest.raises(ValueError, match="q_std"):
        m.elbo(np.zeros(5), np.zeros(2), np.array([1.0, 0.0]))
    with pytest.raises(ValueError, match="n"):
        m.sample(0)


# --- the naive decoder (torch; tiny runs) --------------------------------------------------------

torch = pytest.importorskip("torch")


def tiny_data(n=40, d=6, seed=0):
    return np.random.default_rng(seed).uniform(0, 1, size=(n, d)).astype(np.float32)


def test_training_is_deterministic_for_a_seed():
    x = tiny_data()
    kw = dict(z_dim=2, c=0.1, n_samples=32, steps=15, batch_size=16, hidden=8,
              progress=False)
    a, b = train_naive_decoder(x, seed=3, **kw), train_naive_decoder(x, seed=3, **kw)
    other = train_naive_decoder(x, seed=4, **kw)
    np.testing.assert_array_equal(a.history, b.history)
    for pa, pb in zip(a.f_theta.parameters(), b.f_theta.parameters()):
        assert torch.equal(pa, pb)
    assert not np.array_equal(a.history, other.history)
    assert a.settings == dict(z_dim=2, c=0.1, n_samples=32, steps=15, batch_size=16,
                              hidden=(8,), lr=1e-2, seed=3)
    assert a.history.shape == (15,) and a.train_s > 0


def test_training_raises_the_naive_objective():
    x = tiny_data(n=60)
    r = train_naive_decoder(x, z_dim=2, c=0.05, n_samples=64, steps=150, batch_size=60, hidden=16,
                            lr=1e-2, seed=0, progress=False)
    assert r.history[-20:].mean() > r.history[:20].mean()


def _linear_decoder(m):
    lin = torch.nn.Linear(m.z_dim, m.d).double()
    with torch.no_grad():
        lin.weight.copy_(torch.as_tensor(m.W))
        lin.bias.copy_(torch.as_tensor(m.b))
    return lambda z: lin(z.double()).float()


def test_decoder_log_likelihood_matches_the_exact_model():
    m = make_model(d=6, k=2, c=0.3)
    x, _ = m.sample(3, rng=21)
    z = np.random.default_rng(22).standard_normal((9, 2))
    ll = decoder_log_likelihood(_linear_decoder(m), m.c)
    np.testing.assert_allclose(ll(x[:, None, :], z), m.log_likelihood(x[:, None, :], z),
                               rtol=1e-5)  # f_theta runs in float32
    np.testing.assert_allclose(ll(x[0], z[0]), m.log_likelihood(x[0], z[0]), rtol=1e-5)


def test_decoder_log_evidence_grid_and_naive_against_exact():
    m = make_model(d=6, k=2, c=0.3)
    x, _ = m.sample(5, rng=23)
    f = _linear_decoder(m)
    exact = m.log_evidence(x)
    grid = decoder_log_evidence(f, x, m.c, 2, method="grid", grid_size=256)
    np.testing.assert_allclose(grid, exact, atol=1e-3)
    L = 2**16
    naive = decoder_log_evidence(f, x, m.c, 2, method="naive", n_samples=L, rng=1)
    sd = np.sqrt(m.naive_relative_variance(x) / L)
    assert np.all(np.abs(naive - exact) < 4 * sd + 1e-3)


def test_snapshot_is_the_decoder_a_shorter_run_ends_with():
    """A snapshot after s steps equals, bit for bit, the decoder of a run of s steps (the same
    batches and prior samples, constant lr), and training goes on past it."""
    x = tiny_data(n=40, d=6)
    kw = dict(z_dim=2, c=0.05, n_samples=16, batch_size=20, hidden=8, seed=2,
              progress=False)
    long = train_naive_decoder(x, steps=30, snapshot_steps=[10, 20], **kw)
    short = train_naive_decoder(x, steps=10, **kw)
    assert sorted(long.snapshots) == [10, 20]
    for p, q in zip(long.snapshots[10].parameters(), short.f_theta.parameters()):
        assert torch.equal(p, q) and not p.requires_grad
    assert not torch.equal(next(long.snapshots[10].parameters()), next(long.f_theta.parameters()))
    np.testing.assert_array_equal(long.history[:10], short.history)


def test_decoder_samples_shape_and_seed():
    m = make_model(d=6, k=2)
    f = _linear_decoder(m)
    a, b = decoder_samples(f, 5, z_dim=2, rng=1), decoder_samples(f, 5, z_dim=2, rng=1)
    assert a.shape == (5, 6) and np.array_equal(a, b)


@pytest.mark.parametrize("kwargs, name", [
    (dict(c=0.0), "c"), (dict(c=-0.1), "c"), (dict(z_dim=0), "z_dim"),
    (dict(n_samples=0), "n_samples"), (dict(steps=0), "steps"), (dict(lr=0.0), "lr"),
    (dict(hidden=(8, 0)), "hidden"), (dict(seed=-1), "seed"),
    (dict(x_train=np.full((4, 3), np.nan)), "x_train"), (dict(x_train=np.zeros(5)), "x_train"),
    (dict(snapshot_steps=[2]), "snapshot_steps"), (dict(snapshot_steps=[0]), "snapshot_steps"),
])
def test_training_bad_input(kwargs, name):
    args = dict(x_train=tiny_data(n=4, d=3), z_dim=2, steps=1, progress=False)
    args.update(kwargs)
    with pytest.raises(ValueError, match=name):
        train_naive_decoder(**args)


def test_decoder_log_evidence_bad_input():
    m = make_model(d=6, k=2)
    f = _linear_decoder(m)
    x = np.zeros((2, 6))
    with pytest.raises(ValueError, match="method"):
        decoder_log_evidence(f, x, 0.3, 2, method="exact")
    with pytest.raises(ValueError, match="z_dim"):
        decoder_log_evidence(f, x, 0.3, 3, method="grid")
    with pytest.raises(ValueError, match="c"):
        decoder_log_evidence(f, x, 0.0, 2)
    with pytest.raises(ValueError, match="x"):
        decoder_log_evidence(f, np.zeros((2, 5)), 0.3, 2)
    with pytest.raises(ValueError, match="f_theta"):
        decoder_log_evidence(None, x, 0.3, 2)


# --- notebook 02's measurement and figures ------------------------------------------------------

def test_measure_samples_needed_matches_the_exact_count():
    m = make_model(d=4, k=1, c=1.0, seed=3)
    x, _ = m.sample(1, rng=24)
    budget = 2**16
    measured = measure_samples_needed(m, x[0], rel_err=0.1, budget=budget, rng=25)
    exact = m.naive_relative_variance(x[0]) / 0.01
    # the measurement estimates Var(w) from `budget` draws: its relative SE, from the same draws
    z = np.random.default_rng(25).standard_normal((budget, 1))
    w = np.exp(m.log_likelihood(x[0], z) - m.log_evidence(x[0]))
    rel_se = np.std((w - 1) ** 2) / np.sqrt(budget) / np.mean((w - 1) ** 2)
    # crossings are interpolated between powers of two, where the error follows 1/sqrt(L) exactly
    # only in expectation: allow 4 SE plus the spread of the 16+ runs at the crossing
    assert abs(np.log(measured / exact)) < 4 * rel_se + 4 / np.sqrt(budget / measured)
    assert np.isnan(measure_samples_needed(make_model(d=20, k=4, c=0.01), np.zeros(20),
                                           budget=2**10, rng=0))


def test_plot_functions_return_figures():
    from matplotlib.figure import Figure

    from helpers.naive_decoder import NaiveDecoderRun

    rng = np.random.default_rng(0)
    fixed = dict(W=rng.standard_normal((6, 3)), b=np.zeros(6), z_true=rng.standard_normal(3),
                 noise=rng.standard_normal(6), z_pool=rng.standard_normal((500, 3)))
    for k in (1, 2, 3):
        assert isinstance(plot_naive_estimate_2d(c=0.05, n_samples=100.4, k=k, **fixed), Figure)
    with pytest.raises(ValueError, match="k"):
        plot_naive_estimate_2d(k=4, **fixed)
    with pytest.raises(ValueError, match="n_samples"):
        plot_naive_estimate_2d(n_samples=np.nan, **fixed)
    with pytest.raises(ValueError, match="c"):
        plot_naive_estimate_2d(c=0.0, **fixed)
    n = 2 ** np.arange(6)
    assert isinstance(plot_naive_convergence(n, rng.normal(size=(5, 6)), 0.0, relative_variance=2.0), Figure)
    t = np.ones((3, 2))
    assert isinstance(plot_samples_needed([1, 2], [1.0, 0.1, 0.01], t, t, t, budget=10), Figure)
    run = NaiveDecoderRun(f_theta=None, z_dim=2, c=0.03,
                          history=rng.normal(size=40), train_s=0.0,
                          settings={"n_samples": 8})
    assert isinstance(plot_training_curves([run]), Figure)
    assert isinstance(plot_digit_rows([rng.uniform(size=(12, 64))] * 2, ["a", "b"]), Figure)


def test_samples_needed_figure_ticks_markers_and_bound():
    """Ticks only at the k with data; 'not measurable' markers nudged apart; the exp(KL) curve
    drawn on the same footing as the exact count, (exp(KL) - 1) / rel_err^2."""
    k, c = [1, 2, 3, 4, 6, 8], [1.0, 0.1, 0.01]
    exact = np.tile(np.logspace(2, 7, 6), (3, 1))
    exp_kl = 1 + 0.5 * exact * 0.01
    measured = np.full((3, 6), np.nan)
    fig = plot_samples_needed(k, c, measured, exact, exp_kl, budget=4096)
    ax = fig.axes[0]
    assert list(ax.get_xticks()) == k
    dotted = [ln for ln in ax.lines if ln.get_linestyle() == ":"]
    assert np.allclose(dotted[0].get_ydata(), (exp_kl[0] - 1) / 0.01)
    triangles = [ln for ln in ax.lines if ln.get_marker() == "^" and len(ln.get_xdata())]
    xs = np.concatenate([ln.get_xdata() for ln in triangles])
    assert len(np.unique(np.round(xs, 6))) == len(xs)        # no triangle hides another


def test_naive_estimate_widget_labels_colours_and_keeps_the_posterior_visible():
    rng = np.random.default_rng(0)
    fixed = dict(W=rng.standard_normal((6, 3)), b=np.zeros(6), z_true=rng.standard_normal(3),
                 noise=rng.standard_normal(6), z_pool=rng.standard_normal((500, 3)))
    fig = plot_naive_estimate_2d(c=1e-3, n_samples=100, k=2, **fixed)
    ax_prior = fig.axes[0]
    assert len(fig.axes) == 4                                 # three panels and a colour bar
    assert ax_prior.get_legend() is not None
    marker = [ln for ln in ax_prior.lines if ln.get_marker() == "+" and len(ln.get_xdata())]
    assert len(marker) == 1                                   # the posterior mean, at any c


def test_digit_mosaics_have_no_blank_band():
    """The axes of a digit mosaic have the mosaic's own aspect, so no empty band is left."""
    from helpers.plots.digits import plot_digits

    rng = np.random.default_rng(0)
    for fig in (plot_digit_rows([rng.uniform(size=(12, 64))] * 3, ["a", "b", "c"]),
                plot_digits([rng.uniform(size=(12, 64))] * 3, row_labels=["a", "b", "c"])):
        ax = fig.axes[0]
        fig.canvas.draw()
        box = ax.get_window_extent()
        image = ax.get_images()[0].get_array()
        assert box.height / box.width == pytest.approx(image.shape[0] / image.shape[1], rel=0.02)
        # the space below the axes is a thin margin, not a band of the figure's height
        assert box.y0 / fig.bbox.height < 0.1


# --- one name for the latent dimension: z_dim (issue 28) ------------------------------------------

def test_z_dim_is_the_latent_dimension_and_the_old_names_still_work():
    m = make_model(d=5, k=2)
    assert m.z_dim == 2 and "z_dim=2" in repr(m)
    with pytest.warns(DeprecationWarning, match=r"LinearGaussian.k is now .z_dim"):
        assert m.k == 2
    x = np.zeros(5)
    new = naive_mc_log_evidence(m.log_likelihood, x, 100, 2, rng=0)
    with pytest.warns(DeprecationWarning, match=r"latent_dim=\.\.\.\) is now .*z_dim="):
        assert naive_mc_log_evidence(m.log_likelihood, x, 100, latent_dim=2, rng=0) == new
    with pytest.warns(DeprecationWarning, match="chunk_size"):
        assert naive_mc_log_evidence(m.log_likelihood, x, 100, 2, 0, 7) == pytest.approx(new)


def test_posterior_kl_is_the_full_covariance_kl_to_the_prior():
    """KL(N(m, S) || N(0, I)) = 0.5 (tr S + m.m - k - log det S), written out here."""
    m = make_model(d=5, k=3, seed=2)
    x = m.sample(1, rng=3)[0][0]
    mean, cov = m.posterior(x)
    expected = 0.5 * (np.trace(cov) + mean @ mean - 3 - np.log(np.linalg.det(cov)))
    np.testing.assert_allclose(m.posterior_kl(x), expected, rtol=1e-12)


def test_naive_decoder_takes_z_dim_by_keyword_and_samples_put_n_second():
    x = tiny_data(n=8, d=3)
    kw = dict(c=0.1, n_samples=4, steps=2, batch_size=4, hidden=4, seed=1, progress=False)
    new = train_naive_decoder(x, z_dim=2, **kw)
    assert new.z_dim == 2 and new.settings["z_dim"] == 2
    with pytest.warns(DeprecationWarning, match="as keywords"):
        old = train_naive_decoder(x, 2, **kw)
    np.testing.assert_array_equal(old.history, new.history)
    with pytest.warns(DeprecationWarning, match=r"latent_dim=\.\.\.\) is now"):
        train_naive_decoder(x, latent_dim=2, **kw)
    with pytest.warns(DeprecationWarning, match=r"\.latent_dim is now \.z_dim"):
        assert new.latent_dim == 2
    f = _linear_decoder(make_model(d=6, k=2))
    samples = decoder_samples(f, 5, z_dim=2, rng=3)
    with pytest.warns(DeprecationWarning, match=r"decoder_samples\(f_theta, n, z_dim"):
        np.testing.assert_array_equal(decoder_samples(f, 2, 5, 3), samples)
    with pytest.raises(ValueError, match="z_dim"):
        decoder_samples(f, 5)
