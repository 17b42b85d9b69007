"""Tests for helpers.elbo (eqs. 2.4-2.5, notebook 03)."""

import numpy as np
import pytest
from scipy import integrate, stats

from helpers.elbo import (alternate_phi_theta, best_mean_field, diag_gaussian_log_pdf,
                          elbo_terms, eq24_lines, fit_q, gaussian_kl, gaussian_kl_to,
                          linear_gaussian_elbo_grads)
from helpers.linear_gaussian import LinearGaussian
from helpers.plots.elbo import (plot_elbo_gap, plot_elbo_terms, plot_graphical_model,
                                plot_mean_field, plot_subgoals)


def random_model(seed, d=4, k=2, c=0.4):
    rng = np.random.default_rng(seed)
    return LinearGaussian(rng.normal(size=(d, k)), rng.normal(size=d), c)


# --- gaussian_kl: the closed form against independent computations ---------------------------

@pytest.mark.parametrize("mu, sigma", [(0.0, 1.0), (1.3, 0.4), (-2.0, 2.5), (0.2, 0.05)])
def test_gaussian_kl_matches_numerical_integration_1d(mu, sigma):
    q = stats.norm(mu, sigma)
    integrand = lambda z: q.pdf(z) * (q.logpdf(z) - stats.norm.logpdf(z))
    reference, _ = integrate.quad(integrand, mu - 15 * sigma, mu + 15 * sigma, epsabs=1e-13,
                                  limit=200)
    assert gaussian_kl(mu, sigma) == pytest.approx(reference, rel=1e-8, abs=1e-11)


def test_gaussian_kl_numpy_matches_torch_distributions_and_sums_over_last_axis():
    torch = pytest.importorskip("torch")
    rng = np.random.default_rng(0)
    mu, sigma = rng.normal(size=(5, 3)), rng.uniform(0.1, 3.0, size=(5, 3))
    q = torch.distributions.Normal(torch.tensor(mu), torch.tensor(sigma))
    p = torch.distributions.Normal(torch.zeros(5, 3, dtype=torch.float64),
                                   torch.ones(5, 3, dtype=torch.float64))
    reference = torch.distributions.kl_divergence(q, p).sum(-1).numpy()
    ours = gaussian_kl(mu, sigma)
    assert isinstance(ours, np.ndarray) and ours.shape == (5,)
    np.testing.assert_allclose(ours, reference, rtol=1e-12)


def test_gaussian_kl_torch_in_torch_out_with_gradient():
    torch = pytest.importorskip("torch")
    mu = torch.tensor([[0.3, -1.2]], dtype=torch.float64, requires_grad=True)
    log_sigma = torch.tensor([[-0.5, 0.4]], dtype=torch.float64, requires_grad=True)
    kl = gaussian_kl(mu, log_sigma.exp())
    assert isinstance(kl, torch.Tensor) and kl.shape == (1,)
    reference = torch.distributions.kl_divergence(
        torch.distributions.Normal(mu, log_sigma.exp()),
        torch.distributions.Normal(torch.zeros_like(mu), torch.ones_like(mu))).sum(-1)
    assert torch.allclose(kl, reference, rtol=1e-12)
    kl.sum().backward()
    # d KL / d mu = mu, d KL / d log sigma = sigma^2 - 1
    assert torch.allclose(mu.grad, mu.detach())
    assert torch.allclose(log_sigma.grad, log_sigma.detach().exp() ** 2 - 1)
    # float32 stays float32; a numpy sigma is converted to match the tensor
    out32 = gaussian_kl(torch.zeros(3), np.ones(3))
    assert out32.dtype == torch.float32 and out32.item() == 0.0


def test_gaussian_kl_is_zero_at_the_prior_and_positive_elsewhere():
    assert gaussian_kl(np.zeros(4), np.ones(4)) == 0.0
    rng = np.random.default_rng(1)
    assert np.all(gaussian_kl(rng.normal(size=(100, 3)), rng.uniform(0.2, 2, (100, 3))) > 0)


@pytest.mark.parametrize("mu, sigma, word", [
    (0.0, 0.0, "sigma"), (0.0, -1.0, "sigma"), (np.nan, 1.0, "mu"), (0.0, np.inf, "sigma"),
    (np.zeros(3), np.ones(2), "broadcast"), ("a", 1.0, "mu")])
def test_gaussian_kl_bad_input_numpy(mu, sigma, word):
    with pytest.raises(ValueError, match=word):
        gaussian_kl(mu, sigma)


def test_gaussian_kl_bad_input_torch():
    torch = pytest.importorskip("torch")
    with pytest.raises(ValueError, match="sigma"):
        gaussian_kl(torch.zeros(2), torch.tensor([1.0, 0.0]))
    with pytest.raises(ValueError, match="mu"):
        gaussian_kl(torch.tensor([float("nan")]), torch.ones(1))
    with pytest.raises(ValueError, match="broadcast"):
        gaussian_kl(torch.zeros(3), torch.ones(2))


# --- gaussian_kl_to: the gap against the posterior --------------------------------------------

def test_gaussian_kl_to_matches_torch_multivariate_and_reduces_to_gaussian_kl():
    torch = pytest.importorskip("torch")
    rng = np.random.default_rng(2)
    A = rng.normal(size=(3, 3))
    cov = A @ A.T + 0.5 * np.eye(3)
    mean, q_mean, q_std = rng.normal(size=3), rng.normal(size=3), rng.uniform(0.3, 2, 3)
    q = torch.distributions.MultivariateNormal(torch.tensor(q_mean),
                                               torch.diag(torch.tensor(q_std) ** 2))
    p = torch.distributions.MultivariateNormal(torch.tensor(mean), torch.tensor(cov))
    assert gaussian_kl_to(q_mean, q_std, mean, cov) == pytest.approx(
        torch.distributions.kl_divergence(q, p).item(), rel=1e-10)
    assert gaussian_kl_to(q_mean, q_std, np.zeros(3), np.eye(3)) == pytest.approx(
        gaussian_kl(q_mean, q_std), rel=1e-12)


@pytest.mark.parametrize("cov, word", [(np.eye(3), "shape"), ([[1, 2], [2, 1]], "positive"),
                                       ([[1, 0.5], [0, 1]], "symmetric")])
def test_gaussian_kl_to_bad_cov(cov, word):
    with pytest.raises(ValueError, match=word):
        gaussian_kl_to(np.zeros(2), np.ones(2), np.zeros(2), cov)


# --- eq. 2.4 on the exact model ---------------------------------------------------------------

def test_elbo_is_below_the_evidence_for_random_q():
    for seed in range(5):
        model = random_model(seed)
        rng = np.random.default_rng(100 + seed)
        x = model.sample(1, rng=rng)[0][0]
        q_mean = rng.normal(scale=2.0, size=(500, model.z_dim))
        q_std = rng.uniform(0.01, 3.0, size=(500, model.z_dim))
        assert np.all(model.elbo(x, q_mean, q_std) < model.log_evidence(x))


def test_gap_equals_kl_to_the_posterior():
    for seed in range(5):
        model = random_model(seed, d=5, k=3)
        rng = np.random.default_rng(200 + seed)
        x = model.sample(1, rng=rng)[0][0]
        q_mean, q_std = rng.normal(size=(50, 3)), rng.uniform(0.1, 2.0, size=(50, 3))
        mean, cov = model.posterior(x)
        gap = model.log_evidence(x) - model.elbo(x, q_mean, q_std)
        np.testing.assert_allclose(gap, gaussian_kl_to(q_mean, q_std, mean, cov),
                                   rtol=1e-10, atol=1e-10)


def test_elbo_equals_evidence_when_q_is_a_diagonal_posterior():
    # orthogonal columns of W give a diagonal posterior covariance (I + W^T W / c)^-1
    Q, _ = np.linalg.qr(np.random.default_rng(3).normal(size=(5, 2)))
    model = LinearGaussian(Q * np.array([2.0, 0.7]), np.ones(5), 0.3)
    x = model.sample(4, rng=4)[0]
    mean, cov = model.posterior(x)
    assert abs(cov[0, 1]) < 1e-14
    np.testing.assert_allclose(model.elbo(x, mean, np.sqrt(np.diag(cov))),
                               model.log_evidence(x), rtol=0, atol=1e-12)


def test_closed_form_elbo_gradients_match_finite_differences():
    model = random_model(5, d=3, k=2)
    rng = np.random.default_rng(6)
    x = model.sample(4, rng=rng)[0]
    q_mean, q_std = rng.normal(size=(4, 2)), rng.uniform(0.3, 1.0, size=(4, 2))
    res = linear_gaussian_elbo_grads(model, x, q_mean, q_std)
    elbo, grads = res.elbo, res.grads
    np.testing.assert_allclose(elbo, model.elbo(x, q_mean, q_std), rtol=1e-13)

    def total(W=model.W, b=model.b, m=q_mean, s=q_std):
        return linear_gaussian_elbo_grads(LinearGaussian(W, b, model.c), x, m, s).elbo.sum()

    h = 1e-6
    for key, name, value in [("W", "W", model.W), ("b", "b", model.b), ("q_mean", "m", q_mean),
                             ("q_std", "s", q_std)]:
        numeric = np.zeros_like(value)
        for idx in np.ndindex(value.shape):
            up, down = value.copy(), value.copy()
            up[idx] += h
            down[idx] -= h
            numeric[idx] = (total(**{name: up}) - total(**{name: down})) / (2 * h)
        np.testing.assert_allclose(getattr(grads, key), numeric, rtol=1e-6, atol=1e-6)


def test_fit_q_reaches_the_best_mean_field_q_and_its_gap():
    model = random_model(7, d=4, k=2, c=0.5)
    x = model.sample(1, rng=8)[0][0]
    best = best_mean_field(model, x)
    mean, std, gap = best.q_mean, best.q_std, best.gap
    fit = fit_q(model, x, np.array([2.0, -2.0]), np.ones(2), steps=400)
    m, s, history = fit.q_mean, fit.q_std, fit.history
    np.testing.assert_allclose(m, mean, atol=1e-8)
    np.testing.assert_allclose(s, std, atol=1e-8)
    assert np.all(np.diff(history) >= -1e-12)           # ascent never goes down
    assert model.log_evidence(x) - history[-1] == pytest.approx(gap, abs=1e-9)
    # the mean-field gap is the KL to the posterior, and positive for a correlated posterior
    post_mean, post_cov = model.posterior(x)
    assert abs(post_cov[0, 1]) > 0.01
    assert gap == pytest.approx(gaussian_kl_to(mean, std, post_mean, post_cov), rel=1e-10)
    assert gap > 0


def test_alternating_steps_raise_the_evidence_only_in_theta_steps():
    true = LinearGaussian([[1.5], [0.8]], [0.5, -0.3], 0.25)
    data = true.sample(100, rng=9)[0]
    start = LinearGaussian([[0.2], [-0.3]], [0.0, 0.0], 0.25)
    h = alternate_phi_theta(start, data, n_rounds=2, phi_steps=20, theta_steps=10)
    changes = np.diff(h.evidence)
    assert np.all(changes[h.phase[1:] == "phi"] == 0)
    assert np.all(changes[h.phase[1:] == "theta"] > 0)
    assert np.all(h.elbo <= h.evidence + 1e-12)
    assert h.evidence[-1] > h.evidence[0] + 1.0


def test_eq24_lines_all_equal_the_evidence_within_their_error():
    model = random_model(10, d=3, k=2)
    x = model.sample(1, rng=11)[0][0]
    rows = eq24_lines(model, x, np.array([0.5, -0.5]), np.array([0.7, 1.2]), n_samples=20_000,
                      rng=12)
    log_px = model.log_evidence(x)
    assert [r.line for r in rows] == list(range(9))
    for r in rows[:8]:
        assert abs(r.value - log_px) <= 4 * r.se + 1e-9, r
    assert rows[8].value < log_px
    # the exact ELBO sits within 4 standard errors of the Monte-Carlo ELBO of line 8
    exact = model.elbo(x, np.array([0.5, -0.5]), np.array([0.7, 1.2]))
    assert abs(rows[8].value - exact) < 4 * rows[8].se


# --- elbo_terms: Monte Carlo against the closed form ------------------------------------------

def test_elbo_terms_single_x_within_standard_error_of_the_closed_form():
    model = random_model(13)
    x = model.sample(1, rng=14)[0][0]
    q_mean, q_std = np.array([0.3, -0.8]), np.array([0.5, 1.5])
    t = elbo_terms(x, q_mean, q_std, model.log_likelihood, n_samples=20_000, rng=15)
    assert t.elbo == t.reconstruction - t.prior_matching
    assert t.prior_matching == gaussian_kl(q_mean, q_std)
    exact = model.elbo(x, q_mean, q_std)
    assert abs(t.elbo - exact) < 4 * t.se
    assert t.se > 0


def test_elbo_terms_batch_and_reproducible():
    model = random_model(16)
    x = model.sample(6, rng=17)[0]
    rng = np.random.default_rng(18)
    q_mean, q_std = rng.normal(size=(6, 2)), rng.uniform(0.2, 1.0, size=(6, 2))
    t = elbo_terms(x, q_mean, q_std, model.log_likelihood, n_samples=20_000, rng=19)
    assert t.elbo.shape == t.reconstruction.shape == t.prior_matching.shape == t.se.shape == (6,)
    exact = model.elbo(x, q_mean, q_std)
    assert np.all(np.abs(t.elbo - exact) < 4 * t.se)
    again = elbo_terms(x, q_mean, q_std, model.log_likelihood, n_samples=20_000, rng=19)
    np.testing.assert_array_equal(t.elbo, again.elbo)


def test_elbo_terms_reconstruction_standard_error_is_honest():
    # over many independent estimates, the spread matches the reported standard error
    model = random_model(20, d=3, k=1)
    x = model.sample(1, rng=21)[0][0]
    estimates = [elbo_terms(x, [0.2], [0.6], model.log_likelihood, 500, rng=s) for s in range(200)]
    values = np.array([e.elbo for e in estimates])
    ses = np.array([e.se for e in estimates])
    exact = model.elbo(x, [0.2], [0.6])
    # the mean of 200 estimates is within 4 of its own standard errors of the truth
    assert abs(values.mean() - exact) < 4 * ses.mean() / np.sqrt(200)
    # the empirical spread agrees with the reported standard error within 20 % (200 draws)
    assert values.std(ddof=1) == pytest.approx(ses.mean(), rel=0.2)


@pytest.mark.parametrize("kwargs, word", [
    (dict(q_std=[0.0, 1.0]), "q_std"), (dict(q_std=[-1.0, 1.0]), "q_std"),
    (dict(q_mean=[np.nan, 0.0]), "q_mean"), (dict(n_samples=0), "n_samples"),
    (dict(n_samples=2.5), "n_samples"), (dict(rng="seed"), "rng"),
    (dict(log_likelihood=3), "log_likelihood"), (dict(x=np.zeros((2, 2, 4))), "x"),
    (dict(q_mean=np.zeros((3, 2))), "match")])
def test_elbo_terms_bad_input(kwargs, word):
    model = random_model(22)
    args = dict(x=np.zeros(4), q_mean=[0.0, 0.0], q_std=[1.0, 1.0],
                log_likelihood=model.log_likelihood, n_samples=10, rng=0)
    args.update(kwargs)
    if word == "match":
        args["x"] = np.zeros((2, 4))
    with pytest.raises(ValueError, match=word):
        elbo_terms(**args)


def test_elbo_terms_rejects_a_log_likelihood_of_the_wrong_shape():
    with pytest.raises(ValueError, match="shape"):
        elbo_terms(np.zeros(4), [0.0], [1.0], lambda x, z: np.zeros(3), n_samples=10, rng=0)


def test_diag_gaussian_log_pdf_matches_scipy():
    z = np.array([[0.1, -0.4], [2.0, 1.0]])
    ours = diag_gaussian_log_pdf(z, np.array([0.5, 0.0]), np.array([0.3, 2.0]))
    ref = stats.multivariate_normal([0.5, 0.0], np.diag([0.09, 4.0])).logpdf(z)
    np.testing.assert_allclose(ours, ref, rtol=1e-12)


# --- plots: they draw, and refuse what they cannot draw ---------------------------------------

def test_plots_return_figures():
    from matplotlib.figure import Figure

    model = LinearGaussian([[1.5], [0.8]], [0.5, -0.3], 0.5)
    x = model.sample(1, rng=0)[0][0]
    assert isinstance(plot_graphical_model(), Figure)
    assert isinstance(plot_elbo_gap(mu=0.1, sigma=0.5, model=model, x=x), Figure)
    assert isinstance(plot_elbo_terms(model, x), Figure)
    model2 = random_model(1, d=3, k=2)
    x2 = model2.sample(1, rng=0)[0][0]
    best = best_mean_field(model2, x2)
    mean, std = best.q_mean, best.q_std
    assert isinstance(plot_mean_field(model2, x2, mean, std, path=np.zeros((3, 2))), Figure)
    data = model.sample(20, rng=1)[0]
    assert isinstance(plot_subgoals(alternate_phi_theta(model, data, n_rounds=1, phi_steps=3, theta_steps=3)), Figure)
    # every colour labelled, the contour levels stated
    legend = plot_mean_field(model2, x2, mean, std).axes[0].get_legend()
    labels = [t.get_text() for t in legend.get_texts()]
    assert any("posterior" in t for t in labels) and any("q(z|x)" in t for t in labels)
    assert "1, 2, 3 sd" in legend.get_title().get_text()
    # the first phi phase ends at the starting evidence: inside the y-limits
    hist = alternate_phi_theta(LinearGaussian([[0.2], [-0.3]], [0.0, 0.0], 0.25), data, n_rounds=2, phi_steps=30, theta_steps=25)
    lo, hi = plot_subgoals(hist).axes[0].get_ylim()
    assert lo < hist.evidence.min() and hist.evidence.max() < hi
    with pytest.raises(ValueError, match="k = 1"):
        plot_elbo_gap(mu=0.0, sigma=1.0, model=model2, x=x2)
    with pytest.raises(ValueError, match="sigma"):
        plot_elbo_gap(mu=0.0, sigma=0.0, model=model, x=x)


def test_kl_per_dim_takes_numbers_lists_numpy_and_torch_alike():
    """The closed-form KL per dimension, 0.5 (mu^2 + sigma^2 - 1 - log sigma^2), written out
    here, from every kind of input a teacher may pass (it raised AttributeError for a float)."""
    import torch

    from helpers.gaussian import kl_per_dim

    def expected(m, s):
        return 0.5 * (m**2 + s**2 - 1 - np.log(s**2))

    assert kl_per_dim(0.5, 2.0) == pytest.approx(expected(0.5, 2.0), rel=1e-15)
    assert kl_per_dim(np.float32(0.5), np.float64(2.0)) == pytest.approx(expected(0.5, 2.0))
    np.testing.assert_allclose(kl_per_dim([0.0, 1.0], [1.0, 0.5]),
                               [0.0, expected(1.0, 0.5)], rtol=1e-15)
    mu = torch.tensor([0.3, -1.0], dtype=torch.float64, requires_grad=True)
    kl = kl_per_dim(mu, 0.7)                                   # a tensor and a float
    assert isinstance(kl, torch.Tensor) and kl.requires_grad
    np.testing.assert_allclose(kl.detach().numpy(), expected(np.array([0.3, -1.0]), 0.7))
    kl.sum().backward()
    np.testing.assert_allclose(mu.grad.numpy(), [0.3, -1.0])  # d KL / d mu = mu


# --- results by attribute, options by keyword, one vocabulary (issue 28) ------------------------

def test_fit_q_returns_its_path_and_the_old_calls_still_work():
    model = random_model(7, d=4, k=2, c=0.5)
    x, q0 = model.sample(1, rng=8)[0][0], (np.array([2.0, -2.0]), np.ones(2))
    fit = fit_q(model, x, *q0, steps=5)
    assert fit.path.shape == (6, 2) and fit.history.shape == (6,)
    np.testing.assert_array_equal(fit.path[0], q0[0])
    np.testing.assert_array_equal(fit.path[-1], fit.q_mean)
    with pytest.warns(DeprecationWarning, match="has .path"):
        m, s, history, path = fit_q(model, x, *q0, steps=5, return_path=True)
    np.testing.assert_array_equal(path, fit.path)
    with pytest.warns(DeprecationWarning) as record:  # one block: pytest 7 nests warns badly
        m, s, history = fit_q(model, x, *q0, 5)
    messages = " | ".join(str(w.message) for w in record)
    assert "as keywords" in messages and "unpacking a QFit" in messages, messages
    np.testing.assert_array_equal(history, fit.history)


def test_alternate_phi_theta_old_names_give_the_same_run():
    data, _ = LinearGaussian([[1.5], [0.8]], [0.5, -0.3], 0.25).sample(50, rng=4)
    start = LinearGaussian([[0.2], [-0.3]], [0.0, 0.0], 0.25)
    new = alternate_phi_theta(start, data, n_rounds=2, phi_steps=5, theta_steps=3, lr=0.01)
    with pytest.warns(DeprecationWarning):
        old = alternate_phi_theta(start, data, 2, q_steps=5, theta_steps=3, lr_theta=0.01)
    np.testing.assert_array_equal(old.evidence, new.evidence)
    np.testing.assert_array_equal(old.elbo, new.elbo)


def test_closed_form_results_read_by_attribute():
    model = random_model(7, d=4, k=2, c=0.5)
    x = model.sample(1, rng=8)[0][0]
    best = best_mean_field(model, x)
    res = linear_gaussian_elbo_grads(model, x, best.q_mean, best.q_std)
    np.testing.assert_allclose(model.log_evidence(x) - res.elbo, best.gap, atol=1e-10)
    np.testing.assert_allclose(res.grads.q_mean, 0.0, atol=1e-10)   # the optimum's gradient
    with pytest.warns(DeprecationWarning, match="unpacking a ElboWithGradients"):
        elbo, grads = res
    assert grads is res.grads


def test_the_gaussian_formulas_agree_with_each_other():
    """One home per formula (helpers.gaussian): the torch/numpy diagonal log-density from
    variances against the checked numpy one, and the full-covariance KL against the diagonal."""
    import torch

    from helpers.gaussian import diag_gaussian_log_likelihood, full_gaussian_kl

    rng = np.random.default_rng(0)
    z, mean, std = rng.normal(size=(5, 3)), rng.normal(size=(5, 3)), rng.uniform(0.2, 2, (5, 3))
    expected = diag_gaussian_log_pdf(z, mean, std)
    np.testing.assert_allclose(diag_gaussian_log_likelihood(z, mean, std**2), expected, rtol=1e-12)
    t = diag_gaussian_log_likelihood(*(torch.tensor(a) for a in (z, mean, std**2)))
    np.testing.assert_allclose(t.numpy(), expected, rtol=1e-12)
    np.testing.assert_allclose(full_gaussian_kl(mean, np.diag(std[0] ** 2)),
                               gaussian_kl(mean, std[0]), rtol=1e-12)
    # a full covariance, against E_q[log q - log p] by Monte Carlo
    a = rng.normal(size=(3, 3))
    cov = a @ a.T + 0.5 * np.eye(3)
    q = stats.multivariate_normal(mean[0], cov)
    zs = q.rvs(200_000, random_state=1)
    mc = q.logpdf(zs) - stats.multivariate_normal(np.zeros(3)).logpdf(zs)
    assert abs(full_gaussian_kl(mean[0], cov) - mc.mean()) < 5 * mc.std() / np.sqrt(len(mc))


def test_options_are_keyword_only_with_a_warning_for_old_positional_calls():
    model = random_model(7, d=4, k=2, c=0.5)
    x = model.sample(1, rng=8)[0][0]
    new = eq24_lines(model, x, np.zeros(2), np.ones(2), n_samples=100, rng=0, n_grid=11)
    with pytest.warns(DeprecationWarning, match="as keywords"):
        old = eq24_lines(model, x, np.zeros(2), np.ones(2), 100, 0, 11)
    # Equal up to the last bits, not bitwise: with numpy 1.23's OpenBLAS, two identical calls in
    # one CI process (make test-min) once gave line 7 two ulps apart. Its exact KL goes through
    # tiny matrix products, which OpenBLAS computes with or without fused multiply-adds: the
    # posterior mean's first entry differs by one ulp between the two. A misplaced argument
    # moves the lines far more than rtol:
    values = [r.value for r in new]
    np.testing.assert_allclose([r.value for r in old], values, rtol=1e-12, atol=0)
    swapped = eq24_lines(model, x, np.zeros(2), np.ones(2), n_samples=11, rng=0, n_grid=100)
    assert max(abs(r.value - v) / abs(v) for r, v in zip(swapped, values)) > 1e-6
